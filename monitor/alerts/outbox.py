"""The transactional outbox: alerts written with their milestone, delivered by a worker.

``enqueue_milestone`` runs inside the transaction that creates (or steps) a milestone, so an
alert exists if and only if its milestone does. ``Deliverer`` claims due rows with a lease, sends
them, and records every attempt; a crash between the send and the record leaves the lease to
expire and the retry carries the same ``X-Monitor-Delivery`` id.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

from monitor.alerts import render, render_email
from monitor.alerts.email import send_email
from monitor.alerts.webhook import Client, new_client, post_webhook
from monitor.config import Config, ConsoleChannel, EmailChannel, WebhookChannel
from monitor.errors import AddressRefusedError, DeliveryError
from monitor.log import get_logger
from monitor.milestones import channel_wants
from monitor.model import EvidenceSpan, FeedHealthAlert, MilestoneAlert, Reason, SourceRef
from monitor.runtime import crash_point
from monitor.store.db import Session, sessionmaker
from monitor.store.items import items_with_feeds, relevant_item_ids
from monitor.store.milestones import get_milestone, milestone_sources, milestones_seen
from monitor.store.outbox import (
    claim_alerts,
    enqueue_alert,
    last_digest,
    record_delivery,
    set_last_digest,
)
from monitor.store.tables import FeedRow, ItemRow, MilestoneRow

log = get_logger("monitor.alerts")

AnyChannel = WebhookChannel | EmailChannel | ConsoleChannel


def enqueue_milestone(session: Session, config: Config, ms: MilestoneRow, now: datetime,
                      *, step: str | None = None) -> int:
    """Write one outbox row per channel that wants this milestone; returns how many."""
    n = 0
    key = f"milestone:{ms.id}" + (f":{step}" if step else "")
    for ch in config.alerts.channels:
        if not ch.enabled or ch.mode != "immediate" or "milestone" not in ch.events:
            continue
        if not channel_wants(watchlists=ch.watchlists, types=ch.types,
                             min_severity=ch.min_severity, watchlist=ms.watchlist,
                             type_=ms.type, severity=ms.severity):
            continue
        n += enqueue_alert(session, channel=ch.name, event="milestone", dedupe_key=key,
                           milestone_id=ms.id, payload={"step": step}, now=now) is not None
    return n


def enqueue_feed_health(session: Session, config: Config, alert: FeedHealthAlert,
                        now: datetime) -> int:
    """One ``feed_unhealthy``/``feed_recovered`` event per transition, per channel."""
    n = 0
    key = f"feed:{alert.feed}:{alert.state}:{alert.since.isoformat()}"
    for ch in config.alerts.channels:
        if not ch.enabled or "feed_health" not in ch.events:
            continue
        if ch.watchlists and alert.watchlists and not set(ch.watchlists) & set(alert.watchlists):
            continue
        n += enqueue_alert(session, channel=ch.name, event="feed_health", dedupe_key=key,
                           milestone_id=None, payload=_health_json(alert), now=now) is not None
    return n


def _health_json(a: FeedHealthAlert) -> dict[str, Any]:
    return {"feed": a.feed, "url": a.url, "state": a.state, "since": a.since.isoformat(),
            "reason": a.reason, "watchlists": list(a.watchlists)}


def _health_from_json(d: dict[str, Any]) -> FeedHealthAlert:
    return FeedHealthAlert(feed=d["feed"], url=d["url"], state=d["state"],
                           since=datetime.fromisoformat(d["since"]), reason=d.get("reason", ""),
                           watchlists=tuple(d.get("watchlists", ())))


def _source_ref(item: ItemRow, feed: FeedRow) -> SourceRef:
    """A stored item as an alert names it (undated items by when they were first seen)."""
    return SourceRef(title=item.title, url=item.url or item.link, feed=feed.name,
                     published=item.published or item.first_seen_at, outlet=feed.outlet)


def milestone_alert(session: Session, ms: MilestoneRow) -> MilestoneAlert:
    """Build the alert of a milestone from the database, with its sources as they are now."""
    sources = tuple(_source_ref(i, f) for i, f in milestone_sources(session, ms.id))
    at = EvidenceSpan.from_json(ms.evidence_at)
    return MilestoneAlert(id=ms.id, type=ms.type, type_title=ms.type_title,
                          watchlist=ms.watchlist, watchlist_version=ms.watchlist_version,
                          title=ms.title, status=ms.status, severity=ms.severity,
                          first_seen=ms.first_seen_at, evidence=ms.evidence,
                          actors=tuple(ms.actors), triggers=tuple(ms.triggers), rule=ms.rule,
                          confidence=ms.confidence, items=sources,
                          highlights=at.highlights() if at else (), evidence_at=at,
                          reason=Reason.from_json(ms.reason), item_id=ms.first_item_id)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, channel: str, outcome: str) -> None:
        attr = {"delivered": "delivered", "retry": "retried", "dead": "dead"}[outcome]
        setattr(self, attr, getattr(self, attr) + 1)
        per = self.by_channel.setdefault(channel, {})
        per[outcome] = per.get(outcome, 0) + 1


@dataclass(frozen=True)
class Digest:
    start: datetime
    end: datetime
    milestones: tuple[MilestoneAlert, ...]
    items: tuple[SourceRef, ...]


@dataclass(frozen=True)
class _Prepared:
    alert_id: int
    delivery_id: str
    channel: str
    attempts: int
    event: str
    milestone: MilestoneAlert | None
    health: FeedHealthAlert | None
    digest: Digest | None = None


class Deliverer:
    """Sends due outbox rows to their channels and records every attempt."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], *, owner: str,
                 clock: Callable[[], datetime], rng: random.Random | None = None,
                 echo: Callable[[str], None] | None = None,
                 on_outcome: Callable[[str, str], None] | None = None) -> None:
        self.config = config
        self.sessions = sessions
        self.owner = owner
        self.clock = clock
        self.rng = rng or random.Random()
        self.channels: dict[str, AnyChannel] = {c.name: c for c in config.alerts.channels}
        self._client: Client | None = None     # made at the first webhook
        self.echo = echo or (lambda s: print(s, file=sys.stdout, flush=True))
        self.on_outcome = on_outcome

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = new_client(self.config)
        return self._client

    async def deliver_due(self, *, limit: int = 100, ids: list[int] | None = None) -> DeliveryStats:
        """Deliver every due alert (or the given ids), a batch at a time."""
        stats = DeliveryStats()
        while True:
            prepared = await asyncio.to_thread(self._claim, limit, ids)
            if not prepared:
                return stats
            await asyncio.gather(*(self._deliver_one(p, stats) for p in prepared))
            if ids:
                return stats

    def _claim(self, limit: int, ids: list[int] | None) -> list[_Prepared]:
        now = self.clock()
        with self.sessions.begin() as s:
            rows = claim_alerts(s, owner=self.owner, now=now, lease=timedelta(minutes=5),
                                        limit=limit, channels=list(self.channels), ids=ids)
            out = []
            for r in rows:
                ms = None
                health = None
                if r.event == "milestone" and r.milestone_id:
                    mrow = get_milestone(s, r.milestone_id)
                    if mrow is not None:
                        ms = milestone_alert(s, mrow)
                elif r.event == "feed_health":
                    health = _health_from_json(r.payload)
                elif r.event == "test":
                    ms = _test_alert(now)
                digest = _load_digest(s, r.payload) if r.event == "digest" else None
                out.append(_Prepared(r.id, r.delivery_id, r.channel, r.attempts, r.event, ms,
                                     health, digest))
            return out

    async def _deliver_one(self, p: _Prepared, stats: DeliveryStats) -> None:
        ch = self.channels[p.channel]
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        outcome = "delivered"
        retry_after: float | None = None
        try:
            if p.milestone is None and p.health is None and p.digest is None:
                raise DeliveryError(p.channel, "the milestone of this alert no longer exists",
                                    retryable=False)
            status = await self._send(ch, p)
            crash_point("deliver")       # sent, not yet recorded: sent again after a crash
        except AddressRefusedError as exc:  # a policy refusal: retrying cannot help
            error, outcome = f"channel {p.channel}: {exc}", "dead"
        except DeliveryError as exc:
            error, status = str(exc), exc.status
            retry_after = exc.retry_after
            outcome = "retry" if exc.retryable else "dead"
        except Exception as exc:  # noqa: BLE001 - the per-delivery boundary: never crash the loop
            error, outcome = f"{type(exc).__name__}: {exc}", "retry"
        attempts = p.attempts + 1
        if outcome == "retry" and attempts >= self.config.alerting.max_attempts:
            outcome = "dead"
        now = self.clock()
        next_at = None
        if outcome == "retry":
            delay = min(self.config.alerting.retry_max,
                        self.config.alerting.retry_base * 2 ** (attempts - 1))
            delay *= 1 + self.rng.uniform(-0.2, 0.2)
            if retry_after:
                delay = max(delay, min(retry_after, self.config.alerting.retry_max))
            next_at = now + timedelta(seconds=delay)
        duration = time.perf_counter() - started
        await asyncio.to_thread(self._record, p, outcome, duration, status, error, next_at)
        stats.count(p.channel, outcome)
        if self.on_outcome:
            self.on_outcome(p.channel, outcome)
        log.log(20 if outcome == "delivered" else 30, f"alert_{outcome}" if outcome != "retry"
                else "alert_retry_scheduled", channel=p.channel, delivery_id=p.delivery_id,
                milestone_id=p.milestone.id if p.milestone else None, status=status, error=error,
                attempts=attempts)

    def _record(self, p: _Prepared, outcome: str, duration: float, status: int | None,
                error: str | None, next_at: datetime | None) -> None:
        with self.sessions.begin() as s:
            record_delivery(s, p.alert_id, owner=self.owner, now=self.clock(),
                                    outcome=outcome, duration=duration, status=status,
                                    error=error, next_attempt_at=next_at)

    async def _send(self, ch: AnyChannel, p: _Prepared) -> int | None:
        sent_at = self.clock()
        if isinstance(ch, ConsoleChannel):
            self.echo(_console_line(p))
            return None
        if isinstance(ch, WebhookChannel):
            if p.digest is not None:
                d = p.digest
                payload = render.digest_payload(d.milestones, d.items, period_start=d.start,
                                                period_end=d.end, sent_at=sent_at,
                                                delivery_id=p.delivery_id)
                return await post_webhook(self.client, channel=ch.name, url=ch.url,
                                          body=render.encode_body(payload),
                                          delivery_id=p.delivery_id, secret=ch.secret,
                                          timeout=ch.timeout, extra_headers=ch.headers)
            subject: MilestoneAlert | FeedHealthAlert = p.milestone or p.health  # type: ignore[assignment]
            payload = render.render_for_format(ch.format, subject, sent_at=sent_at,
                                               delivery_id=p.delivery_id,
                                               options={"chat_id": ch.chat_id})
            body = render.encode_body(payload)
            return await post_webhook(self.client, channel=ch.name, url=ch.url, body=body,
                                      delivery_id=p.delivery_id, secret=ch.secret,
                                      timeout=ch.timeout, extra_headers=ch.headers)
        if p.digest is not None:
            d = p.digest
            msg = render_email.digest_email(d.milestones, d.items, period_start=d.start,
                                      period_end=d.end, sender=ch.from_, recipients=list(ch.to),
                                      subject_prefix=ch.subject_prefix,
                                      delivery_id=p.delivery_id)
        elif p.milestone is not None:
            msg = render_email.email_message(p.milestone, sender=ch.from_, recipients=list(ch.to),
                                       subject_prefix=ch.subject_prefix,
                                       delivery_id=p.delivery_id)
        else:
            assert p.health is not None
            msg = render_email.email_health_message(p.health, sender=ch.from_, recipients=list(ch.to),
                                              subject_prefix=ch.subject_prefix,
                                              delivery_id=p.delivery_id)
        await send_email(msg, channel=ch.name, host=ch.host, port=ch.port, starttls=ch.starttls,
                         tls=ch.tls, username=ch.username, password=ch.password,
                         timeout=ch.timeout)
        return None


def _console_line(p: _Prepared) -> str:
    if p.digest is not None:
        d = p.digest
        lines = [(f"DIGEST {d.start.isoformat()} .. {d.end.isoformat()}: "
                  f"{len(d.milestones)} milestones, {len(d.items)} relevant items")]
        lines += [f"  - {m.type}: {m.title}" for m in d.milestones]
        lines += [f"  * {i.feed}: {i.title}" for i in d.items[:20]]
        return "\n".join(lines)
    if p.milestone is not None:
        m = p.milestone
        src = "; ".join(f"{s.feed}: {s.url}" for s in m.items[:5])
        return (f"ALERT [{m.watchlist}] {m.type_title or m.type} ({m.status}, {m.severity}): "
                f"{m.title}\n  evidence: {m.evidence}\n  sources ({len(m.items)}): {src}")
    assert p.health is not None
    h = p.health
    return f"ALERT feed {h.feed} is {h.state} since {h.since.isoformat()}: {h.reason}"


def enqueue_digests(session: Session, config: Config, now: datetime) -> int:
    """Queue a digest for each digest channel whose period is over and that has news.

    The first run only sets the starting point, so a new install sends no digest of history.
    """
    n = 0
    for ch in config.alerts.channels:
        if not ch.enabled or ch.mode != "digest" or "digest" not in ch.events:
            continue
        last = last_digest(session, ch.name)
        if last is None:
            set_last_digest(session, ch.name, now)
            continue
        if (now - last).total_seconds() < ch.digest_every:
            continue
        ms_ids = [m.id for m in milestones_seen(session, last, now) if channel_wants(
            watchlists=ch.watchlists, types=ch.types, min_severity=ch.min_severity,
            watchlist=m.watchlist, type_=m.type, severity=m.severity)]
        item_ids = relevant_item_ids(session, since=last, until=now,
                                     watchlists=ch.watchlists, limit=200)
        set_last_digest(session, ch.name, now)
        if not ms_ids and not item_ids:
            continue  # nothing is sent when there is nothing
        n += enqueue_alert(
            session, channel=ch.name, event="digest", dedupe_key=f"digest:{now.isoformat()}",
            milestone_id=None, now=now,
            payload={"start": last.isoformat(), "end": now.isoformat(), "milestones": ms_ids,
                     "items": item_ids}) is not None
    return n


def _load_digest(session: Session, payload: dict[str, Any]) -> Digest:
    rows = [get_milestone(session, mid) for mid in payload.get("milestones", [])]
    items = tuple(_source_ref(i, f) for i, f in items_with_feeds(session, payload.get("items", [])))
    return Digest(start=datetime.fromisoformat(payload["start"]),
                  end=datetime.fromisoformat(payload["end"]),
                  milestones=tuple(milestone_alert(session, r) for r in rows if r is not None),
                  items=items)


def _test_alert(now: datetime) -> MilestoneAlert:
    return MilestoneAlert(id="test", type="test", type_title="Test alert", watchlist="test",
                          watchlist_version="", title="monitor test alert: this channel works",
                          status="announced", severity="low", first_seen=now,
                          evidence="This is a test alert sent by `monitor alerts test`.")


def enqueue_test(session: Session, channel: str, now: datetime) -> int:
    """Queue a test alert for one channel; returns its id."""
    alert_id = enqueue_alert(session, channel=channel, event="test",
                             dedupe_key=f"test:{uuid.uuid4().hex}", milestone_id=None,
                             payload={}, now=now)
    assert alert_id is not None          # a fresh key is never a duplicate
    return alert_id
