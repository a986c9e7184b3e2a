"""An item laid out for matching: fields, paragraphs, sentences, clauses, tokens and stems.

An item is read as an article. Its fields are the title, the summary and the content; a
summary that is the start of the content (the usual case) is not read twice. The title is
sentence 0. The **lead** is the opening of the text: the first paragraph (at most
``LEAD_SENTENCES`` sentences) and, when that paragraph holds only one full sentence, the
first sentence of the next; a summary that is not the start of the content (a teaser in
other words) is read as lead too. Everything after the lead is the **body**.

Clauses are the stretches between commas, semicolons, colons, brackets and spaced
dashes; a clause opened by "when"/"когда"/"калі" stays joined to the one before it, so
"since 2008, when Minsk expelled the ambassador" is one clause.

Every token keeps the character span it was read from in its field's own text, so that
evidence is quoted as the source wrote it, not as it was normalised for matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from monitor.classify.language import language
from monitor.classify.normalise import (
    TOKEN_RE,
    clean,
    clean_mapped,
    detect_language,
    fold_be,
    fold_tokens,
    has_belarusian_letters,
    lower,
    lower_mapped,
    sentence_spans,
    stem,
    tokenise_lower,
)
from monitor.classify.offsets import OffsetMap
from monitor.model import ItemText

MAX_CHARS = 20_000           # text of a field beyond this (long article bodies) is not read
MAX_TITLE = 2_000
LEAD_SENTENCES = 3
FULL_SENTENCE = 6            # tokens: shorter ones (a dateline, a kicker) do not fill the lead
_CLAUSE_RE = re.compile(r"[,;:()\[\]]|\s-\s")
_JOINERS = frozenset({"when", "where", "когда", "где", "калі", "дзе"})
_STEM_CACHE: dict[str, dict[str, str]] = {"en": {}, "ru": {}, "be": {}}
_CACHE_MAX = 200_000
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[…\]|\[\.\.\.\]|\(…\))\s*$")

TITLE, LEAD, BODY = "title", "lead", "body"
_QUOTES = frozenset("\"'«„“”‘’")


@dataclass
class Document:
    """Tokens of one item with their sentence, clause and source span."""

    lang: str
    ref_date: datetime | None                     # published, else now, else None
    fields: dict[str, str] = field(default_factory=dict)   # field -> source text read
    sentences: list[str] = field(default_factory=list)     # cleaned, case kept
    sent_span: list[tuple[int, int]] = field(default_factory=list)  # token [start, end)
    sent_field: list[str] = field(default_factory=list)
    sent_src: list[tuple[int, int]] = field(default_factory=list)   # chars in its field
    sent_zone: list[str] = field(default_factory=list)     # title | lead | body
    tokens: list[str] = field(default_factory=list)
    stems: list[str] = field(default_factory=list)
    tok_clean: list[tuple[int, int]] = field(default_factory=list)  # chars of the cleaned field
    maps: dict[str, OffsetMap] = field(default_factory=dict)       # cleaned -> source, per field
    sent_of: list[int] = field(default_factory=list)
    clause_of: list[int] = field(default_factory=list)
    joiners: list[int] = field(default_factory=list)  # token index of each when-joiner
    # tokens opening a sentence inside the title ("... deal on prisoners. 52 freed"): the
    # title stays one sentence, but what one of its sentences says does not govern the next
    title_breaks: list[int] = field(default_factory=list)

    def title_break(self, i: int, j: int) -> bool:
        """A sentence of the title ends between tokens ``i`` < ``j``."""
        return any(i < b <= j for b in self.title_breaks)

    def source(self, sent: int) -> str:
        """Sentence ``sent`` exactly as its source wrote it."""
        a, b = self.sent_src[sent]
        return self.fields[self.sent_field[sent]][a:b]

    def tok_src(self, i: int) -> tuple[int, int]:
        """Token ``i``'s span in its field's source text (mapped when asked: few are)."""
        a, b = self.tok_clean[i]
        return self.maps[self.sent_field[self.sent_of[i]]].source(a, b)


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

    ``tokens`` are the tokens ``build_document`` lays out (title first, then each field's
    sentences in order): both read the same fields through the same ``clean`` and
    ``lower``, and sentence and clause splitting only cut at whitespace and punctuation
    that is never part of a token. So a pattern scan over them tells, before any
    splitting, whether the item can matter at all.
    """

    title: str
    body: str
    lang: str
    tokens: list[str]
    stems: list[str]


def is_lead_of(summary: str, content: str) -> bool:
    """The summary is the start of the content (whitespace and a final ellipsis aside)."""
    head = " ".join(_ELLIPSIS.sub("", summary.strip()).split())[:300]
    if not head:
        return False
    return " ".join(content[: len(head) * 2 + 200].split()).startswith(head)


def read_fields(item: ItemText) -> list[tuple[str, str]]:
    """The fields read, in order, each cut to its limit: (name, source text)."""
    out = [("title", (item.title or "")[:MAX_TITLE])]
    summary, content = item.summary or "", item.content or ""
    if summary.strip() and not (content.strip() and is_lead_of(summary, content)):
        out.append(("summary", summary[:MAX_CHARS]))
    if content.strip():
        out.append(("content", content[:MAX_CHARS]))
    return out


class Cleaned(NamedTuple):
    """An item's cleaned title and body (the fields read after the title) and its language."""

    title: str
    body: str
    lang: str


def clean_item(item: ItemText) -> Cleaned:
    """An item's cleaned title and body (the fields read after the title) and its language."""
    fields = read_fields(item)
    _, title_source = fields[0]
    title = clean(title_source)
    body = "\n\n".join(c for c in (clean(text) for _, text in fields[1:]) if c)
    lang = detect_language(title + " " + body[:500], item.language)
    # A Belarusian text under an "en" label (a feed's default): the letters tell, without
    # counting scripts as ``detect_language`` would (what it says "be" to).
    if lang == "en" and not title.isascii() and has_belarusian_letters(title + body[:500]):
        lang = "be"
    return Cleaned(title, body, lang)


def item_text(title: str, body: str) -> str:
    """The one string the item's tokens are read from."""
    return title + "\n" + body if body else title


def prepare(item: ItemText, cleaned: Cleaned | None = None,
            low: str | None = None) -> Prepared:
    """Clean an item's fields, detect its language, tokenise it (``cleaned`` and ``low``:
    ``clean_item`` and ``lower(item_text(...))``, if known)."""
    title, body, lang = cleaned or clean_item(item)
    if low is None:
        low = lower(item_text(title, body))
    tokens = fold_tokens(tokenise_lower(low), lang)
    return Prepared(title, body, lang, tokens, _stems(tokens, lang))


def build_document(item: ItemText, now: datetime | None = None,
                   prepared: Prepared | None = None) -> Document:
    """Read an item's fields into sentences, clauses and tokens with source spans."""
    prep = prepared or prepare(item)
    lang = prep.lang
    doc = Document(lang=lang, ref_date=item.published or now)
    clause = 0
    glue = set(language(lang).conjunctions)   # "после того, как": one clause
    fields = read_fields(item)
    last_name, _ = fields[-1]
    main = last_name if len(fields) > 1 else None
    for name, source in fields:
        doc.fields[name] = source
        cleaned, omap = clean_mapped(source)
        doc.maps[name] = omap
        inner: list[int] = []
        if name == "title":
            inner = [a for a, _b in sentence_spans(cleaned)[1:]]
            spans = [(0, len(cleaned))]
        else:
            spans = sentence_spans(cleaned)
        lmap = OffsetMap()
        low = lower_mapped(cleaned, lmap)
        tok_iter = TOKEN_RE.finditer(low)
        pending = next(tok_iter, None)
        first_sent = len(doc.sentences)
        paras: list[int] = []
        para = 0
        prev_end = 0
        for a, b in spans:
            para += cleaned.count("\n", prev_end, a) > 0
            prev_end = b
            si = len(doc.sentences)
            start = len(doc.tokens)
            last_end = a
            first = True
            # tokens of this sentence: those starting inside [a, b) of the cleaned text
            while pending is not None:
                ta, tb = lmap.source(*pending.span()) if lmap.steps else pending.span()
                if ta >= b:
                    break
                if ta >= a:
                    tok = pending.group(0)
                    if lang == "be" and ("ь" in tok or "э" in tok or tok.startswith("ў")):
                        tok = fold_be(tok)
                    gap = cleaned[last_end:ta]
                    brk = bool(_CLAUSE_RE.search(gap)) and not (
                        doc.tokens and (doc.tokens[-1], tok) in glue and gap.strip() == ",")
                    if inner and ta >= inner[0]:
                        inner.pop(0)
                        doc.title_breaks.append(len(doc.tokens))
                        brk = True
                    if first or (brk and tok not in _JOINERS):
                        clause += 1
                    elif brk:
                        doc.joiners.append(len(doc.tokens))
                    first = False
                    doc.tokens.append(tok)
                    doc.tok_clean.append((ta, tb))
                    doc.sent_of.append(si)
                    doc.clause_of.append(clause)
                    last_end = tb
                pending = next(tok_iter, None)
            if start == len(doc.tokens) and name != "title":
                continue                      # no token: nothing to read
            doc.sentences.append(cleaned[a:b])
            doc.sent_span.append((start, len(doc.tokens)))
            doc.sent_field.append(name)
            doc.sent_src.append(omap.source(a, b))
            paras.append(para)
        doc.sent_zone.extend(_zones(name, main, paras, doc.sent_span[first_sent:],
                                    [s[:1] in _QUOTES for s in doc.sentences[first_sent:]]))
    if not doc.sentences:
        doc.sentences.append("")
        doc.sent_span.append((0, 0))
        doc.sent_field.append("title")
        doc.sent_src.append((0, 0))
        doc.sent_zone.append(TITLE)
        doc.fields.setdefault("title", "")
    doc.stems = prep.stems if doc.tokens == prep.tokens else _stems(doc.tokens, lang)
    return doc


def _zones(name: str, main: str | None, paras: list[int], spans: list[tuple[int, int]],
           quotes: list[bool]) -> list[str]:
    """The zone of each sentence of one field (see the module docstring)."""
    if name == "title":
        return [TITLE] * len(paras)
    if name != main:                          # a summary read beside the content: a teaser
        return [LEAD if i < LEAD_SENTENCES else BODY for i in range(len(paras))]
    zones: list[str] = []
    full = 0
    for i, (p, (a, b)) in enumerate(zip(paras, spans, strict=True)):
        first_para = p == paras[0]
        if first_para and i < LEAD_SENTENCES:
            zones.append(LEAD)
            full += b - a >= FULL_SENTENCE
        elif not first_para and full < 2 and (i == 0 or paras[i - 1] != p) and \
                all(q == paras[0] for q in paras[:i]) and not quotes[i]:
            zones.append(LEAD)                # the next paragraph's first sentence
            full = 2
        else:
            zones.append(BODY)
    return zones
