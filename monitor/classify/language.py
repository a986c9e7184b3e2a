"""Per-language word lists for reading time, tense and genre, loaded from ``lang/<code>.yaml``.

Each language is a data file (see ``lang/en.yaml`` for what each key means), not code: a
new language is a new file. Words are written as the text is normalised for matching
(lower case; Belarusian words are folded like Belarusian text, ``normalise.fold_be``); a
word ending in ``*`` matches any token it begins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from monitor.classify.normalise import fold_be, lower, tokenise

LANGUAGES = ("en", "ru", "be")

Word = tuple[str, bool]              # (text, prefix)
Phrase = tuple[Word, ...]


class Words:
    """Single words with values, matched exactly or by beginning (``word*``)."""

    def __init__(self, table: dict[str, Any]) -> None:
        self._exact: dict[str, Any] = {}
        self._prefix: list[tuple[str, Any]] = []
        for spec, value in table.items():
            for (text, prefix), in _phrases(str(spec)):
                if prefix:
                    self._prefix.append((text, value))
                else:
                    self._exact[text] = value
        self._prefix.sort(key=lambda p: -len(p[0]))
        self._cache: dict[str, Any] = {}

    def get(self, token: str) -> Any:
        """The value of ``token``, or None."""
        if token in self._exact:
            return self._exact[token]
        if not self._prefix:
            return None
        try:
            return self._cache[token]
        except KeyError:
            pass
        value = next((v for p, v in self._prefix if token.startswith(p)), None)
        if len(self._cache) < 50_000:
            self._cache[token] = value
        return value

    def __contains__(self, token: str) -> bool:
        return self.get(token) is not None


class Phrases:
    """Phrases (token sequences) with values; ``match`` finds the longest one at a token."""

    def __init__(self, table: dict[str, Any] | list[str]) -> None:
        items = table.items() if isinstance(table, dict) else ((w, True) for w in table)
        self._by_first: dict[str, list[tuple[Phrase, Any]]] = {}
        self._prefixed: list[tuple[Phrase, Any]] = []
        for spec, value in items:
            for phrase in _phrases(str(spec)):
                first, first_is_prefix = phrase[0]
                if first_is_prefix:
                    self._prefixed.append((phrase, value))
                else:
                    self._by_first.setdefault(first, []).append((phrase, value))
        for lst in self._by_first.values():
            lst.sort(key=lambda pv: -len(pv[0]))

    def may_start(self, token: str) -> bool:
        """Whether a phrase may begin with ``token`` (a quick test before ``match``)."""
        return token in self._by_first or (bool(self._prefixed) and any(
            token.startswith(p[0][0]) for p, _v in self._prefixed))

    def match(self, tokens: list[str], i: int, hi: int) -> tuple[int, Any] | None:
        """(length, value) of the longest phrase starting at ``tokens[i]``, if any."""
        best: tuple[int, Any] | None = None
        for phrase, value in self._by_first.get(tokens[i], ()):     # longest first
            n = len(phrase)
            if i + n <= hi and (n == 1 or all(
                    tokens[i + k].startswith(w) if p else tokens[i + k] == w
                    for k, (w, p) in enumerate(phrase[1:], 1))):
                best = (n, value)
                break
        for phrase, value in self._prefixed:
            n = len(phrase)
            if (best is None or n > best[0]) and i + n <= hi and all(
                    tokens[i + k].startswith(w) if p else tokens[i + k] == w
                    for k, (w, p) in enumerate(phrase)):
                best = (n, value)
        return best


def _phrases(spec: str) -> list[Phrase]:
    """The token forms of one written word or phrase (one per Belarusian spelling)."""
    prefix = spec.endswith("*")
    toks = tokenise(spec.rstrip("*"))
    if not toks:
        return []
    forms = {tuple(toks), tuple(fold_be(t) for t in toks)}
    return [tuple((t, prefix and k == len(form) - 1) for k, t in enumerate(form))
            for form in sorted(forms)]


@dataclass(frozen=True)
class Pluperfect:
    auxiliary: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()
    endings: tuple[str, ...] = ()
    participles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Language:
    """One language's words for time, tense and genre."""

    code: str
    months: Words
    ambiguous_months: frozenset[str]
    month_cues: Phrases
    weekdays: Words
    seasons: Words
    numbers: Words
    units: Words
    ago: frozenset[str]
    after: frozenset[str]
    later: frozenset[str]
    approximately: frozenset[str]
    relative: Phrases
    same: Phrases
    anaphoric: Phrases
    anaphoric_after: Phrases
    now: Phrases
    state: Phrases
    past: Phrases
    since: Phrases
    deadline: Phrases
    year_attributive: frozenset[str]
    year_cues: frozenset[str]
    event_nouns: Words
    genre: Phrases
    genre_first: frozenset[str]
    relative_openers: frozenset[str]
    month_last: frozenset[str]
    month_next: frozenset[str]
    demonstratives: frozenset[str]
    subordinators: Phrases
    determiners: frozenset[str]
    postnominal_next: frozenset[str]
    speech_verbs: frozenset[str]
    reported_future: frozenset[str]
    request_met: frozenset[str]
    nonpast_endings: tuple[str, ...]
    past_endings: tuple[str, ...]
    participle_endings: tuple[str, ...]
    not_participles: frozenset[str]
    participle_only: frozenset[str]
    conjunctions: tuple[tuple[str, str], ...]
    pluperfect: Pluperfect = field(default_factory=Pluperfect)


def _set(raw: dict[str, Any], key: str) -> frozenset[str]:
    return frozenset(t for w in raw.get(key) or [] for t in tokenise(str(w)))


@cache
def language(code: str) -> Language:
    """The word lists of ``code`` (``en``, ``ru``, ``be``); English for any other code."""
    if code not in LANGUAGES:
        code = "en"
    text = resources.files("monitor.classify").joinpath(f"lang/{code}.yaml").read_text("utf-8")
    raw: dict[str, Any] = yaml.safe_load(text)
    pp = raw.get("pluperfect") or {}
    return Language(
        code=code,
        months=Words(raw.get("months") or {}),
        ambiguous_months=_set(raw, "ambiguous_months"),
        month_cues=Phrases(raw.get("month_cues") or []),
        weekdays=Words(raw.get("weekdays") or {}),
        seasons=Words(raw.get("seasons") or {}),
        numbers=Words(raw.get("numbers") or {}),
        units=Words(raw.get("units") or {}),
        ago=_set(raw, "ago"),
        after=_set(raw, "after"),
        later=_set(raw, "later"),
        approximately=_set(raw, "approximately"),
        relative=Phrases(raw.get("relative") or {}),
        same=Phrases(raw.get("same") or []),
        anaphoric=Phrases(raw.get("anaphoric") or []),
        anaphoric_after=Phrases(raw.get("anaphoric_after") or []),
        now=Phrases(raw.get("now") or []),
        state=Phrases(raw.get("state") or []),
        past=Phrases(raw.get("past") or []),
        since=Phrases(raw.get("since") or []),
        deadline=Phrases(raw.get("deadline") or []),
        year_attributive=_set(raw, "year_attributive"),
        year_cues=_set(raw, "year_cues"),
        event_nouns=Words({w: True for w in raw.get("event_nouns") or []}),
        genre=Phrases(raw.get("genre") or []),
        genre_first=_set(raw, "genre_first"),
        relative_openers=_set(raw, "relative_openers"),
        month_last=_set(raw, "month_last"),
        month_next=_set(raw, "month_next"),
        demonstratives=_set(raw, "demonstratives"),
        subordinators=Phrases(raw.get("subordinators") or []),
        determiners=_set(raw, "determiners"),
        postnominal_next=_set(raw, "postnominal_next"),
        speech_verbs=_set(raw, "speech_verbs"),
        reported_future=_set(raw, "reported_future"),
        request_met=_set(raw, "request_met"),
        nonpast_endings=tuple(fold_be(lower(e)) if code == "be" else lower(e)
                              for e in raw.get("nonpast_endings") or []),
        past_endings=tuple(fold_be(lower(e)) if code == "be" else lower(e)
                           for e in raw.get("past_endings") or []),
        participle_endings=tuple(fold_be(lower(e)) if code == "be" else lower(e)
                                 for e in raw.get("participle_endings") or []),
        not_participles=_set(raw, "not_participles"),
        participle_only=_set(raw, "participle_only"),
        conjunctions=tuple((tokenise(a)[-1], tokenise(b)[0]) for a, b in
                           (str(c).split(",", 1) for c in raw.get("conjunctions") or [])),
        pluperfect=Pluperfect(
            auxiliary=frozenset(lower(w) for w in pp.get("auxiliary") or []),
            skip=frozenset(lower(w) for w in pp.get("skip") or []),
            endings=tuple(pp.get("participle_endings") or []),
            participles=frozenset(lower(w) for w in pp.get("participles") or [])),
    )
