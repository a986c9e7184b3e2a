"""Milestones and their sources. The caller owns the session (one per unit of work)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from monitor.model import EvidenceSpan
from monitor.store.sql import chunks
from monitor.store.tables import (
    AlertRow,
    FeedRow,
    ItemRow,
    MilestoneRow,
    MilestoneSourceRow,
)


def lock_milestones(session: Session) -> None:
    """Serialise milestone creation across replicas on PostgreSQL, until the transaction ends.

    One lock for all milestones, not one per type: a transaction that detects two types could
    otherwise deadlock with one taking them in the other order. Milestone hits are rare, so
    the contention is small. SQLite's BEGIN IMMEDIATE already serialises writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('monitor:milestones'))"))


def milestone_candidates(session: Session, watchlist: str, lo: datetime,
                         hi: datetime) -> list[MilestoneRow]:
    """The watchlist's milestones (of every type) whose event falls in [lo, hi], withdrawn
    ones aside."""
    return list(session.scalars(select(MilestoneRow).where(
        MilestoneRow.watchlist == watchlist, MilestoneRow.event_at >= lo,
        MilestoneRow.event_at <= hi, MilestoneRow.withdrawn_at.is_(None))))


def is_source(session: Session, milestone_id: str, item_id: int) -> bool:
    return session.scalar(select(MilestoneSourceRow.id).where(
        MilestoneSourceRow.milestone_id == milestone_id,
        MilestoneSourceRow.item_id == item_id)) is not None


def attach_source(session: Session, milestone_id: str, item_id: int, status: str,
                  evidence: str, confidence: float, now: datetime,
                  evidence_at: dict[str, Any] | None = None,
                  reason: dict[str, Any] | None = None) -> None:
    """Attach an item to a milestone; it must not be attached yet (see ``is_source``)."""
    session.add(MilestoneSourceRow(milestone_id=milestone_id, item_id=item_id, status=status,
                                   evidence=evidence, confidence=confidence, added_at=now,
                                   evidence_at=evidence_at, reason=reason))


@dataclass(frozen=True)
class Report:
    """One item's report of a milestone, as its ``milestone_sources`` row keeps it."""

    item_id: int
    status: str
    evidence: str
    confidence: float
    evidence_at: dict[str, Any] | None = None
    reason: dict[str, Any] | None = None

    def attach(self, session: Session, milestone_id: str, now: datetime) -> None:
        attach_source(session, milestone_id, self.item_id, self.status, self.evidence,
                      self.confidence, now, self.evidence_at, self.reason)


def reinstate(session: Session, milestone: MilestoneRow, report: Report,
              now: datetime) -> None:
    """A withdrawn milestone the current rules find again: no longer withdrawn, with this
    report as its one source."""
    milestone.withdrawn_at = milestone.withdrawn_reason = None
    milestone.sources = 1
    report.attach(session, milestone.id, now)


def corroborate(session: Session, milestone: MilestoneRow, report: Report, now: datetime,
                *, new_story: bool, status: str | None) -> None:
    """Another report of a milestone: one more source if from a story not counted yet, and
    the status it reached (``status``), if it moved on."""
    if new_story:
        milestone.sources += 1
    report.attach(session, milestone.id, now)
    milestone.last_seen_at = now
    if status:
        milestone.status = status


def mark_alerted(milestone: MilestoneRow) -> None:
    """The milestone's alert is in the outbox (in the same transaction)."""
    milestone.alerted = True


_MILESTONE_STORIES = (
    select(MilestoneSourceRow.milestone_id, func.coalesce(ItemRow.story_id, ItemRow.id))
    .distinct().join(ItemRow, ItemRow.id == MilestoneSourceRow.item_id)
    .where(MilestoneSourceRow.milestone_id.in_(bindparam("ids", expanding=True))))


def milestone_stories(session: Session, ids: Iterable[str]) -> dict[str, set[int]]:
    """Per milestone, the stories reporting it: syndicated copies (one story) count once."""
    out: dict[str, set[int]] = {}
    for chunk in chunks(list(ids), 500):
        for mid, story in session.execute(_MILESTONE_STORIES, {"ids": list(chunk)}):
            out.setdefault(mid, set()).add(story)
    return out


class _Span(NamedTuple):
    """A watchlist's milestones with an event between ``lo`` and ``hi``, read at once."""

    lo: datetime
    hi: datetime
    rows: list[MilestoneRow]


class MilestoneCache:
    """Milestone candidates and their stories for one transaction, read in few queries.

    The first use takes the milestone lock (``lock_milestones``; on SQLite the transaction's
    write lock does it), so until the transaction ends nobody else creates milestones: what
    was read stays true, and ``created`` keeps it up to date with this transaction's own.
    Candidates of every type of a watchlist are read at once, for twice the widest window
    (``span``) around the first event, so later hits of the same batch (published close
    together) are answered from memory; the stories of all of them are read together when
    the first is needed. Every source this transaction adds must go through ``created`` or
    ``new_story``, which keep the stories up to date.
    """

    def __init__(self, session: Session, span: timedelta = timedelta(0)) -> None:
        self.session = session
        self.span = span
        self._locked = False
        self._stories: dict[str, set[int]] = {}
        self._rows: dict[str, _Span] = {}

    def candidates(self, watchlist: str, type_: str, around: datetime,
                   window: timedelta) -> list[MilestoneRow]:
        if not self._locked:
            lock_milestones(self.session)
            self._locked = True
        lo, hi = around - window, around + window
        got = self._rows.get(watchlist)
        if got is None or lo < got.lo or hi > got.hi:
            reach = 2 * max(window, self.span)
            rows = milestone_candidates(self.session, watchlist, around - reach, around + reach)
            got = self._rows[watchlist] = _Span(around - reach, around + reach, rows)
        return [m for m in got.rows if m.type == type_ and lo <= m.event_at <= hi]

    def created(self, row: MilestoneRow, story: int) -> None:
        """A milestone this transaction opened, with the story of its first source."""
        got = self._rows.get(row.watchlist)
        if got is not None and got.lo <= row.event_at <= got.hi:
            got.rows.append(row)
        self._stories[row.id] = {story}

    def new_story(self, milestone_id: str, story: int) -> bool:
        """Whether a source of ``story`` about to be added is the milestone's first from it.

        The milestone's ``sources`` is its number of distinct stories; this keeps that count
        without counting every source again for each new one.
        """
        stories = self._stories.get(milestone_id)
        if stories is None:
            todo = {milestone_id} | {m.id for _, _, rows in self._rows.values() for m in rows
                                     if m.id not in self._stories}
            found = milestone_stories(self.session, todo)
            for mid in todo:
                self._stories[mid] = found.get(mid, set())
            stories = self._stories[milestone_id]
        if story in stories:
            return False
        stories.add(story)
        return True


def withdraw_unsupported(session: Session, hits: dict[int, set[tuple[str, str]]],
                         now: datetime, reason: str) -> int:
    """Detach the items of ``hits`` (item id -> the (watchlist, type) pairs the current
    rules find in it) from milestones of a pair they no longer report; a milestone left
    with no source is withdrawn (recorded with ``reason``, its pending alerts never sent),
    one left with fewer takes its evidence from its earliest remaining source. Returns the
    number withdrawn."""
    gone: dict[str, list[int]] = {}
    for chunk in chunks(list(hits), 500):
        rows = session.execute(
            select(MilestoneSourceRow.id, MilestoneSourceRow.milestone_id,
                   MilestoneSourceRow.item_id, MilestoneRow.watchlist, MilestoneRow.type)
            .join(MilestoneRow, MilestoneRow.id == MilestoneSourceRow.milestone_id)
            .where(MilestoneSourceRow.item_id.in_(list(chunk)),
                   MilestoneRow.withdrawn_at.is_(None))).tuples()
        for sid, mid, item_id, wl, type_ in rows:
            if (wl, type_) not in hits[item_id]:
                gone.setdefault(mid, []).append(sid)
    withdrawn = 0
    for mid, source_ids in gone.items():
        session.execute(delete(MilestoneSourceRow).where(MilestoneSourceRow.id.in_(source_ids)))
        row = session.get(MilestoneRow, mid)
        assert row is not None
        first = session.scalars(select(MilestoneSourceRow).where(
            MilestoneSourceRow.milestone_id == mid).order_by(MilestoneSourceRow.added_at,
                                                             MilestoneSourceRow.id)).first()
        if first is None:
            row.withdrawn_at, row.withdrawn_reason = now, reason
            session.execute(update(AlertRow).where(
                AlertRow.milestone_id == mid, AlertRow.state == "pending").values(
                state="dead", last_error="milestone withdrawn: " + reason))
            withdrawn += 1
            continue
        row.sources = len(milestone_stories(session, [mid]).get(mid, ()))
        if row.first_item_id not in (None, first.item_id):
            row.first_item_id, row.evidence, row.evidence_at, row.reason = (
                first.item_id, first.evidence, first.evidence_at, first.reason)
    return withdrawn


def milestone_sources(session: Session, milestone_id: str) -> list[tuple[ItemRow, FeedRow]]:
    q = (select(ItemRow, FeedRow).join(MilestoneSourceRow, MilestoneSourceRow.item_id == ItemRow.id)
         .join(FeedRow, FeedRow.id == ItemRow.feed_id)
         .where(MilestoneSourceRow.milestone_id == milestone_id)
         .order_by(func.coalesce(ItemRow.published, ItemRow.first_seen_at), ItemRow.id))
    return [(i, f) for i, f in session.execute(q).tuples()]


def get_milestone(session: Session, milestone_id: str) -> MilestoneRow | None:
    return session.get(MilestoneRow, milestone_id)


def milestone_dict(m: MilestoneRow) -> dict[str, Any]:
    """A milestone as the dashboard and the API list it (times left as datetimes; ``items``
    empty, for the caller to fill)."""
    return {"id": m.id, "watchlist": m.watchlist, "type": m.type, "type_title": m.type_title,
            "title": m.title, "status": m.status, "severity": m.severity,
            "event_at": m.event_at, "first_seen": m.first_seen_at, "last_seen": m.last_seen_at,
            "sources": m.sources, "evidence": m.evidence, "confidence": m.confidence,
            "actors": list(m.actors or []), "triggers": list(m.triggers or []),
            "highlights": _highlights(m.evidence_at), "reason": m.reason,
            "withdrawn_at": m.withdrawn_at, "withdrawn_reason": m.withdrawn_reason,
            "alerted": m.alerted, "stale": m.stale, "items": []}


def _highlights(at: dict[str, Any] | None) -> list[list[int]]:
    span = EvidenceSpan.from_json(at)
    return [list(h) for h in span.highlights()] if span else []


def add_milestone(session: Session, **columns: Any) -> MilestoneRow:
    """A new milestone row, written at once (its sources refer to it)."""
    row = MilestoneRow(**columns)
    session.add(row)
    session.flush()
    return row


def milestones_seen(session: Session, after: datetime, until: datetime) -> list[MilestoneRow]:
    """Milestones first seen in (``after``, ``until``], not stale, by event time."""
    return list(session.scalars(select(MilestoneRow).where(
        MilestoneRow.first_seen_at > after, MilestoneRow.first_seen_at <= until,
        MilestoneRow.stale.is_(False)).order_by(MilestoneRow.event_at)))


def milestone_listing(session: Session, *, watchlist: str | None = None,
                      id_prefix: str | None = None) -> list[MilestoneRow]:
    """Milestones, newest event first; of one watchlist, or whose id starts so."""
    q = select(MilestoneRow).order_by(MilestoneRow.event_at.desc(), MilestoneRow.id)
    if watchlist:
        q = q.where(MilestoneRow.watchlist == watchlist)
    if id_prefix:
        q = q.where(MilestoneRow.id.startswith(id_prefix))
    return list(session.scalars(q))
