"""Worker processes (monitor.workers): same results as in-process, and a dead worker loses nothing.

Real processes (``python -m monitor.parse_job``) over real pipes; a worker's death is a real
SIGKILL, sent while the worker is stopped with a job in hand, so the order is certain.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.app import build_pipeline
from monitor.classify import Classifier, load_watchlists
from monitor.config import Config
from monitor.model import ItemText
from monitor.parse_job import parse_job
from monitor.pipeline import Pipeline
from monitor.store.db import make_engine, upgrade
from monitor.store.tables import FetchAttemptRow, ItemRow
from monitor.workers import ParseJob, ParseOutcome, Workers, known_items, worker_count
from tests.servers import FeedServer

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = ROOT / "config" / "watchlists" / "belarus-us.yaml"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_watchlists([WATCHLIST]))


def _corpus(shared_dir: Path, n: int = 40) -> list[Path]:
    files = sorted(p for p in (shared_dir / "feeds-corpus").rglob("*")
                   if p.is_file() and p.suffix not in (".tsv", ".md"))
    return files[:: max(1, len(files) // n)]


def _job(body: bytes, url: str = "http://127.0.0.1/feed.xml", **kw: Any) -> ParseJob:
    return ParseJob(body=body, url=url, headers={}, default_language=None, now=NOW, **kw)


RELEVANT = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            b"<item><title>US names first ambassador to Belarus since 2008</title>"
            b"<link>https://example.org/a</link><description>Washington nominated Julie Fisher "
            b"as US ambassador to Belarus, the first since 2008.</description></item>"
            b"<item><title>Weather</title><link>https://example.org/b</link>"
            b"<description>Rain in Minsk.</description></item></channel></rss>")


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_worker_processes_give_what_the_thread_gives(classifier: Classifier,
                                                      shared_dir: Path) -> None:
    """Items, errors and classifications from a worker equal the in-process ones, file by file."""
    jobs = [_job(p.read_bytes(), url=f"http://127.0.0.1/{p.name}") for p in _corpus(shared_dir)]
    jobs += [_job(RELEVANT), _job(b"<html><body>not a feed</body></html>"), _job(b"")]

    async def both() -> tuple[list[ParseOutcome], list[ParseOutcome]]:
        local, pool = Workers(classifier, 0), Workers(classifier, 2)
        try:
            a = [await local.parse(j) for j in jobs]
            b = list(await asyncio.gather(*(pool.parse(j) for j in jobs)))
            return a, b
        finally:
            await pool.aclose()
    local, remote = _run(both())
    assert len(local) == len(remote) == len(jobs)
    for job, a, b in zip(jobs, local, remote, strict=True):
        assert a == b, job.url
    assert remote[-3].classes and any(c.milestones for c in remote[-3].classes.values())
    assert remote[-2].error and remote[-1].error            # not feeds: the feed's failure


def test_every_nothing_here_result_of_a_body_is_one_object(classifier: Classifier) -> None:
    """Equal to what the classifier says of each item, and shared, so it crosses the pipe
    once per body."""
    body = RELEVANT.replace(b"</channel>", b"".join(
        b"<item><title>Weather %d</title><link>https://example.org/w%d</link>"
        b"<description>Rain in Minsk.</description></item>" % (i, i) for i in range(5))
        + b"</channel>")
    out = parse_job(_job(body), classifier)
    assert out.feed is not None and len(out.classes) == 7
    for it in out.feed.items:
        assert out.classes[it.identity] == classifier.classify(ItemText.of(it), now=NOW)
    quiet = [c for c in out.classes.values() if not c.relevant]
    assert len(quiet) == 6 and all(c is quiet[0] for c in quiet)
    assert sum(c.relevant for c in out.classes.values()) == 1


def test_known_items_are_not_classified_again(classifier: Classifier) -> None:
    async def go() -> ParseOutcome:
        pool = Workers(classifier, 1)
        try:
            first = await pool.parse(_job(RELEVANT))
            assert first.feed is not None and len(first.classes) == 2
            known = known_items(it.identity for it in first.feed.items[1:])
            return await pool.parse(_job(RELEVANT, known=known))
        finally:
            await pool.aclose()
    again = _run(go())
    assert again.feed is not None and len(again.feed.items) == 2
    assert list(again.classes) == [again.feed.items[0].identity]


def test_a_worker_killed_with_a_job_in_hand_is_replaced(classifier: Classifier) -> None:
    async def go() -> tuple[ParseOutcome, Workers, list[int | None]]:
        pool = Workers(classifier, 1)
        try:
            await pool.start()
            victim = pool._workers[0].proc
            os.kill(victim.pid, signal.SIGSTOP)     # it cannot answer before it dies
            pending = asyncio.ensure_future(pool.parse(_job(RELEVANT)))
            while not pool._workers[0].pending:
                await asyncio.sleep(0)
            os.kill(victim.pid, signal.SIGKILL)
            got = await pending
            codes = [victim.returncode]
            return got, pool, codes
        finally:
            await pool.aclose()
    got, pool, codes = _run(go())
    assert codes[0] is not None                       # dead (asyncio may not know how)
    assert pool.respawned == 1
    assert got.feed is not None and len(got.feed.items) == 2 and got.crash is None


class _Doomed(Workers):
    """Every worker this pool starts is killed at once: each body's two tries both die."""

    async def _spawn(self) -> Any:
        worker = await super()._spawn()
        worker.proc.kill()
        return worker


def test_a_body_that_kills_its_worker_twice_is_that_feed_s_error(classifier: Classifier) -> None:
    async def go() -> ParseOutcome:
        pool = _Doomed(classifier, 1)
        try:
            return await pool.parse(_job(RELEVANT))
        finally:
            await pool.aclose()
    got = _run(go())
    assert got.feed is None and got.crash and "died" in got.crash


def test_a_hung_worker_is_killed_and_the_job_retried(classifier: Classifier) -> None:
    async def go() -> tuple[ParseOutcome, Workers]:
        pool = Workers(classifier, 1, timeout=1.0)
        try:
            await pool.start()
            os.kill(pool._workers[0].proc.pid, signal.SIGSTOP)   # hangs, never answers
            return await pool.parse(_job(RELEVANT)), pool
        finally:
            await pool.aclose()
    got, pool = _run(go())
    assert pool.respawned == 1
    assert got.feed is not None and len(got.feed.items) == 2


def test_workers_ignore_sigterm_and_leave_when_their_input_closes(classifier: Classifier) -> None:
    async def go() -> tuple[ParseOutcome, int | None]:
        pool = Workers(classifier, 1)
        await pool.start()
        proc = pool._workers[0].proc
        os.kill(proc.pid, signal.SIGTERM)           # systemd's stop, sent to the whole group
        got = await pool.parse(_job(RELEVANT))
        await pool.aclose()
        return got, proc.returncode
    got, code = _run(go())
    assert got.feed is not None and code == 0


def test_worker_count() -> None:
    assert worker_count(0) == 0 and worker_count(3) == 3
    assert worker_count("auto") == max(0, len(os.sched_getaffinity(0)) - 1)


@pytest.fixture
def doomed_pipeline(tmp_path: Path, feed_server: FeedServer,
                    classifier: Classifier) -> Iterator[tuple[Pipeline, Any]]:
    good = feed_server.feed("/good.xml", RELEVANT)
    bad = feed_server.feed("/bad.xml", RELEVANT.replace(b"Weather", b"Sport"))
    url = f"sqlite:///{tmp_path}/w.db"
    engine = make_engine(url)
    upgrade(engine)
    config = Config.model_validate({
        "database": {"url": url}, "watchlists": [str(WATCHLIST)],
        "feeds": [{"name": "good", "url": good}, {"name": "bad", "url": bad}],
        "fetch": {"allow_private_networks": True}})

    class KillsBad(Workers):
        async def parse(self, job: ParseJob) -> ParseOutcome:
            if job.url.endswith("/bad.xml"):
                return await _Doomed.parse(_doomed, job)
            return await super().parse(job)
    _doomed = _Doomed(classifier, 1)
    pipe = build_pipeline(config, engine, classifier, workers=KillsBad(classifier, 1))
    yield pipe, engine
    _run(_doomed.aclose())
    engine.dispose()


def test_the_pipeline_records_a_dead_worker_as_that_feed_s_failure(
        doomed_pipeline: tuple[Pipeline, Any]) -> None:
    pipe, engine = doomed_pipeline

    async def go() -> Any:
        try:
            pipe.sync_feeds()
            return await pipe.poll_due(ignore_schedule=True)
        finally:
            await pipe.aclose()
    summary = _run(go())
    assert summary.feeds == 2 and summary.ok == 1 and summary.failed == 1
    assert any("died" in e for e in summary.errors)
    with engine.connect() as c:
        assert c.scalar(select(func.count(ItemRow.id))) == 2
        assert c.scalar(select(func.count(FetchAttemptRow.id))) == 1   # the good feed's


def test_a_worker_logs_the_daemons_json_lines() -> None:
    """Workers log without structlog; their lines carry the same keys as the daemon's."""
    import json
    import logging

    from monitor.parse_job import _JsonLines

    record = logging.LogRecord("monitor.workers", logging.ERROR, __file__, 1,
                               "worker_classify_failed", None, None)
    record.url, record.error = "http://x/feed", "boom"
    line = json.loads(_JsonLines().format(record))
    assert line["event"] == "worker_classify_failed" and line["level"] == "error"
    assert (line["url"], line["error"]) == ("http://x/feed", "boom")
    assert line["timestamp"].endswith("Z")
    assert not {"msg", "args", "levelno", "pathname"} & set(line)


@pytest.mark.parametrize("level,shown", [("debug", True), ("info", False)])
def test_workers_log_at_the_configured_level(classifier: Classifier, level: str, shown: bool,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    """The config's ``log.level`` reaches the worker processes (their stderr is the daemon's)."""
    async def go() -> None:
        pool = Workers(classifier, 1, log_level=level)
        try:
            await pool.start()
            assert (await pool.parse(_job(RELEVANT))).feed is not None
        finally:
            await pool.aclose()
    _run(go())
    assert ('"event": "parse_worker_started"' in capfd.readouterr().err) is shown


def test_a_workers_log_level_falls_back_to_info() -> None:
    import logging

    from monitor.parse_job import log_level

    assert log_level("debug") == logging.DEBUG and log_level(" Warning ") == logging.WARNING
    assert log_level("verbose") == logging.INFO and log_level("") == logging.INFO


def test_the_classify_share_spreads_evenly_and_follows_the_slower_side() -> None:
    from monitor.workers import ClassifyShare

    share = ClassifyShare(0.25)
    assert [share.take() for _ in range(8)] == [False, False, False, True] * 2
    assert not any(ClassifyShare(0.0).take() for _ in range(20))
    share.observe(store_waited=True)           # the daemon waited: it takes more
    assert share.fraction == 0.35
    for _ in range(20):
        share.observe(store_waited=True)
    assert share.fraction == ClassifyShare.MAX  # the worker always classifies some
    for _ in range(20):
        share.observe(store_waited=False)      # the daemon is the slower: it gives back
    assert share.fraction == 0.0


def _stored(engine: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(select(
            ItemRow.identity, ItemRow.relevant, ItemRow.score, ItemRow.watchlists,
            ItemRow.actors, ItemRow.milestones, ItemRow.classifier_version,
            ItemRow.classified_at).order_by(ItemRow.identity))]


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_items_the_daemon_classifies_are_stored_as_the_workers_would(
        tmp_path: Path, feed_server: FeedServer, classifier: Classifier,
        fraction: float) -> None:
    """Whoever classifies an item (the worker, or the daemon taking its share), the stored
    classification is the same, and so are the milestones found."""
    bodies = [RELEVANT.replace(b"/a<", b"/a%d<" % i).replace(b"/b<", b"/b%d<" % i)
              for i in range(6)]
    urls = [feed_server.feed(f"/s{i}.xml", b) for i, b in enumerate(bodies)]

    def run(tag: str, share: float | None) -> list[tuple[Any, ...]]:
        url = f"sqlite:///{tmp_path}/{tag}.db"
        engine = make_engine(url)
        upgrade(engine)
        config = Config.model_validate({
            "database": {"url": url}, "watchlists": [str(WATCHLIST)],
            "feeds": [{"name": f"s{i}", "url": u} for i, u in enumerate(urls)],
            "fetch": {"allow_private_networks": True}})
        pipe = build_pipeline(config, engine, classifier, workers=Workers(classifier, 1),
                        clock=lambda: NOW)

        async def go() -> Any:
            try:
                pipe.sync_feeds()
                if share is not None:
                    pipe.share.fraction, pipe.share.STEP = share, 0.0   # pinned
                return await pipe.poll_due(ignore_schedule=True)
            finally:
                await pipe.aclose()
        summary = _run(go())
        assert summary.ok == 6 and summary.items_new == 12 and summary.milestones_new == 1
        rows = _stored(engine)
        engine.dispose()
        return rows
    assert run("worker", None) == run(f"share{fraction}", fraction)
