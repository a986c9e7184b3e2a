"""The alert outbox: rows written with the event, claimed by deliverers, and each
attempt recorded. The caller owns the session (one per unit of work)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from monitor.store.tables import (
    AlertRow,
    ChannelStateRow,
    DeliveryAttemptRow,
)


def _lease(session: Session, model: Any, cond: list[Any], order: tuple[Any, ...], *,
           limit: int, owner: str, now: datetime, lease: timedelta) -> list[Any]:
    """Claim up to ``limit`` rows matching ``cond`` for ``owner`` until ``now + lease``.

    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets replicas claim disjoint rows at once (SQLite
    ignores it: its single writer already serialises claims).
    """
    q = (select(model).where(and_(*cond)).order_by(*order).limit(limit)
         .with_for_update(skip_locked=True))
    rows = list(session.scalars(q))
    for row in rows:
        row.lease_owner, row.lease_until = owner, now + lease
    session.flush()
    return rows


def enqueue_alert(session: Session, *, channel: str, event: str, dedupe_key: str,
                  milestone_id: str | None, payload: dict[str, Any], now: datetime) -> int | None:
    """Write an outbox row unless one exists for (dedupe_key, channel); its id when written."""
    exists = session.scalar(select(AlertRow.id).where(AlertRow.dedupe_key == dedupe_key,
                                                      AlertRow.channel == channel))
    if exists:
        return None
    row = AlertRow(delivery_id=uuid.uuid4().hex, channel=channel, event=event,
                   dedupe_key=dedupe_key, milestone_id=milestone_id, payload=payload,
                   state="pending", attempts=0, next_attempt_at=now, created_at=now)
    session.add(row)
    session.flush()
    return row.id


def retry_alert(session: Session, alert_id: int, now: datetime) -> bool:
    """Put a dead (or pending) alert back in the queue, keeping its delivery id."""
    row = session.get(AlertRow, alert_id)
    if row is None or row.state == "delivered":
        return False
    row.state, row.next_attempt_at, row.lease_owner, row.lease_until = "pending", now, None, None
    return True


def alert_listing(session: Session, *, state: str | None, limit: int) -> list[AlertRow]:
    """Alerts, newest first; only those in ``state`` when given."""
    q = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
    if state:
        q = q.where(AlertRow.state == state)
    return list(session.scalars(q))


def claim_alerts(session: Session, *, owner: str, now: datetime, lease: timedelta,
                 limit: int, channels: Iterable[str] | None = None,
                 ids: Sequence[int] | None = None) -> list[AlertRow]:
    cond = [AlertRow.state == "pending", AlertRow.next_attempt_at <= now,
            or_(AlertRow.lease_until.is_(None), AlertRow.lease_until < now)]
    if channels is not None:
        cond.append(AlertRow.channel.in_(list(channels)))
    if ids:
        cond.append(AlertRow.id.in_(list(ids)))
    return _lease(session, AlertRow, cond, (AlertRow.next_attempt_at, AlertRow.id),
                  limit=limit, owner=owner, now=now, lease=lease)


def record_delivery(session: Session, alert_id: int, *, owner: str, now: datetime,
                    outcome: str, duration: float, status: int | None, error: str | None,
                    next_attempt_at: datetime | None) -> None:
    """Record one attempt and move the alert to delivered, pending (retry) or dead."""
    row = session.get(AlertRow, alert_id)
    assert row is not None
    row.attempts += 1
    row.lease_owner, row.lease_until = None, None
    row.last_error = error
    if outcome == "delivered":
        row.state, row.delivered_at = "delivered", now
    elif outcome == "dead":
        row.state = "dead"
    else:
        row.state, row.next_attempt_at = "pending", next_attempt_at or now
    session.add(DeliveryAttemptRow(alert_id=alert_id, at=now, duration=duration, outcome=outcome,
                                   status=status, error=error, worker=owner))


def last_digest(session: Session, channel: str) -> datetime | None:
    row = session.get(ChannelStateRow, channel)
    return row.last_digest_at if row else None


def set_last_digest(session: Session, channel: str, when: datetime) -> None:
    row = session.get(ChannelStateRow, channel)
    if row is None:
        session.add(ChannelStateRow(channel=channel, last_digest_at=when))
    else:
        row.last_digest_at = when


def backlog(session: Session) -> tuple[int, datetime | None]:
    """(alerts pending, when the oldest of them was written)."""
    count, oldest = session.execute(select(func.count(AlertRow.id), func.min(AlertRow.created_at))
                                    .where(AlertRow.state == "pending")).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return count or 0, oldest
