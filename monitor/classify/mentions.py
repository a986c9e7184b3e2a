"""Who is named where: actor mentions with their sides (a title takes the side of the
country word beside it), an item's relevance, the principals of an event, and the checks of
a trigger's surroundings (its subject, its object, a third country, a third party's act)."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.classify.document import BODY, Document
from monitor.classify.guards import Spans
from monitor.classify.watchlist import Actor, Rule, Watchlist

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
            # the country word nearest to the title: its distance, side and government
            best_dist, best_side, best_government = 0, None, False
            for other, os_, oe in sided:
                if doc.sent_of[os_] != sent or other.side is None:
                    continue
                dist = s - oe if oe < s else os_ - e
                # "U.S. Secretary", "МИД Беларуси", "Minister of Foreign Affairs of
                # Belarus": next to the title or joined by "of (the)" -- not the object
                # of a verb ("МИД уведомил Вашингтон")
                between = doc.tokens[oe + 1:s] if oe < s else doc.tokens[e + 1:os_]
                if 0 < dist <= 3 and all(t in _TITLE_LINKS for t in between) and (
                        best_side is None or dist < best_dist):
                    best_dist, best_side, best_government = dist, other.side, other.government
            if best_side is not None:
                if not best_government:
                    continue    # "opposition leader": not an official of either side
                side = best_side
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
        for side in sides_of(m):
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


def sides_of(m: Mention) -> tuple[str, ...]:
    return m.sides


def side_ok(scan: Scan, side: str, scope: str, sent: int, senior: bool) -> tuple[bool, bool]:
    """(found, found inside the sentence itself)."""
    found_elsewhere = False
    for m in scan.mentions:
        if side not in sides_of(m) or not m.actor.government:
            continue
        if senior and not m.actor.senior:
            continue
        if m.sent == sent:
            return True, True
        if scope == "item" or (scope == "context" and m.sent in (0, sent - 1)):
            found_elsewhere = True
    return found_elsewhere, False


def foreign(scan: Scan, start: int, end: int, sent: int) -> bool:
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


def rule_foreign(rule: Rule, scan: Scan, start: int, end: int, sent: int) -> bool:
    if foreign(scan, start, end, sent):
        return True
    for g in rule.all[1:]:
        hits = scan.terms.get(g, {}).get(sent, [])
        if hits:
            s, e = min(hits, key=lambda h: abs(h[0] - start))
            if foreign(scan, s, e, sent):
                return True
    return False


SUBJECT_WITHIN = 6


OBJECT_GAP = 3


# words that may stand between a verb and its object ("sanctions the Belarusian airline",
# "sanctions 16 Belarusian officials"); a preposition there makes the trigger a noun
# ("U.S. sanctions on Belarusian potash")
_OBJECT_GAP_OK = frozenset({"the", "a", "an", "its", "two", "three", "four", "five", "six",
                            "seven", "eight", "nine", "ten", "several", "dozens", "of"})


_AGENT_KINDS = frozenset({"country", "adjective", "capital", "organisation", "institution"})


def third_party_agent(doc: Document, scan: Scan, start: int, passive: bool = False) -> bool:
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


def subject_ok(doc: Document, scan: Scan, side: str, start: int) -> bool:
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


def object_ok(doc: Document, scan: Scan, side: str, end: int) -> bool:
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
