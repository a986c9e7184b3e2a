"""The store on both databases: migrations, identity, stories, leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select

from monitor.config import Config, FeedConfig
from monitor.errors import StoreError
from monitor.model import ParsedItem
from monitor.store.db import (
    SQLITE_BUSY_MS,
    SQLITE_WAL_PAGES,
    current_revision,
    ensure_schema,
    make_engine,
    migrations_dir,
    sessions,
)
from monitor.store.feeds import (
    attempt,
    claim_due_feeds,
    prune_fetch_attempts,
    record_attempts,
    sync_feeds,
)
from monitor.store.tables import Base, FeedRow, ItemRow
from tests.store_oracle import insert_items

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def item(ident: str, url: str | None = None, fp: str = "", title: str = "t") -> ParsedItem:
    return ParsedItem(identity=ident, title=title, url=url, link=url, fingerprint=fp or ident,
                      published=NOW - timedelta(hours=1))


def config(*names: str) -> Config:
    return Config(feeds=[FeedConfig(name=n, url=f"https://example.org/{n}") for n in names])


def test_migrations_match_models(engine: Any) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_ensure_schema_upgrades_empty_sqlite(sqlite_url: str) -> None:
    head = ScriptDirectory(migrations_dir()).get_current_head()
    eng = make_engine(sqlite_url)
    try:
        assert current_revision(eng) is None and not inspect(eng).get_table_names()
        with pytest.raises(StoreError, match="run `monitor db upgrade` first"):
            ensure_schema(eng, auto=False)      # neither asked to upgrade nor to create
        ensure_schema(eng, auto=False, create=True)  # an empty SQLite file gets its schema
        assert current_revision(eng) == head
        assert set(Base.metadata.tables) <= set(inspect(eng).get_table_names())
        ensure_schema(eng, auto=False, create=True)  # at head: nothing to do
        assert current_revision(eng) == head
    finally:
        eng.dispose()


def test_sqlite_connections_get_their_pragmas(sqlite_url: str) -> None:
    eng = make_engine(sqlite_url)
    with eng.connect() as conn:
        got = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in (
            "journal_mode", "synchronous", "foreign_keys", "busy_timeout", "wal_autocheckpoint")}
    eng.dispose()
    assert got == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1,
                   "busy_timeout": SQLITE_BUSY_MS, "wal_autocheckpoint": SQLITE_WAL_PAGES}


def test_items_stored_once_and_stories_linked(engine: Any) -> None:
    mk = sessions(engine)
    with mk.begin() as s:
        sync_feeds(s, config("a", "b"), NOW)
    with mk.begin() as s:
        a, b = (s.scalar(select(FeedRow.id).where(FeedRow.name == n)) for n in ("a", "b"))
        rows = insert_items(s, a, [item("1", "https://x.org/1"), item("2", None, "fp2"),
                                           item("1", "https://x.org/1")], NOW)
        assert len(rows) == 2
    with mk.begin() as s:
        assert insert_items(s, a, [item("1", "https://x.org/1")], NOW) == []
        again = insert_items(s, b, [item("x", "https://x.org/1"),
                                            item("y", None, "fp2"), item("z", None, "fp3")], NOW)
        assert len(again) == 3
    with mk() as s:
        got = {r.identity: r for r in s.scalars(select(ItemRow))}
        assert got["x"].story_id == got["1"].id  # same canonical URL from another feed
        assert got["y"].story_id == got["2"].id  # same fingerprint
        assert got["z"].story_id == got["z"].id
        assert got["1"].first_seen_at == NOW and got["1"].first_seen_at.tzinfo is not None


def test_sync_feeds_adds_changes_and_retires(engine: Any) -> None:
    mk = sessions(engine)
    with mk.begin() as s:
        assert sync_feeds(s, config("a", "b"), NOW)["added"] == ["a", "b"]
    with mk.begin() as s:
        out = sync_feeds(s, config("b", "c"), NOW)
    assert out == {"added": ["c"], "changed": [], "removed": ["a"]}
    with mk() as s:
        a = s.scalar(select(FeedRow).where(FeedRow.name == "a"))
        assert a is not None and not a.enabled and a.disabled_reason == "removed from config"
    with mk.begin() as s:
        sync_feeds(s, config("a", "b", "c"), NOW)
    with mk() as s:
        a = s.scalar(select(FeedRow).where(FeedRow.name == "a"))
        assert a is not None and a.enabled


def test_claims_are_disjoint_and_leases_expire(engine: Any) -> None:
    mk = sessions(engine)
    with mk.begin() as s:
        sync_feeds(s, config(*[f"f{i}" for i in range(10)]), NOW)
    lease = timedelta(minutes=5)
    with mk.begin() as s:
        one = claim_due_feeds(s, owner="r1", now=NOW, lease=lease, limit=6)
    with mk.begin() as s:
        two = claim_due_feeds(s, owner="r2", now=NOW, lease=lease, limit=6)
    assert len(one) == 6 and len(two) == 4
    assert not {f.id for f in one} & {f.id for f in two}
    with mk.begin() as s:
        assert claim_due_feeds(s, owner="r3", now=NOW, lease=lease, limit=10) == []
    later = NOW + lease + timedelta(seconds=1)  # r1 died: its feeds are claimed again
    with mk.begin() as s:
        three = claim_due_feeds(s, owner="r3", now=later, lease=lease, limit=10)
    assert len(three) == 10


def test_a_claim_skips_the_feeds_it_is_told_to(engine: Any) -> None:
    """A cycle claims batch after batch and excludes what it claimed already (one array
    parameter, however many): even feeds whose lease the same owner holds, which a claim
    otherwise takes back as stale, and feeds polled already when the schedule is ignored."""
    mk = sessions(engine)
    with mk.begin() as s:
        sync_feeds(s, config(*[f"f{i}" for i in range(1200)]), NOW)
    lease = timedelta(minutes=5)
    taken: list[int] = []
    with mk.begin() as s:
        while got := claim_due_feeds(s, owner="r1", now=NOW, lease=lease, limit=100,
                                             ignore_schedule=True, exclude=taken):
            assert not {f.id for f in got} & set(taken)
            taken += [f.id for f in got]
    assert len(taken) == len(set(taken)) == 1200
    with mk.begin() as s:                   # the owner's own leases are taken back as stale
        again = claim_due_feeds(s, owner="r1", now=NOW, lease=lease, limit=2000,
                                        exclude=taken[:7])
    assert sorted(f.id for f in again) == sorted(taken[7:])


def test_a_claim_never_takes_more_than_its_limit_whatever_the_plan(pg_url: str) -> None:
    """PostgreSQL may run ``UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)``
    as a nested-loop semi join that re-runs the subquery per row: each run skips the rows the
    statement already locked and takes more, past the LIMIT (found in review). The claim's
    subquery is a CTE, which runs once. Forcing that plan shape here must not matter."""
    from sqlalchemy import text

    from monitor.store.db import upgrade

    eng = make_engine(pg_url)
    upgrade(eng)
    mk = sessions(eng)
    try:
        with mk.begin() as s:
            sync_feeds(s, config(*[f"f{i}" for i in range(10)]), NOW)
        with mk.begin() as s:
            for knob in ("hashjoin", "mergejoin", "hashagg", "sort", "material"):
                s.execute(text(f"SET LOCAL enable_{knob} = off"))
            got = claim_due_feeds(s, owner="r1", now=NOW,
                                          lease=timedelta(minutes=5), limit=5)
            leased = s.scalar(select(func.count()).select_from(FeedRow)
                              .where(FeedRow.lease_owner == "r1"))
        assert len(got) == 5 and leased == 5
    finally:
        eng.dispose()


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1)])
def test_naive_datetimes_are_refused(engine: Any, bad: datetime) -> None:
    mk = sessions(engine)
    with pytest.raises(Exception, match="naive"), mk.begin() as s:
        s.add(FeedRow(name="n", url="https://x.org", created_at=bad, interval_s=1.0,
                      enabled=True, in_config=True, failures=0, unhealthy=False, polls=0))
        s.flush()


def test_upgrade_from_the_first_revision_keeps_data(db_url: str) -> None:
    from monitor.store.db import current_revision, upgrade

    eng = make_engine(db_url)
    try:
        upgrade(eng, "0001")
        with sessions(eng).begin() as s:
            sync_feeds(s, config("a"), NOW)
        upgrade(eng)
        assert current_revision(eng) != "0001"
        with sessions(eng)() as s:
            assert s.scalar(select(FeedRow.name)) == "a"
    finally:
        eng.dispose()


def test_poll_records_default_missing_numbers_and_follow_new_feeds(engine: Any) -> None:
    """Poll records go to the table, not through the ORM: a number left None is still
    stored as 0, and a feed added in the same session is written before its record."""
    from monitor.store.tables import FetchAttemptRow

    mk = sessions(engine)
    with mk.begin() as s:
        s.add(FeedRow(id=4242, name="new", url="http://example.org/new.xml",
                      created_at=NOW, next_check_at=NOW))   # pending: not flushed
        record_attempts(s, [attempt(
            feed_id=4242, started_at=NOW, url="u", status=None, outcome="error",
            duration=None, nbytes=None, seen=None, new=None, error="x",  # type: ignore[arg-type]
            worker="w")])
    with mk() as s:
        got = s.execute(select(FetchAttemptRow.duration, FetchAttemptRow.bytes,
                               FetchAttemptRow.items_seen, FetchAttemptRow.items_new)).one()
        assert tuple(got) == (0.0, 0, 0, 0)


def test_old_poll_records_are_pruned(engine: Any) -> None:
    from monitor.store.tables import FetchAttemptRow

    mk = sessions(engine)
    with mk.begin() as s:
        sync_feeds(s, config("a"), NOW)
    with mk.begin() as s:
        fid = s.scalar(select(FeedRow.id))
        for days in (40, 31, 1):
            record_attempts(s, [attempt(
                feed_id=fid, started_at=NOW - timedelta(days=days), url="u", status=200,
                outcome="new", duration=0.1, nbytes=1, seen=1, new=1, error=None, worker="w")])
    with mk.begin() as s:
        assert prune_fetch_attempts(s, before=NOW - timedelta(days=30), limit=1) == 1
        assert prune_fetch_attempts(s, before=NOW - timedelta(days=30), limit=10) == 1
    with mk() as s:
        assert len(list(s.scalars(select(FetchAttemptRow.id)))) == 1
