"""The pipeline benchmark: one command, one table, one JSON file.

    .venv/bin/python bench/run.py [--feeds 1000] [--quick] [--dbs sqlite,postgres]

Builds a farm of static feeds served by nginx on 127.0.0.1 (bench/farm.py), then measures side
by side: bare feedparser and bare httpx baselines, our parser and fetcher alone, the
classifier (items/s on one core), the pipeline's cold / unchanged / 304 cycles and the memory
of 20 cycles on SQLite and PostgreSQL (bench/cycles.py, one process per database), and the
alert latency of the real daemon at a 10 s interval (bench/daemon.py). Prints a table and
writes bench/results/pipeline.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.farm import Farm, Nginx
from bench.procmem import PeakSampler

PY = sys.executable
TARGETS = {"cold_feeds_per_s": 300, "cold_items_per_s": 9000, "unchanged_feeds_per_s": 1000,
           "not_modified_feeds_per_s": 1500, "peak_mb": 150}


def machine() -> dict[str, Any]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "memory_gb": round(int(mem) / 1024 / 1024, 1), "kernel": platform.release(),
            "speed_probe_s": speed_probe()}


def speed_probe() -> float:
    """Seconds for a fixed pure-Python loop (best of 5): how fast this machine is right now,
    so runs on different days (or different virtual machines) can be compared."""
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.process_time() - t0)
    return round(best * 5, 3)               # as for 10 million additions


# -- baselines -------------------------------------------------------------------------------


def bench_parsers(farm: Farm, sample: int) -> dict[str, float]:
    """µs per item: bare feedparser with defaults, without sanitiser/URI pass, and ours."""
    import io

    import feedparser

    from monitor.parse import parse_feed

    bodies = [farm.path(i).read_bytes() for i in range(min(sample, farm.n_feeds))]
    n_items = sum(len(f) for f in farm.feeds[:len(bodies)])
    now = datetime.now(UTC)
    runs: dict[str, Callable[[bytes], object]] = {
        "feedparser_defaults": lambda b: feedparser.parse(io.BytesIO(b)),
        "feedparser_no_sanitize": lambda b: feedparser.parse(
            io.BytesIO(b), sanitize_html=False, resolve_relative_uris=False),
        "monitor_parse_feed": lambda b: parse_feed(b, url="http://farm/f.xml", now=now),
    }
    out = {}
    for name, fn in runs.items():
        fn(bodies[0])
        t0 = time.perf_counter()
        for b in bodies:
            fn(b)
        out[name + "_us_per_item"] = round((time.perf_counter() - t0) / n_items * 1e6, 1)
    return out


async def _bare_httpx(urls: list[str], concurrency: int, guarded: bool = False) -> float:
    """Plain GETs through httpx's default transport, or (guarded) through ours from fetch.py."""
    import httpx

    from monitor.fetch import guarded_transport

    sem = asyncio.Semaphore(concurrency)
    transport = (guarded_transport(allow_private_networks=True, max_connections=concurrency)
                 if guarded else None)
    async with httpx.AsyncClient(transport=transport) as client:
        async def get(u: str) -> None:
            async with sem:
                r = await client.get(u)
                r.raise_for_status()
        await get(urls[0])
        t0 = time.perf_counter()
        await asyncio.gather(*(get(u) for u in urls))
        return len(urls) / (time.perf_counter() - t0)


async def _our_fetcher(urls: list[str]) -> dict[str, float]:
    from monitor.config import FetchConfig
    from monitor.fetch import Fetcher

    settings = FetchConfig(allow_private_networks=True, per_host_min_gap=0,
                             per_host_connections=20, max_connections=20)
    async with Fetcher(settings) as f:
        await f.fetch(urls[0])
        t0 = time.perf_counter()
        results = await asyncio.gather(*(f.fetch(u) for u in urls))
        full = len(urls) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        await asyncio.gather(*(f.fetch(u, etag=r.etag) for u, r in zip(urls, results,
                                                                         strict=True)))
        cond = len(urls) / (time.perf_counter() - t0)
    return {"fetcher_200_req_per_s": round(full), "fetcher_304_req_per_s": round(cond)}


def bench_fetch(urls: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in (10, 20, 100):
        out[f"bare_httpx_c{c}_req_per_s"] = round(asyncio.run(_bare_httpx(urls, c)))
        out[f"httpx_guarded_transport_c{c}_req_per_s"] = round(
            asyncio.run(_bare_httpx(urls, c, guarded=True)))
    out.update(asyncio.run(_our_fetcher(urls)))
    return out


def bench_classifier(farm: Farm, seconds: float) -> dict[str, Any]:
    """Items/s on one core, through bench/bench_classify.py's own functions."""
    from bench import bench_classify as bc
    from monitor.classify import Classifier, load_watchlists
    from monitor.model import ItemText
    from monitor.parse import parse_feed

    clf = Classifier(load_watchlists([bc.WATCHLIST]))
    now = datetime.now(UTC)
    farm_items = []
    for i in range(min(40, farm.n_feeds)):
        for it in parse_feed(farm.path(i).read_bytes(), url="http://farm/", now=now).items:
            farm_items.append(ItemText.of(it, it.identity))
    dev = bc.load_items()
    return {"dev_items_per_s": round(bc.measure(clf, dev, seconds)[0]),
            "farm_items_per_s": round(bc.measure(clf, farm_items, seconds)[0])}


# -- cycles ----------------------------------------------------------------------------------


def prepare(farm: Farm, kind: str, rng: random.Random) -> None:
    if kind == "unchanged":
        farm.touch_all()
    elif kind == "some_new":
        now = datetime.now(UTC)
        for i in rng.sample(range(farm.n_feeds), max(1, farm.n_feeds // 20)):
            farm.add(i, farm.new_item(i, now))
            farm.add(i, farm.new_item(i, now))


WORKERS = "auto"
EXTRA: list[str] = []             # more bench/cycles.py options (--tracemalloc N)


def drive_cycles(farm: Farm, argv: list[str], **popen: Any) -> Iterator[dict[str, Any]]:
    """Run a bench/cycles.py command line and play the farm's side of its protocol: rewrite
    the farm as each cycle asks, then yield the cycle's result with the peak PSS of the
    process tree (sampled from here) as ``tree_peak_pss_mb``. The ``ready`` line (memory at
    start) is yielded first, as it is."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            **popen)
    assert proc.stdin is not None and proc.stdout is not None
    rng = random.Random(7)
    sampler = PeakSampler(proc.pid)
    try:
        for line in proc.stdout:
            if line.startswith("{"):
                yield json.loads(line)
            elif line.startswith("prepare "):
                prepare(farm, line.split()[1], rng)
                sampler.take()
                proc.stdin.write("go\n")
                proc.stdin.flush()
            elif line.startswith("result "):
                r = json.loads(line[7:])
                r["tree_peak_pss_mb"] = round(sampler.take(), 1)
                yield r
    finally:
        sampler.stop()
    if proc.wait() != 0:
        raise SystemExit(f"{' '.join(argv)}: failed (exit {proc.returncode})")


def bench_cycles(farm: Farm, urls_file: Path, db: str, cycles: int, log: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"cycles": []}
    for r in drive_cycles(farm, [PY, str(ROOT / "bench" / "cycles.py"), "--db", db, "--urls",
                                 str(urls_file), "--cycles", str(cycles), "--log", str(log),
                                 "--workers", WORKERS, *EXTRA]):
        if r.get("event") == "ready":
            out["start"] = r
            continue
        out["cycles"].append(r)
        print(f"  {db:8} cycle {r['cycle']:2} {r['kind']:9} {r['seconds']:7.2f}s "
              f"{r['feeds'] / r['seconds']:8.0f} feeds/s {r['items_new']:6} new "
              f"cpu {r['cpu_seconds']:6.2f}s (main {r['cpu_main_seconds']:5.2f}s, "
              f"gc {r.get('gc_seconds', 0):4.2f}s) pss {r['tree_pss_mb']:.0f} MB "
              f"(peak {r['tree_peak_pss_mb']:.0f}, {r['processes']} procs) "
              f"{'errors: ' + str(r['errors']) if r['errors'] else ''}", flush=True)
    by = {c["kind"]: c for c in out["cycles"][:3]}
    cold, unchanged, nm = by.get("cold"), by.get("unchanged"), by.get("304")
    steady = [c["tree_pss_mb"] for c in out["cycles"][3:]]
    out["summary"] = {
        "cold_feeds_per_s": round(cold["feeds"] / cold["seconds"]) if cold else None,
        "cold_items_per_s": round(cold["items_new"] / cold["seconds"]) if cold else None,
        "cold_cpu_seconds": cold["cpu_seconds"] if cold else None,
        "cold_cpu_main_seconds": cold.get("cpu_main_seconds") if cold else None,
        "unchanged_feeds_per_s": round(unchanged["feeds"] / unchanged["seconds"])
        if unchanged else None,
        "not_modified_feeds_per_s": round(nm["feeds"] / nm["seconds"]) if nm else None,
        "peak_mb": round(max(c["tree_peak_pss_mb"] for c in out["cycles"]), 1),
        "main_peak_rss_mb": round(max(c["peak_mb"] for c in out["cycles"]), 1),
        "steady_first_mb": round(steady[0], 1) if steady else None,
        "steady_last_mb": round(steady[-1], 1) if steady else None,
        "errors": sum(c["failed"] for c in out["cycles"]),
    }
    return out


# -- alert latency ---------------------------------------------------------------------------


def relevant_texts(interval: float) -> list[tuple[str, str]]:
    """Dev-set items that make the latency daemon's classifier fire a milestone."""
    from bench.daemon import latency_config
    from bench.farm import _dev_items
    from monitor.app import build_classifier
    from monitor.model import ItemText

    clf = build_classifier(latency_config([], "sqlite://", interval, "http://127.0.0.1/"))
    now = datetime.now(UTC)
    return [(t, s) for t, s in _dev_items()
            if clf.classify(ItemText("x", t, s, "", now, "en"), now=now).milestones]


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[float, bytes]]] = []    # the recorder's, shared by requests

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.received.append((time.time(), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def bench_latency(farm: Farm, urls_file: Path, seconds: float, interval: float,
                  log: Path) -> dict[str, Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_port}/hook"
    texts = relevant_texts(interval)
    proc = subprocess.Popen([PY, str(ROOT / "bench" / "daemon.py"), "--urls", str(urls_file),
                             "--hook", hook, "--interval", str(interval), "--log", str(log)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    while proc.stdout.readline().strip() != "ready":
        if proc.poll() is not None:
            raise SystemExit("bench/daemon.py failed")
    # let the alerts of the cold poll drain: wait for 3 quiet seconds
    while not _Hook.received or time.time() - _Hook.received[-1][0] < 3:
        time.sleep(0.5)
        if not _Hook.received and texts == []:
            break
    rng = random.Random(11)
    written: dict[str, float] = {}
    last: tuple[str, str] | None = None
    end = time.monotonic() + seconds
    k = 0
    while time.monotonic() < end:
        k += 1
        token = f"LAT{k:04d}"
        # Never the same text twice in a row: two reports of one event within the daemon's
        # 1 s dedupe window (pubDate has whole seconds) are rightly one alert, not two.
        title, summary = rng.choice([t for t in texts if t != last] or texts)
        last = (title, summary)
        i = rng.randrange(farm.n_feeds)
        farm.add(i, farm.new_item(i, datetime.now(UTC), (f"{title} [{token}]", summary)))
        written[token] = time.time()
        time.sleep(rng.uniform(1.5, 3.0))
    time.sleep(interval + 10)
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    stats = {}
    for line in proc.stdout:
        if line.startswith("stats "):
            stats = json.loads(line[6:])
    proc.wait()
    server.shutdown()
    got: dict[str, float] = {}
    for at, body in _Hook.received:
        for token in set(re.findall(rb"LAT\d{4}", body)):
            got.setdefault(token.decode(), at)
    lat = sorted(got[t] - w for t, w in written.items() if t in got)
    return {"interval_s": interval, "injected": len(written), "alerted": len(lat),
            "p50_s": round(statistics.median(lat), 2) if lat else None,
            "p99_s": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else None,
            "max_s": round(lat[-1], 2) if lat else None, "daemon_memory": stats}


# -- report ----------------------------------------------------------------------------------


def table(res: dict[str, Any]) -> str:
    lines = []
    m = res["machine"]
    lines.append(f"machine: {m['nproc']} × {m['cpu']}, Python {m['python']}, "
                 f"{res['feeds']} feeds × {res['items_per_feed']} items "
                 f"(≈{res['feed_kb']:.0f} KB each), nginx on 127.0.0.1")
    lines.append("")
    lines.append("| measure | " + " | ".join(res["dbs"]) + " | target |")
    lines.append("|---|" + "---|" * len(res["dbs"]) + "---|")

    def row(label: str, key: str, target: str = "") -> None:
        vals = [str(res["cycles"][d]["summary"].get(key)) for d in res["dbs"]]
        lines.append(f"| {label} | " + " | ".join(vals) + f" | {target} |")
    row("cold cycle, feeds/s", "cold_feeds_per_s", "≥ 300")
    row("cold cycle, items/s stored+classified", "cold_items_per_s", "≥ 9,000")
    row("cold cycle, CPU seconds (all processes)", "cold_cpu_seconds")
    row("cold cycle, CPU seconds of the daemon's own process", "cold_cpu_main_seconds")
    row("unchanged cycle, feeds/s", "unchanged_feeds_per_s", "≥ 1,000")
    row("304 cycle, feeds/s", "not_modified_feeds_per_s", "≥ 1,500")
    row(f"peak memory over {res['n_cycles']} cycles (PSS, all processes), MB", "peak_mb",
        "≤ 150")
    row("main process's peak RSS, MB", "main_peak_rss_mb")
    steady = [f"{res['cycles'][d]['summary'].get('steady_first_mb')} → "
              f"{res['cycles'][d]['summary'].get('steady_last_mb')}" for d in res["dbs"]]
    lines.append("| memory after cycle 4 → last (PSS), MB | " + " | ".join(steady)
                 + " | no growth |")
    lines.append("")
    b = res["baselines"]
    lines.append("| baseline | value |")
    lines.append("|---|---|")
    for k, v in {**b.get("parse", {}), **b.get("fetch", {}), **res.get("classify", {})}.items():
        lines.append(f"| {k} | {v} |")
    lat = res.get("latency")
    if lat:
        lines.append(f"| alert latency at {lat['interval_s']:.0f} s interval, p50 / p99 / max "
                     f"(s, {lat['alerted']}/{lat['injected']} alerted) | {lat['p50_s']} / "
                     f"{lat['p99_s']} / {lat['max_s']} (target p99 ≤ "
                     f"{lat['interval_s'] + 2:.0f}) |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--dbs", default="sqlite,postgres")
    ap.add_argument("--latency-seconds", type=float, default=60.0)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true", help="200 feeds, 6 cycles, 20 s latency")
    ap.add_argument("--skip", default="", help="comma list of: baselines,classify,latency")
    ap.add_argument("--workers", default="auto", help="schedule.parse_workers for the cycles")
    ap.add_argument("--tracemalloc", type=int, default=0, metavar="N",
                    help="print the N biggest live allocation sites after each cycle (slow)")
    ap.add_argument("--label", default="", help="a note stored in the JSON (e.g. 'before')")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "pipeline.json"))
    args = ap.parse_args()
    global WORKERS
    WORKERS = args.workers
    if args.tracemalloc:
        EXTRA.extend(["--tracemalloc", str(args.tracemalloc)])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so nginx is stopped
    if args.quick:
        args.feeds, args.cycles, args.latency_seconds = 200, 6, 20.0
    skip = set(filter(None, args.skip.split(",")))
    dbs = [d for d in args.dbs.split(",") if d]
    work = Path(tempfile.mkdtemp(prefix="monitor-farm-"))
    farm = Farm(work, args.feeds, args.items)
    farm.build()
    nginx = Nginx(farm)
    nginx.start()
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(farm.url(i) for i in range(args.feeds)) + "\n")
    res: dict[str, Any] = {
        "label": args.label, "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "feeds": args.feeds, "items_per_feed": args.items,
        "feed_kb": sum(farm.path(i).stat().st_size for i in range(args.feeds)) / args.feeds
        / 1024, "n_cycles": args.cycles, "dbs": dbs, "baselines": {}, "cycles": {}}
    try:
        if "baselines" not in skip:
            print("baselines...", flush=True)
            res["baselines"]["parse"] = bench_parsers(farm, 50)
            res["baselines"]["fetch"] = bench_fetch([farm.url(i) for i in range(args.feeds)])
        if "classify" not in skip:
            print("classifier...", flush=True)
            res["classify"] = bench_classifier(farm, 2.0)
        for db in dbs:
            print(f"cycles on {db}...", flush=True)
            farm.build()      # the same starting farm for every database
            res["cycles"][db] = bench_cycles(farm, urls_file, db, args.cycles,
                                             work / f"{db}.log")
        if "latency" not in skip:
            print("alert latency...", flush=True)
            farm.build()
            res["latency"] = bench_latency(farm, urls_file, args.latency_seconds,
                                           args.interval, work / "daemon.log")
    finally:
        nginx.stop()
    text = table(res)
    print("\n" + text)
    res["table"] = text
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
