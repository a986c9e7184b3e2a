"""The pipeline: the one orchestrator, the only module that calls every stage.

claim due feeds (store.feeds) → fetch (fetch, async, bounded) → parse and classify (a
ParseJob in a worker process: parse_job, workers) → which items are new (store.items) →
their classifications → store them → milestones and alerts (detect) → each feed's new state
(polls), one transaction per batch of feeds, so a crash loses nothing committed and repeats
nothing. The deliverer (alerts.outbox) then sends what the outbox holds. ``monitor.app``
builds it from a config.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts.outbox import (
    Deliverer,
    DeliveryStats,
    enqueue_digests,
)
from monitor.classify import Classifier
from monitor.config import Config
from monitor.detect import Detector
from monitor.errors import ParseCrash
from monitor.fetch import Fetcher
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.model import (
    Classification,
    FetchResult,
    ItemText,
    ParsedItem,
)
from monitor.policy import (
    PollPolicy,
    is_local_outage,
    should_fetch_unconditionally,
)
from monitor.polls import CycleSummary, Polled, PollRecorder
from monitor.runtime import crash_point, dead_local_owner
from monitor.store.db import Engine, sessions
from monitor.store.feeds import (
    FeedState,
    claim_due_feeds,
    feed_counts,
    feed_patches,
    prune_fetch_attempts,
    record_attempts,
    release_dead_leases,
    release_feed,
    sync_feeds,
    update_feeds,
)
from monitor.store.items import new_items, store_items
from monitor.store.outbox import backlog
from monitor.workers import (
    ClassifyShare,
    ParseJob,
    Workers,
    known_items,
)

log = get_logger("monitor.pipeline")


class ClaimSize:
    """How many feeds the next claim takes: ``batch_size`` while polls bring new bodies, up to
    ``MAX_FACTOR`` times that while they come back 304 or unchanged.

    What a batch holds is the bodies it parses and their items until they are stored, so
    ``batch_size`` bounds the memory of a cycle where everything is new. A batch also has a
    cost of its own, whatever it holds (a claim, two transactions, two thread hops), which
    weighs on a 304 cycle. So the size follows the share of
    polls in the last batch fetched that were not 304 or unchanged (new bodies, and failures,
    which may be slow): a batch is expected to bring about ``batch_size`` of them. It never
    grows past what the last batch's pace fetches in a tenth of the lease, since a feed stays
    claimed while two batches are fetched and one stored, and a lease that runs out lets
    another replica poll it too. Every cycle starts at ``batch_size``.

    The price is memory when polls turn from 304s to new bodies in the middle of a cycle, as
    the two batches claimed at the larger size may all be new; ``MAX_FACTOR`` weighs that
    against a 304 cycle's time (docs/performance.md).
    """

    MAX_FACTOR = 3

    def __init__(self, batch_size: int, lease: float) -> None:
        self.base = max(1, batch_size)
        self.size = self.base
        self.budget = lease / 10

    def reset(self) -> None:
        self.size = self.base

    def observe(self, feeds: int, cheap: int, seconds: float) -> None:
        """A batch of ``feeds`` was fetched in ``seconds``; ``cheap`` of them came back 304
        or unchanged."""
        if not feeds:
            return
        share = max(1 - cheap / feeds, 1 / self.MAX_FACTOR)
        size = min(self.base * self.MAX_FACTOR, round(self.base / share))
        if seconds > 0:
            size = min(size, int(self.budget * feeds / seconds))
        self.size = max(self.base, size)


@dataclass
class _Batch:
    """A batch being fetched and parsed (``Pipeline._fetch_batch``)."""

    all_fetched: asyncio.Event
    feeds: int = 0
    cheap: int = 0                      # polls that came back 304 or unchanged
    started: float = field(default_factory=time.monotonic)
    task: asyncio.Task[list[Polled]] = field(init=False)

    async def fetched(self) -> None:
        """Until every fetch of the batch has ended, or the batch task has (it failed)."""
        waiter = asyncio.ensure_future(self.all_fetched.wait())
        try:
            await asyncio.wait((waiter, self.task), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()


class Pipeline:
    """Polls feeds and delivers alerts for one process; replicas each run one."""

    def __init__(self, config: Config, engine: Engine, classifier: Classifier, *,
                 fetcher: Fetcher, workers: Workers, deliverer: Deliverer, owner: str,
                 clock: Callable[[], datetime], rng: random.Random,
                 metrics: Metrics) -> None:
        """Built by ``monitor.app.build_pipeline``."""
        self.config = config
        self.sessions = sessions(engine)
        self.classifier = classifier
        self.fetcher = fetcher
        self.workers = workers
        self.deliverer = deliverer
        self.owner = owner
        self.clock = clock
        self.rng = rng
        self.metrics = metrics
        self.policy = PollPolicy.from_schedule(config.schedule)
        self.detector = Detector(config, classifier)
        self.recorder = PollRecorder(config, self.policy, self.rng, self.owner, self.metrics)
        # Per feed, the identities of its last parse: their classification is not needed again.
        self._known: dict[int, bytes] = {}
        self.share = ClassifyShare()        # with workers: what the daemon classifies itself
        self.claim_size = ClaimSize(config.schedule.batch_size, config.schedule.lease)

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        await self.deliverer.aclose()
        await self.workers.aclose()

    # -- polling ---------------------------------------------------------------------------

    def sync_feeds(self) -> dict[str, list[str]]:
        """Match the feeds table to the config and free leases of crashed local processes."""
        with self.sessions.begin() as s:
            freed = release_dead_leases(s, dead=dead_local_owner, now=self.clock())
            if freed:
                log.warning("dead_leases_released", count=freed)
            return sync_feeds(s, self.config, self.clock())

    async def poll_due(self, *, names: Sequence[str] | None = None,
                       ignore_schedule: bool = False) -> CycleSummary:
        """Claim and poll due feeds (all enabled ones with ``ignore_schedule``), batch by batch.

        Batches overlap, so the worker processes never wait on a batch boundary: once every
        body of a batch is in (its parsing still queued), the next batch is fetched; once a
        batch is parsed, it is stored (a worker thread) while the next one is parsed. Claims
        run one batch ahead, between two stores: on SQLite both take the write lock.
        """
        total = CycleSummary()
        done: set[int] = set()
        storing: asyncio.Task[CycleSummary] | None = None
        fetching: _Batch | None = None
        ahead: _Batch | None = None
        failure: Exception | None = None

        async def claim() -> list[FeedState]:
            # A failed claim ends the cycle, but the batches in hand are still stored first.
            nonlocal failure
            if failure is not None:
                return []
            try:
                return await self._claim_next(names, ignore_schedule, done)
            except Exception as exc:  # noqa: BLE001 - raised once the batches are stored
                failure = exc
                return []
        self.claim_size.reset()
        try:
            claimed = await claim()
            fetching = self._start_batch(claimed) if claimed else None
            claimed = await claim() if claimed else []
            while fetching is not None:
                await fetching.fetched()
                self.claim_size.observe(fetching.feeds, fetching.cheap,
                                        time.monotonic() - fetching.started)
                ahead, claimed = (self._start_batch(claimed) if claimed else None), []
                polled = await fetching.task
                fetching = None
                if storing is not None:
                    self.share.observe(store_waited=storing.done())
                    total.add(await storing)
                    storing = None
                claimed = await claim() if ahead is not None else []   # the one after next
                storing = asyncio.create_task(self._store_batch(polled))
                fetching, ahead = ahead, None
            if failure is not None:
                raise failure
        finally:
            for batch in (fetching, ahead):     # cancelled, or a batch failed: drop the rest
                if batch is not None and not batch.task.done():
                    batch.task.cancel()
                    with contextlib.suppress(BaseException):
                        await batch.task
            if storing is not None:
                total.add(await storing)
        return total

    async def _claim_next(self, names: Sequence[str] | None, ignore: bool,
                          done: set[int]) -> list[FeedState]:
        claimed = await asyncio.to_thread(self._claim, names, ignore, done)
        done.update(f.id for f in claimed)
        return claimed

    def _start_batch(self, feeds: list[FeedState]) -> _Batch:
        batch = _Batch(asyncio.Event(), feeds=len(feeds))
        batch.task = asyncio.create_task(self._fetch_batch(feeds, batch))
        return batch

    def _claim(self, names: Sequence[str] | None, ignore: bool,
               done: set[int]) -> list[FeedState]:
        """Claim the next batch; feeds this call already polled are not claimed again."""
        with self.sessions.begin() as s:
            return claim_due_feeds(
                s, owner=self.owner, now=self.clock(),
                lease=timedelta(seconds=self.config.schedule.lease),
                limit=self.claim_size.size, names=names, ignore_schedule=ignore,
                exclude=done)

    async def _fetch_batch(self, feeds: list[FeedState],
                           batch: _Batch) -> list[Polled]:
        """Fetch every feed of a batch concurrently; each body is parsed as soon as it is in.
        ``batch.all_fetched`` is set once every fetch has ended (parsing may still be under
        way); ``batch.cheap`` counts the 304 and unchanged polls by then."""
        now = self.clock()
        left = len(feeds)

        async def one(feed: FeedState) -> Polled:
            nonlocal left
            try:
                result, conditional = await self._fetch(feed, now)
            finally:
                left -= 1
                if not left:
                    batch.all_fetched.set()
            polled = Polled(feed, replace(result, body=None), conditional, now)
            if result.ok and result.body is not None:
                polled.body_hash = hashlib.sha256(result.body).hexdigest()
                if polled.body_hash == feed.body_hash:
                    polled.outcome = "unchanged"  # same bytes as last time: no parse at all
                    batch.cheap += 1
                else:
                    # The body is kept only until it is parsed: a batch waits for its store
                    # while the next ones are fetched.
                    await self._parse(polled, result.body)
            elif result.not_modified:
                polled.outcome = "not_modified"
                batch.cheap += 1
            return polled
        return list(await asyncio.gather(*(one(f) for f in feeds)))

    async def _parse(self, polled: Polled, body: bytes) -> None:
        """Parse (and classify what is new) in a worker; see monitor.workers."""
        result, feed = polled.result, polled.feed
        job = ParseJob(body=body, url=result.final_url, headers=dict(result.headers),
                  default_language=feed.language, now=polled.started,
                  known=self._known.get(feed.id, b""),
                  classify=not (self.workers.n and self.share.take()))
        try:
            done = await self.workers.parse(job)
        except Exception as exc:  # noqa: BLE001 - the per-feed boundary: log, go on
            polled.crash = exc
            return
        if done.feed is not None:
            polled.parsed, polled.classes, polled.outcome = done.feed, done.classes, "new"
            self._known[feed.id] = known_items(it.identity for it in done.feed.items)
        elif done.error is not None:
            polled.error = done.error
        else:
            polled.crash = ParseCrash(done.crash or "parser failed")

    async def _fetch(self, feed: FeedState, now: datetime) -> tuple[FetchResult, bool]:
        conditional = not should_fetch_unconditionally(feed.last_unconditional_at, now,
                                                       self.policy)
        result = await self.fetcher.fetch(feed.url,
                                          etag=feed.etag if conditional else None,
                                          last_modified=feed.last_modified if conditional
                                          else None)
        self.metrics.fetch_seconds.observe(result.duration)
        return result, conditional

    def _release(self, feed_id: int) -> None:
        with self.sessions.begin() as s:
            release_feed(s, feed_id, self.owner)

    async def _store_batch(self, polled: list[Polled]) -> CycleSummary:
        """Store a batch in one transaction; if that fails, feed by feed, each on its own."""
        outage = is_local_outage([p.result for p in polled])
        if outage:
            log.warning("local_outage_detected", feeds=len(polled),
                        error=polled[0].result.error if polled else None)
        try:
            return await asyncio.to_thread(self._store, polled, outage)
        except Exception as exc:  # noqa: BLE001 - one bad feed must not sink the batch
            if len(polled) == 1:
                return await self._store_failed(polled[0], exc)
            log.warning("batch_store_failed", feeds=len(polled), error=str(exc))
        summary = CycleSummary(feeds=len(polled), local_outage=outage)
        for p in polled:
            try:
                one = await asyncio.to_thread(self._store, [p], outage)
                one.feeds = 0
            except Exception as exc:  # noqa: BLE001 - the per-feed boundary: log, go on
                one = await self._store_failed(p, exc)
                one.feeds = 0
            summary.add(one)
        return summary

    async def _store_failed(self, p: Polled, exc: BaseException) -> CycleSummary:
        log.error("feed_processing_failed", feed=p.feed.name, error=str(exc), exc_info=exc)
        await asyncio.to_thread(self._release, p.feed.id)
        return CycleSummary(feeds=1, failed=1, errors=[f"{p.feed.name}: {exc}"])

    def _store(self, polled: list[Polled], outage: bool) -> CycleSummary:
        """Store, classify and detect for fetched feeds, and update them, in one transaction.

        Items, their classification, milestones, outbox rows and the feeds' state commit
        together, so a crash loses nothing committed and repeats nothing. Logs and metrics
        are emitted once the transaction has committed.
        """
        now = self.clock()
        summary = CycleSummary(feeds=len(polled), local_outage=outage)
        after: list[Callable[[], None]] = []
        classify = self._classify_parsed(now, polled)
        with self.sessions.begin() as s:
            rows = feed_patches(s, [p.feed.id for p in polled])
            fresh = new_items(s, [(p.feed.id, p.parsed.items) for p in polled
                                  if p.parsed is not None and p.crash is None])
            stored = store_items(s, [(f, it, classify(it)) for f, it in fresh], now)
            new_by_feed: dict[int, int] = {}
            for item in stored:
                new_by_feed[item.feed_id] = new_by_feed.get(item.feed_id, 0) + 1
            found = self.detector.detect(s, stored, now)
            summary.relevant += found.relevant
            summary.milestones_new += found.milestones_new
            summary.alerts_queued += found.alerts_queued
            after.append(lambda: found.count(self.metrics))
            attempts: list[dict[str, Any]] = []
            for p in polled:
                self.recorder.finish(s, rows[p.feed.id], p, outage,
                                     new_by_feed.get(p.feed.id, 0), now, summary, after, attempts)
            update_feeds(s, rows.values())
            record_attempts(s, attempts)
            crash_point("store")
        for fn in after:
            fn()
        return summary

    def _classify_parsed(self, now: datetime, polled: Sequence[Polled]
                         ) -> Callable[[ParsedItem], Classification]:
        """Classification of a new item: the worker's, else done here (the daemon's share of
        the work, or a worker's miss), as of the poll, as the worker would have done it."""
        done = {id(it): p.classes[it.identity] for p in polled if p.parsed is not None
                for it in p.parsed.items if it.identity in p.classes}
        polled_at = {id(it): p.started for p in polled if p.parsed is not None
                     for it in p.parsed.items if it.identity not in p.classes}

        def classify(it: ParsedItem) -> Classification:
            found = done.get(id(it))
            if found is not None:
                return found
            return self.classifier.classify(ItemText.of(it),
                                            now=polled_at.get(id(it), now))
        return classify

    def check_silence(self) -> int:
        """Flag feeds that published nothing new for ``alerting.feed_silence`` (0: off)."""
        return self.recorder.check_silence(self.sessions, self.clock())

    def prune(self) -> int:
        """Delete poll records older than ``schedule.keep_fetch_attempts`` (a bounded batch)."""
        keep = self.config.schedule.keep_fetch_attempts
        if keep <= 0:
            return 0
        cutoff = self.clock() - timedelta(seconds=keep)
        with self.sessions.begin() as s:
            return prune_fetch_attempts(s, before=cutoff, limit=10_000)

    def classify_pending(self, limit: int = 500) -> int:
        """Classify items stored but not yet classified (left by a crash or an old version)."""
        found = self.detector.classify_pending(self.sessions, self.clock(), limit)
        found.count(self.metrics)
        return found.relevant + found.irrelevant

    def reclassify(self, *, since: datetime | None = None, batch: int = 500
                   ) -> tuple[int, int, int]:
        """See ``Detector.reclassify``: (items, milestones created, milestones withdrawn)."""
        return self.detector.reclassify(self.sessions, self.clock(), since=since, batch=batch)

    # -- alerts ----------------------------------------------------------------------------

    def enqueue_digests(self) -> int:
        with self.sessions.begin() as s:
            return enqueue_digests(s, self.config, self.clock())

    async def deliver(self) -> DeliveryStats:
        return await self.deliverer.deliver_due()

    def refresh_gauges(self) -> None:
        now = self.clock()
        with self.sessions() as s:
            pending, oldest = backlog(s)
            unhealthy, disabled = feed_counts(s)
        self.metrics.outbox_backlog.set(pending)
        self.metrics.outbox_oldest_seconds.set((now - oldest).total_seconds() if oldest else 0)
        self.metrics.feeds_unhealthy.set(unhealthy)
        self.metrics.feeds_disabled.set(disabled)

