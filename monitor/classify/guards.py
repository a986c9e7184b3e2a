"""Guards: reasons a trigger in a sentence is not a new milestone.

* negation   -- "not", "не", "ні" shortly before (or just after) the trigger, in its clause,
                unless it is "no longer"/"больше не" (a change, not a denial);
* hedge      -- speculation, intention, appeal, discussion or condition in the sentence
                ("could", "calls for", "discussed", "if", "обсуждается", "магчыма");
* denial     -- "denied", "опроверг" in the sentence, or anywhere in the title;
* historical -- the trigger's clause dates the event before the item (a year before the
                reference year, a month 1-9 months back, "last year", "years after",
                "since her confirmation"); "since 2008" alone only measures a duration;
* retrospective -- the sentence or title frames the item as a look back (memoir, timeline);
* cause      -- the trigger names the reason for something else, not a new event: "in
                response to U.S. sanctions", "in protest at tightened sanctions", "despite
                the suspension of sanctions", "в ответ на санкции", "у адказ на санкцыі".

The reference date is the item's published date, else ``now``; without either, only the
wording markers apply.
"""

from __future__ import annotations

from monitor.classify.document import Document

Spans = dict[str, dict[int, list[tuple[int, int]]]]   # group -> sentence -> [(start, end)]

NEG_BEFORE = 10
NEG_AFTER = 3
_MONTHS: tuple[tuple[str, int], ...] = (
    ("january", 1), ("february", 2), ("march", 3), ("april", 4), ("may", 5), ("june", 6),
    ("july", 7), ("august", 8), ("september", 9), ("october", 10), ("november", 11),
    ("december", 12), ("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("мая", 5),
    ("мае", 5), ("май", 5), ("июн", 6), ("июл", 7), ("август", 8), ("сентябр", 9),
    ("октябр", 10), ("ноябр", 11), ("декабр", 12), ("студзен", 1), ("студзень", 1),
    ("лютага", 2), ("лютым", 2), ("люты", 2), ("сакавік", 3), ("красавік", 4), ("маі", 5),
    ("чэрвен", 6), ("чэрвень", 6), ("ліпен", 7), ("ліпень", 7), ("жнівень", 8), ("жніўн", 8),
    ("червен", 6), ("червень", 6), ("жнівеньск", 8), ("верасн", 9), ("верасень", 9), ("кастрычнік", 10), ("лістапад", 11),
    ("снежн", 12), ("снежань", 12),
)
_EN_MONTH_CUE = frozenset({"in", "since", "from", "by", "until", "early", "late", "mid", "on",
                           "of", "last", "next", "this", "till"})
_AMBIGUOUS_EN = frozenset({"may", "march"})
# words that turn a following date into the start of a duration ("since 2008", "с 2008 года")
_DATE_SINCE = frozenset({"since", "с", "со", "з", "зь", "са", "із"})


_MONTH_CACHE: dict[str, int] = {}


def _month_word(t: str) -> int:
    n = _MONTH_CACHE.get(t)
    if n is None:
        n = 0
        if len(t) >= 3 and t.isalpha():
            for prefix, m in _MONTHS:
                if t.startswith(prefix) and (not t.isascii() or t == prefix):
                    n = m
                    break
        if len(_MONTH_CACHE) < 100_000:
            _MONTH_CACHE[t] = n
    return n


def month_of(tokens: list[str], i: int) -> int | None:
    """Month number named by token ``i`` (English, Russian or Belarusian), if any."""
    t = tokens[i]
    n = _month_word(t)
    if not n:
        return None
    if t in _AMBIGUOUS_EN:          # "may consider", "march on": a month only after a cue
        prev = tokens[i - 1] if i > 0 else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if prev not in _EN_MONTH_CUE and not nxt.isdigit():
            return None
    return n


def _hits(spans: Spans, group: str, sent: int) -> list[tuple[int, int]]:
    return spans.get(group, {}).get(sent, [])


def negated(doc: Document, spans: Spans, start: int, end: int) -> bool:
    """A negation word in the trigger's clause, just before or just after it."""
    sent = doc.sent_of[start]
    clause = doc.clause_of[start]
    keep = _hits(spans, "no_longer", sent)
    for s, _e in _hits(spans, "negation", sent):
        if doc.clause_of[s] != clause:
            continue
        if not (start - NEG_BEFORE <= s < start or end < s <= end + NEG_AFTER):
            continue
        if any(ks <= s <= ke for ks, ke in keep):
            continue
        return True
    return False


HEDGE_AFTER = 6


def hedged(doc: Document, spans: Spans, start: int, end: int, groups: tuple[str, ...]) -> bool:
    """Speculation, intention, appeal, discussion or condition governing the trigger: a hedge
    word earlier in the sentence, or just after the trigger ("freeing them would be her
    priority", "обмен послами, добавил он, пока обсуждается")."""
    sent = doc.sent_of[start]
    for group in groups:
        for s, _e in _hits(spans, group, sent):
            if s >= start and s > end + HEDGE_AFTER:
                continue
            if doc.tokens[s] in _AMBIGUOUS_EN and month_of(doc.tokens, s) is not None:
                continue
            return True
    return False


CAUSE_BEFORE = 5


def caused(doc: Document, spans: Spans, start: int) -> bool:
    """A cause/concession phrase shortly before the trigger in its clause ("in response to
    new U.S. sanctions", "несмотря на приостановку санкций"): the trigger is the reason for
    the item's event, reported as known background."""
    clause = doc.clause_of[start]
    for s, _e in _hits(spans, "cause", doc.sent_of[start]):
        if start - CAUSE_BEFORE <= s < start and doc.clause_of[s] == clause:
            return True
    return False


def denied(doc: Document, spans: Spans, sent: int) -> bool:
    return bool(_hits(spans, "denial", sent) or _hits(spans, "denial", 0))


def retrospective(doc: Document, spans: Spans, sent: int) -> bool:
    return bool(_hits(spans, "retrospective", sent) or _hits(spans, "retrospective", 0))


def future(doc: Document, spans: Spans, sent: int) -> bool:
    return bool(_hits(spans, "future", sent))


# a year after these words dates a noun, not the clause ("on the anniversary of the 2020
# election", "after the 2020 vote", "выборов 2020 года")
_YEAR_ATTRIB = frozenset({"the", "of", "its", "their", "his", "her", "this", "that", "a",
                          "an", "s"})
_YEAR_EVENT_NOUN = ("election", "vote", "ballot", "poll", "protest", "uprising", "crackdown",
                    "выбор", "выбар", "голосован", "галасаван", "протест", "пратэст",
                    "годовщин", "гадавін", "anniversar")


def _dates_other(toks: list[str], lo: int, j: int, start: int) -> bool:
    """The year at ``j`` dates some other noun phrase, not the trigger's event: it follows
    a determiner ("the 2020 election", "anniversary of 2020 election") or an event noun
    ("после выборов 2020 года"), and the trigger is not the noun it dates ("the 2008
    expulsion")."""
    if j < start <= j + 2:
        return False            # "the 2008 expulsion": the year is the trigger's own
    prev = toks[j - 1] if j > lo else ""
    return prev in _YEAR_ATTRIB or prev.startswith(_YEAR_EVENT_NOUN)


LEAD_CLAUSE_MAX = 4


def _leading_date_clause(doc: Document, lo: int, hi: int, clause: int) -> int | None:
    """The clause just before ``clause`` when it is a short fronted date ("In 2008, Belarus
    expelled ...", "В 2008 году, ..."): its date is the next clause's."""
    prev = clause - 1
    idx = [j for j in range(lo, hi) if doc.clause_of[j] == prev]
    if not idx or len(idx) > LEAD_CLAUSE_MAX:
        return None
    return prev if any(doc.tokens[j].isdigit() for j in idx) else None


def historical(doc: Document, spans: Spans, start: int, end: int, use_after: bool = True
               ) -> bool:
    """The trigger's clause places the event well before the item's date."""
    sent = doc.sent_of[start]
    clause = doc.clause_of[start]
    since = _hits(spans, "since", sent)
    # "since her confirmation", "after the easing of sanctions", "when it resumes work"
    for s, _e in since + (_hits(spans, "after", sent) if use_after else []):
        if start - 3 <= s < start and doc.clause_of[s] == clause:
            return True
    if any(start - 3 <= w <= start for w in doc.joiners):
        return True
    for s, _e in _hits(spans, "historical", sent):
        if doc.clause_of[s] == clause:
            return True
    ref = doc.ref_date
    if ref is None:
        return False
    lo, hi = doc.sent_span[sent]
    toks = doc.tokens
    lead = _leading_date_clause(doc, lo, hi, clause)
    for j in range(lo, hi):
        if doc.clause_of[j] != clause and doc.clause_of[j] != lead:
            continue
        t = toks[j]
        dated = False
        if len(t) == 4 and t.isdigit() and t[:2] in ("19", "20"):
            dated = int(t) < ref.year and not _dates_other(toks, lo, j, start)
        else:
            m = month_of(toks, j)
            if m is not None and abs(j - start) <= 8:
                dated = 1 <= (ref.month - m) % 12 <= 9
        if not dated:
            continue
        after_since = any(toks[k] in _DATE_SINCE for k in range(max(lo, j - 3), j)) or any(
            j - 3 <= s < j for s, _e in since)
        joined = any(j < w <= start for w in doc.joiners)
        if not after_since or joined:
            return True
    return False
