"""``monitor run`` (the daemon) and ``monitor poll --once``."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from monitor.cli.common import Ctx, handle_errors, pass_ctx, prepared_engine


@click.command("run")
@click.option("--no-http", is_flag=True, help="Do not serve /healthz, /metrics and the dashboard.")
@pass_ctx
@handle_errors
def run(c: Ctx, no_http: bool) -> None:
    """The daemon: poll every feed on its interval until SIGTERM or SIGINT."""
    from monitor.scheduler import Daemon
    from monitor.store.db import SingleProcessLock

    config = c.config
    if not no_http:
        from monitor.dashboard import check_access_config

        check_access_config(config)  # beyond loopback only with credentials
    classifier = c.classifier()
    engine = prepared_engine(c)
    lock = SingleProcessLock(engine)
    lock.acquire()
    try:
        daemon = Daemon(config, engine, classifier, config_path=c.config_path,
                        serve_http=not no_http, echo=click.echo)
        asyncio.run(daemon.run())
    finally:
        lock.release()
        engine.dispose()


@click.command("poll")
@click.option("--once", is_flag=True, required=True, help="Poll every enabled feed now and exit.")
@click.option("--feed", "feeds", multiple=True, help="Only this feed (repeatable).")
@click.option("--no-deliver", is_flag=True, help="Queue alerts but do not send them.")
@pass_ctx
@handle_errors
def poll(c: Ctx, once: bool, feeds: tuple[str, ...], no_deliver: bool) -> None:
    """Poll every enabled feed now (intervals ignored), detect, deliver pending alerts, exit."""
    from monitor.app import build_pipeline
    from monitor.runtime import settle_gc

    config = c.config
    known = {f.name for f in config.feeds}
    for name in feeds:
        if name not in known:
            raise c.unknown("feeds", "feed", name)
    classifier = c.classifier()
    engine = prepared_engine(c)

    async def go() -> tuple[Any, Any]:
        pipe = build_pipeline(config, engine, classifier, echo=click.echo)
        try:
            await asyncio.to_thread(pipe.sync_feeds)
            await asyncio.to_thread(pipe.classify_pending)
            settle_gc()
            summary = await pipe.poll_due(names=list(feeds) or None, ignore_schedule=True)
            stats = None if no_deliver else await pipe.deliver()
            return summary, stats
        finally:
            await pipe.aclose()

    try:
        summary, stats = asyncio.run(go())
    finally:
        engine.dispose()
    click.echo(f"polled {summary.feeds} feeds: {summary.ok} new content, "
               f"{summary.unchanged} unchanged, {summary.not_modified} not modified, "
               f"{summary.failed} failed; {summary.items_new} new items, {summary.relevant} "
               f"relevant, {summary.milestones_new} new milestones, {summary.alerts_queued} "
               f"alerts queued", err=True)
    if stats is not None and (stats.delivered or stats.retried or stats.dead):
        click.echo(f"alerts: {stats.delivered} delivered, {stats.retried} to retry, "
                   f"{stats.dead} dead", err=True)
    for err in summary.errors[:20]:
        click.echo(f"  failed: {err}", err=True)
