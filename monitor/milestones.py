"""From detections to milestones: pure decisions, no I/O.

A classified item's ``MilestoneHit`` either opens a new milestone or corroborates an existing
one: same watchlist and type, principal actors that agree, and a report date within the type's
window of the milestone's first report. The store applies the decision; this module only
decides, so the rules can be tested with plain values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.model import MilestoneHit

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
# A completed step outranks an announced one; a later report never downgrades the status.
STATUS_ORDER = {"speculative": 0, "announced": 1, "decided": 2, "completed": 3}


@dataclass(frozen=True)
class Candidate:
    """An existing milestone the hit might belong to."""

    id: str
    key: str
    status: str
    event_at: datetime


@dataclass(frozen=True)
class Decision:
    """What to do with one hit: attach to ``milestone_id`` or create a new one with ``new_id``."""

    milestone_id: str | None
    new_id: str | None
    key: str
    status_step: str | None = None   # set when the hit moves the milestone to a higher status


def principal_key(hit: MilestoneHit) -> str:
    return ",".join(sorted(set(hit.principals)))


def milestone_id(watchlist: str, type_: str, key: str, event_at: datetime, item_ident: str) -> str:
    """A stable id: the same first report always yields the same milestone id."""
    raw = f"{watchlist}|{type_}|{key}|{event_at.isoformat()}|{item_ident}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def _known(key: str) -> set[str]:
    """The principals that are watchlist actors; ``name:…`` ones are the classifier's guesses
    at an unknown person's name, inflected differently in each language and sometimes wrong."""
    return {p for p in key.split(",") if p and not p.startswith("name:")}


def _keys_agree(a: str, b: str) -> bool:
    """Two reports may be one event unless both name known actors and none in common."""
    ka, kb = _known(a), _known(b)
    if not ka or not kb:
        return True  # a report that names nobody we know is about the same event
    return bool(ka & kb)


def decide(hit: MilestoneHit, *, event_at: datetime, window: timedelta,
           candidates: Sequence[Candidate], item_ident: str) -> Decision:
    """Attach ``hit`` (reported at ``event_at``) to a candidate or open a new milestone."""
    key = principal_key(hit)
    best: Candidate | None = None
    for cand in candidates:
        if abs(event_at - cand.event_at) > window or not _keys_agree(key, cand.key):
            continue
        # prefer the candidate whose principals match exactly, then the nearest in time
        rank = (cand.key != key, abs(event_at - cand.event_at))
        if best is None or rank < (best.key != key, abs(event_at - best.event_at)):
            best = cand
    if best is None:
        return Decision(None, milestone_id(hit.watchlist, hit.type, key, event_at, item_ident), key)
    step = None
    if STATUS_ORDER.get(hit.status, 1) > STATUS_ORDER.get(best.status, 1):
        step = hit.status
    return Decision(best.id, None, key, step)


def is_stale(published: datetime | None, first_seen: datetime, max_age: timedelta | None) -> bool:
    """An item reported longer ago than ``max_age`` never alerts (no flood from a new feed)."""
    if max_age is None or max_age <= timedelta(0):
        return False
    when = published if published is not None and published <= first_seen else first_seen
    return first_seen - when > max_age


def channel_wants(*, watchlists: Sequence[str], types: Sequence[str], min_severity: str,
                  watchlist: str, type_: str, severity: str) -> bool:
    """Routing: does a channel with these filters receive this milestone?"""
    if watchlists and watchlist not in watchlists:
        return False
    if types and type_ not in types:
        return False
    return SEVERITY_ORDER.get(severity, 1) >= SEVERITY_ORDER.get(min_severity, 0)
