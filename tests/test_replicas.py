"""Several `monitor run` replicas on one PostgreSQL database share the work without doubling it."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.feedgen import rss
from tests.servers import FeedServer, Reply
from tests.test_pipeline import milestone_feeds, news

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)
INTERVAL = 2.0


@pytest.mark.slow
def test_three_replicas_share_fifty_feeds(tmp_path: Path, pg_url: str,
                                          feed_server: FeedServer) -> None:
    feeds = [{"name": f"f{i:02d}", "url": feed_server.feed(f"/f{i:02d}.xml",
                                                             rss(news(3, f"N{i}")))}
             for i in range(47)]
    feeds += milestone_feeds(feed_server, NOW - timedelta(hours=2))  # 3 more: 50 feeds
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": {"url": pg_url}, "feeds": feeds, "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0,
                  "per_host_connections": 20},
        "schedule": {"tick": "0.5s", "default_interval": f"{INTERVAL}s", "jitter": 0.0,
                     "lease": "3s", "batch_size": 10},
        "alerts": {"channels": [{"name": "ops", "type": "webhook", "url": hook}]}}),
        encoding="utf-8")
    subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "db", "upgrade"],
                   check=True, capture_output=True)
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(cfg), "run",
                               "--no-http"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    window = 8.0
    try:
        assert feed_server.wait_hits("/f00.xml", 1, timeout=30)
        started = time.monotonic()
        time.sleep(window)  # the daemons run on wall-clock intervals: we watch them for a while
        counts = collections.Counter(r.path for r in feed_server.requests if r.method == "GET")
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=10)
        killed_at = counts.copy()
        time.sleep(3.0 + INTERVAL * 2)  # one lease, then two intervals: the others take over
        after = collections.Counter(r.path for r in feed_server.requests if r.method == "GET")
        elapsed = time.monotonic() - started
    finally:
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs[1:]), [o[1][-2000:] for o in outs[1:]]
    paths = [f"/f{i:02d}.xml" for i in range(47)]
    # each feed is polled about once per interval, never by two replicas at once
    expected = window / INTERVAL
    for path in paths:
        assert killed_at[path] <= expected + 2, (path, killed_at[path])
        assert killed_at[path] >= expected - 2, (path, killed_at[path])
        assert after[path] > killed_at[path], f"{path} was not polled after a replica died"
    assert max(after[p] for p in paths) <= elapsed / INTERVAL + 3
    posts = feed_server.posts("/hook")
    assert len(posts) == 1, [json.loads(p.body)["milestone"]["type"] for p in posts]
    from sqlalchemy import func, select

    from monitor.store.db import make_engine
    from monitor.store.tables import FetchAttemptRow, MilestoneRow

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        per_worker = dict(conn.execute(select(FetchAttemptRow.worker, func.count())
                                       .group_by(FetchAttemptRow.worker)).tuples().all())
        milestones = conn.execute(select(func.count()).select_from(MilestoneRow)).scalar_one()
    engine.dispose()
    assert len(per_worker) == 3, per_worker  # the work was shared
    assert milestones == 1
