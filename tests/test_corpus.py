"""Every feed of the shared corpus parses, into as many entries as bare feedparser finds
(less the empty ones we skip), or, where feedparser reads less, the number in BEYOND_BASELINE.

The corpus lives next to the repository: ../shared/feeds-corpus. Missing corpus: skip, unless
CI=true, then fail (``tests.conftest.need``). Run with ``-rA -s`` to see the per-file count
report.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest

from monitor.errors import ParseError
from monitor.parse import parse_feed
from tests.conftest import CORPUS, shared

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Files that are not feeds at all; ParseError is the right answer for them.
NOT_FEEDS = {
    "gofeed__empty_feed.xml": "0-byte body",
    "gofeed__invalid.json": "invalid JSON with no complete item",
    "rss-parser__unrecognized.rss": "an HTML 'Document Moved' page",
}

# Files we read more entries of than bare feedparser, and how many (feedparser reads no JSON
# Feed, no gzip-compressed body and no UTF-16 without a BOM or declaration).
BEYOND_BASELINE = {
    "Feeder__cowboyprogrammer_feed.json": 10, "RSParser__3960.json": 20,
    "RSParser__DaringFireball.json": 48, "RSParser__ScriptingNews.json": 50,
    "RSParser__allthis-partial.json": 2,        # truncated JSON: the complete items before the cut
    "RSParser__allthis.json": 12, "RSParser__curt.json": 26, "RSParser__inessential.json": 20,
    "RSParser__pxlnv.json": 20, "RSParser__rose.json": 84, "feed-rs__jsonfeed_elastic_1.1.json": 3,
    "feed-rs__jsonfeed_example_1.json": 2, "feedjira__json_feed.json": 20,
    "feedjira__json_feed_with_escaped_uris.json": 30,
    "node-feedparser__invalid-characters-gzipped.xml": 25, "simplepie__feed-utf16le.xml": 1,
}


def _baseline() -> dict[str, dict[str, str]]:
    if not CORPUS.is_dir():
        return {}
    with (CORPUS / "FEEDPARSER-BASELINE.tsv").open(encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


BASELINE = _baseline()
REPORT: list[tuple[str, int, int, str]] = []


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if REPORT:
        ours = sum(r[1] for r in REPORT)
        base = sum(r[2] for r in REPORT)
        lines = [f"{name:62} {n:5d} {b:5d}  {note}" for name, n, b, note in REPORT]
        print("\n\ncorpus report: file, our items, feedparser baseline, warning\n"
              + "\n".join(lines)
              + f"\n{len(REPORT)} files, {ours} items (baseline {base})")


def _empty_baseline_entries(body: bytes) -> int:
    """Entries bare feedparser returns with nothing in them (no title, text or link)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result: Any = feedparser.parse(io.BytesIO(body), sanitize_html=False,
                                       resolve_relative_uris=False)
    return sum(1 for e in result.entries
               if not any(dict.get(e, k) for k in ("title", "summary", "content", "link")))


@pytest.mark.parametrize("name", sorted(BASELINE) or ["<no corpus>"])
def test_corpus_file(name: str) -> None:
    body = (shared("feeds-corpus") / name).read_bytes()
    expected = int(BASELINE[name]["entries"])
    try:
        feed = parse_feed(body, url=f"https://corpus.test/{name}", now=NOW)
    except ParseError as exc:
        assert name in NOT_FEEDS, f"{name}: unexpected ParseError: {exc}"
        REPORT.append((name, 0, expected, f"ParseError: {exc}"[:80]))
        return
    assert name not in NOT_FEEDS, f"{name} is not a feed but parsed"
    count = len(feed.items)
    REPORT.append((name, count, expected, (feed.warning or "")[:80]))
    # Entries bare feedparser counts but that hold nothing (e.g. an illegally nested
    # <item/>) are skipped on purpose, and said so in the warning.
    empties = _empty_baseline_entries(body) if count < expected else 0
    assert count == BEYOND_BASELINE.get(name, expected - empties), (
        f"{name}: {count} items, baseline {expected}, {empties} of them empty")
    if empties and count < expected:
        assert feed.warning and "empty entries skipped" in feed.warning
    for item in feed.items:
        assert item.title or item.summary or item.content, f"{name}: empty item {item.identity}"
        assert item.identity
        if item.published is not None:
            assert item.published.tzinfo is not None
            assert datetime(1990, 1, 1, tzinfo=UTC) <= item.published <= NOW
    assert len({i.identity for i in feed.items}) == count
