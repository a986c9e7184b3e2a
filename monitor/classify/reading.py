"""Reading an item as news: does a trigger report the item's own event?

What an item reports is decided from its title and lead first (the inverted pyramid): a
trigger there reports the item's news unless its clause is dated well before the item.
A trigger further down, in the body, reports news only when its clause is tied to the
item's own time (a date within the type's window, "on Monday", "this week", "in return"),
or when the title or lead already speaks of that kind of event and the body gives its
details (corroboration). Otherwise the body is context: history, reactions, analysis.

An item whose title marks it as commentary, analysis, an interview or a look back (the
language file's ``genre`` words) has no lead event: every trigger in it must be tied to
the item's own time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from monitor.classify.document import BODY, Document
from monitor.classify.language import Language, language
from monitor.classify.temporal import (
    CURRENT,
    PAST,
    UNKNOWN,
    Anchor,
    When,
    reader,
    relation,
    when,
)
from monitor.model import DEDUPE_WINDOW

DEFAULT_WINDOW_DAYS = round(DEDUPE_WINDOW / 86400)     # ``Reading(doc)``: the config's default


@dataclass(frozen=True)
class Verdict:
    """Whether a trigger reports the item's news, and the reason as data."""

    ok: bool
    zone: str
    when: When
    reason: str        # lead | anchored | corroborated | background | unanchored


EARLIER_BACK = 4      # sentences a reference back may reach over ("the same day", "also")


class Reading:
    """The reading of one document: its genre, and the time of each sentence's triggers."""

    def __init__(self, doc: Document, windows: Mapping[str, int] | None = None,
                 default_window: int = DEFAULT_WINDOW_DAYS) -> None:
        self.doc = doc
        self.lang: Language = language(doc.lang)
        self.reader = reader(doc.lang)
        self.ref: date | None = doc.ref_date.date() if doc.ref_date is not None else None
        self.windows = windows or {}
        self.default_window = default_window
        self._anchors: dict[tuple[int, bool], list[Anchor]] = {}
        self.genre = self._genre()

    def _genre(self) -> bool:
        lo, hi = self.doc.sent_span[0]
        toks = self.doc.tokens
        if hi <= lo:
            return False
        if self.doc.fields.get("title", "").rstrip().endswith("?"):
            return True                 # "Will the U.S. ambassador return? Three scenarios"
        # "How ...", or "Hostage diplomacy: why the West ...": the word opening the title
        # or the part after its colon
        openers = [lo]
        colon = self.doc.fields.get("title", "").find(":")
        if colon >= 0:
            openers += [i for i in range(lo, hi) if self.doc.tok_src(i)[0] > colon][:1]
        if any(toks[i] in self.lang.genre_first for i in openers):
            return True
        return any(self.lang.genre.match(toks, i, hi) is not None for i in range(lo, hi))

    def is_month(self, i: int) -> bool:
        """Token ``i`` names a month ("in May"), not a word ("may consider")."""
        lo, hi = self.doc.sent_span[self.doc.sent_of[i]]
        return self.reader.month_at(self.doc.tokens, i, lo, hi) is not None

    def reported(self, i: int) -> bool:
        """Token ``i`` is a future in reported speech ("Minsk said five diplomats would be
        allowed to remain"): an announcement, not a condition."""
        doc = self.doc
        toks = doc.tokens
        if toks[i] not in self.lang.reported_future or i + 2 >= len(toks) or \
                toks[i + 1] != "be" or not self.reader.participle(toks[i + 2]):
            return False              # "would be allowed": a passive announced; "would
        lo = doc.sent_span[doc.sent_of[i]][0]  # welcome a visit" stays a hypothesis
        return any(doc.tokens[j] in self.lang.speech_verbs for j in range(lo, i))

    def request_met(self, i: int) -> bool:
        """Token ``i`` is a request that was met: "pardoned at Trump's request", "at the
        request of", "по просьбе" -- what it governs happened."""
        toks = self.doc.tokens
        lo = self.doc.sent_span[self.doc.sent_of[i]][0]
        if i - 1 >= lo and toks[i - 1] in self.lang.request_met:
            return True
        # one word between: "at the request", "at Trump's request" (read "at trump request")
        return i - 2 >= lo and toks[i - 2] in self.lang.request_met

    def nonpast(self, i: int) -> bool:
        """Token ``i`` is a verb in the present or the (perfective) future: "адновіць",
        "возобновит" -- a month it names lies ahead, not behind."""
        doc = self.doc
        if not self.lang.nonpast_endings or not doc.tokens[i].endswith(self.lang.nonpast_endings):
            return False
        # "дамовіліся аднавіць": an infinitive after a verb in the past
        lo, hi = doc.sent_span[doc.sent_of[i]]
        clause = doc.clause_of[i]
        return not any(j != i and doc.clause_of[j] == clause and len(doc.tokens[j]) > 4
                       and doc.tokens[j].endswith(self.lang.past_endings) for j in range(lo, hi))

    def dated_after(self, i: int) -> bool:
        """Token ``i`` is the "after" of "<n> <unit> after" ("a week after Washington
        suspended ..."): the time reading dates what follows, not the word itself."""
        return any(a.kind == "after" and a.end == i
                   for a in self.anchors(self.doc.sent_of[i], False))

    def anchors(self, sent: int, future: bool) -> list[Anchor]:
        key = (sent, future)
        found = self._anchors.get(key)
        if found is None:
            lo, hi = self.doc.sent_span[sent]
            found = self.reader.anchors(self.doc.tokens, lo, hi, self.ref, future) \
                if self.ref is not None else []
            found = self._anchors[key] = [self._possessive(a) for a in found]
        return found

    def _possessive(self, a: Anchor) -> Anchor:
        """"last week's release", "Monday's talks": a recent time in the possessive names an
        event already known, it does not date the clause (the source's "'s" tells;
        normalising dropped it). An old one still dates it ("last year's agreement")."""
        if not a.specific or a.dates_other or self.ref is None or \
                relation(a, self.ref, self.default_window) == PAST:
            return a
        doc = self.doc
        end = doc.tok_src(a.end)[1]
        text = doc.fields[doc.sent_field[doc.sent_of[a.end]]]
        if text[max(0, end - 2):end] in ("'s", "\u2019s") or text[end:end + 2] in ("'s", "\u2019s"):
            return Anchor(a.start, a.end, a.kind, a.first, a.last, "noun")
        return a

    def when(self, type_id: str, start: int, end: int, future: bool) -> When:
        """The time of the trigger at ``[start, end]`` for a milestone of ``type_id``."""
        if self.ref is None:
            return When(UNKNOWN)
        doc = self.doc
        sent = doc.sent_of[start]
        lo = doc.sent_span[sent][0]
        clause = doc.clause_of[start]
        # a short clause just before the trigger's ("In 2008, Belarus expelled ...")
        prev = [j for j in range(lo, start) if doc.clause_of[j] == clause - 1]
        lead_clause = clause - 1 if prev and len(prev) <= 4 else None
        window = self.windows.get(type_id, self.default_window)
        found = when(self.anchors(sent, future), doc.clause_of, start, end, self.ref, window,
                     lead_clause, self._described(sent))
        if found.anchor is not None and found.anchor.kind == "same" and \
                found.relation == UNKNOWN:
            return self._earlier(sent, found.anchor, window)
        return found

    def _described(self, sent: int) -> frozenset[int]:
        """Clauses of the sentence that describe a noun (see ``Reader.opens_description``)."""
        doc = self.doc
        lo, hi = doc.sent_span[sent]
        out = set()
        for j in range(lo + 1, hi):
            if doc.clause_of[j] != doc.clause_of[j - 1] and \
                    self.reader.opens_description(doc.tokens, j):
                out.add(doc.clause_of[j])
        return frozenset(out)

    def _earlier(self, sent: int, anchor: Anchor, window: int) -> When:
        """The time a reference back ("the same day", "following the meeting", "in turn")
        points to: the last date of the sentence before, or the item's own time when the
        sentence before is the title or lead."""
        doc = self.doc
        if self.ref is None:
            return When(UNKNOWN, anchor)
        # back over a few undated sentences of the body ("He also said ..." after a quote)
        for prev in range(sent - 1, max(-1, sent - 1 - EARLIER_BACK), -1):
            dated = [a for a in self.anchors(prev, False)
                     if a.specific and a.dates_other in ("", "participle")]
            if dated:
                return When(relation(dated[-1], self.ref, window), anchor)
            if doc.sent_zone[prev] != BODY:
                return When(CURRENT if not self.genre else UNKNOWN, anchor)
        return When(UNKNOWN, anchor)

    def verdict(self, type_id: str, start: int, end: int, future: bool,
                lead_speaks: Callable[[], bool]) -> Verdict:
        """Does the trigger at ``[start, end]`` report the item's news? ``lead_speaks``
        tells whether the title or lead speaks of this type's event (asked only when
        needed)."""
        doc = self.doc
        sent = doc.sent_of[start]
        zone = doc.sent_zone[sent]
        w = self.when(type_id, start, end, future)
        if w.relation == PAST:
            return Verdict(False, zone, w, "background")
        lo = doc.sent_span[sent][0]
        if start > lo and doc.tokens[start - 1] in self.lang.demonstratives:
            return Verdict(False, zone, w, "referenced")      # "that visit", "тот визит"
        if (zone == BODY or self.genre) and w.relation == UNKNOWN and \
                doc.clause_of[start] in self._described(sent):
            # "..., who had helped negotiate a release": further down, a clause describing
            # someone tells what they did before, unless it is dated
            return Verdict(False, zone, w, "described")
        if zone != BODY and not self.genre:
            return Verdict(True, zone, w, "lead")
        if w.relation != UNKNOWN:
            return Verdict(True, zone, w, "anchored")
        if not self.genre and lead_speaks():
            return Verdict(True, zone, w, "corroborated")
        return Verdict(False, zone, w, "unanchored")
