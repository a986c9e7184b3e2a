"""Actor mentions, relevance and milestone rules of one watchlist over one document.

A rule fires in a sentence when all its term groups occur there (the first group is the
trigger), none of its ``not`` groups do, each required side has a government actor in
the required scope (``sentence``; ``context`` = the sentence, the one before and the title;
``item``), senior sides have a senior official, and at least one trigger occurrence
survives the guards (see guards.py) that the rule does not ``allow``.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.classify import guards
from monitor.classify.document import BODY, LEAD, TITLE, Document
from monitor.classify.guards import Spans
from monitor.classify.reading import Reading, Verdict
from monitor.classify.temporal import CURRENT, PAST, When
from monitor.classify.watchlist import Actor, Rule, Watchlist
from monitor.model import EvidenceSpan, MilestoneHit, Reason, Rejection, TimeAnchor

_SIDE_KINDS = frozenset({"country", "adjective", "capital", "person", "institution"})
_TITLE_LINKS = frozenset({"of", "the", "for"})


@dataclass(frozen=True)
class Mention:
    actor: Actor
    side: str | None
    start: int
    end: int
    sent: int
    weight: float
    sides: tuple[str, ...] = ()      # ``side`` split at "+" (once, not per rule)


@dataclass
class Scan:
    """What the matcher found for one watchlist in one document."""

    mentions: list[Mention]
    terms: Spans
    guards: Spans
    off_topic: int


def collect(wl: Watchlist, doc: Document, actor_hits: list[tuple[int, int, int]],
            excluded: list[tuple[int, int]], terms: Spans, guard_spans: Spans,
            off_topic: int) -> Scan:
    """Turn raw actor matches into side-resolved, weighted mentions."""
    raw: list[tuple[Actor, int, int]] = []
    for idx, s, e in actor_hits:
        if any(xs <= s and e <= xe for xs, xe in excluded):
            continue
        raw.append((wl.actors[idx], s, e))
    raw.sort(key=lambda r: r[1])
    mentions: list[Mention] = []
    sided = [(a, s, e) for a, s, e in raw if a.side is not None and a.kind in _SIDE_KINDS]
    for actor, s, e in raw:
        sent = doc.sent_of[s]
        side = actor.side
        if actor.kind == "title":
            best: tuple[int, str, bool] | None = None
            for other, os_, oe in sided:
                if doc.sent_of[os_] != sent or other.side is None:
                    continue
                dist = s - oe if oe < s else os_ - e
                # "U.S. Secretary", "МИД Беларуси", "Minister of Foreign Affairs of
                # Belarus": next to the title or joined by "of (the)" -- not the object
                # of a verb ("МИД уведомил Вашингтон")
                between = doc.tokens[oe + 1:s] if oe < s else doc.tokens[e + 1:os_]
                if 0 < dist <= 3 and all(t in _TITLE_LINKS for t in between) and (
                        best is None or dist < best[0]):
                    best = (dist, other.side, other.government)
            if best is not None and not best[2]:
                continue    # "opposition leader": not an official of either side
            if best is not None:
                side = best[1]
        weight = actor.relevance_weight
        if side is None and actor.default_side is not None:
            # "the Foreign Minister" with no country next to it: the side the title
            # belongs to in this relationship -- enough for a rule, not for relevance
            side, weight = actor.default_side, min(weight, 0.5)
        if actor.kind == "adjective" and _followed_by(guard_spans, "gov_noun", sent, e, 3):
            weight = 1.0
        elif (actor.kind == "capital" and _preceded_by(guard_spans, "location", sent, s)
              and not _preceded_by(guard_spans, "gov_noun", sent, s - 1)):
            weight = 0.5    # "a firm in Minsk" is a place; "the embassy in Minsk" is not
        if _negated_mention(doc, guard_spans, sent, s):
            weight = 0.0    # "the guest did not represent the US administration"
        mentions.append(Mention(actor, side, s, e, sent, weight,
                                tuple(side.split("+")) if side is not None else ()))
    return Scan(mentions, terms, guard_spans, off_topic)


def _negated_mention(doc: Document, spans: Spans, sent: int, start: int) -> bool:
    clause = doc.clause_of[start]
    return any(start - 3 <= s < start and doc.clause_of[s] == clause
               for s, _ in spans.get("negation", {}).get(sent, []))


def _followed_by(spans: Spans, group: str, sent: int, end: int, within: int) -> bool:
    return any(end < s <= end + within for s, _ in spans.get(group, {}).get(sent, []))


def _preceded_by(spans: Spans, group: str, sent: int, start: int) -> bool:
    return any(e == start - 1 for _, e in spans.get(group, {}).get(sent, []))


BODY_SENTENCES_FOR_RELEVANCE = 2


def relevance(wl: Watchlist, scan: Scan, doc: Document) -> tuple[float, bool]:
    """Score 0..1 and verdict: every relevance side strongly present in one sentence of the
    title or lead, or in ``BODY_SENTENCES_FOR_RELEVANCE`` sentences of the body (an aside
    further down does not make an item about the relationship)."""
    sides = wl.relevance.sides
    per_sent: dict[int, dict[str, float]] = {}
    for m in scan.mentions:
        if m.side is None:
            continue
        d = per_sent.setdefault(m.sent, {})
        for side in _sides_of(m):
            if m.weight > d.get(side, 0.0):
                d[side] = m.weight
    best = 0.0
    body_best: list[float] = []
    for sent, d in per_sent.items():
        low = min((d.get(s, 0.0) for s in sides), default=0.0)
        if doc.sent_zone[sent] == BODY:
            body_best.append(low)
        else:
            best = max(best, low)
    threshold = wl.relevance.min_side_weight
    strong = sorted(body_best, reverse=True)
    if len(strong) >= BODY_SENTENCES_FOR_RELEVANCE:
        best = max(best, strong[BODY_SENTENCES_FOR_RELEVANCE - 1])
    elif strong:
        best = max(best, min(strong[0], threshold * 0.75))
    ok = best >= threshold
    if ok and scan.off_topic >= wl.relevance.off_topic_min:
        return 0.2, False
    return best, ok


def _sides_of(m: Mention) -> tuple[str, ...]:
    return m.sides


def _side_ok(scan: Scan, doc: Document, side: str, scope: str, sent: int, senior: bool
             ) -> tuple[bool, bool]:
    """(found, found inside the sentence itself)."""
    found_elsewhere = False
    for m in scan.mentions:
        if side not in _sides_of(m) or not m.actor.government:
            continue
        if senior and not m.actor.senior:
            continue
        if m.sent == sent:
            return True, True
        if scope == "item" or (scope == "context" and m.sent in (0, sent - 1)):
            found_elsewhere = True
    return found_elsewhere, False


def _foreign(scan: Scan, start: int, end: int, sent: int) -> bool:
    """The word at [start, end] is tied to a third country: the first country word after it
    (within four tokens) is a third country, or none follows and one just precedes it
    ("ambassador to Poland", "China's new ambassador"; not "in Warsaw as ambassador to
    Belarus")."""
    after: Mention | None = None
    before = False
    for m in scan.mentions:
        if m.sent != sent or m.side is None or m.actor.kind not in (
                "country", "adjective", "capital", "organisation"):
            continue
        if end < m.start <= end + 4 and (after is None or m.start < after.start):
            after = m
        elif start - 2 <= m.end < start and m.side == "other":
            before = True
    if after is not None:
        return after.side == "other"
    return before


def _rule_foreign(rule: Rule, scan: Scan, start: int, end: int, sent: int) -> bool:
    if _foreign(scan, start, end, sent):
        return True
    for g in rule.all[1:]:
        hits = scan.terms.get(g, {}).get(sent, [])
        if hits:
            s, e = min(hits, key=lambda h: abs(h[0] - start))
            if _foreign(scan, s, e, sent):
                return True
    return False


NOT_NEAR = 8
SUBJECT_WITHIN = 6
OBJECT_GAP = 3
# words that may stand between a verb and its object ("sanctions the Belarusian airline",
# "sanctions 16 Belarusian officials"); a preposition there makes the trigger a noun
# ("U.S. sanctions on Belarusian potash")
_OBJECT_GAP_OK = frozenset({"the", "a", "an", "its", "two", "three", "four", "five", "six",
                            "seven", "eight", "nine", "ten", "several", "dozens", "of"})


_AGENT_KINDS = frozenset({"country", "adjective", "capital", "organisation", "institution"})


def _third_party_agent(doc: Document, scan: Scan, start: int, passive: bool = False) -> bool:
    """The trigger's event is a third party's: the nearest country, capital, organisation
    or institution before it in its clause -- or, when its clause names none before it,
    the first one of its sentence (the subject) -- is neither side ("Russia on Thursday
    released ...", "The EU took a parallel step, suspending its asset freeze")."""
    sent = doc.sent_of[start]
    clause = doc.clause_of[start]
    before = [m for m in scan.mentions if m.sent == sent and m.end < start
              and m.actor.kind in _AGENT_KINDS and m.side is not None]
    if not before:
        return False
    own = [m for m in before if doc.clause_of[m.start] == clause]
    if not own and passive:
        return False        # "52 citizens, freed after ...": a participle names no agent
    agent = own[-1] if own else before[0]
    return agent.side == "other"


def _attributive(rule: Rule, doc: Document, scan: Scan, reading: Reading, start: int,
                 end: int) -> bool:
    """The trigger is a participle describing the rule's noun, not an event: "the reopened
    U.S. embassy", "закрытае пасольства" (English needs the determiner to tell it from a
    verb: "US closed embassy" may be either)."""
    tok = doc.tokens[start]
    if start != end or not reading.reader.participle(tok):
        return False
    sent = doc.sent_of[start]
    lo = doc.sent_span[sent][0]
    dets = reading.lang.determiners
    reach = 3
    if dets and (start == lo or doc.tokens[start - 1] not in dets):
        if tok not in reading.lang.participle_only:
            return False              # "Washington reopened the embassy": a verb
        reach = 1                     # "improve frozen relations"; not "has withdrawn its consent"
    clause = doc.clause_of[start]
    return any(start < s <= start + reach and doc.clause_of[s] == clause
               for g in rule.all[1:] for s, _e in scan.terms.get(g, {}).get(sent, ()))


def _postnominal(rule: Rule, doc: Document, scan: Scan, reading: Reading, start: int,
                 end: int) -> bool:
    """A participle after the rule's noun describes it, unless a date ties it to the
    item's time: "relations deteriorated over U.S. sanctions imposed on Belneftekhim"
    (English: the participle is also the past tense, so it must follow the noun directly
    and be followed by "on", "by", "against" ...)."""
    toks = doc.tokens
    if start != end or not reading.lang.determiners or not reading.reader.participle(toks[start]):
        return False
    lo, hi = doc.sent_span[doc.sent_of[start]]
    if start == lo or end + 1 >= hi or toks[end + 1] not in reading.lang.postnominal_next:
        return False
    sent = doc.sent_of[start]
    if not any(e == start - 1 for g in rule.all[1:]
               for _s, e in scan.terms.get(g, {}).get(sent, ())):
        return False
    future = guards.future(doc, scan.guards, sent, doc.clause_of[start])
    return reading.when(rule.id, start, end, future).relation != CURRENT


def _subject_ok(doc: Document, scan: Scan, side: str, start: int) -> bool:
    """The nearest sided actor before the trigger, in its clause and within a few tokens,
    is a government actor of ``side`` ("U.S. sanctions ...", "Treasury on Tuesday
    sanctions ..."; not "the EU sanctions ...")."""
    clause = doc.clause_of[start]
    best: Mention | None = None
    for m in scan.mentions:
        if (m.side is None or m.end >= start or start - m.end > SUBJECT_WITHIN
                or doc.clause_of[m.start] != clause):
            continue
        if best is None or m.end > best.end:
            best = m
    return best is not None and side in best.sides and best.actor.government


def _object_ok(doc: Document, scan: Scan, side: str, end: int) -> bool:
    """An actor of ``side`` follows the trigger, with at most a determiner or a number
    between ("sanctions Belavia", "sanctions the Belarusian state airline")."""
    clause = doc.clause_of[end]
    toks = doc.tokens
    for m in scan.mentions:
        if (end < m.start <= end + 1 + OBJECT_GAP and side in m.sides
                and doc.clause_of[m.start] == clause
                and all(toks[k] in _OBJECT_GAP_OK or toks[k].isdigit()
                        for k in range(end + 1, m.start))):
            return True
    return False


class Context:
    """What the rules of one watchlist share while reading one document."""

    def __init__(self, wl: Watchlist, doc: Document, scan: Scan, reading: Reading,
                 explain: bool = False) -> None:
        self.wl = wl
        self.doc = doc
        self.scan = scan
        self.reading = reading
        self.rejected: list[Rejection] | None = [] if explain else None
        self._lead_speaks: dict[str, bool] = {}
        # a title or lead sentence holds all of a rule's words and both sides, and what
        # stops it is a denial, a negation or a hedge: the item is about the relationship
        # (a plan, a call, a rumour), even though nothing happened
        self.discussed = False

    def lead_speaks(self, type_id: str) -> bool:
        """The title or lead reports an event of the type: a sentence there holds all the
        words of one of its rules, and a trigger that no guard voids, in a clause not dated
        before the item. A body sentence may then give that event's details."""
        known = self._lead_speaks.get(type_id)
        if known is None:
            known = self._lead_speaks[type_id] = any(
                self._speaks(rule, type_id) for rule in self.wl.milestones[type_id].rules)
        return known

    def _speaks(self, rule: Rule, type_id: str) -> bool:
        doc, scan, terms = self.doc, self.scan, self.scan.terms
        for sent, hits in terms.get(rule.all[0], {}).items():
            if doc.sent_zone[sent] == BODY or not all(
                    terms.get(g, {}).get(sent) for g in rule.all[1:]) or any(
                    terms.get(g, {}).get(sent) for g in rule.not_):
                continue
            for s, e in hits:
                future = guards.future(doc, scan.guards, sent, doc.clause_of[s])
                if _placed(rule, doc, terms, sent, s, e) is None and \
                        _guard(rule, doc, scan, self.reading, s, e) is None and \
                        self.reading.when(type_id, s, e, future).relation != PAST:
                    return True
        return False

    def reject(self, type_id: str, rule: Rule, sent: int, guard: str,
               when: When | None = None, cue: tuple[int, int] | None = None) -> None:
        if self.rejected is None:
            return
        self.rejected.append(Rejection(
            type=type_id, watchlist=self.wl.name, evidence=self.doc.source(sent),
            reason=Reason(f"{type_id}.{rule.id}", self.doc.sent_zone[sent], guard,
                          _anchor(self.doc, when),
                          _words(self.doc, *cue) if cue is not None else "")))


def _words(doc: Document, start: int, end: int) -> str:
    """Tokens ``[start, end]`` as the source wrote them."""
    return doc.fields[doc.sent_field[doc.sent_of[start]]][
        doc.tok_src(start)[0]:doc.tok_src(end)[1]]


def _anchor(doc: Document, w: When | None) -> TimeAnchor | None:
    if w is None or w.anchor is None:
        return None
    a = w.anchor
    return TimeAnchor(_words(doc, a.start, a.end), a.kind, w.relation, a.first, a.last)


Voided = tuple[str, tuple[int, int] | None]     # guard name, the words that voided


def _guard(rule: Rule, doc: Document, scan: Scan, reading: Reading, start: int, end: int
           ) -> Voided | None:
    """The first guard that voids the trigger at ``[start, end]`` (and its words), or None."""
    sent = doc.sent_of[start]
    allow = rule.allow
    if rule.subject is not None and not _subject_ok(doc, scan, rule.subject, start):
        return "subject", None
    if rule.object is not None and not _object_ok(doc, scan, rule.object, end):
        return "object", None
    if rule.foreign_check and _rule_foreign(rule, scan, start, end, sent):
        return "foreign", None
    if _third_party_agent(doc, scan, start, reading.reader.participle(doc.tokens[start])):
        return "third_party", None
    if _attributive(rule, doc, scan, reading, start, end):
        return "attributive", (start, end)
    if _postnominal(rule, doc, scan, reading, start, end):
        return "postnominal", (start, end)
    cue: tuple[int, int] | None
    if "negation" not in allow and (cue := guards.negated(doc, scan.guards, start, end)):
        return "negation", cue
    if "cause" not in allow and (cue := guards.caused(doc, scan.guards, start)) and \
            not _dated_after_cue(doc, scan, reading, cue, start, end):
        return "cause", cue
    if "cause" not in allow and (cue := _partner_caused(rule, doc, scan, start, end)):
        return "cause", cue
    if "historical" not in allow and (cue := guards.historical(
            doc, scan.guards, start, end, "after" not in allow)) and \
            not reading.dated_after(cue[0]) and not _after_but_current(
                doc, scan, reading, cue, start, end) and not _when_current(
                doc, scan, reading, cue, start, end):
        return "historical", cue
    hedges = tuple(g for g in ("hedge", "intention", "discussion", "appeal") if g not in allow)
    if hedges:
        # what an order says ("told them they must leave") is no hedge on the order
        after = min((s for g in rule.hedge_after for s, _e in scan.terms.get(g, {}).get(sent, ())),
                    default=None)
        if "appeal" in allow:       # "потребовал, чтобы США сократили": the demand's content
            after = min([s for s, _e in scan.guards.get("appeal", {}).get(sent, ())]
                        + ([after] if after is not None else []), default=None)
        return guards.hedged(doc, scan.guards, start, end, hedges, reading.is_month,
                             after, lambda i: reading.reported(i) or reading.request_met(i))
    return None


def _partner_caused(rule: Rule, doc: Document, scan: Scan, start: int, end: int
                    ) -> guards.Cue:
    """A word the rule needs stands only inside a cause phrase after the trigger, in
    another clause: "tightening visa procedures ..., in response to U.S. sanctions" does not
    tighten sanctions."""
    sent = doc.sent_of[start]
    for g in rule.all[1:]:
        near = [(s, e) for s, e in scan.terms[g][sent]
                if rule.near is None or abs(s - start) <= rule.near or abs(e - end) <= rule.near]
        cues = [guards.caused(doc, scan.guards, s) for s, _e in near]
        if near and all(c is not None and c[0] > end and doc.clause_of[c[0]] != doc.clause_of[start]
                        for c in cues):
            return cues[0]
    return None


def _after_but_current(doc: Document, scan: Scan, reading: Reading, cue: tuple[int, int],
                       start: int, end: int) -> bool:
    """The words that made the trigger look earlier were "after"/"following", and a date
    ties it to the item's time ("it follows the agrément granted last Monday, June 22")."""
    if cue not in scan.guards.get("after", {}).get(doc.sent_of[start], ()):
        return False
    return _dated_after_cue(doc, scan, reading, cue, start, end)


def _dated_after_cue(doc: Document, scan: Scan, reading: Reading, cue: tuple[int, int],
                     start: int, end: int) -> bool:
    """A date after the words of a cause or a sequence ties the trigger to the item's time:
    the reason is itself news ("Это ответ на высылку посла во вторник"). The date must
    follow the cue, not belong to the sentence's own verb ("said on Monday it was
    reopening ..., after the easing of sanctions")."""
    future = guards.future(doc, scan.guards, doc.sent_of[start], doc.clause_of[start])
    w = reading.when("", start, end, future)
    return w.relation == CURRENT and w.anchor is not None and w.anchor.start > cue[1] \
        and w.anchor.specific and not w.anchor.dates_other


def _when_current(doc: Document, scan: Scan, reading: Reading, cue: tuple[int, int],
                  start: int, end: int) -> bool:
    """"... the deadline Minsk set on Tuesday, when it ordered the embassy cut to five": a
    when-clause joined to a clause dated within the item's time is that time's news."""
    w = cue[0]
    if cue[0] != cue[1] or w not in doc.joiners:
        return False
    future = guards.future(doc, scan.guards, doc.sent_of[start], doc.clause_of[start])
    found = reading.when("", start, end, future)
    return found.relation == CURRENT and found.anchor is not None and \
        found.anchor.specific and found.anchor.end < w


_DISCUSSING = frozenset({"negation", "hedge", "intention", "discussion", "appeal"})


def _both_sides(rule: Rule, doc: Document, scan: Scan, sent: int) -> bool:
    return all(_side_ok(scan, doc, side, scope, sent, False)[0]
               for side, scope in rule.sides.items())


def _placed(rule: Rule, doc: Document, terms: guards.Spans, sent: int,
            start: int, end: int) -> str | None:
    """Why the trigger at ``[start, end]`` cannot fire where it stands, or None: the rule's
    other words are too far ("near"), it is part of a name ("mask": "Specially Designated
    Nationals"), or a word the rule excludes is close ("not_near:<group>")."""
    if not all(any((rule.near is None or abs(s - start) <= rule.near
                    or abs(e - end) <= rule.near)
                   and not doc.title_break(min(s, start), max(s, start))
                   for s, e in terms[g][sent]) for g in rule.all[1:]):
        return "near"       # (nor in another sentence of the title)
    if any(s <= start and end <= e for g in rule.mask for s, e in terms.get(g, {}).get(sent, ())):
        return "mask"
    for g in rule.not_near:
        if any(abs(s - start) <= NOT_NEAR or abs(e - end) <= NOT_NEAR
               for s, e in terms.get(g, {}).get(sent, ())):
            return f"not_near:{g}"
    return None


@dataclass(frozen=True)
class Fired:
    confidence: float
    span: tuple[int, int]
    verdict: Verdict


def evaluate_rule(type_id: str, rule: Rule, ctx: Context, sent: int) -> Fired | None:
    """Confidence, trigger span and reading if ``rule`` fires in sentence ``sent``."""
    doc, scan = ctx.doc, ctx.scan
    terms = scan.terms
    triggers = terms.get(rule.all[0], {}).get(sent)
    if not triggers:
        return None
    for g in rule.all[1:]:
        if not terms.get(g, {}).get(sent):
            return None
    if rule.any and not any(terms.get(g, {}).get(sent) for g in rule.any):
        return None
    for g in rule.not_:
        if terms.get(g, {}).get(sent):
            ctx.reject(type_id, rule, sent, f"not:{g}")
            return None
    allow = rule.allow
    if "denial" not in allow and guards.denied(doc, scan.guards, sent):
        ctx.reject(type_id, rule, sent, "denial")
        ctx.discussed |= doc.sent_zone[sent] != BODY and _both_sides(rule, doc, scan, sent)
        return None
    if "retrospective" not in allow and guards.retrospective(doc, scan.guards, sent):
        ctx.reject(type_id, rule, sent, "retrospective")
        return None
    conf = rule.confidence
    any_in_sentence = False
    for side, scope in rule.sides.items():
        found, inside = _side_ok(scan, doc, side, scope, sent, side in rule.senior)
        if not found:
            ctx.reject(type_id, rule, sent, f"side:{side}")
            return None
        if not inside:
            conf -= 0.1
        elif side in rule.senior:
            any_in_sentence = True
    if rule.one_senior_in_sentence and not any_in_sentence:
        ctx.reject(type_id, rule, sent, "senior")
        return None
    last: tuple[str, When | None, tuple[int, int] | None] = ("near", None, None)
    for start, end in triggers:
        # "will" in the trigger's clause, or a verb of now or what is to come, sets a month
        # it names ahead ("The sanctions imposed in May ... Washington will ...": behind)
        future = guards.future(doc, scan.guards, sent, doc.clause_of[start]) or \
            ctx.reading.nonpast(start)
        placed = _placed(rule, doc, terms, sent, start, end)
        if placed is not None:
            if placed.startswith("not_near"):
                last = (placed, None, None)
            continue
        voided = _guard(rule, doc, scan, ctx.reading, start, end)
        if voided is not None:
            last = (voided[0], None, voided[1])
            if voided[0] in _DISCUSSING and doc.sent_zone[sent] != BODY:
                ctx.discussed = True
            continue
        verdict = ctx.reading.verdict(type_id, start, end, future,
                                      lambda: ctx.lead_speaks(type_id))
        if not verdict.ok:
            last = (verdict.reason, verdict.when, None)
            continue
        return Fired(max(0.05, min(1.0, conf)), (start, end), verdict)
    ctx.reject(type_id, rule, sent, *last)
    return None


_ZONE_RANK = {LEAD: 0, TITLE: 1, BODY: 2}


def find_milestones(wl: Watchlist, doc: Document, scan: Scan, reading: Reading,
                    explain: bool = False) -> tuple[list[MilestoneHit], list[Rejection], bool]:
    """Every milestone type of the watchlist that the document reports (and, when
    ``explain``, the rules whose words were found but that did not fire), and whether its
    title or lead speaks of such an event between the sides at all."""
    ctx = Context(wl, doc, scan, reading, explain)
    found: dict[str, tuple[int, Fired, Rule]] = {}
    fired_in: dict[str, set[int]] = {}
    for type_id, mt in wl.milestones.items():
        for rule in mt.rules:
            sents = scan.terms.get(rule.all[0])
            if not sents:
                continue
            for sent in sorted(sents):
                res = evaluate_rule(type_id, rule, ctx, sent)
                if res is None:
                    continue
                fired_in.setdefault(type_id, set()).add(sent)
                prev = found.get(type_id)
                if prev is None or _better(doc, sent, res, prev[0], prev[1]):
                    found[type_id] = (sent, res, rule)
    hits: list[MilestoneHit] = []
    for type_id, (sent, res, rule) in found.items():
        mt = wl.milestones[type_id]
        if mt.suppressed_by and all(
                any(s in fired_in.get(o, ()) for o in mt.suppressed_by)
                for s in fired_in[type_id]):
            continue
        if any(o in found for o in mt.superseded_by):
            continue    # "confirmed as ambassador" outranks "was nominated in May"
        status = rule.status or mt.status
        if guards.future(doc, scan.guards, sent) and status == "completed":
            status = "announced"
        actors = tuple(dict.fromkeys(m.actor.id for m in scan.mentions if m.sent == sent))
        spans = scan.terms[rule.all[0]][sent]
        field_name = doc.sent_field[sent]
        text = doc.fields[field_name]
        trig_src = tuple(dict.fromkeys((doc.tok_src(s)[0], doc.tok_src(e)[1]) for s, e in spans))
        a, b = doc.sent_src[sent]
        hits.append(MilestoneHit(
            type=type_id, watchlist=wl.name, status=status,
            confidence=round(res.confidence, 3), evidence=text[a:b], actors=actors,
            principals=principals(mt.principals, doc, scan, sent, res.span),
            triggers=tuple(dict.fromkeys(text[x:y] for x, y in trig_src)),
            rule=f"{type_id}.{rule.id}", severity=mt.severity, title=mt.title,
            evidence_at=EvidenceSpan(field_name, a, b, trig_src),
            reason=Reason(f"{type_id}.{rule.id}", res.verdict.zone, res.verdict.reason,
                          _anchor(doc, res.verdict.when))))
    order = list(wl.milestones)
    hits.sort(key=lambda h: order.index(h.type))
    return hits, ctx.rejected or [], ctx.discussed


def _better(doc: Document, sent: int, res: Fired, prev_sent: int, prev: Fired) -> bool:
    """The evidence to show: a lead sentence before the title before the body, then the
    most confident rule."""
    rank = _ZONE_RANK[doc.sent_zone[sent]]
    prev_rank = _ZONE_RANK[doc.sent_zone[prev_sent]]
    if rank != prev_rank:
        return rank < prev_rank
    return res.confidence > prev.confidence + 1e-9


def principals(kind: str, doc: Document, scan: Scan, sent: int, span: tuple[int, int]
               ) -> tuple[str, ...]:
    """Actor ids identifying the event, as the type declares (``principals`` in the
    watchlist): the named ambassador (``envoy``), the senior people who met
    (``participants``), the entities or persons a measure names (``targets``)."""
    people = [m for m in scan.mentions if m.sent == sent and m.actor.kind == "person"]
    if kind == "envoy":
        envoys = [m for m in people if not m.actor.senior]
        if envoys:
            near = min(envoys, key=lambda m: abs(m.start - span[0]))
            return (near.actor.id,)
        name = _capitalised_name(doc.sentences[sent], {m.actor.id for m in scan.mentions})
        return (name,) if name else ()
    if kind == "participants":
        return tuple(sorted({m.actor.id for m in people if m.actor.senior}))
    if kind == "targets":
        return tuple(sorted({m.actor.id for m in scan.mentions
                             if m.sent == sent and m.actor.kind == "entity"}))
    return ()


def _capitalised_name(sentence: str, skip: set[str]) -> str | None:
    words = sentence.replace('"', " ").split()
    for i in range(1, len(words) - 1):
        a, b = words[i].strip(".,;:()'"), words[i + 1].strip(".,;:()'")
        if (len(a) > 1 and len(b) > 2 and a[0].isupper() and b[0].isupper()
                and a[1:].islower() and b[1:].islower() and a.isalpha() and b.isalpha()):
            key = f"{a} {b}".casefold()
            if not any(k in key for k in skip):
                return f"name:{a} {b}"
    return None
