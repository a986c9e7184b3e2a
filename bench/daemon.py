"""The real daemon (monitor.scheduler.Daemon) on the farm, for the alert-latency measurement.

    .venv/bin/python bench/daemon.py --db sqlite --urls FILE --hook URL [--interval 10]

Started by bench/run.py: polls every farm feed once (the cold state, not measured), prints
``ready``, then runs the daemon (tick 1 s, every feed every ``interval`` seconds, jitter 5%)
until a line arrives on stdin. run.py meanwhile puts items on random feeds and times the
webhook calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cycles import Database, bench_config, log_to
from bench.procmem import memory
from monitor.app import build_classifier, build_pipeline
from monitor.config import Config
from monitor.scheduler import Daemon


def latency_config(urls: list[str], db_url: str, interval: float, hook: str) -> Config:
    """The daemon's config: the farm's feeds polled every ``interval`` seconds, alerts to
    ``hook``. bench/run.py picks the reports it injects with this config's classifier."""
    config = bench_config(
        urls, db_url,
        schedule={"tick": "1s", "jitter": 0.05, "default_interval": f"{interval}s"},
        # Every injected report is its own event: reports come at least 1.5 s apart, so their
        # (whole-second) publication times always differ, and a window of 0 never groups two.
        # With 1 s, two texts about one event (a nomination told twice) were rightly one alert.
        alerting={"dedupe_window": "0s"},
        alerts={"channels": [{"name": "hook", "type": "webhook", "url": hook,
                              "timeout": "5s"}]})
    return config.model_copy(update={"feeds": [f.model_copy(update={"interval": interval})
                                               for f in config.feeds]})


async def run(args: argparse.Namespace) -> None:
    log_to(args.log)
    urls = Path(args.urls).read_text().split()
    db = Database(args.db)
    config = latency_config(urls, db.url, args.interval, args.hook)
    engine = db.open(config)
    classifier = build_classifier(config)      # one for both, as the daemon reuses its own
    warm = build_pipeline(config, engine, classifier, echo=lambda s: None)
    await asyncio.to_thread(warm.sync_feeds)
    await warm.poll_due(ignore_schedule=True)
    await warm.deliver()
    await warm.aclose()
    daemon = Daemon(config, engine, classifier, config_path=None, serve_http=False,
                    echo=lambda s: None)
    task = asyncio.create_task(daemon.run())
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    print("stats " + json.dumps(memory()), flush=True)
    daemon.stop()
    await task
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--urls", required=True)
    ap.add_argument("--hook", required=True)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--log")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
