"""Every file of the shared corpus, served over HTTP and ingested by the real pipeline into the
database (SQLite and PostgreSQL): no exception, every parsed item stored, a per-file report."""

from __future__ import annotations

import asyncio
import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from monitor.app import build_pipeline
from monitor.classify import Classifier, load_watchlists
from monitor.errors import ParseError
from monitor.parse import parse_feed
from monitor.store.db import make_engine, upgrade
from monitor.store.tables import FeedRow, ItemRow
from tests.servers import FeedServer, Reply
from tests.test_pipeline import WATCHLIST, Clock, make_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def content_type(name: str) -> str:
    return "application/feed+json" if name.endswith(".json") else "application/xml"


def test_whole_corpus_ingests(shared_dir: Path, db_url: str, feed_server: FeedServer) -> None:
    corpus = shared_dir / "feeds-corpus"
    with (corpus / "FEEDPARSER-BASELINE.tsv").open(encoding="utf-8") as fh:
        baseline = {row["file"]: int(row["entries"] or 0)
                    for row in csv.DictReader(fh, delimiter="\t")}
    feeds, expected, not_feeds = [], {}, set()
    for i, name in enumerate(sorted(baseline)):
        body = (corpus / name).read_bytes()
        headers = {"Content-Type": content_type(name)}
        if i % 5 == 0 and body:  # some served gzip-encoded, as real servers do
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        feeds.append({"name": f"c{i:03d}", "url": feed_server.add(f"/c/{i}", Reply(200, body,
                                                                                  headers))})
        try:
            expected[f"c{i:03d}"] = (name, len(parse_feed((corpus / name).read_bytes(),
                                                          url="https://c.test/", now=NOW).items))
        except ParseError:
            expected[f"c{i:03d}"] = (name, 0)
            not_feeds.add(f"c{i:03d}")
    config = make_config(feeds)
    engine = make_engine(db_url)
    upgrade(engine)

    async def run() -> Any:
        pipe = build_pipeline(config, engine, Classifier(load_watchlists([WATCHLIST])),
                        clock=Clock(NOW), echo=lambda s: None)
        try:
            await asyncio.to_thread(pipe.sync_feeds)
            return await pipe.poll_due(ignore_schedule=True)
        finally:
            await pipe.aclose()

    try:
        summary = asyncio.run(run())
        with engine.connect() as conn:
            stored = dict(conn.execute(select(FeedRow.name, func.count(ItemRow.id))
                                       .outerjoin(ItemRow, ItemRow.feed_id == FeedRow.id)
                                       .group_by(FeedRow.name)).tuples().all())
            errors = dict(conn.execute(select(FeedRow.name, FeedRow.last_error)).tuples().all())
    finally:
        engine.dispose()
    lines = [f"{expected[f][0]:62} {stored.get(f, 0):5d} {baseline[expected[f][0]]:5d}"
             for f in sorted(expected)]
    print("\ncorpus ingest: file, items stored, feedparser baseline\n" + "\n".join(lines))
    assert summary.feeds == len(feeds)
    for feed, (name, n) in expected.items():
        assert stored.get(feed, 0) == n, (name, stored.get(feed), n, errors.get(feed))
        if feed in not_feeds:  # not a feed at all: a readable error on the feed, no crash
            assert errors.get(feed), f"{name}: no recorded error"
        else:
            assert errors.get(feed) is None, (name, errors.get(feed))
    assert sum(stored.values()) >= sum(baseline.values())
