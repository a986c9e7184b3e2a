"""Read-only selects behind the dashboard and the API. Each call opens and closes its session.

They are synchronous (the store is); handlers run them with ``run_in_threadpool``. Results are
plain dicts (datetimes left as aware UTC values), detached from any session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, String, cast, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from monitor.dashboard.filters import Filters
from monitor.store.feeds import feed_dict, feeds_with_counts
from monitor.store.items import item_dict
from monitor.store.milestones import milestone_dict
from monitor.store.tables import (
    AlertRow,
    DeliveryAttemptRow,
    FeedRow,
    ItemRow,
    MilestoneRow,
    MilestoneSourceRow,
)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _json_has(column: Any, fragment: str) -> ColumnElement[bool]:
    # JSON lists are stored as json.dumps text on both SQLite and PostgreSQL (json, not jsonb,
    # keeps the text as sent), so a quoted element is found portably with LIKE.
    return cast(column, String).like(_like(fragment), escape="\\")


def _quoted(value: str) -> str:
    import json

    return json.dumps(value)


def _page(q: Any, f: Filters) -> Any:
    return q.limit(f.per_page).offset((f.page - 1) * f.per_page)


def _count(session: Session, q: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0)


def _source_items(session: Session, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    q = (select(MilestoneSourceRow, ItemRow, FeedRow.name)
         .join(ItemRow, ItemRow.id == MilestoneSourceRow.item_id)
         .join(FeedRow, FeedRow.id == ItemRow.feed_id)
         .where(MilestoneSourceRow.milestone_id.in_(list(ids)))
         .order_by(func.coalesce(ItemRow.published, ItemRow.first_seen_at), ItemRow.id))
    for src, item, feed in session.execute(q).tuples():
        d = item_dict(item, feed)
        d.update(evidence=src.evidence, status=src.status, confidence=src.confidence,
                 evidence_at=src.evidence_at)
        if src.evidence_at and src.evidence_at.get("field") in ("title", "summary", "content"):
            d["evidence_source"] = getattr(item, src.evidence_at["field"]) or ""
        out[src.milestone_id].append(d)
    return out


def list_milestones(engine: Engine, f: Filters) -> tuple[list[dict[str, Any]], int]:
    """A page of milestones, newest event first, each with its source items."""
    q = select(MilestoneRow)
    if f.watchlist:
        q = q.where(MilestoneRow.watchlist == f.watchlist)
    if f.type:
        q = q.where(MilestoneRow.type == f.type)
    if f.status:
        q = q.where(MilestoneRow.status == f.status)
    if f.actor:
        q = q.where(_json_has(MilestoneRow.actors, _quoted(f.actor)))
    if f.since:
        q = q.where(MilestoneRow.event_at >= f.since)
    if f.until:
        q = q.where(MilestoneRow.event_at < f.until)
    if f.q:
        q = q.where(or_(MilestoneRow.title.ilike(_like(f.q), escape="\\"),
                        MilestoneRow.evidence.ilike(_like(f.q), escape="\\")))
    with Session(engine) as s:
        total = _count(s, q)
        order = (MilestoneRow.event_at.asc() if f.order == "asc" else MilestoneRow.event_at.desc())
        rows = list(s.scalars(_page(q.order_by(order, MilestoneRow.id), f)))
        sources = _source_items(s, [m.id for m in rows])
    out = []
    for m in rows:
        d = milestone_dict(m)
        d["items"] = sources[m.id]
        out.append(d)
    return out, total


def get_milestone(engine: Engine, milestone_id: str) -> dict[str, Any] | None:
    with Session(engine) as s:
        m = s.get(MilestoneRow, milestone_id)
        if m is None:
            return None
        d = milestone_dict(m)
        d["items"] = _source_items(s, [m.id])[m.id]
    return d


def list_items(engine: Engine, f: Filters) -> tuple[list[dict[str, Any]], int]:
    """A page of items, newest first, narrowed by every filter given."""
    when = func.coalesce(ItemRow.published, ItemRow.first_seen_at)
    q = select(ItemRow, FeedRow.name).join(FeedRow, FeedRow.id == ItemRow.feed_id)
    if f.feed:
        q = q.where(FeedRow.name == f.feed)
    if f.relevant:
        q = q.where(ItemRow.relevant.is_(True))
    if f.watchlist:
        q = q.where(_json_has(ItemRow.watchlists, _quoted(f.watchlist)))
    if f.actor:
        q = q.where(_json_has(ItemRow.actors, _quoted(f.actor)))
    if f.type:
        attached = exists().where(MilestoneSourceRow.item_id == ItemRow.id,
                                  MilestoneSourceRow.milestone_id == MilestoneRow.id,
                                  MilestoneRow.type == f.type)
        q = q.where(or_(attached, _json_has(ItemRow.milestones, '"type": ' + _quoted(f.type))))
    if f.since:
        q = q.where(when >= f.since)
    if f.until:
        q = q.where(when < f.until)
    if f.q:
        pattern = _like(f.q)
        q = q.where(or_(ItemRow.title.ilike(pattern, escape="\\"),
                        ItemRow.summary.ilike(pattern, escape="\\")))
    with Session(engine) as s:
        total = _count(s, q)
        order = (when.asc(), ItemRow.id.asc()) if f.order == "asc" else (when.desc(),
                                                                          ItemRow.id.desc())
        rows = s.execute(_page(q.order_by(*order), f)).tuples().all()
    return [item_dict(i, name) for i, name in rows], total


def list_feeds(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as s:
        return [feed_dict(r, n) for r, n in feeds_with_counts(s)]


def list_alerts(engine: Engine, f: Filters) -> tuple[list[dict[str, Any]], int]:
    """A page of outbox rows, newest first, each with its delivery attempts."""
    q = select(AlertRow, MilestoneRow.title).outerjoin(
        MilestoneRow, MilestoneRow.id == AlertRow.milestone_id)
    if f.state:
        q = q.where(AlertRow.state == f.state)
    if f.channel:
        q = q.where(AlertRow.channel == f.channel)
    if f.watchlist:
        q = q.where(MilestoneRow.watchlist == f.watchlist)
    with Session(engine) as s:
        total = _count(s, q)
        rows = s.execute(_page(q.order_by(AlertRow.created_at.desc(), AlertRow.id.desc()),
                               f)).tuples().all()
        ids = [a.id for a, _ in rows]
        attempts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            for t in s.scalars(select(DeliveryAttemptRow).where(DeliveryAttemptRow.alert_id
                                                                .in_(ids))
                               .order_by(DeliveryAttemptRow.at, DeliveryAttemptRow.id)):
                attempts[t.alert_id].append({"at": t.at, "outcome": t.outcome,
                                             "status": t.status, "error": t.error,
                                             "duration": t.duration})
    return [{"id": a.id, "delivery_id": a.delivery_id, "channel": a.channel, "event": a.event,
             "milestone_id": a.milestone_id, "milestone_title": title, "state": a.state,
             "attempts": a.attempts, "created": a.created_at, "delivered": a.delivered_at,
             "next_attempt": a.next_attempt_at if a.state == "pending" else None,
             "last_error": a.last_error, "history": attempts[a.id]} for a, title in rows], total


def facets(engine: Engine, config_watchlists: Sequence[str] = ()) -> dict[str, list[str]]:
    """The values the filter forms offer: watchlists, milestone types, feeds, actors."""
    with Session(engine) as s:
        watchlists = set(s.scalars(select(MilestoneRow.watchlist).distinct()))
        types = sorted(set(s.scalars(select(MilestoneRow.type).distinct())))
        feeds = list(s.scalars(select(FeedRow.name).order_by(FeedRow.name)))
        actors: set[str] = set()
        recent = (select(ItemRow.actors).where(ItemRow.relevant.is_(True))
                  .order_by(ItemRow.id.desc()).limit(500))
        for lst in s.scalars(recent):
            actors.update(str(a) for a in lst or [])
    watchlists.update(config_watchlists)
    return {"watchlists": sorted(watchlists), "types": types, "feeds": feeds,
            "actors": sorted(actors)}
