"""``monitor alerts list|retry|test``: the alert outbox."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from monitor.cli.common import Ctx, handle_errors, iso, pass_ctx, prepared_engine
from monitor.errors import MonitorError
from monitor.store.db import Engine


@click.group("alerts")
def alerts_group() -> None:
    """The alert outbox: list, retry, test."""


@alerts_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--state", type=click.Choice(["pending", "delivered", "dead"]))
@click.option("--limit", type=int, default=50, show_default=True)
@pass_ctx
@handle_errors
def alerts_list(c: Ctx, as_json: bool, state: str | None, limit: int) -> None:
    """Alerts, newest first, with their delivery state."""
    from monitor.store.db import sessions
    from monitor.store.outbox import alert_listing

    engine = prepared_engine(c, read_only=True)
    with sessions(engine)() as s:
        rows = alert_listing(s, state=state, limit=limit)
    out = [{"id": r.id, "delivery_id": r.delivery_id, "channel": r.channel, "event": r.event,
            "milestone_id": r.milestone_id, "state": r.state, "attempts": r.attempts,
            "created": iso(r.created_at), "delivered": iso(r.delivered_at),
            "next_attempt": iso(r.next_attempt_at) if r.state == "pending" else None,
            "last_error": r.last_error} for r in rows]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for r in out:
        click.echo(f"{r['id']:>5}  {r['created']}  {r['channel']:12} {r['event']:12} "
                   f"{r['state']:9} tries {r['attempts']}  {r['last_error'] or ''}")


@alerts_group.command("retry")
@click.argument("alert_id", type=int)
@pass_ctx
@handle_errors
def alerts_retry(c: Ctx, alert_id: int) -> None:
    """Put a dead alert back in the queue (same delivery id) and try it now."""
    from monitor.store.db import sessions
    from monitor.store.outbox import retry_alert

    engine = prepared_engine(c)
    with sessions(engine).begin() as s:
        if not retry_alert(s, alert_id, datetime.now(UTC)):
            raise MonitorError(f"alert {alert_id} does not exist or was already delivered")
    stats = _deliver_now(c, engine, [alert_id])
    click.echo(f"alert {alert_id}: {_outcome(stats)}")
    if not stats.delivered:
        sys.exit(1)


@alerts_group.command("test")
@click.argument("channel")
@pass_ctx
@handle_errors
def alerts_test(c: Ctx, channel: str) -> None:
    """Send a test alert to one channel now."""
    from monitor.alerts.outbox import enqueue_test
    from monitor.store.db import sessions

    if channel not in {ch.name for ch in c.config.alerts.channels}:
        raise c.unknown("alerts.channels", "channel", channel)
    engine = prepared_engine(c)
    with sessions(engine).begin() as s:
        alert_id = enqueue_test(s, channel, datetime.now(UTC))
    stats = _deliver_now(c, engine, [alert_id])
    click.echo(f"test alert to {channel}: {_outcome(stats)}")
    if not stats.delivered:
        sys.exit(1)


def _deliver_now(c: Ctx, engine: Engine, ids: list[int]) -> Any:
    from monitor.app import build_deliverer

    async def go() -> Any:
        async with build_deliverer(c.config, engine, owner="cli", echo=click.echo) as d:
            return await d.deliver_due(ids=ids)

    return asyncio.run(go())


def _outcome(stats: Any) -> str:
    if stats.delivered:
        return "delivered"
    if stats.dead:
        return "failed permanently (dead); see `monitor alerts list`"
    if stats.retried:
        return "failed, will be retried; see `monitor alerts list`"
    return "nothing sent"
