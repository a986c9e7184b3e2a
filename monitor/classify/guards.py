"""Guards: reasons a trigger in a sentence is not a new milestone.

* negation   -- "not", "не", "ні" shortly before (or just after) the trigger, in its clause,
                unless it is "no longer"/"больше не" (a change, not a denial);
* hedge      -- speculation, intention, appeal, discussion or condition in the sentence
                ("could", "calls for", "discussed", "if", "обсуждается", "магчыма");
* denial     -- "denied", "опроверг" in the sentence, or anywhere in the title;
* historical -- the trigger's clause is set before the item's event by its wording ("since
                her confirmation", "after the easing", "..., when Minsk expelled");
                dates and tense are read by ``temporal`` and ``reading``;
* retrospective -- the sentence frames what it says as a look back;
* cause      -- the trigger names the reason for something else, not a new event: "in
                response to U.S. sanctions", "in protest at tightened sanctions", "despite
                the suspension of sanctions", "в ответ на санкции", "у адказ на санкцыі".

"""

from __future__ import annotations

from collections.abc import Callable

from monitor.classify.document import Document

Spans = dict[str, dict[int, list[tuple[int, int]]]]   # group -> sentence -> [(start, end)]

SHORT_CLAUSE = 3           # tokens: "added he", "пока обсуждается"
NEG_BEFORE = 10
NEG_AFTER = 3
SINCE_BEFORE = 6          # "since Washington and Minsk restored ..."
AFTER_BEFORE = 3


def _hits(spans: Spans, group: str, sent: int) -> list[tuple[int, int]]:
    return spans.get(group, {}).get(sent, [])


Cue = tuple[int, int] | None    # the token span of the words that void a trigger, if any


def negated(doc: Document, spans: Spans, start: int, end: int) -> Cue:
    """A negation word in the trigger's clause, just before or just after it."""
    sent = doc.sent_of[start]
    clause = doc.clause_of[start]
    keep = _hits(spans, "no_longer", sent)
    for s, e in _hits(spans, "negation", sent):
        if doc.clause_of[s] != clause:
            continue
        if not (start - NEG_BEFORE <= s < start or end < s <= end + NEG_AFTER):
            continue
        if any(ks <= s <= ke for ks, ke in keep):
            continue
        return s, e
    return None


HEDGE_AFTER = 6
HEDGE_BEFORE = 12


def hedged(doc: Document, spans: Spans, start: int, end: int, groups: tuple[str, ...],
           is_month: Callable[[int], bool] = lambda i: False, exempt_after: int | None = None,
           reported: Callable[[int], bool] = lambda i: False
           ) -> tuple[str, tuple[int, int]] | None:
    """Speculation, intention, appeal, discussion or condition governing the trigger: a hedge
    word earlier in the sentence, or just after the trigger ("freeing them would be her
    priority", "обмен послами, добавил он, пока обсуждается"). Returns the group found;
    ``is_month`` tells a month name from a hedge word ("in May" is not "may"); hedge words
    after ``exempt_after`` are what an order says, not a hedge on it; ``reported`` tells a
    future in reported speech ("said ... would be allowed") from a condition."""
    sent = doc.sent_of[start]
    for group in groups:
        for s, e in _hits(spans, group, sent):
            if s < start - HEDGE_BEFORE and doc.clause_of[s] != doc.clause_of[start]:
                continue        # "I hope ..., Lukashenko said as he met ...": too far back
            if (s, e) == (start, end):
                continue        # the trigger itself ("raised the cap" is no "raised the issue")
            if s < start and doc.title_break(s, start):
                continue        # "... proposed a deal on prisoners. 52 people freed"
            if s >= start and (s > end + HEDGE_AFTER or s in doc.joiners or (
                    doc.clause_of[s] != doc.clause_of[start]
                    and doc.clause_of.count(doc.clause_of[s]) > SHORT_CLAUSE)):
                # "reopened on Monday, when ..."; "cuts staff, urges U.S. to do the same"
                # (but "обмен послами, добавил он, пока обсуждается")
                continue
            if is_month(s) or (exempt_after is not None and s > exempt_after) or reported(s):
                continue
            return group, (s, e)
    return None


CAUSE_BEFORE = 8


def caused(doc: Document, spans: Spans, start: int) -> Cue:
    """A cause/concession phrase shortly before the trigger in its clause ("in response to
    new U.S. sanctions", "несмотря на приостановку санкций"): the trigger is the reason for
    the item's event, reported as known background."""
    clause = doc.clause_of[start]
    for s, e in _hits(spans, "cause", doc.sent_of[start]):
        if start - CAUSE_BEFORE <= s < start and doc.clause_of[s] == clause:
            return s, e
    return None


def denied(spans: Spans, sent: int) -> bool:
    return bool(_hits(spans, "denial", sent) or _hits(spans, "denial", 0))


def retrospective(spans: Spans, sent: int) -> bool:
    """The sentence frames what it says as a look back (a watchlist's own words; the
    genre of a whole item is read from its title, see ``reading``)."""
    return bool(_hits(spans, "retrospective", sent))


def future(doc: Document, spans: Spans, sent: int, clause: int | None = None) -> bool:
    """A word of the future in the sentence (in the clause ``clause``, when given)."""
    return any(clause is None or doc.clause_of[s] == clause
               for s, _e in _hits(spans, "future", sent))


def historical(doc: Document, spans: Spans, start: int, use_after: bool = True) -> Cue:
    """The trigger's clause is set before the item's event by its wording: "since her
    confirmation", "after the easing of sanctions", a when-clause ("..., when Minsk
    expelled"), or a watchlist's own ``historical`` words. Dates are read by ``temporal``."""
    sent = doc.sent_of[start]
    clause = doc.clause_of[start]
    for s, e in _hits(spans, "since", sent):
        if start - SINCE_BEFORE <= s < start and doc.clause_of[s] == clause:
            return s, e
    for s, e in _hits(spans, "after", sent) if use_after else []:
        if start - AFTER_BEFORE <= s < start and doc.clause_of[s] == clause:
            return s, e
    for w in doc.joiners:            # "..., when the two countries recalled ..."
        if w <= start and doc.clause_of[w] == clause:
            return w, w
    for s, e in _hits(spans, "historical", sent):
        if doc.clause_of[s] == clause:
            return s, e
    return None
