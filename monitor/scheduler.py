"""The daemon: APScheduler 3's asyncio scheduler runs a frequent tick that claims due feeds.

Per-feed schedules live in the database (next check, backoff, validators), so they survive a
restart and are shared by replicas; APScheduler only drives three jobs: ``tick`` (poll what is
due), ``deliver`` (send the outbox) and ``housekeeping`` (classify leftovers, gauges, digests).
SIGTERM/SIGINT stop taking work and let in-flight work finish and commit; SIGHUP reloads the
config (feeds added, removed or changed without a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import build_classifier, build_pipeline
from monitor.classify import Classifier
from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.runtime import settle_gc
from monitor.store.db import Engine
from monitor.web import Health, build_app, make_server

log = get_logger("monitor.scheduler")


class _OverlapWarning(logging.Filter):
    """Drops APScheduler's warning that a run was skipped because the job's previous run was
    still going. For us that is by design, not a fault: a tick that outlasts its interval (a
    first poll of many feeds, feeds timing out while the network is down) makes the next
    tick wait, as would a delivery waiting for a tick to finish. The skips are counted in
    ``monitor_scheduler_runs_skipped_total`` and logged at debug level instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str)
                    and "maximum number of running instances" in record.msg)


def count_skipped_runs(sched: AsyncIOScheduler, metrics: Metrics) -> Callable[[], None]:
    """Each run ``sched`` skips (see ``_OverlapWarning``) as a metric and a debug line, not
    APScheduler's warning; returns what undoes it."""
    def skipped(event: JobSubmissionEvent) -> None:
        metrics.runs_skipped.labels(event.job_id).inc()
        log.debug("job_run_skipped", job=event.job_id,
                  error="its previous run was still going")
    sched.add_listener(skipped, EVENT_JOB_MAX_INSTANCES)
    logger, quiet = logging.getLogger("apscheduler.scheduler"), _OverlapWarning()
    logger.addFilter(quiet)

    def undo() -> None:
        logger.removeFilter(quiet)
        sched.remove_listener(skipped)
    return undo


class Daemon:
    """``monitor run``: polls, delivers and serves /healthz and /metrics until told to stop."""

    def __init__(self, config: Config, engine: Engine, classifier: Classifier, *,
                 config_path: str | None, serve_http: bool = True,
                 echo: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.engine = engine
        self.config_path = config_path
        self.serve_http = serve_http
        self.pipeline = build_pipeline(config, engine, classifier, echo=echo)
        self.health = Health(engine, config.schedule.tick)
        self._stop = asyncio.Event()
        self._busy = asyncio.Lock()      # held while a job runs: shutdown waits for it
        self._reload = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        server = None
        server_task = None
        if self.serve_http:
            app = build_app(self.health, self.pipeline.metrics,
                            # the current pipeline's, also after a reload swapped it
                            refresh=lambda: self.pipeline.refresh_gauges(),
                            extra_routes=self._extra_routes())
            server = make_server(app, self.config.http.listen)
            server_task = asyncio.create_task(server.serve())
        changes = await asyncio.to_thread(self.pipeline.sync_feeds)
        await self.pipeline.workers.start()
        frozen = settle_gc()
        log.info("daemon_started", feeds=len(self.config.feeds), listen=self.config.http.listen,
                 gc_frozen=frozen, **{k: len(v) for k, v in changes.items()})
        sched = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True,
                                                              "max_instances": 1,
                                                              "misfire_grace_time": 30})
        # (A reload's new pipeline keeps these metrics.)
        uncount = count_skipped_runs(sched, self.pipeline.metrics)
        now = datetime.now(UTC)
        sched.add_job(self.tick, "interval", seconds=self.config.schedule.tick, id="tick",
                      next_run_time=now, jitter=None)
        sched.add_job(self.deliver, "interval", seconds=max(1.0, self.config.schedule.tick),
                      id="deliver", next_run_time=now)
        sched.add_job(self.housekeeping, "interval", seconds=60, id="housekeeping",
                      next_run_time=now)
        if not self._stop.is_set():         # a stop during start-up: no job is started
            sched.start()
            self.health.ready = True
        try:
            await self._stop.wait()
        finally:
            self.health.ready = False
            # In-flight work finishes and commits first: APScheduler's asyncio executor would
            # cancel a running job at shutdown. Jobs that start now see the stop and return.
            async with self._busy:
                if sched.running:
                    sched.shutdown(wait=False)
            if server is not None and server_task is not None:
                server.should_exit = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server_task, timeout=5)
            await self.pipeline.aclose()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            uncount()
            log.info("daemon_stopped")

    def _extra_routes(self) -> list[object]:
        try:
            from monitor.dashboard import routes  # the web dashboard, when installed
        except ImportError:
            return []
        return list(routes(self.engine, self.config))

    def stop(self) -> None:
        self._stop.set()                # first: nothing may keep a stop from being seen
        log.info("stop_requested")

    def request_reload(self) -> None:
        self._reload = True
        asyncio.get_running_loop().create_task(self._do_reload())

    async def _do_reload(self) -> None:
        async with self._busy:
            if not self._reload:
                return
            self._reload = False
            try:
                config = load_config(self.config_path)
                classifier = build_classifier(config)
            except ConfigError as exc:
                log.error("config_reload_failed", error=str(exc))
                return
            if config.database.url != self.config.database.url:
                log.warning("config_reload_database_ignored",
                            error="database.url changes need a restart")
            old = self.pipeline
            self.config = config
            new = build_pipeline(config, self.engine, classifier, owner=old.owner,
                           metrics=old.metrics, echo=old.deliverer.echo)
            await new.workers.start()       # the new watchlists' workers, before the swap
            self.pipeline = new
            await old.aclose()
            changes = await asyncio.to_thread(self.pipeline.sync_feeds)
            settle_gc()                     # the new classifier and pipeline are kept too
            log.info("config_reloaded", **{k: v for k, v in changes.items()})

    async def tick(self) -> None:
        if self._stop.is_set():
            return
        async with self._busy:
            self.health.last_tick = time.monotonic()
            self.pipeline.metrics.last_tick.set(time.time())
            try:
                summary = await self.pipeline.poll_due()
            except Exception as exc:
                log.exception("tick_failed", error=str(exc))
                return
            if summary.feeds:
                log.info("cycle_finished", feeds=summary.feeds, ok=summary.ok,
                         not_modified=summary.not_modified, unchanged=summary.unchanged,
                         failed=summary.failed, new=summary.items_new,
                         milestones=summary.milestones_new, alerts=summary.alerts_queued)
            if summary.alerts_queued:
                await self._deliver_locked()

    async def deliver(self) -> None:
        if self._stop.is_set():
            return
        async with self._busy:
            await self._deliver_locked()

    async def _deliver_locked(self) -> None:
        try:
            await self.pipeline.deliver()
        except Exception as exc:
            log.exception("delivery_failed", error=str(exc))

    async def housekeeping(self) -> None:
        if self._stop.is_set():
            return
        async with self._busy:
            try:
                await asyncio.to_thread(self.pipeline.classify_pending)
                await asyncio.to_thread(self.pipeline.enqueue_digests)
                await asyncio.to_thread(self.pipeline.check_silence)
                await asyncio.to_thread(self.pipeline.prune)
                await asyncio.to_thread(self.pipeline.refresh_gauges)
            except Exception as exc:
                log.exception("housekeeping_failed", error=str(exc))
