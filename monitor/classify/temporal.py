"""When a clause happened, relative to the item's own date.

``anchors`` finds the time expressions of a sentence -- dates, years, months, weekdays,
seasons, relative expressions ("last week", "в прошлом году", "летась"), "<n> <unit> ago",
and words that set a clause in the past without a date ("at the time", "тогда", "раней",
English pluperfect) -- and resolves each against the item's date to the span of days it
names. ``when`` picks the anchor that governs a trigger (the nearest in its clause, else
the nearest in its sentence) and says whether the trigger's event is ``past`` (over before
the item's date by more than the type's window), ``current`` (within the window, or
announced ahead), or ``unknown``. A date that dates a noun ("the 2020 election") or starts a
duration ("since 2008") dates nothing.

Pure: words come from the language files (``language.py``), the reference date is an
argument.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from monitor.classify.language import Language, language

PAST, CURRENT, UNKNOWN = "past", "current", "unknown"

_UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "halfyear": 182,
              "year": 365, "decade": 3650}
_MAX_DAY_NUMBER = 31
# "1990-х", "1990-я", "1990-ыя": a decade written as a year and an ending
_DECADE_ENDINGS = frozenset({"s", "х", "е", "я", "ыя", "ых", "ые"})


@dataclass(frozen=True)
class Anchor:
    """A time expression: tokens ``[start, end]`` name the days ``[first, last]``.

    ``kind``: date, month, year, decade, weekday, season, relative, ago, after ("a week
    after": that long before the news); or, naming no
    days, now (a word tying the clause to the item's moment), past (a word setting it
    earlier), pluperfect (a tense setting it earlier: clause only), state (a state that
    goes on: "remain in force") or same (a reference to a
    time named before: "the same day"). ``dates_other``: "since" when the expression
    starts a duration ("since 2008"), "noun" when it dates a noun ("the 2020 election"):
    "participle" when it belongs to a participle before it ("sanctions imposed in
    2023"): none of them dates its clause.
    """

    start: int
    end: int
    kind: str
    first: date | None = None
    last: date | None = None
    dates_other: str = ""

    @property
    def specific(self) -> bool:
        return self.first is not None


@dataclass(frozen=True)
class When:
    """The time of one trigger: ``past``, ``current`` or ``unknown``, and why."""

    relation: str
    anchor: Anchor | None = None


def _add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    y = d.year + m // 12
    m = m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _month_span(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def _relative(unit: str, offset: int, ref: date) -> tuple[date, date]:
    if unit == "day":
        d = ref + timedelta(days=offset)
        return d, d
    if unit == "week":
        monday = ref - timedelta(days=ref.weekday()) + timedelta(weeks=offset)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        first = _add_months(ref.replace(day=1), offset)
        return _month_span(first.year, first.month)
    if unit == "season":
        start = _add_months(ref.replace(day=1), 3 * offset - (ref.month - 1) % 3)
        return start, _add_months(start, 3) - timedelta(days=1)
    return date(ref.year + offset, 1, 1), date(ref.year + offset, 12, 31)


def _number(lang: Language, tok: str) -> int | None:
    if tok.isdigit():
        return int(tok) if len(tok) <= 3 else None
    n = lang.numbers.get(tok)
    return int(n) if n is not None else None


def _year(tok: str) -> int | None:
    if len(tok) == 4 and tok.isdigit() and tok[:2] in ("19", "20"):
        return int(tok)
    return None


def _decade(tok: str) -> int | None:
    """1990s, 90s, 2000s as tokens ("1990s") -- the Cyrillic "1990-х" is two tokens."""
    core = tok[:-1] if tok.endswith("s") else None
    if core and core.isdigit():
        if len(core) == 4 and core.endswith("0"):
            return int(core)
        if len(core) == 2 and core.endswith("0"):
            return 1900 + int(core)
    return None


class Reader:
    """Finds and resolves the time expressions of sentences in one language."""

    def __init__(self, lang: Language) -> None:
        self.lang = lang
        self._starts: dict[str, bool] = {}

    def _may_start(self, t: str) -> bool:
        """Whether a time expression may begin at a token ``t`` (most tokens cannot)."""
        known = self._starts.get(t)
        if known is None:
            lang = self.lang
            known = (t[:1].isdigit() or t in lang.later or t in lang.pluperfect.auxiliary
                     or any(w.get(t) is not None for w in (
                         lang.numbers, lang.units, lang.weekdays, lang.months, lang.seasons))
                     or any(p.may_start(t) for p in (
                         lang.relative, lang.same, lang.state, lang.now, lang.past)))
            if len(self._starts) < 100_000:
                self._starts[t] = known
        return known

    def anchors(self, toks: list[str], lo: int, hi: int, ref: date, future: bool = False
                ) -> list[Anchor]:
        """Every time expression in ``toks[lo:hi]`` (one sentence), resolved against ``ref``;
        ``future``: the sentence speaks of what is to come (a weekday is the next one)."""
        lang = self.lang
        out: list[Anchor] = []
        i = lo
        while i < hi:
            t = toks[i]
            if not self._may_start(t):
                i += 1
                continue
            found = self._at(toks, i, lo, hi, ref, future)
            if found is not None and found.kind == "ago" and found.end + 1 < hi:
                m = lang.relative.match(toks, found.end + 1, hi)
                if m is not None:              # "ten years ago this week": still ten years
                    found = Anchor(found.start, found.end + m[0], "ago", found.first,
                                   found.last)
            if found is not None:
                if found.kind in ("month", "weekday", "season", "date") and \
                        self._anaphoric(toks, lo, found.start):
                    found = Anchor(found.start, found.end, "same")   # "that June"
                elif found.kind in ("month", "season") and found.end + 1 < hi and \
                        (m := lang.anaphoric_after.match(toks, found.end + 1, hi)) is not None:
                    found = Anchor(found.start, found.end + m[0], "same")  # "March of that year"
                out.append(found)
                i = found.end + 1
                continue
            m = lang.relative.match(toks, i, hi) if lang.relative.may_start(t) else None
            if m is not None:
                unit, offset = m[1]
                first, last = _relative(str(unit), int(offset), ref)
                out.append(Anchor(i, i + m[0] - 1, "relative", first, last))
                i += m[0]
                continue
            for kind, table in (("same", lang.same), ("state", lang.state), ("now", lang.now),
                                ("past", lang.past)):
                m = table.match(toks, i, hi) if table.may_start(t) else None
                if m is not None:
                    a = Anchor(i, i + m[0] - 1, kind)
                    nxt = i + m[0]
                    if kind == "past" and nxt < hi and self.participle(toks[nxt]):
                        a = _other(a, "noun")        # "раней устаноўленыя абмежаванні"
                    out.append(a)
                    i += m[0]
                    break
            else:
                if t in lang.pluperfect.auxiliary and self._pluperfect(toks, i, hi) and \
                        not any(toks[j] in lang.speech_verbs for j in range(lo, i)):
                    # (after "said", "had been downgraded" is the reported present perfect)
                    out.append(Anchor(i, i, "pluperfect"))
                i += 1
        return out

    def _at(self, toks: list[str], i: int, lo: int, hi: int, ref: date, future: bool
            ) -> Anchor | None:
        lang = self.lang
        t = toks[i]
        n = _number(lang, t)
        # "<n> <unit> ago"; "two years later" tells a story of the past
        if n is not None and (u := self._unit_after(toks, i + 1, hi)) is not None:
            unit, k = u
            j = k + 1
            if j < hi:
                if toks[j] in lang.ago or toks[j] in lang.after:
                    d = ref - timedelta(days=n * _UNIT_DAYS[unit])
                    kind = "ago" if toks[j] in lang.ago else "after"
                    return Anchor(i, j, kind, d, d)
                if toks[j] in lang.later and _UNIT_DAYS[unit] >= _UNIT_DAYS["month"]:
                    return Anchor(i, j, "past")
        if t in lang.later:                        # "спустя почти четыре года"
            j = i + 1
            while j < hi and toks[j] in lang.approximately:
                j += 1
            if j < hi and _number(lang, toks[j]) is not None and \
                    (u := self._unit_after(toks, j + 1, hi)) is not None:
                unit, k = u
                if _UNIT_DAYS[unit] >= _UNIT_DAYS["month"]:
                    return Anchor(i, k, "past")
        unit = lang.units.get(t)
        if unit is not None and i + 1 < hi and toks[i + 1] in lang.ago and n is None:
            # "weeks earlier", "years ago": a few of them, two at the least
            days = _UNIT_DAYS[str(unit)]
            return Anchor(i, i + 1, "ago", ref - timedelta(days=6 * days),
                          ref - timedelta(days=2 * days))
        y = _year(t)
        if y is not None:
            dec = i + 1 < hi and toks[i + 1] in _DECADE_ENDINGS
            if dec and t.endswith("0"):
                return self._mark(toks, lo, i, Anchor(i, i + 1, "decade", date(y, 1, 1),
                                                       date(y + 9, 12, 31)))
            return self._mark(toks, lo, i, Anchor(i, i, "year", date(y, 1, 1), date(y, 12, 31)))
        dec_y = _decade(t)
        if dec_y is not None:
            return self._mark(toks, lo, i, Anchor(i, i, "decade", date(dec_y, 1, 1),
                                                   date(dec_y + 9, 12, 31)))
        wd = lang.weekdays.get(t)
        if wd is not None:
            delta = (ref.isoweekday() - int(wd)) % 7
            d = ref + timedelta(days=(7 - delta) % 7) if future else ref - timedelta(days=delta)
            return Anchor(i, i, "weekday", d, d)
        m = self.month_at(toks, i, lo, hi)
        if m is not None:
            return self._date(toks, i, lo, hi, m, ref, future)
        s = lang.seasons.get(t)
        if s is not None:
            year = _year(toks[i + 1]) if i + 1 < hi else None
            if year is None:
                # the season now, else the latest one (the next one, speaking of the future)
                year = ref.year
                month = int(s)
                start_now = date(year, month, 1)
                if start_now > ref and not future:
                    year -= 1
                elif future and _add_months(start_now, 3) <= ref:
                    year += 1
                first = date(year, month, 1)
                return Anchor(i, i, "season", first, _add_months(first, 3) - timedelta(days=1))
            first = date(year, int(s), 1)
            last = _add_months(first, 3) - timedelta(days=1)
            return self._mark(toks, lo, i, Anchor(i, i + 1, "season", first, last))
        return None

    def _unit_after(self, toks: list[str], j: int, hi: int) -> tuple[str, int] | None:
        """The time unit at ``j``, or after "and a half" ("четыре с половиной года"):
        (unit, its token index)."""
        for k in range(j, min(hi, j + 4)):
            unit = self.lang.units.get(toks[k])
            if unit is not None:
                return str(unit), k
            if toks[k] not in self.lang.approximately:
                return None
        return None

    def month_at(self, toks: list[str], i: int, lo: int, hi: int) -> int | None:
        """The month ``toks[i]`` names, if it names one here ("may" only after a cue)."""
        lang = self.lang
        t = toks[i]
        m = lang.months.get(t)
        if m is None or not t.isalpha():
            return None
        if t in lang.ambiguous_months:
            nxt = toks[i + 1] if i + 1 < hi else ""
            prev_cue = any(lang.month_cues.match(toks, j, i) is not None
                           for j in range(max(lo, i - 2), i))
            if not (nxt.isdigit() or prev_cue or (i > lo and toks[i - 1].isdigit())):
                return None
        return int(m)

    def _date(self, toks: list[str], i: int, lo: int, hi: int, month: int, ref: date,
              future: bool) -> Anchor:
        """A month name with the day before or after it and a year after it, if any."""
        start, end = i, i
        day = None
        if i > lo and toks[i - 1].isdigit() and 1 <= int(toks[i - 1]) <= _MAX_DAY_NUMBER \
                and len(toks[i - 1]) <= 2:
            day, start = int(toks[i - 1]), i - 1
        elif i + 1 < hi and toks[i + 1].isdigit() and len(toks[i + 1]) <= 2 \
                and 1 <= int(toks[i + 1]) <= _MAX_DAY_NUMBER:
            day, end = int(toks[i + 1]), i + 1
        year = _year(toks[end + 1]) if end + 1 < hi else None
        rel_years: int | None = None               # "в марте прошлого года": -1
        rel_length = 0
        if year is None and end + 1 < hi:
            found = self.lang.relative.match(toks, end + 1, hi)
            if found is not None:
                length, (unit, offset) = found
                if unit == "year":
                    rel_years, rel_length = int(offset), length
        if year is not None:
            end += 1
        elif rel_years is not None:
            year = ref.year + rel_years
            end += rel_length
        else:
            # The occurrence that is meant: the next one when the sentence speaks of the
            # future or sets a deadline ("by September 1"), else the latest one.
            year = ref.year
            prev = toks[start - 1] if start > lo else ""
            ahead = future or self._before(self.lang.deadline, toks, lo, start)
            if prev in self.lang.month_last:            # "last August": before this month
                if month >= ref.month:
                    year -= 1
            elif prev in self.lang.month_next:          # "next March": after this month
                if month <= ref.month:
                    year += 1
            elif ahead and (month, day or 1) < (ref.month, ref.day) and \
                    (day is not None or month != ref.month):
                year += 1
            elif not ahead and (month, day or 1) > (ref.month, ref.day) and \
                    (day is not None or month != ref.month):
                year -= 1
        if day is not None:
            try:
                d = date(year, month, day)
            except ValueError:
                d = _month_span(year, month)[0]
            return self._mark(toks, lo, start, Anchor(start, end, "date", d, d))
        first, last = _month_span(year, month)
        return self._mark(toks, lo, start, Anchor(start, end, "month", first, last))

    @staticmethod
    def _before(table: Any, toks: list[str], lo: int, start: int) -> bool:
        """A phrase of ``table`` ends just before ``start`` (or one word before it)."""
        for j in range(max(lo, start - 3), start):
            m = table.match(toks, j, start)
            if m is not None and start - 1 <= j + m[0] <= start:
                return True
        return False

    def _mark(self, toks: list[str], lo: int, start: int, a: Anchor) -> Anchor:
        """``a`` flagged ``dates_other`` when it starts a duration ("since 2008", "с 2008
        года") or dates a noun ("the 2020 election", "выборов 2020 года")."""
        lang = self.lang
        for j in range(max(lo, start - 3), start):
            m = lang.since.match(toks, j, start)
            if m is not None and j + m[0] == start:
                return _other(a, "since")
        prev = toks[start - 1] if start > lo else ""
        # "the election in March", "выборы в марте": a date after an event noun and a
        # preposition dates the noun
        if start - 2 >= lo and toks[start - 2] in lang.event_nouns and (
                prev in lang.year_cues or prev in ("в", "у", "ў")):
            return _other(a, "noun")
        # "sanctions imposed in 2023": the date belongs to the participle before it
        k = start - 1
        if k > lo and toks[k] in lang.year_cues | {"в", "у", "ў"}:
            k -= 1
        if k >= lo and a.kind in ("year", "date", "month", "season", "decade") and \
                self.participle(toks[k]):
            return _other(a, "participle")
        if a.kind in ("year", "date", "month") and (
                prev in lang.year_attributive or prev in lang.event_nouns):
            return _other(a, "noun")
        if a.kind in ("year", "decade") and lang.year_cues and not (
                prev in lang.year_cues or prev in lang.seasons or prev.isdigit()
                or (prev and lang.months.get(prev) is not None)):
            return _other(a, "noun")  # "the 2020 election", "its 2026 joint statement"
        if lang.year_cues and any(t in lang.event_nouns for t in toks[a.end + 1:a.end + 3]):
            return _other(a, "noun")  # "anniversary of the August 2020 presidential election"
        return a

    def participle(self, tok: str) -> bool:
        """``tok`` looks like a participle ("imposed", "задержанный", "асуджанага")."""
        return tok in self.lang.participle_only or (
            len(tok) > 4 and tok.endswith(self.lang.participle_endings)
            and tok not in self.lang.not_participles)

    def opens_description(self, toks: list[str], i: int) -> bool:
        """The clause starting at token ``i`` is not the sentence's main event: it opens
        with a relative pronoun ("who was detained in October"), a participle ("задержанный
        в октябре", "асуджанага летась") or a subordinator ("in response to the election in
        March", "после того, как ...")."""
        t = toks[i]
        return t in self.lang.relative_openers or self.participle(t) or \
            self.lang.subordinators.match(toks, i, len(toks)) is not None

    def _anaphoric(self, toks: list[str], lo: int, start: int) -> bool:
        """A word like "that" just before ``start``: a time named before ("that June")."""
        return any((m := self.lang.anaphoric.match(toks, j, start)) is not None
                   and j + m[0] == start for j in range(max(lo, start - 2), start))

    def _pluperfect(self, toks: list[str], i: int, hi: int) -> bool:
        """``toks[i]`` is "had" opening a pluperfect ("had expelled", "had already been")."""
        pp = self.lang.pluperfect
        j = i + 1
        while j < hi and toks[j] in pp.skip and toks[j] != "been":
            j += 1
        if j >= hi:
            return False
        t = toks[j]
        return t == "been" or t in pp.participles or (len(t) > 3 and t.endswith(pp.endings))


@cache
def reader(code: str) -> Reader:
    """The ``Reader`` of a language (one per process: it caches what it learns of tokens)."""
    return Reader(language(code))


def _other(a: Anchor, why: str) -> Anchor:
    return Anchor(a.start, a.end, a.kind, a.first, a.last, why)


def relation(a: Anchor, ref: date, window_days: int) -> str:
    """``past`` when the anchor's days end before ``ref`` by more than the window,
    ``current`` when they lie within it (or ahead), else ``unknown``."""
    if a.kind in ("past", "state", "pluperfect"):
        return PAST
    if a.kind == "now":
        return CURRENT
    if a.first is None or a.last is None:
        return UNKNOWN
    if a.last < ref - timedelta(days=window_days):
        return PAST
    if a.first >= ref - timedelta(days=window_days):
        return CURRENT
    return UNKNOWN


def when(anchors: list[Anchor], clause_of: list[int], start: int, end: int, ref: date,
         window_days: int, lead_clause: int | None = None,
         described: frozenset[int] = frozenset()) -> When:
    """The time of the trigger at tokens ``[start, end]``: its clause's anchor nearest to
    it (a fronted date clause counts as the trigger's: "In 2008, Minsk expelled ..."), else
    the sentence's nearest outside the ``described`` clauses (those describing a noun:
    "a U.S. citizen, detained in October, was pardoned"); a date beats words without one.
    A duration that opens right after the trigger makes it a state ("shut since February
    2022"), not an event."""
    clause = clause_of[start]
    # words of the trigger itself ("allowed to remain") date nothing
    anchors = [a for a in anchors if a.end < start or a.start > end]
    for a in anchors:
        if a.dates_other == "participle" and a.start - 2 <= start < a.start \
                and start == end:
            # "lifted in 2015" when the trigger is that participle: it dates the trigger
            return When(relation(a, ref, window_days), a)
        if a.dates_other == "since" and end < a.start <= end + 3 and clause_of[a.start] == clause:
            return When(PAST, a)
        if a.dates_other == "noun" and a.end < start <= a.end + 2:
            # the noun the date belongs to is the trigger itself: "the 2008 expulsion"
            return When(relation(a, ref, window_days), a)
    usable = [a for a in anchors if not a.dates_other]
    if not usable:
        return When(UNKNOWN)

    def dist(a: Anchor) -> int:
        return start - a.end if a.end < start else max(0, a.start - end)

    def pick(cands: list[Anchor]) -> Anchor | None:
        dated = [a for a in cands if a.specific]
        pool = dated or cands
        return min(pool, key=dist) if pool else None

    mine = [a for a in usable if clause_of[a.start] in (clause, lead_clause)]
    state = [a for a in mine if a.kind == "state"]
    if state:                        # "blocked before Thursday remains frozen": a state
        return When(PAST, state[0])
    # a date anywhere in the sentence may date the trigger, and so may a word setting the
    # sentence in the past ("in recent months"); a tense or a word tying a clause to now
    # only speaks for its own clause
    chosen = pick(mine) or pick([a for a in usable if (a.specific or a.kind == "past")
                                 and clause_of[a.start] not in described])
    if chosen is None:
        return When(UNKNOWN)
    if chosen.kind == "same":
        # "the same day" takes the time of the sentence's date, if it names one
        dated = pick([a for a in usable if a.specific])
        if dated is None:
            return When(UNKNOWN, chosen)
        chosen = dated
    return When(relation(chosen, ref, window_days), chosen)
