"""The outbox and its delivery worker against real receivers, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from monitor.alerts.outbox import Deliverer, enqueue_digests, enqueue_milestone
from monitor.alerts.render import verify
from monitor.config import Config
from monitor.store.db import sessions
from monitor.store.feeds import claim_due_feeds, sync_feeds
from monitor.store.milestones import attach_source
from monitor.store.tables import AlertRow, DeliveryAttemptRow, ItemRow, MilestoneRow
from tests.fixtures_alerts import RecordingHandler, SmtpServer, free_port
from tests.servers import FeedServer, Reply
from tests.store_oracle import insert_items

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def config(channels: list[dict[str, Any]], **alerting: Any) -> Config:
    return Config.model_validate({"alerts": {"channels": channels},
                                  "fetch": {"allow_private_networks": True},
                                  "alerting": {"retry_base": 10, **alerting}})


def seed(engine: Any, cfg: Config, *, title: str = "Senate confirms ambassador to Belarus",
         type_: str = "ambassador_confirmed", severity: str = "high") -> str:
    """A feed, an item and a milestone, with its outbox rows, as the pipeline writes them."""
    mk = sessions(engine)
    feeds = Config.model_validate({"feeds": [{"name": "wire", "url": "https://wire.example.org/rss"}]})
    with mk.begin() as s:
        sync_feeds(s, feeds, NOW)
    with mk.begin() as s:
        feed_id = claim_due_feeds(s, owner="t", now=NOW, lease=timedelta(1),
                                          limit=1)[0].id
        from monitor.model import ParsedItem

        (item,) = insert_items(s, feed_id, [ParsedItem(
            identity="1", title=title, url="https://wire.example.org/1",
            link="https://wire.example.org/1", published=NOW)], NOW)
        ms = MilestoneRow(id="m1", watchlist="belarus-us", type=type_, key="", status="completed",
                          severity=severity, title=title, type_title="Ambassador confirmed",
                          evidence=f"{title}.", confidence=0.9, actors=["us", "belarus"],
                          triggers=["confirms"], rule="r", watchlist_version="1",
                          event_at=NOW, first_seen_at=NOW, last_seen_at=NOW,
                          first_item_id=item.id, sources=1, alerted=True, stale=False)
        s.add(ms)
        s.flush()
        attach_source(s, "m1", item.id, "completed", ms.evidence, 0.9, NOW)
        enqueue_milestone(s, cfg, ms, NOW)
    return "m1"


def deliver(engine: Any, cfg: Config, clock: Clock) -> Any:
    async def go() -> Any:
        async with Deliverer(cfg, sessions(engine), owner="t", clock=clock,
                             echo=lambda s: None) as d:
            return await d.deliver_due()
    return asyncio.run(go())


def alerts(engine: Any) -> list[AlertRow]:
    with sessions(engine)() as s:
        return list(s.scalars(select(AlertRow).order_by(AlertRow.id)))


def test_500_twice_then_200_is_one_delivery_with_one_id(engine: Any,
                                                          feed_server: FeedServer) -> None:
    url = feed_server.add("/hook", [Reply(500), Reply(500), Reply(200)])
    cfg = config([{"name": "ops", "type": "webhook", "url": url, "secret": "k"}])
    seed(engine, cfg)
    clock = Clock()
    assert deliver(engine, cfg, clock).retried == 1
    assert deliver(engine, cfg, clock).retried == 0  # not due yet: backoff
    for _ in range(2):
        clock.now += timedelta(hours=1)
        deliver(engine, cfg, clock)
    posts = feed_server.posts("/hook")
    assert len(posts) == 3
    assert len({p.headers["x-monitor-delivery"] for p in posts}) == 1
    assert all(verify(p.body, "k", p.headers["x-monitor-signature"]) for p in posts)
    (row,) = alerts(engine)
    assert (row.state, row.attempts) == ("delivered", 3)
    with sessions(engine)() as s:
        outcomes = list(s.scalars(select(DeliveryAttemptRow.outcome)
                                  .order_by(DeliveryAttemptRow.id)))
    assert outcomes == ["retry", "retry", "delivered"]


def test_400_is_dead_after_one_attempt(engine: Any, feed_server: FeedServer) -> None:
    url = feed_server.add("/hook", Reply(400, b"bad"))
    cfg = config([{"name": "ops", "type": "webhook", "url": url}])
    seed(engine, cfg)
    clock = Clock()
    assert deliver(engine, cfg, clock).dead == 1
    clock.now += timedelta(days=1)
    deliver(engine, cfg, clock)
    assert len(feed_server.posts("/hook")) == 1
    (row,) = alerts(engine)
    assert (row.state, row.attempts) == ("dead", 1) and "400" in (row.last_error or "")


def test_gives_up_after_max_attempts(engine: Any, feed_server: FeedServer) -> None:
    url = feed_server.add("/hook", Reply(503))
    cfg = config([{"name": "ops", "type": "webhook", "url": url}], max_attempts=3)
    seed(engine, cfg)
    clock = Clock()
    for _ in range(5):
        deliver(engine, cfg, clock)
        clock.now += timedelta(hours=2)
    assert len(feed_server.posts("/hook")) == 3
    assert alerts(engine)[0].state == "dead"


def test_smtp_down_then_back_delivers(engine: Any) -> None:
    port = free_port()
    cfg = config([{"name": "desk", "type": "email", "host": "127.0.0.1", "port": port,
                   "from": "monitor@example.org", "to": ["desk@example.org"], "timeout": "5s"}])
    seed(engine, cfg, title="<script>alert(1)</script> Senate confirms envoy to Belarus")
    clock = Clock()
    assert deliver(engine, cfg, clock).retried == 1  # nothing listens yet
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.now += timedelta(hours=1)
        assert deliver(engine, cfg, clock).delivered == 1
    finally:
        controller.stop()
    (mail,) = SmtpServer("127.0.0.1", port, handler).received
    msg = mail.message
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Belarus" in msg["Subject"]
    assert alerts(engine)[0].state == "delivered"


def test_routing_by_type_and_severity(engine: Any, feed_server: FeedServer) -> None:
    url = feed_server.add("/hook", Reply(200))
    cfg = config([
        {"name": "all", "type": "webhook", "url": url},
        {"name": "sanctions", "type": "webhook", "url": url, "types": ["sanctions_imposed"]},
        {"name": "critical", "type": "webhook", "url": url, "min_severity": "critical"},
        {"name": "other-list", "type": "webhook", "url": url, "watchlists": ["armenia-eu"]},
        {"name": "digest", "type": "webhook", "url": url, "mode": "digest"},
    ])
    seed(engine, cfg, severity="high")
    assert [a.channel for a in alerts(engine)] == ["all"]


def test_console_channel_prints(engine: Any) -> None:
    cfg = config([{"name": "console", "type": "console"}])
    seed(engine, cfg)
    lines: list[str] = []

    async def go() -> Any:
        async with Deliverer(cfg, sessions(engine), owner="t", clock=Clock(),
                             echo=lines.append) as d:
            return await d.deliver_due()

    assert asyncio.run(go()).delivered == 1
    assert "Senate confirms ambassador to Belarus" in lines[0] and "ALERT" in lines[0]


def test_digest_sends_nothing_when_nothing_happened(engine: Any,
                                                    feed_server: FeedServer) -> None:
    url = feed_server.add("/hook", Reply(200))
    cfg = config([{"name": "daily", "type": "webhook", "url": url, "mode": "digest",
                   "digest_every": "1d"}])
    mk = sessions(engine)
    with mk.begin() as s:
        assert enqueue_digests(s, cfg, NOW - timedelta(days=1, minutes=1)) == 0  # sets start
    seed(engine, cfg)
    with mk.begin() as s:
        s.execute(ItemRow.__table__.update().values(relevant=True))
        assert enqueue_digests(s, cfg, NOW + timedelta(minutes=1)) == 1
    later = Clock()
    later.now = NOW + timedelta(minutes=2)
    deliver(engine, cfg, later)
    (post,) = feed_server.posts("/hook")
    import json

    body = json.loads(post.body)
    assert body["event"] == "digest" and body["milestones"][0]["id"] == "m1"
    with mk.begin() as s:  # a day with no news sends nothing
        assert enqueue_digests(s, cfg, NOW + timedelta(days=2)) == 0


@pytest.mark.parametrize("status", [429, 502])
def test_retryable_statuses(engine: Any, feed_server: FeedServer, status: int) -> None:
    url = feed_server.add("/hook", [Reply(status, headers={"Retry-After": "120"}), Reply(200)])
    cfg = config([{"name": "ops", "type": "webhook", "url": url}])
    seed(engine, cfg)
    clock = Clock()
    deliver(engine, cfg, clock)
    row = alerts(engine)[0]
    assert row.state == "pending" and row.next_attempt_at == NOW + timedelta(seconds=120)
    clock.now += timedelta(minutes=3)
    deliver(engine, cfg, clock)
    assert alerts(engine)[0].state == "delivered"


def test_webhook_to_a_private_address_is_refused(engine: Any, feed_server: FeedServer) -> None:
    url = feed_server.add("/hook", Reply(200))
    cfg = Config.model_validate({"alerts": {"channels": [{"name": "ops", "type": "webhook",
                                                          "url": url}]},
                                 "fetch": {"allow_private_networks": False}})
    seed(engine, cfg)
    assert deliver(engine, cfg, Clock()).dead == 1
    assert feed_server.posts("/hook") == []
    (row,) = alerts(engine)
    assert "not a public address" in (row.last_error or "")
