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
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from monitor.classify import Classifier, load_watchlists  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.log import setup_logging  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.store.db import make_engine, upgrade  # noqa: E402

WATCHLIST = ROOT / "config" / "watchlists" / "belarus-us.yaml"
PG_URL = os.environ.get("MONITOR_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _status(pid: int | str) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _pss_kb(pid: int | str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int | str = "self") -> list[int]:
    """Every process below this one (the worker pool's forkserver, its workers...)."""
    out: list[int] = []
    todo = [str(pid)]
    while todo:
        p = todo.pop()
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            out.extend(int(k) for k in kids)
            todo.extend(kids)
    return out


def _cpu_seconds(pid: int | str) -> float:
    """utime + stime of one process, from /proc (children that are not reaped included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu() -> float:
    return _cpu_seconds("self") + sum(_cpu_seconds(p) for p in _descendants())


def memory() -> dict[str, float]:
    """This process's RSS and peak RSS, and the PSS of it and all its descendants (MB).

    PSS shares each page among the processes mapping it, so the tree's PSS is what the
    pipeline costs the machine, worker processes included, without counting shared pages twice.
    """
    me = _status("self")
    kids = _descendants()
    return {"rss_mb": me.get("VmRSS", 0) / 1024, "peak_mb": me.get("VmHWM", 0) / 1024,
            "children_rss_mb": sum(_status(p).get("VmRSS", 0) for p in kids) / 1024,
            "tree_pss_mb": (_pss_kb("self") + sum(_pss_kb(p) for p in kids)) / 1024,
            "processes": 1 + len(kids)}


class PeakSampler:
    """Samples the tree's PSS every ``every`` seconds in a thread; ``take()`` gives the max."""

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, memory()["tree_pss_mb"])

    def take(self) -> float:
        peak, self.peak = max(self.peak, memory()["tree_pss_mb"]), 0.0
        return peak

    def stop(self) -> None:
        self._stop.set()


def bench_config(urls: list[str], db_url: str, **extra: Any) -> Config:
    """Every farm feed on one host: the per-host limits are opened up to the global ones."""
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "feeds": [{"name": f"farm{i:05d}", "url": u, "interval": "10m", "language": "en"}
                  for i, u in enumerate(urls)],
        "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0,
                  "per_host_connections": 20, "max_connections": 20},
        "schedule": {"batch_size": 50},         # the product default; 250 cost ~90 MB of peak
    }
    for key, value in extra.items():
        data.setdefault(key, {}).update(value)
    return Config.model_validate(data)


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
        self.engine = make_engine(self.url)
        upgrade(self.engine)

    def close(self) -> None:
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


async def run(args: argparse.Namespace) -> None:
    log_to(args.log)
    urls = Path(args.urls).read_text().split()
    db = Database(args.db)
    classifier = Classifier(load_watchlists([WATCHLIST]))
    config = bench_config(urls, db.url, schedule={"parse_workers": args.workers})
    pipe = Pipeline(config, db.engine, classifier, echo=lambda s: None)
    await asyncio.to_thread(pipe.sync_feeds)
    await pipe.workers.start()
    sampler = PeakSampler()
    before = memory()
    print(json.dumps({"event": "ready", **before}), flush=True)
    try:
        for k, kind in enumerate(kinds(args.cycles), 1):
            print(f"prepare {kind}", flush=True)
            sys.stdin.readline()
            cpu0 = tree_cpu()
            sampler.take()
            t0 = time.perf_counter()
            s = await pipe.poll_due(ignore_schedule=True)
            wall = time.perf_counter() - t0
            cpu = tree_cpu() - cpu0
            print("result " + json.dumps({
                "cycle": k, "kind": kind, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
                "feeds": s.feeds, "ok": s.ok, "unchanged": s.unchanged,
                "not_modified": s.not_modified, "failed": s.failed, "items_new": s.items_new,
                "relevant": s.relevant, "milestones": s.milestones_new,
                "errors": s.errors[:3], "tree_peak_pss_mb": round(sampler.take(), 1),
                **memory()}), flush=True)
    finally:
        sampler.stop()
        await pipe.aclose()
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgres"), required=True)
    ap.add_argument("--urls", required=True, help="file with one feed URL a line")
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--log", help="where the daemon's JSON log goes (default: nowhere)")
    ap.add_argument("--workers", default="auto", type=lambda v: v if v == "auto" else int(v),
                    help="schedule.parse_workers (default: auto)")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
