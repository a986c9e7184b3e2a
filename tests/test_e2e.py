"""End to end through the real CLI in real processes: feeds served, webhook and SMTP received."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.alerts.render import verify
from tests.fixtures_alerts import SmtpServer
from tests.servers import FeedServer, Reply
from tests.test_pipeline import milestone_feeds

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)


def write_config(tmp_path: Path, db_url: str, feeds: list[dict[str, Any]],
                 channels: list[dict[str, Any]]) -> Path:
    cfg = {"database": {"url": db_url}, "feeds": feeds, "watchlists": [str(WATCHLIST)],
           "fetch": {"allow_private_networks": True, "per_host_min_gap": 0},
           "alerting": {"retry_base": "1s"},
           "alerts": {"channels": channels}, "http": {"listen": "127.0.0.1:0"}}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    if not db_url.startswith("sqlite"):  # PostgreSQL is never migrated implicitly
        assert monitor(path, "db", "upgrade").returncode == 0
    return path


def monitor(config: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOOK_SECRET": "hunter2"}
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args],
                          capture_output=True, text=True, check=False, env=env, timeout=120,
                          **kw)


def test_one_event_three_outlets_one_webhook_one_email(tmp_path: Path, db_url: str,
                                                       feed_server: FeedServer,
                                                       smtp_server: SmtpServer) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(hours=6))
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    cfg = write_config(tmp_path, db_url, feeds, [
        {"name": "ops", "type": "webhook", "url": hook, "secret": "${HOOK_SECRET}"},
        {"name": "desk", "type": "email", "host": "127.0.0.1", "port": smtp_server.port,
         "from": "monitor@example.org", "to": ["desk@example.org"]},
    ])
    for _ in range(2):
        r = monitor(cfg, "poll", "--once")
        assert r.returncode == 0, r.stderr
    posts = feed_server.posts("/hook")
    assert len(posts) == 1
    body = json.loads(posts[0].body)
    assert body["event"] == "milestone"
    m = body["milestone"]
    assert m["type"] == "ambassador_confirmed" and m["watchlist"] == "belarus-us"
    assert {"id", "title", "status", "first_seen", "items"} <= set(m)
    assert len(m["items"]) == 3
    assert verify(posts[0].body, "hunter2", posts[0].headers["x-monitor-signature"])
    assert posts[0].headers["x-monitor-delivery"]
    assert len(smtp_server.received) == 1
    assert "hunter2" not in r.stderr + r.stdout

    out = monitor(cfg, "milestones", "--json")
    assert out.returncode == 0, out.stderr
    (ms,) = json.loads(out.stdout)
    assert ms["type"] == "ambassador_confirmed" and ms["sources"] == 3
    items = json.loads(monitor(cfg, "items", "--json").stdout)
    assert len(items) == 3
    assert {"id", "feed", "title", "url", "published", "summary"} <= set(items[0])
    alerts = json.loads(monitor(cfg, "alerts", "list", "--json").stdout)
    assert sorted(a["state"] for a in alerts) == ["delivered", "delivered"]
    feeds_out = monitor(cfg, "feeds")
    assert feeds_out.returncode == 0 and "wire" in feeds_out.stdout


def test_killed_after_post_before_commit_retries_with_same_id(tmp_path: Path, db_url: str,
                                                              feed_server: FeedServer) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(hours=6))
    proc: dict[str, subprocess.Popen[str]] = {}
    calls = []

    def hook(req: Any) -> Reply:
        calls.append(req)
        if len(calls) == 1:  # the receiver got it; the sender dies before it records that
            os.kill(proc["p"].pid, signal.SIGKILL)
            proc["p"].wait()    # dead before the reply goes out
        return Reply(200, b"ok")

    url = feed_server.add("/hook", hook)
    cfg = write_config(tmp_path, db_url, feeds, [{"name": "ops", "type": "webhook", "url": url}])
    proc["p"] = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(cfg), "poll",
                                  "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    proc["p"].communicate(timeout=120)
    assert proc["p"].returncode == -signal.SIGKILL
    assert len(calls) == 1
    r = monitor(cfg, "poll", "--once")
    assert r.returncode == 0, r.stderr
    assert len(calls) == 2
    assert calls[0].headers["x-monitor-delivery"] == calls[1].headers["x-monitor-delivery"]
    r = monitor(cfg, "poll", "--once")
    assert len(calls) == 2  # delivered: never again


def test_a_year_of_old_milestones_triggers_no_alert(tmp_path: Path, db_url: str,
                                                     feed_server: FeedServer) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(days=300))
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    cfg = write_config(tmp_path, db_url, feeds, [{"name": "ops", "type": "webhook", "url": hook}])
    r = monitor(cfg, "poll", "--once")
    assert r.returncode == 0, r.stderr
    assert feed_server.posts("/hook") == []
    (ms,) = json.loads(monitor(cfg, "milestones", "--json").stdout)
    assert ms["stale"] is True and ms["alerted"] is False


def test_alerts_test_and_retry_commands(tmp_path: Path, sqlite_url: str,
                                        feed_server: FeedServer) -> None:
    hook = feed_server.add("/hook", [Reply(400), Reply(200)])
    cfg = write_config(tmp_path, sqlite_url, [], [{"name": "ops", "type": "webhook",
                                                    "url": hook}])
    r = monitor(cfg, "alerts", "test", "ops")
    assert r.returncode == 1 and "dead" in r.stdout
    (alert,) = json.loads(monitor(cfg, "alerts", "list", "--json").stdout)
    r = monitor(cfg, "alerts", "retry", str(alert["id"]))
    assert r.returncode == 0 and "delivered" in r.stdout, r.stdout + r.stderr
    posts = feed_server.posts("/hook")
    assert len(posts) == 2
    assert posts[0].headers["x-monitor-delivery"] == posts[1].headers["x-monitor-delivery"]
    assert monitor(cfg, "alerts", "test", "nope").returncode == 2
