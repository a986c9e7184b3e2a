"""The whole pipeline against a real local feed server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.app import build_pipeline
from monitor.classify import Classifier, load_watchlists
from monitor.config import Config
from monitor.parse_job import ParseJob, ParseOutcome
from monitor.pipeline import Pipeline
from monitor.store.db import make_engine, upgrade
from monitor.store.tables import (
    AlertRow,
    FeedRow,
    FetchAttemptRow,
    ItemRow,
    MilestoneRow,
    MilestoneSourceRow,
)
from monitor.workers import Workers
from tests.feedgen import rss
from tests.servers import FeedServer, Reply

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"


class Clock:
    """A fake clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_watchlists([WATCHLIST]))


def make_config(feeds: list[dict[str, Any]], channels: list[dict[str, Any]] | None = None,
                *, schedule: dict[str, Any] | None = None, **alerting: Any) -> Config:
    return Config.model_validate({
        "schedule": schedule or {},
        "feeds": feeds, "watchlists": [str(WATCHLIST)],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0,
                  "per_host_connections": 8, "total_timeout": 10},
        "alerting": {"retry_base": 1, **alerting},
        "alerts": {"channels": channels or []},
    })


@pytest.fixture
def run(db_url: str, classifier: Classifier) -> Iterator[Callable[..., Any]]:
    """run(config, clock, coro_fn) builds a Pipeline on the test database and runs coro_fn(p)."""
    engine = make_engine(db_url)
    upgrade(engine)

    def go(config: Config, clock: Clock, fn: Callable[[Pipeline], Any]) -> Any:
        async def main() -> Any:
            pipe = build_pipeline(config, engine, classifier, clock=clock, echo=lambda s: None)
            try:
                await asyncio.to_thread(pipe.sync_feeds)
                return await fn(pipe)
            finally:
                await pipe.aclose()
        return asyncio.run(main())

    go.engine = engine  # type: ignore[attr-defined]
    yield go
    engine.dispose()


def count(engine: Any, model: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


NOW = datetime.now(UTC).replace(microsecond=0)


def news(n: int, prefix: str = "Weather") -> list[dict[str, object]]:
    return [{"title": f"{prefix} report {i}", "link": f"https://news.example.org/{prefix}/{i}"
             f"?utm_source=rss", "summary": f"Nothing of note happened, part {i}.",
             "guid": f"{prefix}-{i}", "published": NOW - timedelta(hours=i)} for i in range(n)]


def test_poll_stores_once_and_skips_unchanged(feed_server: FeedServer, run: Any) -> None:
    url = feed_server.feed("/a.xml", rss(news(5)))
    config = make_config([{"name": "a", "url": url}])
    clock = Clock(NOW)
    first = run(config, clock, lambda p: p.poll_due(ignore_schedule=True))
    assert (first.feeds, first.ok, first.items_new) == (1, 1, 5)
    second = run(config, clock, lambda p: p.poll_due(ignore_schedule=True))
    assert (second.unchanged, second.items_new) == (1, 0)
    assert count(run.engine, ItemRow) == 5
    with run.engine.connect() as conn:
        urls = set(conn.execute(select(ItemRow.url)).scalars())
    assert all("utm_source" not in u for u in urls)
    assert count(run.engine, FetchAttemptRow) == 2


def test_only_new_items_are_classified(feed_server: FeedServer, run: Any) -> None:
    """A poll classifies the items its feed did not have, once each: the ones stored before
    are neither classified by the parse job nor by the store's caller."""
    seen: list[str] = []

    class Counting(Classifier):
        def classify(self, item: Any, now: Any = None, watchlist: Any = None,
                     explain: bool = False) -> Any:
            seen.append(item.title)
            return super().classify(item, now, watchlist, explain)

    counting = Counting(load_watchlists([WATCHLIST]))
    old, new = news(5), news(2, prefix="Traffic")
    url = feed_server.feed("/a.xml", rss(old))
    config = make_config([{"name": "a", "url": url}], schedule={"parse_workers": 0})

    async def twice(p: Pipeline) -> tuple[int, int]:
        first = await p.poll_due(ignore_schedule=True)
        feed_server.feed("/a.xml", rss(new + old))
        second = await p.poll_due(ignore_schedule=True)
        return first.items_new, second.items_new

    async def main() -> tuple[int, int]:
        pipe = build_pipeline(config, run.engine, counting, clock=Clock(NOW), echo=lambda s: None)
        try:
            await asyncio.to_thread(pipe.sync_feeds)
            return await twice(pipe)
        finally:
            await pipe.aclose()
    assert asyncio.run(main()) == (5, 2)
    assert sorted(seen) == sorted(str(i["title"]) for i in old + new)


def test_conditional_get_and_304(feed_server: FeedServer, run: Any) -> None:
    body = rss(news(2))

    def handler(req: Any) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, body, {"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    url = feed_server.add("/c.xml", handler)
    config = make_config([{"name": "c", "url": url}])
    clock = Clock(NOW)
    run(config, clock, lambda p: p.poll_due(ignore_schedule=True))
    second = run(config, clock, lambda p: p.poll_due(ignore_schedule=True))
    assert second.not_modified == 1
    assert feed_server.requests[-1].headers.get("if-none-match") == '"v1"'


def test_schedule_and_failures_live_in_the_database(feed_server: FeedServer, run: Any) -> None:
    ok = feed_server.feed("/ok.xml", rss(news(1)))
    bad = feed_server.add("/bad.xml", Reply(500, b"boom"))
    gone = feed_server.add("/gone.xml", Reply(410, b"gone"))
    config = make_config([{"name": "ok", "url": ok, "interval": "10m"},
                          {"name": "bad", "url": bad}, {"name": "gone", "url": gone}])
    clock = Clock(NOW)
    s = run(config, clock, lambda p: p.poll_due())
    assert (s.feeds, s.ok, s.failed) == (3, 1, 2)
    # nothing is due a minute later
    clock.advance(minutes=1)
    assert run(config, clock, lambda p: p.poll_due()).feeds == 0
    with run.engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(FeedRow))}
    assert rows["gone"].enabled is False and "410" in (rows["gone"].disabled_reason or "")
    assert rows["bad"].failures == 1 and "500" in (rows["bad"].last_error or "")
    assert rows["ok"].next_check_at is not None


def test_a_broken_feed_does_not_stop_the_others(feed_server: FeedServer, run: Any) -> None:
    good = feed_server.feed("/good.xml", rss(news(3)))
    html = feed_server.feed("/html", b"<html><body>not a feed</body></html>", "text/html")
    trunc = feed_server.feed("/trunc.xml", rss(news(3, "Trunc"))[:-40])
    config = make_config([{"name": "good", "url": good}, {"name": "html", "url": html},
                          {"name": "trunc", "url": trunc}])
    s = run(config, Clock(NOW), lambda p: p.poll_due(ignore_schedule=True))
    assert (s.feeds, s.ok, s.failed) == (3, 2, 1)   # the truncated feed keeps its items
    assert count(run.engine, ItemRow) == 6
    with run.engine.connect() as conn:
        err = conn.execute(select(FeedRow.last_error).where(FeedRow.name == "html")).scalar_one()
    assert err


def milestone_feeds(server: FeedServer, published: datetime) -> list[dict[str, Any]]:
    """Three outlets report one event in different words, in English and Russian."""
    a = server.feed("/wire.xml", rss([{
        "title": "Senate confirms Julie Fisher as U.S. ambassador to Belarus",
        "summary": "The U.S. Senate on Tuesday confirmed career diplomat Julie Fisher as "
                   "ambassador to Belarus, the first in more than a decade.",
        "link": "https://wire.example.org/fisher-confirmed", "guid": "w1",
        "published": published}]))
    b = server.feed("/daily.xml", rss([{
        "title": "Fisher wins Senate approval as envoy to Minsk",
        "summary": "Senators voted 62-30 to confirm Julie Fisher as the United States "
                   "ambassador to Belarus.",
        "link": "https://daily.example.org/news/123?utm_source=rss", "guid": "d1",
        "published": published + timedelta(hours=2)}]))
    c = server.feed("/ru.xml", rss([{
        "title": "Сенат США утвердил Джули Фишер послом в Беларуси",
        "summary": "Сенат США утвердил кандидатуру Джули Фишер на пост посла США в Беларуси.",
        "link": "https://ru.example.org/fisher", "guid": "r1",
        "published": published + timedelta(hours=3)}], language="ru"))
    return [{"name": "wire", "url": a}, {"name": "daily", "url": b},
            {"name": "ru", "url": c, "language": "ru"}]


def test_one_milestone_from_three_outlets(feed_server: FeedServer, run: Any) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(hours=5))
    hook = feed_server.url("/hook")
    feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config(feeds, [{"name": "ops", "type": "webhook", "url": hook,
                                  "secret": "s"}])
    clock = Clock(NOW)

    async def cycle(p: Pipeline) -> Any:
        s = await p.poll_due(ignore_schedule=True)
        await p.deliver()
        return s

    run(config, clock, cycle)
    run(config, clock, cycle)
    with run.engine.connect() as conn:
        ms = conn.execute(select(MilestoneRow.type, MilestoneRow.sources)).all()
    assert [m.type for m in ms] == ["ambassador_confirmed"], ms
    assert ms[0].sources == 3
    assert len(feed_server.posts("/hook")) == 1
    assert count(run.engine, AlertRow, AlertRow.state == "delivered") == 1


def test_an_item_under_a_new_identity_alerts_once(feed_server: FeedServer, run: Any) -> None:
    """A publisher that changes its guids (or an identity rule that changed) stores the item
    again; it joins the milestone it reported, which alerts once."""
    item = {"title": "Senate confirms Julie Fisher as U.S. ambassador to Belarus",
            "summary": "The U.S. Senate on Tuesday confirmed career diplomat Julie Fisher as "
                       "ambassador to Belarus, the first in more than a decade.",
            "link": "https://wire.example.org/fisher-confirmed", "guid": "w1",
            "published": NOW - timedelta(hours=5)}
    url = feed_server.feed("/wire.xml", rss([item]))
    feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config([{"name": "wire", "url": url}],
                         [{"name": "ops", "type": "webhook", "url": feed_server.url("/hook")}])
    clock = Clock(NOW)

    async def cycle(p: Pipeline) -> Any:
        s = await p.poll_due(ignore_schedule=True)
        await p.deliver()
        return s

    assert run(config, clock, cycle).items_new == 1
    feed_server.feed("/wire.xml", rss([{**item, "guid": "urn:wire:2019:w1"}]))
    clock.advance(minutes=10)
    assert run(config, clock, cycle).items_new == 1
    assert count(run.engine, ItemRow) == 2
    with run.engine.connect() as conn:
        assert len(set(conn.execute(select(ItemRow.story_id)).scalars())) == 1
        ms = conn.execute(select(MilestoneRow.type)).scalars().all()
    assert ms == ["ambassador_confirmed"]
    assert len(feed_server.posts("/hook")) == 1


def test_old_news_is_stored_but_never_alerts(feed_server: FeedServer, run: Any) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(days=365))
    feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config(feeds, [{"name": "ops", "type": "webhook",
                                  "url": feed_server.url("/hook")}])

    async def cycle(p: Pipeline) -> Any:
        await p.poll_due(ignore_schedule=True)
        await p.deliver()

    run(config, Clock(NOW), cycle)
    assert count(run.engine, MilestoneRow) == 1
    assert count(run.engine, MilestoneRow, MilestoneRow.stale.is_(True)) == 1
    assert count(run.engine, AlertRow) == 0
    assert feed_server.posts("/hook") == []


def test_confirmation_waits_for_k_distinct_sources(feed_server: FeedServer, run: Any) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(hours=5))
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config(feeds[:1], [{"name": "ops", "type": "webhook", "url": hook}],
                         min_sources=2)

    async def cycle(p: Pipeline) -> Any:
        await p.poll_due(ignore_schedule=True)
        await p.deliver()

    run(config, Clock(NOW), cycle)
    assert feed_server.posts("/hook") == []  # one outlet is not enough
    run(make_config(feeds[:2], [{"name": "ops", "type": "webhook", "url": hook}],
                    min_sources=2), Clock(NOW), cycle)
    assert len(feed_server.posts("/hook")) == 1


def test_a_status_step_alerts_again_when_configured(feed_server: FeedServer, run: Any) -> None:
    announced = feed_server.feed("/a.xml", rss([{
        "title": "US will reopen its embassy in Minsk next month, State Department says",
        "summary": "The State Department announced that the U.S. embassy in Minsk will resume "
                   "operations next month.",
        "guid": "a1", "link": "https://a.example.org/1", "published": NOW - timedelta(days=3)}]))
    done = feed_server.feed("/d.xml", rss([{
        "title": "US embassy in Minsk reopens",
        "summary": "The U.S. embassy in Minsk resumed operations on Monday after a four-year "
                   "suspension.", "guid": "d1", "link": "https://d.example.org/1",
        "published": NOW - timedelta(hours=2)}]))
    hook = feed_server.add("/hook", Reply(200, b"ok"))

    async def cycle(p: Pipeline) -> Any:
        await p.poll_due(ignore_schedule=True)
        await p.deliver()

    def config(feeds: list[dict[str, Any]]) -> Config:
        return make_config(feeds, [{"name": "ops", "type": "webhook", "url": hook}],
                           realert_on_status=["completed"])

    run(config([{"name": "a", "url": announced}]), Clock(NOW), cycle)
    run(config([{"name": "a", "url": announced}, {"name": "d", "url": done}]), Clock(NOW), cycle)
    with run.engine.connect() as conn:
        ms = conn.execute(select(MilestoneRow.type, MilestoneRow.status,
                                 MilestoneRow.sources)).all()
    assert [tuple(m) for m in ms] == [("embassy_reopened", "completed", 2)]
    bodies = [json.loads(p.body)["milestone"] for p in feed_server.posts("/hook")]
    assert [b["status"] for b in bodies] == ["announced", "completed"]
    assert bodies[0]["id"] == bodies[1]["id"]  # one milestone, two steps
    hdrs = [p.headers["x-monitor-delivery"] for p in feed_server.posts("/hook")]
    assert hdrs[0] != hdrs[1]  # two alerts, each with its own delivery id


def test_unhealthy_feed_sends_one_event_and_one_recovery(feed_server: FeedServer,
                                                         run: Any) -> None:
    url = feed_server.add("/flaky.xml", [Reply(500)] * 6 + [Reply(200, rss(news(1)))])
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config([{"name": "flaky", "url": url}],
                         [{"name": "ops", "type": "webhook", "url": hook}])
    clock = Clock(NOW)

    async def cycle(p: Pipeline) -> Any:
        await p.poll_due(ignore_schedule=True)
        await p.deliver()

    for _ in range(7):
        run(config, clock, cycle)
        clock.advance(hours=1)
    events = [json.loads(p.body)["event"] for p in feed_server.posts("/hook")]
    assert events == ["feed_unhealthy", "feed_recovered"]


def test_reclassify_finds_milestones_without_alerting(feed_server: FeedServer,
                                                      run: Any) -> None:
    feeds = milestone_feeds(feed_server, NOW - timedelta(hours=5))
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config(feeds, [{"name": "ops", "type": "webhook", "url": hook}])

    async def poll(p: Pipeline) -> Any:
        return await p.poll_due(ignore_schedule=True)

    run(config, Clock(NOW), poll)
    with run.engine.begin() as conn:  # as if an older watchlist had found nothing
        conn.execute(MilestoneRow.__table__.delete())
        conn.execute(AlertRow.__table__.delete())

    async def reclassify(p: Pipeline) -> Any:
        n = await asyncio.to_thread(p.reclassify)
        await p.deliver()
        return n

    done, created, withdrawn = run(config, Clock(NOW), reclassify)
    assert (done, created, withdrawn) == (3, 1, 0)
    assert count(run.engine, MilestoneRow) == 1 and count(run.engine, AlertRow) == 0
    assert feed_server.posts("/hook") == []


def test_reclassify_withdraws_what_the_rules_no_longer_find(
        feed_server: FeedServer, run: Any, db_url: str, tmp_path: Path) -> None:
    """A precision fix cleans a running database: a milestone no stored item supports under
    the current rules is withdrawn -- recorded, shown, never alerted -- and comes back if the
    rules find it again."""
    feeds = milestone_feeds(feed_server, NOW - timedelta(hours=5))
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config(feeds, [{"name": "ops", "type": "webhook", "url": hook}])
    run(config, Clock(NOW), lambda p: p.poll_due(ignore_schedule=True))   # alert pending
    assert count(run.engine, MilestoneRow) == 1
    assert count(run.engine, AlertRow, AlertRow.state == "pending") == 1
    # the same watchlist without the rule that found it
    text = WATCHLIST.read_text(encoding="utf-8")
    start = text.index("      - id: senate-confirmed")
    end = text.index("      - id: sworn-in")
    stricter = tmp_path / "belarus-us.yaml"
    stricter.write_text(text[:start] + text[end:], encoding="utf-8")
    engine = run.engine

    def reclassify(clf: Classifier) -> tuple[int, int, int]:
        async def main() -> tuple[int, int, int]:
            pipe = build_pipeline(config, engine, clf, clock=Clock(NOW), echo=lambda s: None)
            try:
                out = await asyncio.to_thread(pipe.reclassify)
                await pipe.deliver()
                return out
            finally:
                await pipe.aclose()
        return asyncio.run(main())

    assert reclassify(Classifier(load_watchlists([stricter]))) == (3, 0, 1)
    with Session(engine) as s:
        (m,) = s.scalars(select(MilestoneRow))
        assert m.withdrawn_at is not None and "belarus-us" in (m.withdrawn_reason or "")
        assert s.scalar(select(func.count()).select_from(MilestoneSourceRow)) == 0
    assert feed_server.posts("/hook") == []                  # its pending alert never sent
    assert count(run.engine, AlertRow, AlertRow.state == "dead") == 1
    # the rule back: the same milestone, no longer withdrawn
    assert reclassify(Classifier(load_watchlists([WATCHLIST])))[2] == 0
    with Session(engine) as s:
        (m,) = s.scalars(select(MilestoneRow))
        assert m.withdrawn_at is None and m.sources == 3


def test_evidence_is_stored_verbatim_with_offsets(feed_server: FeedServer, run: Any) -> None:
    """The webhook quotes the source's words ("U.S.", not "USA") and says where the trigger
    is: offsets into the evidence and into the item's stored text."""
    url = feed_server.feed("/a.xml", rss([{
        "title": "Lukashenko met the U.S. special envoy in Minsk",
        "summary": "Alexander Lukashenko met the U.S. special envoy John Coale in Minsk on "
                   "Tuesday, his press service said.",
        "link": "https://a.example.org/1", "guid": "a1",
        "published": NOW - timedelta(hours=1)}]))
    hook = feed_server.add("/hook", Reply(200, b"ok"))
    config = make_config([{"name": "a", "url": url}],
                         [{"name": "ops", "type": "webhook", "url": hook}])

    async def cycle(p: Pipeline) -> Any:
        await p.poll_due(ignore_schedule=True)
        await p.deliver()

    run(config, Clock(NOW), cycle)
    (post,) = feed_server.posts("/hook")
    explain = json.loads(post.body)["milestone"]["explain"]
    evidence = explain["evidence"]
    assert "U.S." in evidence and "USA" not in evidence
    (a, b), = explain["highlights"]
    assert evidence[a:b] == "met"
    at = explain["evidence_at"]
    with Session(run.engine) as s:
        item = s.get(ItemRow, at["item_id"])
        assert item is not None
        stored = getattr(item, at["field"])
    assert stored[at["start"]:at["end"]] == evidence
    assert [stored[x:y] for x, y in at["triggers"]] == ["met"]
    assert explain["reason"]["zone"] == "lead"          # the summary's sentence, not the title


class GatedWorkers(Workers):
    """Parses in this process, but holds every result until ``opens_after`` bodies have been
    handed to it; logs each body handed over and each result returned."""

    def __init__(self, classifier: Classifier, opens_after: int) -> None:
        super().__init__(classifier, 0)
        self.opens_after, self.log, self.gate = opens_after, list[str](), asyncio.Event()

    async def parse(self, job: ParseJob) -> ParseOutcome:
        self.log.append("parse " + job.url.rsplit("/", 1)[1])
        if sum(e.startswith("parse") for e in self.log) >= self.opens_after:
            self.gate.set()
        out = await super().parse(job)
        await self.gate.wait()
        self.log.append("done " + job.url.rsplit("/", 1)[1])
        return out


def test_the_next_batch_is_fetched_while_this_one_is_still_parsing(
        feed_server: FeedServer, run: Any, classifier: Classifier) -> None:
    feeds = [{"name": f"f{i}", "url": feed_server.feed(f"/b{i}.xml", rss(news(3, f"B{i}")))}
             for i in range(7)]
    config = make_config(feeds, schedule={"batch_size": 2})
    # No result comes back until the second batch's bodies are in too: a pipeline that
    # waited for the first batch's parse before fetching the next one would hang here.
    workers = GatedWorkers(classifier, opens_after=4)

    async def go(p: Pipeline) -> Any:
        p.workers = workers
        return await asyncio.wait_for(p.poll_due(ignore_schedule=True), 20)
    s = run(config, Clock(NOW), go)
    assert s.feeds == 7 and s.ok == 7 and s.failed == 0 and s.items_new == 21
    assert [e.split()[0] for e in workers.log[:4]] == ["parse"] * 4
    assert count(run.engine, ItemRow) == 21
    assert count(run.engine, FetchAttemptRow) == 7
    with run.engine.connect() as conn:
        polls = conn.execute(select(FeedRow.polls)).scalars().all()
    assert sorted(polls) == [1] * 7


def test_a_failing_claim_still_stores_the_batches_in_hand(feed_server: FeedServer,
                                                          run: Any) -> None:
    feeds = [{"name": f"c{i}", "url": feed_server.feed(f"/c{i}.xml", rss(news(2, f"C{i}")))}
             for i in range(5)]
    config = make_config(feeds, schedule={"batch_size": 2})

    async def go(p: Pipeline) -> None:
        claims = 0
        real = p._claim

        def claim(*args: Any) -> Any:
            nonlocal claims
            claims += 1
            if claims == 3:
                raise RuntimeError("database went away")
            return real(*args)
        p._claim = claim  # type: ignore[method-assign]
        with pytest.raises(RuntimeError, match="went away"):
            await p.poll_due(ignore_schedule=True)
    run(config, Clock(NOW), go)
    # The first batch was stored before the third claim; the second, already fetched when
    # that claim failed, is stored too.
    assert count(run.engine, ItemRow) == 8
    assert count(run.engine, FetchAttemptRow) == 4


def test_claim_size_follows_the_share_of_cheap_polls() -> None:
    from monitor.pipeline import ClaimSize

    size = ClaimSize(40, lease=300)
    assert size.size == 40
    size.observe(40, 0, 1.0)                # everything new (or failed): batch_size
    assert size.size == 40
    size.observe(40, 40, 1.0)               # all 304 or unchanged: three times as many
    assert size.size == 120
    size.observe(120, 108, 1.0)             # 10% new: still capped at three times
    assert size.size == 120
    size.observe(120, 60, 1.0)              # half new: twice batch_size
    assert size.size == 80
    size.observe(0, 0, 0.0)                 # nothing claimed: unchanged
    assert size.size == 80
    size.reset()
    assert size.size == 40


def test_claim_size_keeps_a_batch_well_within_the_lease() -> None:
    """A slow batch (a per-host gap, timeouts) does not grow: a feed stays claimed while two
    batches are fetched, and a lease that expires lets another replica poll it as well."""
    from monitor.pipeline import ClaimSize

    size = ClaimSize(40, lease=300)
    size.observe(40, 40, 20.0)              # 2 feeds/s: 30 s (a tenth of the lease) is 60
    assert size.size == 60
    size.observe(60, 60, 60.0)              # 1 feed/s: 30 feeds, but never below batch_size
    assert size.size == 40


def test_batches_grow_while_polls_bring_nothing_new(feed_server: FeedServer, run: Any) -> None:
    feeds = [{"name": f"g{i}", "url": feed_server.feed(f"/g{i}.xml", rss(news(2, f"G{i}")))}
             for i in range(30)]
    config = make_config(feeds, schedule={"batch_size": 2})

    async def go(p: Pipeline) -> list[list[int]]:
        limits: list[list[int]] = []
        real = p._claim

        def claim(*args: Any) -> Any:
            limits[-1].append(p.claim_size.size)
            return real(*args)
        p._claim = claim  # type: ignore[method-assign]
        for _ in range(2):
            limits.append([])
            s = await p.poll_due(ignore_schedule=True)
            assert s.feeds == 30 and s.failed == 0
        return limits
    cold, unchanged = run(config, Clock(NOW), go)
    assert set(cold) == {2}                 # every poll brought a body to parse
    assert unchanged[:2] == [2, 2] and set(unchanged[2:]) == {6}  # once a batch was seen
    assert count(run.engine, FetchAttemptRow) == 60
    with run.engine.connect() as conn:
        assert sorted(conn.execute(select(FeedRow.polls)).scalars()) == [2] * 30


def test_failing_polls_do_not_grow_the_batches(feed_server: FeedServer, run: Any) -> None:
    feeds = [{"name": f"e{i}", "url": feed_server.add(f"/e{i}.xml", lambda req: Reply(500, b""))}
             for i in range(12)]
    config = make_config(feeds, schedule={"batch_size": 2})

    async def go(p: Pipeline) -> list[int]:
        sizes: list[int] = []
        real = p._claim

        def claim(*args: Any) -> Any:
            sizes.append(p.claim_size.size)
            return real(*args)
        p._claim = claim  # type: ignore[method-assign]
        s = await p.poll_due(ignore_schedule=True)
        assert s.failed == 12
        return sizes
    assert set(run(config, Clock(NOW), go)) == {2}


def test_a_cycle_summary_adds_every_count() -> None:
    from dataclasses import fields

    from monitor.polls import CycleSummary

    counts = [f.name for f in fields(CycleSummary) if f.name not in ("local_outage", "errors")]
    a = CycleSummary(**{n: i + 1 for i, n in enumerate(counts)}, errors=["a"])
    a.add(CycleSummary(**{n: 10 for n in counts}, local_outage=True, errors=["b"]))
    assert [getattr(a, n) for n in counts] == [i + 11 for i in range(len(counts))]
    assert a.local_outage and a.errors == ["a", "b"]
