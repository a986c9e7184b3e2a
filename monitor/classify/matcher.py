"""One Aho-Corasick automaton for every alias, trigger and guard word of every watchlist.

An item's tokens are laid out twice in one string: the normalised tokens separated by
spaces, then ``\\x02``, then their stems separated by ``\\x03``::

     the us envoy met lukashenka \\x02\\x03the\\x03us\\x03envoy\\x03met\\x03lukashenk\\x03

A watchlist word is matched in one of three modes, chosen by how it is written:

* ``word``   -- by stem (inflections: ``ambassadors``, ``послом``, ``пасла``),
* ``=word``  -- exactly this normalised form (to dodge a stem collision),
* ``word*``  -- any token starting with it (names: ``лукашенк*``); last word only.

A phrase whose words all use stems is matched on the stem half; a phrase with any ``=``
or ``*`` word on the token half. One ``iter()`` over the string finds every match of every
watchlist, so the cost per item does not grow with the number of terms.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from itertools import accumulate, count, product
from operator import add
from typing import Any

import ahocorasick

from monitor.classify.normalise import clean, fold_be, is_cyrillic, stem, stem_be, tokenise

RAW_SEP = " "
STEM_SEP = "\x03"
HALF_SEP = "\x02"

Ref = Any    # what a pattern stands for: its user's own value (the classifier's ``Ref``)


# (first token index, last token index (inclusive), refs); a plain tuple because an
# on-topic item has hundreds of matches and a dataclass instance is slow to build.
Match = tuple[int, int, tuple[Ref, ...]]


def spec_tokens(text: str) -> list[str]:
    """Tokens of a watchlist word as text is read: a watchlist is written in lower case,
    where "us", "u.s." and "u.s.a." are the country ("us-based" matches "US-based"), as
    the text's upper-case "US" is (``normalise.clean``)."""
    toks = tokenise(clean(text))
    out: list[str] = []
    i = 0
    while i < len(toks):
        if toks[i] == "u" and i + 1 < len(toks) and toks[i + 1] == "s":
            i += 3 if i + 2 < len(toks) and toks[i + 2] == "a" else 2
            out.append("usa")
            continue
        out.append("usa" if toks[i] == "us" else toks[i])
        i += 1
    return out


def _word_variants(word: str) -> tuple[list[list[str]], str]:
    """Token forms of one written word and its mode ('stem', 'exact' or 'prefix')."""
    exact = word.startswith("=")
    prefix = word.endswith("*")
    core = word.lstrip("=").rstrip("*")
    toks = spec_tokens(core)
    if not toks:
        return [], "stem"
    if exact or prefix:
        return [sorted({t, fold_be(t)}) for t in toks], "prefix" if prefix else "exact"
    forms: list[list[str]] = []
    for t in toks:
        if is_cyrillic(t):
            # Belarusian text is folded (normalise.fold_be) before stemming
            forms.append(sorted({stem(t, "ru"), stem_be(t), stem_be(fold_be(t))}))
        else:
            forms.append([stem(t, "en")])
    return forms, "stem"


def compile_keys(spec: str) -> list[tuple[str, int]]:
    """Automaton keys (and token counts) for one written alias or trigger."""
    words = spec.split()
    parsed = [_word_variants(w) for w in words]
    modes = {m for _, m in parsed}
    if modes == {"stem"}:
        slots = [f for forms, _ in parsed for f in forms]
        if not slots:
            return []
        keys = [STEM_SEP + STEM_SEP.join(combo) + STEM_SEP for combo in product(*slots)]
        return [(k, len(slots)) for k in keys[:64]]
    toks: list[str] = []
    for w in words:
        core = w.lstrip("=").rstrip("*")
        toks.extend(spec_tokens(core))
    if not toks:
        return []
    tail = "" if words[-1].endswith("*") else RAW_SEP
    variants = dict.fromkeys([tuple(toks), tuple(fold_be(t) for t in toks)])
    return [(RAW_SEP + RAW_SEP.join(v) + tail, len(v)) for v in variants]


class Matcher:
    """Compiled once from every watchlist; ``scan`` runs one pass per item."""

    def __init__(self, entries: Iterable[tuple[str, Ref]]) -> None:
        table: dict[str, tuple[int, list[Ref]]] = {}
        for spec, ref in entries:
            for key, n in compile_keys(spec):
                slot = table.setdefault(key, (n, []))
                if ref not in slot[1]:
                    slot[1].append(ref)
        self.size = len(table)
        self._auto: Any = ahocorasick.Automaton()
        for key, (n, refs) in table.items():
            self._auto.add_word(key, (len(key), n, tuple(refs)))
        if table:
            self._auto.make_automaton()
        self._empty = not table

    def refs(self, tokens: list[str], stems: list[str]) -> set[Ref]:
        """The refs of every pattern found in the item, without positions (a cheap pre-scan).

        Every key starts with its half's separator, which occurs only between tokens of
        that half, so a hit anywhere in the string is a real match."""
        found: set[Ref] = set()
        if self._empty or not tokens:
            return found
        text = (RAW_SEP + RAW_SEP.join(tokens) + RAW_SEP + HALF_SEP + STEM_SEP
                + STEM_SEP.join(stems) + STEM_SEP)
        for _end, (_klen, _n, refs) in self._auto.iter(text):
            found.update(refs)
        return found

    def scan(self, tokens: list[str], stems: list[str]) -> list[Match]:
        """Every match in the item, as token spans."""
        if self._empty or not tokens:
            return []
        raw = RAW_SEP + RAW_SEP.join(tokens) + RAW_SEP
        stemmed = STEM_SEP + STEM_SEP.join(stems) + STEM_SEP
        text = raw + HALF_SEP + stemmed
        # offsets of the separator before each token, in each half (C-speed accumulate)
        # (token i starts after i separators and the i tokens before it)
        raw_pos = list(map(add, accumulate(map(len, tokens), initial=0), count()))
        base = len(raw) + 1
        stem_pos = list(map(add, accumulate(map(len, stems), initial=base), count()))
        out: list[Match] = []
        for end, (klen, n, refs) in self._auto.iter(text):
            begin = end - klen + 1
            if begin >= base:
                i = bisect_left(stem_pos, begin)
                if stem_pos[i] != begin:
                    continue
            else:
                i = bisect_left(raw_pos, begin)
            out.append((i, i + n - 1, refs))
        return out
