"""The daemon's scheduler: a run skipped while the job's previous run is still going is
counted and logged at debug level, not warned about (it is how the tick is meant to work)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.metrics import Metrics
from monitor.scheduler import count_skipped_runs


def test_a_run_skipped_by_a_long_tick_is_counted_not_warned(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="apscheduler")
    metrics = Metrics()
    seen: list[str] = []                        # every skipped run APScheduler reported

    async def scenario() -> None:
        sched = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True,
                                                              "max_instances": 1})
        undo = count_skipped_runs(sched, metrics)
        release, skipped = asyncio.Event(), asyncio.Event()

        def on_skip(event: Any) -> None:
            seen.append(event.job_id)
            skipped.set()
        sched.add_listener(on_skip, EVENT_JOB_MAX_INSTANCES)

        async def tick() -> None:               # outlasts its interval until released
            await release.wait()
        sched.add_job(tick, "interval", seconds=0.05, id="tick", next_run_time=datetime.now(UTC))
        sched.start()
        try:
            await asyncio.wait_for(skipped.wait(), 10)
        finally:
            release.set()
            sched.shutdown(wait=False)
            undo()
        logging.getLogger("apscheduler.scheduler").warning(
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            "after", 1)                         # once undone, APScheduler's warning is back

    asyncio.run(scenario())
    skips = metrics.registry.get_sample_value("monitor_scheduler_runs_skipped_total",
                                              {"job": "tick"})
    assert seen and skips == len(seen)
    warned = [r.getMessage() for r in caplog.records if "running instances" in r.getMessage()]
    assert warned == ['Execution of job "after" skipped: maximum number of running instances '
                      + "reached (1)"]
