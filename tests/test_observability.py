"""Metrics counted against what happened, JSON logs with ids, and secrets never shown."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml

from tests.fixtures_alerts import free_port
from tests.servers import FeedServer, Reply
from tests.test_daemon import get
from tests.test_pipeline import NOW, milestone_feeds

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"
SECRETS = {"HOOK_SECRET": "hook-s3cr3t-value", "SMTP_PASSWORD": "smtp-pa55-value",
           "DB_PASSWORD": "db-pa55-value"}


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == want:
                return float(m.group(3))
    return 0.0


def test_metrics_count_what_happened(tmp_path: Path, feed_server: FeedServer) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(hours=3))
    hook = feed_server.add("/hook", [Reply(503), Reply(200)])
    port = free_port()
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"}, "feeds": feeds,
        "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0},
        "schedule": {"tick": "0.5s", "default_interval": "1h"},
        "alerting": {"retry_base": "1s", "retry_max": "1s"},
        "alerts": {"channels": [{"name": "ops", "type": "webhook", "url": hook}]},
        "http": {"listen": f"127.0.0.1:{port}"}}), encoding="utf-8")
    p = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(cfg), "--log-format",
                          "json", "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert len(feed_server.wait_posts(2, "/hook", timeout=30)) == 2  # 503, then 200
        text = get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    assert metric(text, "monitor_polls_total", outcome="new") == 3
    assert metric(text, "monitor_items_stored_total") == 3
    assert metric(text, "monitor_items_classified_total", relevant="true") == 3
    assert metric(text, "monitor_milestones_total", type="ambassador_confirmed",
                  watchlist="belarus-us") == 1
    assert metric(text, "monitor_alerts_total", channel="ops", outcome="retry") == 1
    assert metric(text, "monitor_alerts_total", channel="ops", outcome="delivered") == 1
    assert metric(text, "monitor_outbox_backlog") == 0
    assert "monitor_fetch_seconds_bucket" in text
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    polled = [e for e in events if e["event"] == "feed_polled"]
    assert {e["feed"] for e in polled} == {"wire", "daily", "ru"}
    delivered = [e for e in events if e["event"] == "alert_delivered"]
    assert delivered and delivered[0]["channel"] == "ops" and delivered[0]["delivery_id"]
    assert any(e["event"] == "milestone_detected" and e["milestone_id"] for e in events)


def test_secrets_never_appear(tmp_path: Path, feed_server: FeedServer) -> None:
    hook = feed_server.add("/hook", Reply(401, b"who are you"))
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
        "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True},
        "http": {"token": "${HOOK_SECRET}"},
        "alerts": {"channels": [
            {"name": "ops", "type": "webhook", "url": hook, "secret": "${HOOK_SECRET}"},
            {"name": "desk", "type": "email", "host": "127.0.0.1", "port": free_port(),
             "username": "u", "password": "${SMTP_PASSWORD}", "from": "m@example.org",
             "to": ["d@example.org"], "timeout": "2s"}]}}), encoding="utf-8")
    env = {**os.environ, **SECRETS}
    outputs = []
    for args in (["check-config", "--show"], ["alerts", "test", "ops"],
                 ["alerts", "test", "desk"], ["alerts", "list", "--json"]):
        r = subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), *args],
                           capture_output=True, text=True, env=env, timeout=60, check=False)
        outputs.append(r.stdout + r.stderr)
    pg = subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "check-config"],
                        capture_output=True, text=True, timeout=60, check=False,
                        env={**env, "MONITOR_DATABASE_URL":
                             f"postgresql+psycopg://u:{SECRETS['DB_PASSWORD']}@127.0.0.1/x"})
    outputs.append(pg.stdout + pg.stderr)
    everything = "\n".join(outputs)
    assert "ops" in everything and "401" in everything
    for value in SECRETS.values():
        assert value not in everything
