"""Replay the development sets as news timelines: each outlet a feed (whole articles as
``content:encoded``), polled day by day through the real pipeline into a signed webhook.
Counts missed milestones, duplicate and false alerts."""

from __future__ import annotations

import asyncio
import collections
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.render import verify
from monitor.app import build_pipeline
from monitor.classify import Classifier, load_watchlists
from monitor.store.db import make_engine, upgrade
from tests.feedgen import rss
from tests.servers import FeedServer, Reply, Request
from tests.test_pipeline import WATCHLIST, Clock, make_config


def load(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for r in rows:
        r["when"] = datetime.fromisoformat(r["published"])
    return rows


def replay(rows: list[dict[str, Any]], server: FeedServer, db_url: str) -> dict[str, Any]:
    """Run the timeline; returns what the webhook received and what the database holds."""
    outlets = sorted({r["source"] for r in rows})
    state = {"until": datetime.min.replace(tzinfo=UTC)}

    def feed_for(outlet: str) -> Any:
        def serve(_req: Request) -> Reply:
            items = [{"title": r["title"], "summary": r["summary"], "guid": r["id"],
                      "content": r.get("content", ""),
                      "link": f"https://{abs(hash(outlet)) % 10**6}.example.org/{r['id']}",
                      "published": r["when"]}
                     for r in rows if r["source"] == outlet and r["when"] <= state["until"]]
            lang = next(r["language"] for r in rows if r["source"] == outlet)
            return Reply(200, rss(items, title=outlet, language=lang),
                         {"Content-Type": "application/rss+xml"})
        return serve

    feeds = [{"name": f"o{i}", "url": server.add(f"/o{i}.xml", feed_for(o)), "outlet": o}
             for i, o in enumerate(outlets)]
    hook = server.add("/hook", Reply(200, b"ok"))
    config = make_config(feeds, [{"name": "ops", "type": "webhook", "url": hook,
                                  "secret": "replay"}])
    engine = make_engine(db_url)
    upgrade(engine)
    classifier = Classifier(load_watchlists([WATCHLIST]))
    days = sorted({r["when"].date() for r in rows})
    clock = Clock(datetime.combine(days[0], datetime.min.time(), UTC))

    async def run() -> None:
        pipe = build_pipeline(config, engine, classifier, clock=clock, echo=lambda s: None)
        try:
            await asyncio.to_thread(pipe.sync_feeds)
            for day in days:
                end = datetime.combine(day, datetime.max.time(), UTC)
                state["until"] = end
                clock.now = end + timedelta(minutes=30)
                await pipe.poll_due(ignore_schedule=True)
                await pipe.deliver()
        finally:
            await pipe.aclose()

    asyncio.run(run())
    from sqlalchemy import select

    from monitor.store.tables import ItemRow, MilestoneRow, MilestoneSourceRow

    with engine.connect() as conn:
        sources = collections.defaultdict(set)
        for mid, guid in conn.execute(
                select(MilestoneSourceRow.milestone_id, ItemRow.identity)
                .join(ItemRow, ItemRow.id == MilestoneSourceRow.item_id)):
            sources[mid].add(guid)
        milestones = {m.id: m for m in conn.execute(select(MilestoneRow))}
    engine.dispose()
    return {"posts": server.posts("/hook"), "sources": sources, "milestones": milestones}


@pytest.mark.parametrize("name", ["dev.jsonl", "dev-long.jsonl"])
def test_replay_of_a_development_timeline(name: str, shared_dir: Path, sqlite_url: str,
                                          feed_server: FeedServer) -> None:
    """Every labelled milestone alerted once, and no alert that no report behind it
    carries (or tolerates, in also_ok)."""
    rows = load(shared_dir / "eval" / name)
    by_id = {r["id"]: r for r in rows}
    out = replay(rows, feed_server, sqlite_url)
    posts = out["posts"]
    assert all(verify(p.body, "replay", p.headers["x-monitor-signature"]) for p in posts)
    bodies = [json.loads(p.body)["milestone"] for p in posts]
    ids = collections.Counter(b["id"] for b in bodies)
    duplicates = sum(n - 1 for n in ids.values())
    # a false alert: no report behind it carries (or tolerates) its type
    false_alerts = [b for b in bodies if not any(
        b["type"] in by_id[g]["milestones"] + by_id[g].get("also_ok", [])
        for g in out["sources"][b["id"]])]
    # a missed milestone: a labelled (report, type) that no alerted milestone of that type holds
    alerted = {b["id"] for b in bodies}
    held = {(g, m.type) for mid, m in out["milestones"].items() if mid in alerted
            for g in out["sources"][mid]}
    missed = [(r["id"], t) for r in rows for t in r["milestones"] if (r["id"], t) not in held]
    print(f"\nreplay of {name}: {len(rows)} reports, {len(posts)} alerts, {len(missed)} missed, "
          f"{duplicates} duplicate, {len(false_alerts)} false")
    assert duplicates == 0
    assert missed == []
    assert [(b["type"], b["title"]) for b in false_alerts] == []
