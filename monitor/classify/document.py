"""An item laid out for matching: sentences, clauses and tokens with their stems.

The title is sentence 0. Clauses are the stretches between commas, semicolons, colons,
brackets and spaced dashes; a clause opened by "when"/"когда"/"калі" stays joined to the
one before it, so "since 2008, when Minsk expelled the ambassador" is one clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from monitor.classify.normalise import (
    clean,
    detect_language,
    fold_tokens,
    has_belarusian_letters,
    lower,
    split_sentences,
    stem,
    tokenise,
    tokenise_lower,
)
from monitor.model import ItemText

MAX_CHARS = 20_000           # text beyond this (long article bodies) is not read
_CLAUSE_RE = re.compile(r"[,;:()\[\]]|\s-\s|\"")
_JOINERS = frozenset({"when", "where", "когда", "где", "калі", "дзе"})
_STEM_CACHE: dict[str, dict[str, str]] = {"en": {}, "ru": {}, "be": {}}
_CACHE_MAX = 200_000


@dataclass
class Document:
    """Tokens of one item with their sentence and clause, ready for the matcher."""

    lang: str
    ref_date: datetime | None                     # published, else now, else None
    sentences: list[str] = field(default_factory=list)       # cleaned, case kept
    sent_span: list[tuple[int, int]] = field(default_factory=list)  # token [start, end)
    tokens: list[str] = field(default_factory=list)
    stems: list[str] = field(default_factory=list)
    sent_of: list[int] = field(default_factory=list)
    clause_of: list[int] = field(default_factory=list)
    joiners: list[int] = field(default_factory=list)  # token index of each when-joiner


def _stems(tokens: list[str], lang: str) -> list[str]:
    cache = _STEM_CACHE[lang]
    if len(cache) > _CACHE_MAX:
        cache.clear()
    try:
        return list(map(cache.__getitem__, tokens))   # C-speed for the usual all-cached case
    except KeyError:
        pass
    out = []
    for t in tokens:
        s = cache.get(t)
        if s is None:
            s = cache[t] = stem(t, lang)
        out.append(s)
    return out


@dataclass(frozen=True)
class Prepared:
    """An item's cleaned title and body, its language and all its tokens with stems.

    ``tokens`` are exactly the tokens ``build_document`` lays out (title first, then the
    body's sentences in order): sentence and clause splitting only cut at whitespace and
    punctuation that is never part of a token, and case folding works character by
    character. So a pattern scan over them tells, before any splitting, whether the
    item can matter at all.
    """

    title: str
    body: str
    lang: str
    tokens: list[str]
    stems: list[str]


def clean_item(item: ItemText) -> tuple[str, str, str]:
    """An item's cleaned title and body (title+summary+content) and its language."""
    title = clean((item.title or "")[:2000])
    summary, content = item.summary, item.content
    if content:
        body = "\n\n".join(p for p in (clean(summary or ""), clean(content)) if p)[:MAX_CHARS]
    else:
        body = clean(summary or "")[:MAX_CHARS]
    lang = detect_language(title + " " + body[:500], item.language)
    # A Belarusian text under an "en" label (a feed's default): the letters tell, without
    # counting scripts as ``detect_language`` would (what it says "be" to).
    if lang == "en" and not title.isascii() and has_belarusian_letters(title + body[:500]):
        lang = "be"
    return title, body, lang


def item_text(title: str, body: str) -> str:
    """The one string the item's tokens are read from."""
    return title + "\n" + body if body else title


def prepare(item: ItemText, cleaned: tuple[str, str, str] | None = None,
            low: str | None = None) -> Prepared:
    """Clean an item's title, summary and content, detect its language, tokenise it
    (``cleaned`` and ``low``: ``clean_item`` and ``lower(item_text(...))``, if known)."""
    title, body, lang = cleaned or clean_item(item)
    if low is None:
        low = lower(item_text(title, body))
    tokens = fold_tokens(tokenise_lower(low), lang)
    return Prepared(title, body, lang, tokens, _stems(tokens, lang))


def build_document(item: ItemText, now: datetime | None = None,
                   prepared: Prepared | None = None) -> Document:
    """Clean, split and tokenise an item's title, summary and content."""
    prep = prepared or prepare(item)
    title, body, lang = prep.title, prep.body, prep.lang
    doc = Document(lang=lang, ref_date=item.published or now)
    sentences = [title] if title.strip() else [""]
    if body:
        sentences.extend(split_sentences(body))
    clause = 0
    for si, sent in enumerate(sentences):
        start = len(doc.tokens)
        first = True
        for piece in _CLAUSE_RE.split(sent.replace("\n", " ")):
            toks = fold_tokens(tokenise(piece), lang)
            if not toks:
                continue
            if first or toks[0] not in _JOINERS:
                clause += 1
            else:
                doc.joiners.append(len(doc.tokens))
            first = False
            doc.tokens.extend(toks)
            doc.sent_of.extend([si] * len(toks))
            doc.clause_of.extend([clause] * len(toks))
        doc.sentences.append(sent)
        doc.sent_span.append((start, len(doc.tokens)))
    doc.stems = prep.stems if doc.tokens == prep.tokens else _stems(doc.tokens, lang)
    return doc
