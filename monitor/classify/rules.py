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
from monitor.classify.mentions import (
    Scan,
    object_ok,
    principals,
    rule_foreign,
    side_ok,
    subject_ok,
    third_party_agent,
)
from monitor.classify.reading import Reading, Verdict
from monitor.classify.temporal import CURRENT, PAST, When
from monitor.classify.watchlist import Rule, Watchlist
from monitor.model import EvidenceSpan, MilestoneHit, Reason, Rejection, TimeAnchor

NOT_NEAR = 8


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
    if rule.subject is not None and not subject_ok(doc, scan, rule.subject, start):
        return "subject", None
    if rule.object is not None and not object_ok(doc, scan, rule.object, end):
        return "object", None
    if rule.foreign_check and rule_foreign(rule, scan, start, end, sent):
        return "foreign", None
    if third_party_agent(doc, scan, start, reading.reader.participle(doc.tokens[start])):
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
            doc, scan.guards, start, "after" not in allow)) and \
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


def _both_sides(rule: Rule, scan: Scan, sent: int) -> bool:
    return all(side_ok(scan, side, scope, sent, False)[0]
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
    if "denial" not in allow and guards.denied(scan.guards, sent):
        ctx.reject(type_id, rule, sent, "denial")
        ctx.discussed |= doc.sent_zone[sent] != BODY and _both_sides(rule, scan, sent)
        return None
    if "retrospective" not in allow and guards.retrospective(scan.guards, sent):
        ctx.reject(type_id, rule, sent, "retrospective")
        return None
    conf = rule.confidence
    any_in_sentence = False
    for side, scope in rule.sides.items():
        found, inside = side_ok(scan, side, scope, sent, side in rule.senior)
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
            reason, cue = voided
            last = (reason, None, cue)
            if reason in _DISCUSSING and doc.sent_zone[sent] != BODY:
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
                if prev is None or _better(doc, sent, res, prev):
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


def _better(doc: Document, sent: int, res: Fired, prev: tuple[int, Fired, Rule]) -> bool:
    """The evidence to show: a lead sentence before the title before the body, then the
    most confident rule (``prev``: the sentence, result and rule found before)."""
    prev_sent, prev_res, _rule = prev
    rank = _ZONE_RANK[doc.sent_zone[sent]]
    prev_rank = _ZONE_RANK[doc.sent_zone[prev_sent]]
    if rank != prev_rank:
        return rank < prev_rank
    return res.confidence > prev_res.confidence + 1e-9
