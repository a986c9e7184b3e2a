"""Crash consistency: the daemon is SIGKILLed inside its transactions (``monitor.runtime``'s
crash points: a batch's store, a milestone's creation, an alert sent but not yet recorded),
restarted, and nothing is lost or doubled: every served item stored once, every milestone
once, every alert delivered with one id (at least once: the one sent before its record is
sent again)."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from monitor.runtime import CRASH_POINTS
from monitor.store.db import make_engine
from monitor.store.tables import AlertRow, ItemRow, MilestoneRow
from tests.feedgen import rss
from tests.servers import FeedServer, Reply
from tests.test_pipeline import milestone_feeds

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)
# Where each run is killed: the first store rolls back, the milestone's transaction rolls
# back, the alert is posted but not recorded, then stores of new items.
KILL_AT = ("store", "milestone", "deliver", "store", "store", "store")


def run_until(cmd: list[str], point: str, timeout: float = 90.0) -> None:
    """Start the daemon with the crash point ``point`` on, wait until it stops there (it says
    so on stderr), and SIGKILL it: the kill lands inside the transaction."""
    env = {**os.environ, "MONITOR_CRASH_AT": point}
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    reached = threading.Event()

    def watch() -> None:
        assert p.stderr is not None
        for line in p.stderr:
            if line.strip() == f"crash_point {point}".encode():
                reached.set()            # (and keep draining, so the daemon never blocks)
    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        assert reached.wait(timeout), f"the daemon never reached the crash point {point!r}"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        reader.join(timeout=30)
        assert p.stderr is not None
        p.stderr.close()


@pytest.mark.slow
def test_sigkill_inside_transactions_loses_and_doubles_nothing(tmp_path: Path, db_url: str,
                                                              feed_server: FeedServer) -> None:
    served: dict[str, set[str]] = collections.defaultdict(set)
    n_feeds = 8

    def publish(round_: int) -> None:
        """Feeds grow every round (churn): round k serves items 0..3k+2 of each feed."""
        for f in range(n_feeds):
            items = [{"title": f"Local news {f}-{i}", "guid": f"g{f}-{i}",
                      "link": f"https://n.example.org/{f}/{i}",
                      "summary": "Nothing about diplomacy.",
                      "published": NOW - timedelta(minutes=i)} for i in range(3 * round_ + 3)]
            feed_server.feed(f"/f{f}.xml", rss(items))
            served[f"f{f}"] = {str(i["guid"]) for i in items}

    publish(0)
    feeds = [{"name": f"f{f}", "url": feed_server.url(f"/f{f}.xml")} for f in range(n_feeds)]
    feeds += milestone_feeds(feed_server, NOW - timedelta(hours=1))
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": {"url": db_url}, "feeds": feeds, "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0,
                  "per_host_connections": 16},
        "schedule": {"tick": "0.2s", "default_interval": "1s", "jitter": 0.0, "lease": "60s"},
        "alerts": {"channels": [{"name": "ops", "type": "webhook", "url": hook}]}}),
        encoding="utf-8")
    subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "db", "upgrade"],
                   check=True, capture_output=True)
    for round_, point in enumerate(KILL_AT):
        publish(round_)
        run_until([sys.executable, "-m", "monitor", "--config", str(cfg), "run", "--no-http"],
                  point)
    final = subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "poll",
                            "--once"], capture_output=True, text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stderr

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(ItemRow.feed_id, ItemRow.identity)).all()
            milestones = conn.execute(select(MilestoneRow.type)).scalars().all()
            alerts = conn.execute(select(AlertRow.delivery_id, AlertRow.state)).all()
    finally:
        engine.dispose()
    expected_items = sum(len(v) for v in served.values()) + 3
    assert len(stored) == len(set(stored)) == expected_items  # each served item stored once
    assert milestones == ["ambassador_confirmed"]
    assert [a.state for a in alerts] == ["delivered"]
    posts = feed_server.posts("/hook")
    assert len(posts) == 2             # posted, killed before its record, posted again
    ids = {p.headers["x-monitor-delivery"] for p in posts}
    assert ids == {alerts[0].delivery_id}  # at least once, always with the same id
    assert all(json.loads(p.body)["milestone"]["type"] == "ambassador_confirmed" for p in posts)


def test_every_crash_point_is_in_the_code_and_killed_at() -> None:
    """The points the code stops at are the ones declared, and the crash test kills at each."""
    import re

    called = {m for p in (REPO / "monitor").rglob("*.py")
              for m in re.findall(r'crash_point\("(\w+)"\)', p.read_text(encoding="utf-8"))}
    assert called == set(CRASH_POINTS) == set(KILL_AT)
