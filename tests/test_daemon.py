"""``monitor run`` as a real process: polls, serves health and metrics, reloads, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.feedgen import rss
from tests.fixtures_alerts import free_port
from tests.servers import FeedServer
from tests.test_pipeline import news

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"


def write(path: Path, db_url: str, feeds: list[dict[str, Any]], port: int) -> None:
    path.write_text(yaml.safe_dump({
        "database": {"url": db_url}, "feeds": feeds, "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0},
        "schedule": {"tick": "1s", "default_interval": "1h"},
        "alerts": {"channels": [{"name": "console", "type": "console"}]},
        "http": {"listen": f"127.0.0.1:{port}"}}), encoding="utf-8")


def start(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def get(url: str, timeout: float = 20.0) -> httpx.Response:
    """GET once the server answers (it starts with the daemon)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling a starting process: no event to wait on


def test_run_polls_serves_reloads_and_stops(tmp_path: Path, db_url: str,
                                            feed_server: FeedServer) -> None:
    a = feed_server.feed("/a.xml", rss(news(3)))
    b = feed_server.feed("/b.xml", rss(news(2, "Other")))
    port = free_port()
    cfg = tmp_path / "monitor.yaml"
    write(cfg, db_url, [{"name": "a", "url": a}], port)
    subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "db", "upgrade"],
                   check=True, capture_output=True)  # PostgreSQL is never migrated implicitly
    p = start(cfg)
    try:
        assert feed_server.wait_hits("/a.xml") == 1
        health = get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200 and health.json()["database"] is True
        metrics = get(f"http://127.0.0.1:{port}/metrics").text
        assert "monitor_polls_total" in metrics
        # SIGHUP: a feed added to the config is polled without a restart
        write(cfg, db_url, [{"name": "a", "url": a}, {"name": "b", "url": b}], port)
        p.send_signal(signal.SIGHUP)
        assert feed_server.wait_hits("/b.xml") == 1
        assert feed_server.hits("/a.xml") == 1  # its interval (1h) is not over
        # the poll is counted once it is stored, a moment after the hit
        deadline = time.monotonic() + 10
        while 'monitor_polls_total{outcome="new"} 2.0' not in (
                metrics := get(f"http://127.0.0.1:{port}/metrics").text):
            assert time.monotonic() < deadline, metrics
            time.sleep(0.05)  # another process's counter: no event to wait on
        assert "monitor_items_stored_total 5.0" in metrics
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "daemon_stopped" in err
    started = next(json.loads(line) for line in err.splitlines()
                   if '"daemon_started"' in line)
    assert started["gc_frozen"] > 10_000    # start-up objects are out of the collector's way


def test_second_daemon_on_one_sqlite_file_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    cfg = tmp_path / "monitor.yaml"
    write(cfg, sqlite_url, [], free_port())
    first = start(cfg, "--no-http")
    try:
        # The daemon logs daemon_started once it runs, which is after it took the lock.
        assert first.stderr is not None
        for line in first.stderr:
            if '"daemon_started"' in line:
                break
        else:
            raise AssertionError(f"the first daemon exited with status {first.wait()}")
        second = subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "run",
                                 "--no-http"], capture_output=True, text=True, timeout=60,
                                check=False)
        assert second.returncode == 1
        assert "another monitor daemon" in second.stderr and "PostgreSQL" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert first.returncode == 0


def test_shipped_config_starts_without_network(tmp_path: Path) -> None:
    """The README's first command: the shipped config, SQLite, feeds unreachable here."""
    env = {**os.environ, "MONITOR_HTTP_LISTEN": f"127.0.0.1:{free_port()}"}
    p = subprocess.Popen([sys.executable, "-m", "monitor", "--config",
                          str(REPO / "config" / "monitor.yaml"), "run"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = env["MONITOR_HTTP_LISTEN"].rsplit(":", 1)[1]
        assert get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        db = tmp_path / "monitor.db"
        assert db.exists()
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "Traceback" not in err, err[err.find("Traceback") - 300:][:3000]
    assert "maximum number of running instances" not in err     # a slow tick is no warning


def test_the_daemon_stops_when_its_log_pipe_is_gone(tmp_path: Path, sqlite_url: str) -> None:
    """`monitor run 2>&1 | head -1` and then SIGTERM: the log lines can no longer be written,
    and the daemon still stops, with status 0."""
    cfg = tmp_path / "monitor.yaml"
    write(cfg, sqlite_url, [], free_port())
    p = start(cfg, "--no-http")
    assert p.stderr is not None
    while '"daemon_started"' not in p.stderr.readline():
        assert p.poll() is None, "the daemon exited before it started"
    p.stderr.close()                    # the reader is gone: every later write is EPIPE
    p.send_signal(signal.SIGTERM)
    try:
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        assert p.stdout is not None
        p.stdout.close()
