"""Several `monitor run` replicas on one PostgreSQL database share the work without doubling it."""

from __future__ import annotations

import collections
import itertools
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import Connection, func, select

from monitor.store.db import make_engine
from monitor.store.tables import FeedRow, FetchAttemptRow, MilestoneRow
from tests.feedgen import rss
from tests.servers import FeedServer, Reply, Request
from tests.test_pipeline import milestone_feeds, news

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)
INTERVAL = 2.0
T = TypeVar("T")
ROUNDS = 4          # polls of every feed by the three replicas before one is killed


@pytest.mark.slow
def test_three_replicas_share_fifty_feeds(tmp_path: Path, pg_url: str,
                                          feed_server: FeedServer) -> None:
    """Three replicas poll fifty feeds for a few intervals; one is killed in the middle of
    a poll. Whatever the timing, the database's record of polls shows each feed polled an
    interval apart at least (never by two replicas at once), the work shared by all three,
    the killed replica's feeds taken over, and the milestone alerted once."""
    feeds = [{"name": f"f{i:02d}", "url": feed_server.feed(f"/f{i:02d}.xml",
                                                             rss(news(3, f"N{i}")))}
             for i in range(47)]
    feeds += milestone_feeds(feed_server, NOW - timedelta(hours=2))  # 3 more: 50 feeds
    # f00's poll after ROUNDS is held until the replica making it is killed: the kill then
    # always lands on a replica holding a lease.
    f00_body, f00_polls = rss(news(3, "N0")), itertools.count(1)
    held, release = threading.Event(), threading.Event()

    def f00(req: Request) -> Reply:
        if next(f00_polls) == ROUNDS + 1:
            held.set()
            release.wait(60)
        return Reply(200, f00_body, {"Content-Type": "application/rss+xml"})
    feed_server.add("/f00.xml", f00)
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
    owners = {f"{socket.gethostname()}:{p.pid}": p for p in procs}
    paths = {urlsplit(f["url"]).path: f["name"] for f in feeds}
    survivors = procs
    try:
        # The daemons run on wall-clock intervals: watch them poll every feed ROUNDS times.
        for path in paths:
            assert feed_server.wait_hits(path, ROUNDS, timeout=60) >= ROUNDS, path
        assert held.wait(60), "f00 was not polled once more"
        victim_id = query(pg_url, lambda conn: conn.execute(
            select(FeedRow.lease_owner).where(FeedRow.name == "f00")).scalar_one())
        assert victim_id in owners, victim_id
        victim = owners[victim_id]
        survivors = [p for p in procs if p is not victim]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = datetime.now(UTC)
        at_kill = gets(feed_server)
        release.set()
        # its leases expire, and the other two take its feeds over
        for path in paths:
            assert feed_server.wait_hits(path, at_kill[path] + 1, timeout=60) > at_kill[path], (
                f"{path} was not polled after a replica died")
    finally:
        release.set()
        for p in survivors:
            p.send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in survivors), [o[1][-2000:] for o in outs]
    served = gets(feed_server)
    posts = feed_server.posts("/hook")
    assert len(posts) == 1, [json.loads(p.body)["milestone"]["type"] for p in posts]
    attempts = query(pg_url, lambda conn: conn.execute(
        select(FeedRow.name, FetchAttemptRow.started_at, FetchAttemptRow.worker)
        .join(FeedRow, FeedRow.id == FetchAttemptRow.feed_id)
        .order_by(FeedRow.name, FetchAttemptRow.started_at)).tuples().all())
    assert query(pg_url, lambda conn: conn.execute(
        select(func.count()).select_from(MilestoneRow)).scalar_one()) == 1
    assert {worker for _, _, worker in attempts} == set(owners)   # the work was shared
    by_feed: dict[str, list[tuple[datetime, str]]] = collections.defaultdict(list)
    for name, started_at, worker in attempts:
        by_feed[name].append((started_at, worker))
    for path, name in paths.items():
        polls = by_feed[name]
        # Every GET a feed served is a recorded poll, but for one the killed replica may have
        # made and not stored: the polls below are all there were.
        assert 0 <= served[path] - len(polls) <= 1, (name, served[path], polls)
        # A poll's next one, whoever makes it, starts an interval after it was stored: a feed
        # claimed by two replicas at once, or polled again before its time, shows as a gap
        # under the interval.
        for (before, by), (after, then_by) in itertools.pairwise(polls):
            assert after - before >= timedelta(seconds=INTERVAL), (name, by, before,
                                                                   then_by, after)
        assert any(at > killed_at and by != victim_id for at, by in polls), (
            f"{name} was not polled by a survivor after a replica died: {polls}")


def query(url: str, run: Callable[[Connection], T]) -> T:
    """``run`` on a connection of its own engine, disposed of afterwards."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return run(conn)
    finally:
        engine.dispose()


def gets(server: FeedServer) -> collections.Counter[str]:
    """How many GETs each path has served so far."""
    with server.lock:
        return collections.Counter(r.path for r in server.requests if r.method == "GET")
