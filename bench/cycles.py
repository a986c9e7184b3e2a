"""One database's poll cycles, in a process of its own so its memory is the pipeline's alone.

    .venv/bin/python bench/cycles.py --db sqlite|postgres --urls FILE [--cycles 20]

Started by bench/run.py, which owns the feed farm: before each cycle this process writes
``prepare <kind>`` on stdout and waits for a line on stdin, while run.py rewrites the farm
(``cold``: first poll; ``unchanged``: every file touched, same bytes; ``304``: nothing
changed; ``some_new``: 5% of the feeds got two new items). One JSON line per cycle follows
``result``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from bench.procmem import memory, tree_cpu
from monitor.app import build_pipeline, open_database
from monitor.config import Config
from monitor.log import setup_logging
from monitor.runtime import settle_gc
from monitor.store.db import Engine, make_engine

WATCHLIST = ROOT / "config" / "watchlists" / "belarus-us.yaml"
PG_URL = os.environ.get("MONITOR_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def bench_config(urls: list[str], db_url: str, **extra: Any) -> Config:
    return Config.model_validate(bench_config_data(urls, db_url, **extra))


def bench_config_data(urls: list[str], db_url: str, **extra: Any) -> dict[str, Any]:
    """Every farm feed on one host: the per-host limits are opened up to the global ones."""
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "feeds": [{"name": f"farm{i:05d}", "url": u, "interval": "10m", "language": "en"}
                  for i, u in enumerate(urls)],
        "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0,
                  "per_host_connections": 20, "max_connections": 20},
        "schedule": {"batch_size": 40},         # the product default; 250 cost ~90 MB of peak
    }
    for key, value in extra.items():
        data.setdefault(key, {}).update(value)
    return data


class Database:
    """A fresh database: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.schema = None
        if kind == "sqlite":
            self.dir = tempfile.mkdtemp(prefix="monitor-bench-")
            self.url = f"sqlite:///{self.dir}/bench.db"
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {self.schema}"))
            admin.dispose()
            self.url = f"{PG_URL}?options=-csearch_path%3D{self.schema}"
        self.engine: Engine | None = None

    def open(self, config: Config) -> Engine:
        """The database as the product opens it, its schema made."""
        self.engine = open_database(config, upgrade=True)
        return self.engine

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {self.schema} CASCADE"))
            admin.dispose()


def kinds(cycles: int) -> list[str]:
    out = ["cold", "unchanged", "304"]
    while len(out) < cycles:
        out.append("some_new" if len(out) % 2 else "unchanged")
    return out[:cycles]


def log_to(path: str | None) -> None:
    """The daemon's logging (JSON, info: one line per feed polled), into a file."""
    setup_logging("info", "json", open(path or os.devnull, "a", encoding="utf-8"))  # noqa: SIM115


_GC = {"seconds": 0.0, "start": 0.0}


def _gc_timer(phase: str, info: dict[str, Any]) -> None:
    """The daemon process's time in the garbage collector (gc.callbacks)."""
    if phase == "start":
        _GC["start"] = time.perf_counter()
    else:
        _GC["seconds"] += time.perf_counter() - _GC["start"]


async def run(args: argparse.Namespace) -> None:
    log_to(args.log)
    if args.tracemalloc:
        tracemalloc.start(8)
    urls = Path(args.urls).read_text().split()
    db = Database(args.db)
    config = bench_config(urls, db.url, schedule={"parse_workers": args.workers})
    pipe = build_pipeline(config, db.open(config), echo=lambda s: None)
    await asyncio.to_thread(pipe.sync_feeds)
    await pipe.workers.start()
    before = memory()
    settle_gc()                             # as the daemon does once it has started
    gc.callbacks.append(_gc_timer)
    print(json.dumps({"event": "ready", **before}), flush=True)
    try:
        for k, kind in enumerate(kinds(args.cycles), 1):
            print(f"prepare {kind}", flush=True)
            sys.stdin.readline()
            main0, cpu0 = tree_cpu()
            _GC["seconds"] = 0.0
            t0 = time.perf_counter()
            s = await pipe.poll_due(ignore_schedule=True)
            wall = time.perf_counter() - t0
            main1, cpu1 = tree_cpu()
            cpu, main = cpu1 - cpu0, main1 - main0
            print("result " + json.dumps({
                "cycle": k, "kind": kind, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
                "cpu_main_seconds": round(main, 3), "gc_seconds": round(_GC["seconds"], 3),
                "feeds": s.feeds, "ok": s.ok, "unchanged": s.unchanged,
                "not_modified": s.not_modified, "failed": s.failed, "items_new": s.items_new,
                "relevant": s.relevant, "milestones": s.milestones_new,
                "errors": s.errors[:3], **memory()}), flush=True)
            if args.tracemalloc:
                top = tracemalloc.take_snapshot().statistics("traceback")[:args.tracemalloc]
                for stat in top:
                    print(f"trace {stat.size / 1e6:7.2f} MB {stat.count:8}", file=sys.stderr)
                    for line in stat.traceback.format()[-6:]:
                        print("trace    " + line, file=sys.stderr)
    finally:
        await pipe.aclose()
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgres"), required=True)
    ap.add_argument("--urls", required=True, help="file with one feed URL a line")
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--log", help="where the daemon's JSON log goes (default: nowhere)")
    ap.add_argument("--tracemalloc", type=int, default=0, metavar="N",
                    help="trace allocations; after each cycle print the N biggest live sites")
    ap.add_argument("--workers", default="auto", type=lambda v: v if v == "auto" else int(v),
                    help="schedule.parse_workers (default: auto)")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
