"""Soak: run `monitor run` for a while against a local feed farm with churn and faults.

    .venv/bin/python bench/soak.py --minutes 30 [--feeds 200] [--interval 10s]

The farm (127.0.0.1, a threaded server in this process) serves ``--feeds`` RSS feeds whose
items change all the time (churn), some feeds that fail (500, 429, stalls, garbage, HTML),
some milestone reports, and a webhook receiver that sometimes answers 503. Every 10 s it
samples the daemon's resident memory; at the end it scrapes /metrics and prints polls,
errors, alerts and memory over time; JSON goes to bench/results/soak.json. Not a test: it
takes as long as you ask.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
EVENTS = [
    "Senate confirms {n} as U.S. ambassador to Belarus",
    "United States lifts sanctions on Belarusian potash producer {n}",
    "Belarus releases {n} political prisoners after talks with U.S. envoy",
    "U.S. imposes new sanctions on Belarusian officials over crackdown, including {n}",
]


class Farm:
    def __init__(self, feeds: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.feeds = feeds
        self.started = time.time()
        self.lock = threading.Lock()
        self.hooks = 0
        self.hook_ids: set[str] = set()
        self.requests = 0

    def body(self, n: int) -> tuple[int, bytes, dict[str, str]]:
        kind = n % 20
        with self.lock:
            self.requests += 1
            r = self.rng.random()
        if kind == 1 and r < 0.5:
            return 500, b"boom", {}
        if kind == 2:
            return 429, b"slow down", {"Retry-After": "30"}
        if kind == 3 and r < 0.3:
            time.sleep(3)  # a stall (the daemon's read timeout is lower in the soak config)
        if kind == 4:
            return 200, b"<html><body>not a feed</body></html>", {"Content-Type": "text/html"}
        if kind == 5:
            return 200, b"<rss><channel><item><title>trunc", {}
        minute = int((time.time() - self.started) // 20)  # churn: a new item every 20 s
        now = datetime.now(UTC)
        items = []
        for i in range(max(0, minute - 30), minute + 1):
            title = f"Feed {n} local story {i}"
            if n % 7 == 0 and i % 15 == 0:
                title = EVENTS[(i // 15) % len(EVENTS)].format(n=f"Person{i // 15}")
            pub = format_datetime(now - timedelta(seconds=20 * (minute - i)))
            items.append(f"<item><title>{escape(title)}</title>"
                         f"<link>https://farm.example/{n}/{i}?utm_source=soak</link>"
                         f"<guid>f{n}-{i}</guid><pubDate>{pub}</pubDate>"
                         f"<description>Story {i} of feed {n}.</description></item>")
        xml = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
               f"<title>Farm {n}</title>{''.join(items)}</channel></rss>")
        return 200, xml.encode(), {"Content-Type": "application/rss+xml"}


def serve(farm: Farm) -> ThreadingHTTPServer:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:
            m = re.match(r"^/f(\d+)\.xml$", self.path)
            status, body, headers = farm.body(int(m.group(1))) if m else (404, b"", {})
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            with farm.lock:
                flaky = farm.rng.random() < 0.2
                if not flaky:
                    farm.hooks += 1
                    farm.hook_ids.add(self.headers.get("X-Monitor-Delivery", ""))
            self.send_response(503 if flaky else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that gave up on a stalled feed: expected here

    httpd = Quiet(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--interval", default="10s")
    ap.add_argument("--database", default=None, help="SQLAlchemy URL (default: a temp SQLite)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    farm = Farm(args.feeds, args.seed)
    httpd = serve(farm)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    work = Path(tempfile.mkdtemp(prefix="monitor-soak-"))
    port = free_port()
    db = args.database or f"sqlite:///{work / 'soak.db'}"
    import yaml

    (work / "monitor.yaml").write_text(yaml.safe_dump({
        "database": {"url": db},
        "feeds": [{"name": f"f{i}", "url": f"{base}/f{i}.xml"} for i in range(args.feeds)],
        "watchlists": [str(REPO / "config" / "watchlists" / "belarus-us.yaml")],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0, "read_timeout": "2s",
                  "per_host_connections": 10, "max_connections": 10},
        "schedule": {"default_interval": args.interval, "tick": "1s"},
        "alerting": {"retry_base": "2s", "retry_max": "30s"},
        "alerts": {"channels": [{"name": "hook", "type": "webhook", "url": f"{base}/hook"}]},
        "http": {"listen": f"127.0.0.1:{port}"}}), encoding="utf-8")
    cfg = str(work / "monitor.yaml")
    subprocess.run([sys.executable, "-m", "monitor", "--config", cfg, "db", "upgrade"],
                   check=True, capture_output=True)
    log = open(work / "daemon.log", "w")  # noqa: SIM115 - closed at the end
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", cfg, "--log-format",
                             "json", "run"], stdout=log, stderr=log)
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    end = started + args.minutes * 60
    try:
        while time.monotonic() < end and proc.poll() is None:
            time.sleep(10)
            samples.append((round(time.monotonic() - started), round(rss_mb(proc.pid), 1)))
            print(f"{samples[-1][0]:>6}s  rss {samples[-1][1]:7.1f} MB  requests {farm.requests}"
                  f"  alerts received {farm.hooks}", flush=True)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
        httpd.shutdown()
    text = metrics.decode()

    def total(name: str, **labels: str) -> float:
        out = 0.0
        for line in text.splitlines():
            if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
                out += float(line.rsplit(" ", 1)[1])
        return out

    third = max(1, len(samples) // 3)
    early = sorted(s[1] for s in samples[third:2 * third]) or [0.0]
    late = sorted(s[1] for s in samples[2 * third:]) or [0.0]
    result = {
        "minutes": args.minutes, "feeds": args.feeds, "interval": args.interval,
        "exit_code": proc.returncode, "polls": total("monitor_polls_total"),
        "polls_failed": total("monitor_polls_total", outcome="error"),
        "items_stored": total("monitor_items_stored_total"),
        "milestones": total("monitor_milestones_total"),
        "alerts_delivered": total("monitor_alerts_total", outcome="delivered"),
        "alerts_retried": total("monitor_alerts_total", outcome="retry"),
        "webhooks_received": farm.hooks, "distinct_delivery_ids": len(farm.hook_ids),
        "rss_mb_peak": max(s[1] for s in samples) if samples else 0,
        "rss_mb_median_middle_third": early[len(early) // 2],
        "rss_mb_median_last_third": late[len(late) // 2],
        "samples": samples,
        "machine": {"python": sys.version.split()[0], "cores": len(__import__("os").sched_getaffinity(0))},
    }
    out = REPO / "bench" / "results" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    print(f"daemon log: {work / 'daemon.log'}")


if __name__ == "__main__":
    main()
