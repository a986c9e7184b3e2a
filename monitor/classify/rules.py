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
from monitor.classify.document import Document
from monitor.classify.guards import Spans
from monitor.classify.watchlist import Actor, Rule, Watchlist
from monitor.model import MilestoneHit

_SIDE_KINDS = frozenset({"country", "adjective", "capital", "person", "institution"})


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
            best: tuple[int, str] | None = None
            for other, os_, oe in sided:
                if doc.sent_of[os_] != sent or other.side is None:
                    continue
                dist = s - oe if oe < s else os_ - e
                if 0 < dist <= 3 and (best is None or dist < best[0]):
                    best = (dist, other.side)
            if best is not None:
                side = best[1]
        weight = actor.relevance_weight
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


def relevance(wl: Watchlist, scan: Scan, n_sent: int) -> tuple[float, bool]:
    """Score 0..1 and verdict: every relevance side strongly present in one sentence."""
    sides = wl.relevance.sides
    best = 0.0
    per_sent: dict[int, dict[str, float]] = {}
    for m in scan.mentions:
        if m.side is None:
            continue
        d = per_sent.setdefault(m.sent, {})
        for side in _sides_of(m):
            if m.weight > d.get(side, 0.0):
                d[side] = m.weight
    for d in per_sent.values():
        low = min((d.get(s, 0.0) for s in sides), default=0.0)
        best = max(best, low)
    ok = best >= wl.relevance.min_side_weight
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


SUBJECT_WITHIN = 6
OBJECT_GAP = 3
# words that may stand between a verb and its object ("sanctions the Belarusian airline",
# "sanctions 16 Belarusian officials"); a preposition there makes the trigger a noun
# ("U.S. sanctions on Belarusian potash")
_OBJECT_GAP_OK = frozenset({"the", "a", "an", "its", "two", "three", "four", "five", "six",
                            "seven", "eight", "nine", "ten", "several", "dozens", "of"})


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


def _trigger_ok(rule: Rule, doc: Document, scan: Scan, start: int, end: int) -> bool:
    sent = doc.sent_of[start]
    allow = rule.allow
    if rule.subject is not None and not _subject_ok(doc, scan, rule.subject, start):
        return False
    if rule.object is not None and not _object_ok(doc, scan, rule.object, end):
        return False
    if rule.foreign_check and _rule_foreign(rule, scan, start, end, sent):
        return False
    if "negation" not in allow and guards.negated(doc, scan.guards, start, end):
        return False
    if "cause" not in allow and guards.caused(doc, scan.guards, start):
        return False
    if "historical" not in allow and guards.historical(doc, scan.guards, start, end,
                                                       "after" not in allow):
        return False
    hedges = tuple(g for g in ("hedge", "intention", "discussion") if g not in allow)
    return not (hedges and guards.hedged(doc, scan.guards, start, end, hedges))


def evaluate_rule(rule: Rule, doc: Document, scan: Scan, sent: int
                  ) -> tuple[float, tuple[int, int]] | None:
    """Confidence and trigger span if ``rule`` fires in sentence ``sent``."""
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
            return None
    allow = rule.allow
    if "denial" not in allow and guards.denied(doc, scan.guards, sent):
        return None
    if "retrospective" not in allow and guards.retrospective(doc, scan.guards, sent):
        return None
    conf = rule.confidence
    any_in_sentence = False
    for side, scope in rule.sides.items():
        found, inside = _side_ok(scan, doc, side, scope, sent, side in rule.senior)
        if not found:
            return None
        if not inside:
            conf -= 0.1
        elif side in rule.senior:
            any_in_sentence = True
    if rule.one_senior_in_sentence and not any_in_sentence:
        return None
    for start, end in triggers:
        if rule.near is not None and not all(
                any(abs(s - start) <= rule.near or abs(e - end) <= rule.near
                    for s, e in terms[g][sent]) for g in rule.all[1:]):
            continue
        if _trigger_ok(rule, doc, scan, start, end):
            return max(0.05, min(1.0, conf)), (start, end)
    return None


def find_milestones(wl: Watchlist, doc: Document, scan: Scan) -> list[MilestoneHit]:
    """Every milestone type of the watchlist that fires somewhere in the document."""
    found: dict[str, tuple[int, float, tuple[int, int], Rule]] = {}
    fired_in: dict[str, set[int]] = {}
    for type_id, mt in wl.milestones.items():
        for rule in mt.rules:
            sents = scan.terms.get(rule.all[0])
            if not sents:
                continue
            for sent in sorted(sents):
                res = evaluate_rule(rule, doc, scan, sent)
                if res is None:
                    continue
                fired_in.setdefault(type_id, set()).add(sent)
                conf, span = res
                prev = found.get(type_id)
                if prev is None or conf > prev[1] + 1e-9:
                    found[type_id] = (sent, conf, span, rule)
    hits: list[MilestoneHit] = []
    for type_id, (sent, conf, span, rule) in found.items():
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
        trig = tuple(" ".join(doc.tokens[s:e + 1]) for s, e in scan.terms[rule.all[0]][sent])
        hits.append(MilestoneHit(
            type=type_id, watchlist=wl.name, status=status, confidence=round(conf, 3),
            evidence=doc.sentences[sent], actors=actors,
            principals=principals(type_id, doc, scan, sent, span),
            triggers=tuple(dict.fromkeys(trig)), rule=f"{type_id}.{rule.id}",
            severity=mt.severity, title=mt.title))
    order = list(wl.milestones)
    hits.sort(key=lambda h: order.index(h.type))
    return hits


def principals(type_id: str, doc: Document, scan: Scan, sent: int, span: tuple[int, int]
               ) -> tuple[str, ...]:
    """Actor ids identifying the event: the named ambassador, or the people who met."""
    people = [m for m in scan.mentions if m.sent == sent and m.actor.kind == "person"]
    if type_id.startswith("ambassador_"):
        envoys = [m for m in people if not m.actor.senior]
        if envoys:
            near = min(envoys, key=lambda m: abs(m.start - span[0]))
            return (near.actor.id,)
        name = _capitalised_name(doc.sentences[sent], {m.actor.id for m in scan.mentions})
        return (name,) if name else ()
    if type_id == "high_level_contact":
        return tuple(sorted({m.actor.id for m in people if m.actor.senior}))
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
