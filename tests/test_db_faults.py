"""Database faults: a busy SQLite file, PostgreSQL dropping the daemon's connections, a
read-only database. Each ends in a clear error or a recovery, never a traceback."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import yaml

from tests.conftest import PG_URL
from tests.feedgen import rss
from tests.fixtures_alerts import free_port
from tests.servers import FeedServer
from tests.test_daemon import get
from tests.test_pipeline import news

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"


def write(tmp_path: Path, db_url: str, feeds: list[dict[str, object]], **extra: object) -> Path:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": db_url}, "feeds": feeds,
                                   "watchlists": [str(WATCHLIST)],
                                   "fetch": {"allow_private_networks": True,
                                             "per_host_min_gap": 0}, **extra}),
                   encoding="utf-8")
    return cfg


def monitor(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_reads_while_a_writer_holds_the_sqlite_file(tmp_path: Path,
                                                        feed_server: FeedServer) -> None:
    db = tmp_path / "m.db"
    cfg = write(tmp_path, f"sqlite:///{db}",
                [{"name": "a", "url": feed_server.feed("/a.xml", rss(news(4)))}])
    assert monitor(cfg, "poll", "--once").returncode == 0
    writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # the daemon in the middle of a write
    writer.execute("UPDATE feeds SET polls = polls + 1")
    release = threading.Timer(1.0, lambda: writer.execute("COMMIT"))
    release.start()
    try:
        r = monitor(cfg, "items", "--json")  # WAL: readers are not blocked by a writer
        assert r.returncode == 0, r.stderr
        assert r.stdout.count('"title"') == 4
        w = monitor(cfg, "poll", "--once")  # a writer waits for the lock (busy timeout)
        assert w.returncode == 0, w.stderr
    finally:
        release.join()
        writer.close()


def test_read_only_database_is_a_clear_error(tmp_path: Path, feed_server: FeedServer) -> None:
    db = tmp_path / "m.db"
    feeds = [{"name": "a", "url": feed_server.feed("/a.xml", rss(news(2)))}]
    assert monitor(write(tmp_path, f"sqlite:///{db}", feeds), "db", "upgrade").returncode == 0
    # root ignores file modes, so the read-only state is SQLite's own (mode=ro)
    cfg = write(tmp_path, f"sqlite:///file:{db}?mode=ro&uri=true", feeds)
    r = monitor(cfg, "poll", "--once")
    assert r.returncode == 1
    assert "readonly" in r.stderr.replace("read-only", "readonly").lower()
    assert "Traceback" not in r.stderr


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    cfg = write(tmp_path, f"postgresql+psycopg://postgres@127.0.0.1:{port}/none", [])
    r = monitor(cfg, "feeds")
    assert r.returncode == 1 and "database" in r.stderr.lower()
    assert "Traceback" not in r.stderr


def test_daemon_survives_postgres_dropping_its_connections(tmp_path: Path, pg_url: str,
                                                           feed_server: FeedServer) -> None:
    """What a PostgreSQL restart looks like from the daemon: every connection killed."""
    a = feed_server.feed("/a.xml", rss(news(2)))
    port = free_port()
    app = f"monitor_fault_{port}"  # only this daemon's connections are killed
    cfg = write(tmp_path, f"{pg_url}&application_name={app}", [{"name": "a", "url": a, "interval": "1s"}],
                schedule={"tick": "0.3s", "jitter": 0.0},
                http={"listen": f"127.0.0.1:{port}"})
    assert monitor(cfg, "db", "upgrade").returncode == 0
    p = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(cfg), "run"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert feed_server.wait_hits("/a.xml", 1) >= 1
        raw = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(raw, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s", (app,)).fetchone()
        assert killed is not None and killed[0] >= 1
        before = feed_server.hits("/a.xml")
        feed_server.feed("/a.xml", rss(news(5)))  # new items after the outage
        polled = feed_server.wait_hits("/a.xml", before + 2)
        health = get(f"http://127.0.0.1:{port}/healthz").status_code
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    assert polled >= before + 2, err[-4000:]
    assert health == 200
    assert p.returncode == 0, err[-3000:]
    r = monitor(cfg, "items", "--json")
    assert r.stdout.count('"title"') == 5, r.stderr
