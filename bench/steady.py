"""Steady poll cycles (304 or unchanged) of one revision, on a copy of a populated SQLite file.

    PYTHONPATH=TREE .venv/bin/python bench/steady.py --base FILE --config FILE [--cycles 5] \\
        [--touch DIR]

Run by ``bench/ab.py --steady``, which owns the farm: the first call (``FILE`` missing) polls
the farm cold and then once more, and saves the database as ``FILE``; every later call copies
``FILE`` and measures ``--cycles`` cycles after two warm-up ones, so no run pays for a cold
cycle and every revision starts from the same rows. ``--touch DIR`` touches every farm file
before each cycle (the unchanged cycle: new ETag, same bytes; else every poll is a 304).
``--config`` is bench/cycles.py's farm config as JSON (``bench_config_data``, written by
ab.py), its database URL replaced by the copy's. Prints one JSON line: the medians of wall
and CPU seconds. Imports only ``monitor`` (of the tree on PYTHONPATH), so it runs any
revision's code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import monitor
from monitor.config import Config
from monitor.log import setup_logging

if (Path(monitor.__file__).parent / "app.py").exists():
    from monitor.app import build_pipeline, open_database

    def wire(config: Config) -> tuple[Any, Any]:
        """The pipeline as the product builds it, and the config's database."""
        engine = open_database(config, upgrade=True)
        return build_pipeline(config, engine, echo=lambda s: None), engine
else:   # a revision from before monitor.app (bench/ab.py runs this file on older ones)
    def wire(config: Config) -> tuple[Any, Any]:
        from monitor.classify import Classifier, load_watchlists
        from monitor.pipeline import Pipeline
        from monitor.store.db import make_engine, upgrade

        engine = make_engine(config.database.url)
        upgrade(engine)
        return Pipeline(config, engine, Classifier(load_watchlists(
            [Path(p) for p in config.watchlists])), echo=lambda s: None), engine  # type: ignore[call-arg]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="monitor-steady-"))
    db = work / "bench.db"
    base = Path(args.base)
    if base.exists():
        shutil.copy(base, db)
    data = json.loads(Path(args.config).read_text())
    data["database"] = {"url": f"sqlite:///{db}"}
    config = Config.model_validate(data)
    pipe, engine = wire(config)
    try:
        await asyncio.to_thread(pipe.sync_feeds)
        await pipe.workers.start()
        if not base.exists():
            for _ in range(2):
                await pipe.poll_due(ignore_schedule=True)
            return {"populated": str(base)}
        walls: list[float] = []
        cpus: list[float] = []
        for k in range(args.cycles + 2):
            if args.touch:
                for p in Path(args.touch).iterdir():
                    os.utime(p)
            cpu, t0 = time.process_time(), time.perf_counter()
            s = await pipe.poll_due(ignore_schedule=True)
            if s.failed:
                raise SystemExit(f"{s.failed} polls failed: {s.errors[:3]}")
            if k >= 2:
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - cpu)
        return {"feeds": s.feeds, "seconds": round(statistics.median(walls), 4),
                "cpu_seconds": round(statistics.median(cpus), 4)}
    finally:
        await pipe.aclose()
        engine.dispose()
        if not base.exists():
            shutil.copy(db, base)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="the populated database (made if missing)")
    ap.add_argument("--config", required=True, help="the farm's config, as JSON")
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--touch", help="the farm's feed directory, touched before each cycle")
    setup_logging("info", "json", open(os.devnull, "a", encoding="utf-8"))  # noqa: SIM115
    print(json.dumps(asyncio.run(run(ap.parse_args()))), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
