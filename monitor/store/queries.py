"""The queries each stage needs. The caller owns the session (one per unit of work)."""

from __future__ import annotations

import functools
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.model import Classification, ParsedItem
from monitor.store.tables import (
    AlertRow,
    ChannelStateRow,
    DeliveryAttemptRow,
    FeedRow,
    FetchAttemptRow,
    ItemRow,
    MilestoneRow,
    MilestoneSourceRow,
)

# -- feeds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedState:
    """What a poll needs to know of a feed, read when it is claimed."""

    id: int
    name: str
    url: str
    language: str | None
    interval: float
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    failures: int
    unhealthy: bool
    last_unconditional_at: datetime | None
    outlet: str | None


def sync_feeds(session: Session, config: Config, now: datetime) -> dict[str, list[str]]:
    """Make the feeds table match the config: add, update, and retire what was removed.

    Replicas starting together would insert the same new feeds: on PostgreSQL a
    transaction-scoped advisory lock makes them take turns (SQLite's writers already do).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('monitor:sync_feeds'))"))
    rows = {r.name: r for r in session.scalars(select(FeedRow))}
    out: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    for f in config.feeds:
        interval = config.feed_interval(f)
        row = rows.pop(f.name, None)
        if row is None:
            session.add(FeedRow(name=f.name, url=f.url, language=f.language, outlet=f.outlet,
                                interval_s=interval, enabled=f.enabled, in_config=True,
                                next_check_at=now, created_at=now, failures=0, unhealthy=False,
                                polls=0,
                                disabled_reason=None if f.enabled else "disabled in config"))
            out["added"].append(f.name)
            continue
        changed = (row.url != f.url or row.language != f.language or row.interval_s != interval
                   or not row.in_config or row.outlet != f.outlet
                   or (row.enabled != f.enabled
                       and (f.enabled or row.disabled_reason == "disabled in config")))
        if row.url != f.url:  # a new URL: forget what we knew of the old one
            row.url, row.current_url, row.etag, row.last_modified, row.body_hash = (
                f.url, None, None, None, None)
            row.failures, row.unhealthy, row.next_check_at = 0, False, now
        if not f.enabled:
            row.enabled, row.disabled_reason = False, "disabled in config"
        elif not row.enabled and row.disabled_reason in ("disabled in config", "removed from config"):
            row.enabled, row.disabled_reason, row.next_check_at = True, None, now
        row.language, row.interval_s, row.in_config, row.outlet = (
            f.language, interval, True, f.outlet)
        if changed:
            out["changed"].append(f.name)
    for name, row in rows.items():
        if row.in_config:
            row.in_config, row.enabled, row.disabled_reason = False, False, "removed from config"
            out["removed"].append(name)
    return out


def claim_due_feeds(session: Session, *, owner: str, now: datetime, lease: timedelta,
                    limit: int, names: Sequence[str] | None = None,
                    ignore_schedule: bool = False,
                    exclude: Iterable[int] = ()) -> list[FeedState]:
    """Claim up to ``limit`` due feeds for ``owner`` until the lease expires.

    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets replicas claim disjoint sets; a lease left by a
    dead replica expires and the feed is claimed again. ``exclude``: feeds not to claim (those
    this cycle claimed already).
    """
    params: dict[str, Any] = {"owner": owner, "now": now, "until": now + lease, "limit": limit}
    if names:
        params["names"] = list(names)
    skip = list(exclude)
    postgres = session.get_bind().dialect.name == "postgresql"
    if skip:
        params["skip"] = skip if postgres else json.dumps(skip)
    stmt = _claim_statement(ignore_schedule, bool(names), ("pg" if postgres else "json")
                            if skip else None)
    rows = list(session.connection().execute(stmt, params))
    # RETURNING has no order: the schedule's (unscheduled feeds first, as SQLite sorts them).
    rows.sort(key=lambda r: (r.next_check_at is not None, r.next_check_at or now, r.id))
    return [FeedState(r.id, r.name, r.current_url or r.url, r.language, r.interval_s, r.etag,
                      r.last_modified, r.body_hash, r.failures, r.unhealthy,
                      r.last_unconditional_at, r.outlet)
            for r in rows]


@functools.cache
def _claim_statement(ignore_schedule: bool, by_name: bool, skip: str | None) -> Any:
    """The claim, built once per shape, on the table (the ORM's bulk-update path and building
    the statement anew were two thirds of a claim's Python time).

    One statement, WITH due AS (SELECT ... FOR UPDATE SKIP LOCKED) UPDATE ... RETURNING what a
    poll needs, instead of loading whole rows and flushing their leases. The CTE matters:
    PostgreSQL may re-run a plain IN (subquery) per row (a nested-loop semi join), and each
    re-run skips the rows already locked and takes more, past the LIMIT. A CTE with FOR
    UPDATE is never inlined, so it runs once.
    """
    f = _FEEDS.c
    now = bindparam("now", type_=f.lease_until.type)
    # A lease this owner still holds is stale, unless excluded: its earlier claim ended (or
    # failed before it could release the lease).
    cond = [f.enabled.is_(True),
            or_(f.lease_until.is_(None), f.lease_until < now, f.lease_owner == bindparam("owner"))]
    if not ignore_schedule:
        cond.append(or_(f.next_check_at.is_(None), f.next_check_at <= now))
    if by_name:
        cond.append(f.name.in_(bindparam("names", expanding=True)))
    # The feeds to skip are one parameter, an array, however many this cycle claimed already:
    # an expanding IN re-rendered the statement with up to 1000 placeholders on every claim.
    # On PostgreSQL, NOT IN over unnest() of a bigint[], not <> ALL(array): once psycopg
    # prepares the claim, the generic plan checks every candidate row against the whole array
    # (seconds a claim at 20,000 feeds), where NOT IN (subquery) stays a hashed subplan.
    if skip == "pg":
        cond.append(f.id.not_in(select(func.unnest(bindparam("skip",
                                                            type_=ARRAY(BigInteger))))))
    elif skip == "json":
        cond.append(f.id.not_in(select(column("value")).select_from(
            func.json_each(bindparam("skip", type_=Text)))))
    due = (select(f.id).where(and_(*cond)).order_by(f.next_check_at, f.id)
           .limit(bindparam("limit", type_=Integer)).with_for_update(skip_locked=True)
           .cte("due"))
    return (update(_FEEDS).where(f.id.in_(select(due.c.id)))
            .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"))
            .returning(*(f[k] for k in _STATE_COLUMNS)))


_STATE_COLUMNS = ("id", "name", "url", "current_url", "language", "interval_s", "etag",
                  "last_modified", "body_hash", "failures", "unhealthy", "last_unconditional_at",
                  "outlet", "next_check_at")


def _lease(session: Session, model: Any, cond: list[Any], order: tuple[Any, ...], *,
           limit: int, owner: str, now: datetime, lease: timedelta) -> list[Any]:
    """Claim up to ``limit`` rows matching ``cond`` for ``owner`` until ``now + lease``.

    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets replicas claim disjoint rows at once (SQLite
    ignores it: its single writer already serialises claims).
    """
    q = (select(model).where(and_(*cond)).order_by(*order).limit(limit)
         .with_for_update(skip_locked=True))
    rows = list(session.scalars(q))
    for row in rows:
        row.lease_owner, row.lease_until = owner, now + lease
    session.flush()
    return rows


def release_feed(session: Session, feed_id: int, owner: str) -> None:
    session.execute(update(FeedRow).where(FeedRow.id == feed_id, FeedRow.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None))


_FEEDS = cast(Table, FeedRow.__table__)
_ITEMS = cast(Table, ItemRow.__table__)
_IDENTITY_CHARS = cast(int, cast(String, _ITEMS.c.identity.type).length)


def stored_identity(identity: str) -> str:
    """An item's identity as the items table holds it: cut to its column's length (the parser
    keeps up to 1,000 characters). Look identities up this way, else such an item is new at
    every poll (found in review)."""
    return identity[:_IDENTITY_CHARS]


class FeedPatch:
    """A feed's row as a poll's store sees it: the columns it reads, and every assignment
    recorded in ``changes``, which ``update_feeds`` writes with one executemany per set of
    columns. Loading whole rows into the ORM and flushing them was half of a 304 cycle's
    store (75-84 ms against 30-37 for 1000 feeds on SQLite, 145-185 against 70-119 on
    PostgreSQL). Reading a column that was neither loaded nor assigned is an error."""

    READ = ("id", "name", "url", "current_url", "unhealthy", "silent_since", "lease_owner",
            "polls")
    _COLUMNS = frozenset(c.key for c in _FEEDS.columns)

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "changes", {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"FeedPatch has no {name!r} (not loaded)") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._COLUMNS or name == "id":
            raise AttributeError(f"feeds has no assignable column {name!r}")
        if name in self._values and name not in self.changes and self._values[name] == value:
            return                  # as the ORM: a loaded column set to its value is not written
        self._values[name] = value
        self.changes[name] = value


_PATCH_READ = (select(*(_FEEDS.c[k] for k in FeedPatch.READ))
               .where(_FEEDS.c.id.in_(bindparam("ids", expanding=True))))
_PATCH_WRITE = update(_FEEDS).where(_FEEDS.c.id == bindparam("_id"))


def feed_patches(session: Session, ids: Sequence[int]) -> dict[int, FeedPatch]:
    """The feeds' rows to update after a poll, by id, in one query per 500."""
    conn = session.connection()
    out: dict[int, FeedPatch] = {}
    for chunk in _chunks(list(ids), 500):
        for r in conn.execute(_PATCH_READ, {"ids": list(chunk)}):
            out[r.id] = FeedPatch(dict(r._mapping))
    return out


def update_feeds(session: Session, patches: Iterable[FeedPatch]) -> None:
    """Write what was assigned to each patch, in the order of the feeds' ids (as the ORM's
    flush, so row locks are taken in one order by every writer): one executemany per run of
    feeds with the same columns assigned (all of a 304 cycle's are one run)."""
    rows = sorted((p for p in patches if p.changes), key=lambda p: p.id)
    if not rows:
        return
    conn = session.connection()
    for _columns, run in itertools.groupby(rows, key=lambda p: sorted(p.changes)):
        conn.execute(_PATCH_WRITE, [{"_id": p.id, **p.changes} for p in run])


_Row = TypeVar("_Row", FeedRow, ItemRow)


def rows_by_id(session: Session, model: type[_Row], ids: Sequence[int]) -> dict[int, _Row]:
    """Rows of one table by id, in one query per 500 ids."""
    out: dict[int, _Row] = {}
    for chunk in _chunks(list(ids), 500):
        out.update((r.id, r) for r in session.scalars(
            select(model).where(model.id.in_(chunk))))
    return out


# -- items -----------------------------------------------------------------------------------


def insert_items(session: Session, feed_id: int, items: Sequence[ParsedItem],
                 now: datetime) -> list[ItemRow]:
    """Store the items this feed has not stored before; return the new rows (flushed, with ids).

    Identity is unique per feed (a database constraint), so a concurrent or repeated poll cannot
    store one twice; a story seen from another feed is linked by ``story_id``.
    """
    if not items:
        return []
    idents = list({stored_identity(i.identity) for i in items})
    known: set[str] = set()
    for chunk in _chunks(idents, 500):
        known.update(session.scalars(select(ItemRow.identity).where(
            ItemRow.feed_id == feed_id, ItemRow.identity.in_(chunk))))
    fresh: dict[str, ParsedItem] = {}
    for it in items:
        ident = stored_identity(it.identity)
        if ident not in known and ident not in fresh:
            fresh[ident] = it
    if not fresh:
        return []
    rows = [ItemRow(feed_id=feed_id, identity=ident, url=it.url, link=it.link,
                    title=it.title, summary=it.summary, content=it.content, author=it.author,
                    language=it.language, published=it.published, first_seen_at=now,
                    fingerprint=it.fingerprint, raw=it.raw, watchlists=[], actors=[],
                    milestones=[])
            for ident, it in fresh.items()]
    session.add_all(rows)
    session.flush()
    _link_stories(session, rows)
    return rows


def _one_of(conn: Any, column: str, values: Sequence[Any],
            array_type: str = "text") -> Iterator[tuple[str, tuple[Any, ...]]]:
    """``column`` is one of ``values``, as driver SQL: (condition, its parameters) for each
    statement to run; ``array_type`` is the values' PostgreSQL type. The store's hot lookups go straight to the driver, as SQLAlchemy's
    rendering of an expanding IN of hundreds of values cost more than the query.

    On PostgreSQL, one statement whatever the number of values, with one text[] parameter
    (``= ANY``, sent in binary): psycopg converts a statement of more than 50 parameters anew
    at every execution, and an IN has one per value. On SQLite, an IN of 500 placeholders at
    most (the driver keeps the statement of each length it has seen).
    """
    if not values:
        return
    if conn.dialect.name == "postgresql":
        yield f"{column} = ANY(%b::{array_type}[])", (list(values),)
        return
    for chunk in _chunks(values, 500):
        yield f"{column} IN ({', '.join('?' * len(chunk))})", tuple(chunk)


def _placeholder(conn_or_dialect: Any) -> str:
    dialect = getattr(conn_or_dialect, "dialect", conn_or_dialect)
    return "?" if dialect.paramstyle == "qmark" else "%s"


@dataclass(frozen=True)
class StoredItem:
    """A row ``store_items`` inserted: its id, feed, the parsed item and its classification."""

    id: int
    feed_id: int
    item: ParsedItem
    classification: Classification | None


def store_items(session: Session, batch: Sequence[tuple[int, Sequence[ParsedItem]]],
                now: datetime, classify: Callable[[ParsedItem], Classification] | None = None,
                ) -> list[StoredItem]:
    """Bulk ``insert_items`` for several feeds: statements of up to 256 new items.

    Each new item is classified before the insert (``classify``) so its classification goes in
    the same row, with no UPDATE after. Rows another transaction stored meanwhile are skipped
    (ON CONFLICT DO NOTHING on the (feed, identity) constraint). Returns the rows inserted, in
    feed order then document order, with stories linked as ``insert_items`` links them.

    This is the cold cycle's hot path, so the rows go to the driver as they are (see
    ``_ItemInsert``) rather than through SQLAlchemy's per-row parameter processing, which cost
    more than the database's own work; the stored values are the same (tests/test_store_bulk).
    The rows' ids are taken before the insert, as the database would give them (``_new_ids``),
    so that each row is written once, with its story id: setting the story ids with an UPDATE
    after the insert wrote every row twice, which on PostgreSQL (where a row's update is a new
    row version, with new entries in the items' indexes) cost 20-30% of the server's work in
    a cold cycle.
    """
    fresh: list[tuple[int, ParsedItem]] = []
    conn = session.connection()
    known = _stored_pairs(conn, [(feed_id, ident) for feed_id, items in batch
                                 for ident in {stored_identity(i.identity) for i in items}])
    for feed_id, items in batch:
        seen: set[str] = set()
        for it in items:
            ident = stored_identity(it.identity)
            if (feed_id, ident) not in known and ident not in seen:
                seen.add(ident)
                fresh.append((feed_id, it))
    if not fresh:
        return []
    classes = [classify(it) if classify is not None else None for _, it in fresh]
    pending = [StoredItem(id_, feed_id, it, c) for id_, (feed_id, it), c
               in zip(_new_ids(conn, len(fresh)), fresh, classes, strict=True)]
    links = _story_ids(session, pending)
    insert_rows = _ItemInsert(conn.dialect, now)
    values = [insert_rows.values(p.id, links[p.id], p.feed_id, p.item, p.classification)
              for p in pending]
    inserted: set[int] = set()
    if conn.dialect.name == "postgresql":
        for chunk in _chunks(values, _ItemInsert.ARRAY_ROWS):
            inserted.update(r[0] for r in conn.exec_driver_sql(
                insert_rows.unnest_sql, tuple(list(column) for column in zip(*chunk))))
    else:
        # SQLite: no RETURNING. Under the store's write lock (BEGIN IMMEDIATE) no row can be
        # stored meanwhile, so the count of rows inserted tells; only a mismatch, which needs
        # another writer, reads back which of the ids went in. (Fetching each returned row
        # is a step of the statement, and the GIL is released and taken again around each.)
        start = count = 0
        for size in _ItemInsert.chunk_sizes(len(values)):
            chunk = values[start:start + size]
            start += size
            count += conn.exec_driver_sql(
                insert_rows.sql(size),
                tuple(itertools.chain.from_iterable(chunk))).rowcount
        if count == len(pending):
            return pending
        for cond, params in _one_of(conn, "id", [p.id for p in pending], "bigint"):
            inserted.update(r[0] for r in conn.exec_driver_sql(
                f"SELECT id FROM items WHERE {cond}", params))
    if len(inserted) == len(pending):
        return pending
    # Some rows were stored by another transaction meanwhile (PostgreSQL replicas; SQLite's
    # write lock rules it out) and skipped: stories may point at them. The rows inserted are
    # linked again as they would have been without the skipped ones.
    stored = [p for p in pending if p.id in inserted]
    if stored:
        _relink(session, stored)
    return stored


def _stored_pairs(conn: Any, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of the (feed id, identity) pairs are stored: one statement for a batch of feeds
    on PostgreSQL (two arrays), one per 500 pairs on SQLite (a VALUES list joined to the
    items' unique index), where one statement per feed cost a statement's fixed price and,
    in the store's thread, a wait for the GIL after each (SQLite's calls release it)."""
    known: set[tuple[int, str]] = set()
    if not pairs:
        return known
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT i.feed_id, i.identity FROM unnest(%b::bigint[], %b::text[]) AS v(f, ident)"
            " JOIN items i ON i.feed_id = v.f AND i.identity = v.ident",
            ([f for f, _ in pairs], [ident for _, ident in pairs]))
        known.update((r[0], r[1]) for r in rows)
        return known
    for chunk in _chunks(pairs, 500):
        rows = conn.exec_driver_sql(
            "SELECT i.feed_id, i.identity FROM (VALUES " + ", ".join(["(?, ?)"] * len(chunk))
            + ") AS v JOIN items i ON i.feed_id = v.column1 AND i.identity = v.column2",
            tuple(itertools.chain.from_iterable(chunk)))
        known.update((r[0], r[1]) for r in rows)
    return known


def _new_ids(conn: Any, n: int) -> list[int]:
    """The ids the next ``n`` rows of items get, in insert order, as the database would give
    them: PostgreSQL's sequence (each taken, as an insert takes one even for a row it skips);
    on SQLite one above the largest rowid, as SQLite does (the store holds the write lock from
    BEGIN IMMEDIATE, so no other writer takes one meanwhile)."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('items', 'id')) FROM generate_series(1, %s)",
            (n,))
        return sorted(r[0] for r in rows)
    top = conn.exec_driver_sql("SELECT max(id) FROM items").scalar()
    return list(range((top or 0) + 1, (top or 0) + 1 + n))


def _relink(session: Session, stored: Sequence[StoredItem]) -> None:
    """Story ids of rows just inserted, set again from scratch (their own cleared first)."""
    conn = session.connection()
    ids = [p.id for p in stored]
    for chunk in _chunks(ids, 500):
        conn.execute(update(_ITEMS).where(_ITEMS.c.id.in_(chunk)).values(story_id=None))
    links = _story_ids(session, stored)
    conn.execute(update(_ITEMS).where(_ITEMS.c.id == bindparam("_id"))
                 .values(story_id=bindparam("_sid")),
                 [{"_id": i, "_sid": sid} for i, sid in links.items()])


class _ItemInsert:
    """``INSERT INTO items ... ON CONFLICT DO NOTHING`` with rows as driver values.

    Datetimes go through the column type's own bind processor and JSON is ``json.dumps``, as
    SQLAlchemy would send them; the empty lists most items have are encoded once.

    SQLite takes multi-row VALUES. PostgreSQL takes one array per column, ``INSERT ... SELECT
    FROM unnest(...)``: a short statement of 22 parameters whatever the number of rows, which
    psycopg converts once and the server prepares once, with the arrays sent in binary. A
    VALUES statement of 256 rows has 5,632 parameters, which psycopg parsed anew at every
    execution (it caches statements of at most 50 parameters), and the server too. Storing
    30,000 farm items in batches of 1,200: our CPU 3.7-4.2 s -> 0.7-0.8 s, the server's 2.7 ->
    1.0-1.1 s (with the story ids set in the insert).
    """

    COLUMNS = ("id", "story_id", "feed_id", "identity", "url", "link", "title", "summary",
               "content", "author", "language", "published", "first_seen_at", "fingerprint",
               "raw", "watchlists", "actors", "milestones", "classified_at", "relevant", "score",
               "classifier_version")
    JSON_COLUMNS = frozenset({"raw", "watchlists", "actors", "milestones"})

    def __init__(self, dialect: Any, now: datetime) -> None:
        if dialect.name not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"bulk insert on {dialect.name}")
        date_type = _ITEMS.c.published.type.dialect_impl(dialect)
        self._date: Callable[[Any], Any] = date_type.bind_processor(dialect) or (lambda v: v)
        self._now = self._date(now)
        holder = _placeholder(dialect)
        cast_json = "::json" if dialect.name == "postgresql" else ""
        self._row = "(" + ", ".join(holder + (cast_json if c in self.JSON_COLUMNS else "")
                                    for c in self.COLUMNS) + ")"
        self._head = f"INSERT INTO items ({', '.join(self.COLUMNS)}) VALUES "
        self._tail = " ON CONFLICT (feed_id, identity) DO NOTHING"
        self._versions: dict[int, str] = {}
        if dialect.name == "postgresql":
            self.unnest_sql = self._unnest_sql(dialect)

    # Rows per PostgreSQL statement: its arrays are built and sent at once. 5,000 raised the
    # cold cycle's peak by 4 MB, for no speed (store_items of 30,000 items: 256, 1,000 and
    # 5,000 rows a statement within noise of each other).
    ARRAY_ROWS = 256

    @classmethod
    @functools.cache
    def _unnest_sql(cls, dialect: Any) -> str:
        names = ", ".join(cls.COLUMNS)
        # Strings and JSON as text[]: the insert's own assignment casts then apply, as with
        # VALUES (a value too long for a VARCHAR fails rather than being cut by the cast).
        # "%b": psycopg sends the arrays in binary, where the text format escapes every
        # element with a regex (most of the statement's cost on our side).
        arrays = ", ".join(
            "%b::text[]" if c in cls.JSON_COLUMNS or isinstance(_ITEMS.c[c].type, String) else
            f"%b::{_ITEMS.c[c].type.dialect_impl(dialect).compile(dialect=dialect)}[]"
            for c in cls.COLUMNS)
        picked = ", ".join(f"u.{c}::json" if c in cls.JSON_COLUMNS else f"u.{c}"
                           for c in cls.COLUMNS)
        return (f"INSERT INTO items ({names}) SELECT {picked} FROM unnest({arrays}) AS u({names})"
                " ON CONFLICT (feed_id, identity) DO NOTHING RETURNING id")

    # Rows per statement. The driver keeps each prepared statement it has run (SQLite: about
    # 2.6 KB per row of VALUES), so a few fixed sizes keep that cache small, where one size per
    # batch length would fill it with megabytes.
    SIZES = (256, 64, 16, 4, 1)

    @classmethod
    def chunk_sizes(cls, n: int) -> list[int]:
        out = []
        for size in cls.SIZES:
            count, n = divmod(n, size)
            out += [size] * count
        return out

    def sql(self, rows: int) -> str:
        """SQLite's statement of ``rows`` rows (without RETURNING; see ``store_items``)."""
        return self._head + ", ".join([self._row] * rows) + self._tail

    def values(self, id_: int, story_id: int, feed_id: int, it: ParsedItem,
               c: Classification | None) -> tuple[Any, ...]:
        published = self._date(it.published) if it.published is not None else None
        head = (id_, story_id, feed_id, stored_identity(it.identity), it.url, it.link, it.title,
                it.summary, it.content, it.author, it.language, published, self._now,
                it.fingerprint, json.dumps(it.raw))
        if c is None:
            return (*head, "[]", "[]", "[]", None, None, None, None)
        # Workers send one object for all their "nothing here" results: encoded once.
        # (Keyed by id: every classification of the batch is alive until the insert ends.)
        versions = self._versions.get(id(c.versions))
        if versions is None:
            versions = self._versions[id(c.versions)] = (
                _SORTED_JSON.encode(c.versions) if c.versions else "")
        return (*head, _json_list(c.watchlists), _json_list(c.actors),
                _json_list(c.to_json()["milestones"]) if c.milestones else "[]", self._now,
                c.relevant, c.score, versions or None)


# What json.dumps(value, sort_keys=True) gives, without building an encoder per call (dumps
# reuses its cached one only with the default options).
_SORTED_JSON = json.JSONEncoder(sort_keys=True)


def _json_list(values: Sequence[Any]) -> str:
    return json.dumps(list(values)) if values else "[]"


def _story_ids(session: Session, stored: Sequence[StoredItem]) -> dict[int, int]:
    """Story ids exactly as feed-by-feed ``insert_items`` calls would have set them.

    Per feed, the first item of a story is the lowest story id of the stored rows that share
    its URL or fingerprint, if there are any; else the lowest of the story ids earlier feeds of
    this batch were given and the ids of this feed's own new rows. Without another writer the
    stored rows' ids are all below the batch's, so that is the lowest of them all, as
    ``insert_items`` takes it. The batch's ids are taken before the insert, though, and a
    PostgreSQL replica may commit rows of the same story with higher ids meanwhile: the story
    it stored first is kept rather than split in two (found in review, with two replicas).
    """
    urls = list(dict.fromkeys(s.item.url for s in stored if s.item.url))
    prints = list(dict.fromkeys(s.item.fingerprint for s in stored if s.item.fingerprint))
    newest = min(s.id for s in stored)      # rows below it were stored before this batch
    first: dict[tuple[str, str], int] = {}
    conn = session.connection()
    for col, values, tag in (("url", urls, "u"), ("fingerprint", prints, "f")):
        for cond, params in _one_of(conn, col, values):
            for value, sid in conn.exec_driver_sql(
                    f"SELECT {col}, min(coalesce(story_id, id)) FROM items WHERE {cond}"
                    f" AND (story_id IS NOT NULL OR id < {_placeholder(conn)}) GROUP BY {col}",
                    (*params, newest)):
                first[(tag, value)] = sid

    stored_before = set(first)

    def lower(key: tuple[str, str], value: int) -> None:
        if key[1] and key not in stored_before and (key not in first or value < first[key]):
            first[key] = value
    out: dict[int, int] = {}
    i = 0
    while i < len(stored):
        j = i
        while j < len(stored) and stored[j].feed_id == stored[i].feed_id:
            j += 1
        group = stored[i:j]
        for s in group:                       # this feed's rows, still without a story id
            lower(("u", s.item.url or ""), s.id)
            lower(("f", s.item.fingerprint), s.id)
        for s in group:
            keys = (("u", s.item.url or ""), ("f", s.item.fingerprint))
            ids = ([first[k] for k in keys if k in stored_before]
                   or [first[k] for k in keys if k in first])
            out[s.id] = min(ids) if ids else s.id
        for s in group:                       # later feeds see these rows' story ids
            lower(("u", s.item.url or ""), out[s.id])
            lower(("f", s.item.fingerprint), out[s.id])
        i += len(group)
    return out


def _link_stories(session: Session, rows: Sequence[ItemRow]) -> None:
    """Give each new item the id of the first item of the same story (URL or fingerprint)."""
    urls = [r.url for r in rows if r.url]
    prints = [r.fingerprint for r in rows if r.fingerprint]
    first: dict[tuple[str, str], int] = {}
    for col, values, tag in ((ItemRow.url, urls, "u"), (ItemRow.fingerprint, prints, "f")):
        for chunk in _chunks(values, 500):
            q = (select(col, func.min(func.coalesce(ItemRow.story_id, ItemRow.id)))
                 .where(col.in_(chunk)).group_by(col))
            for value, sid in session.execute(q):
                first[(tag, value)] = sid
    for r in rows:
        cands = [first.get(("u", r.url or "")), first.get(("f", r.fingerprint))]
        ids = [c for c in cands if c is not None]
        r.story_id = min(ids) if ids else r.id


def save_classification(session: Session, row: ItemRow, c: Classification, now: datetime) -> None:
    row.classified_at = now
    row.relevant = c.relevant
    row.score = c.score
    row.watchlists = list(c.watchlists)
    row.actors = list(c.actors)
    row.milestones = c.to_json()["milestones"]
    row.classifier_version = _SORTED_JSON.encode(c.versions) if c.versions else None


def unclassified_items(session: Session, limit: int) -> list[ItemRow]:
    return list(session.scalars(select(ItemRow).where(ItemRow.classified_at.is_(None))
                                .order_by(ItemRow.id).limit(limit)))


def attempt(*, feed_id: int, started_at: datetime, url: str, status: int | None, outcome: str,
            duration: float, nbytes: int, seen: int, new: int, error: str | None,
            worker: str) -> dict[str, Any]:
    """One poll's record, for ``record_attempts`` (numbers never None: the insert goes to the
    table, where None would be NULL, not the column's default)."""
    return {"feed_id": feed_id, "started_at": started_at, "url": url, "status": status,
            "outcome": outcome, "duration": duration or 0.0, "bytes": nbytes or 0,
            "items_seen": seen or 0, "items_new": new or 0, "error": error, "worker": worker}


def record_attempts(session: Session, attempts: Sequence[dict[str, Any]]) -> None:
    """Poll records in one executemany INSERT (no ids read back, unlike the ORM's add), on
    the table rather than the mapped class: the ORM's bulk-insert preparation was 8% of a
    304 cycle's CPU. Column defaults apply the same way."""
    if attempts:
        session.flush()                     # feeds added in this session exist first
        session.connection().execute(insert(cast(Table, FetchAttemptRow.__table__)),
                                     list(attempts))


# -- milestones and the outbox ---------------------------------------------------------------


def lock_milestones(session: Session) -> None:
    """Serialise milestone creation across replicas on PostgreSQL, until the transaction ends.

    One lock for all milestones, not one per type: a transaction that detects two types could
    otherwise deadlock with one taking them in the other order. Milestone hits are rare, so
    the contention is small. SQLite's BEGIN IMMEDIATE already serialises writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('monitor:milestones'))"))


def milestone_candidates(session: Session, watchlist: str, lo: datetime,
                         hi: datetime) -> list[MilestoneRow]:
    """The watchlist's milestones (of every type) whose event falls in [lo, hi], withdrawn
    ones aside."""
    return list(session.scalars(select(MilestoneRow).where(
        MilestoneRow.watchlist == watchlist, MilestoneRow.event_at >= lo,
        MilestoneRow.event_at <= hi, MilestoneRow.withdrawn_at.is_(None))))


def is_source(session: Session, milestone_id: str, item_id: int) -> bool:
    return session.scalar(select(MilestoneSourceRow.id).where(
        MilestoneSourceRow.milestone_id == milestone_id,
        MilestoneSourceRow.item_id == item_id)) is not None


def attach_source(session: Session, milestone_id: str, item_id: int, status: str,
                  evidence: str, confidence: float, now: datetime,
                  evidence_at: dict[str, Any] | None = None,
                  reason: dict[str, Any] | None = None) -> None:
    """Attach an item to a milestone; it must not be attached yet (see ``is_source``)."""
    session.add(MilestoneSourceRow(milestone_id=milestone_id, item_id=item_id, status=status,
                                   evidence=evidence, confidence=confidence, added_at=now,
                                   evidence_at=evidence_at, reason=reason))


_MILESTONE_STORIES = (
    select(MilestoneSourceRow.milestone_id, func.coalesce(ItemRow.story_id, ItemRow.id))
    .distinct().join(ItemRow, ItemRow.id == MilestoneSourceRow.item_id)
    .where(MilestoneSourceRow.milestone_id.in_(bindparam("ids", expanding=True))))


def milestone_stories(session: Session, ids: Iterable[str]) -> dict[str, set[int]]:
    """Per milestone, the stories reporting it: syndicated copies (one story) count once."""
    out: dict[str, set[int]] = {}
    for chunk in _chunks(list(ids), 500):
        for mid, story in session.execute(_MILESTONE_STORIES, {"ids": list(chunk)}):
            out.setdefault(mid, set()).add(story)
    return out


class MilestoneCache:
    """Milestone candidates and their stories for one transaction, read in few queries.

    The first use takes the milestone lock (``lock_milestones``; on SQLite the transaction's
    write lock does it), so until the transaction ends nobody else creates milestones: what
    was read stays true, and ``created`` keeps it up to date with this transaction's own.
    Candidates of every type of a watchlist are read at once, for twice the widest window
    (``span``) around the first event, so later hits of the same batch (published close
    together) are answered from memory; the stories of all of them are read together when
    the first is needed. Every source this transaction adds must go through ``created`` or
    ``new_story``, which keep the stories up to date.
    """

    def __init__(self, session: Session, span: timedelta = timedelta(0)) -> None:
        self.session = session
        self.span = span
        self._locked = False
        self._stories: dict[str, set[int]] = {}
        self._rows: dict[str, tuple[datetime, datetime, list[MilestoneRow]]] = {}

    def candidates(self, watchlist: str, type_: str, around: datetime,
                   window: timedelta) -> list[MilestoneRow]:
        if not self._locked:
            lock_milestones(self.session)
            self._locked = True
        lo, hi = around - window, around + window
        got = self._rows.get(watchlist)
        if got is None or lo < got[0] or hi > got[1]:
            reach = 2 * max(window, self.span)
            rows = milestone_candidates(self.session, watchlist, around - reach, around + reach)
            got = self._rows[watchlist] = (around - reach, around + reach, rows)
        return [m for m in got[2] if m.type == type_ and lo <= m.event_at <= hi]

    def created(self, row: MilestoneRow, story: int) -> None:
        """A milestone this transaction opened, with the story of its first source."""
        got = self._rows.get(row.watchlist)
        if got is not None and got[0] <= row.event_at <= got[1]:
            got[2].append(row)
        self._stories[row.id] = {story}

    def new_story(self, milestone_id: str, story: int) -> bool:
        """Whether a source of ``story`` about to be added is the milestone's first from it.

        The milestone's ``sources`` is its number of distinct stories; this keeps that count
        without counting every source again for each new one.
        """
        stories = self._stories.get(milestone_id)
        if stories is None:
            todo = {milestone_id} | {m.id for _, _, rows in self._rows.values() for m in rows
                                     if m.id not in self._stories}
            found = milestone_stories(self.session, todo)
            for mid in todo:
                self._stories[mid] = found.get(mid, set())
            stories = self._stories[milestone_id]
        if story in stories:
            return False
        stories.add(story)
        return True


def withdraw_unsupported(session: Session, hits: dict[int, set[tuple[str, str]]],
                         now: datetime, reason: str) -> int:
    """Detach the items of ``hits`` (item id -> the (watchlist, type) pairs the current
    rules find in it) from milestones of a pair they no longer report; a milestone left
    with no source is withdrawn (recorded with ``reason``, its pending alerts never sent),
    one left with fewer takes its evidence from its earliest remaining source. Returns the
    number withdrawn."""
    gone: dict[str, list[int]] = {}
    for chunk in _chunks(list(hits), 500):
        rows = session.execute(
            select(MilestoneSourceRow.id, MilestoneSourceRow.milestone_id,
                   MilestoneSourceRow.item_id, MilestoneRow.watchlist, MilestoneRow.type)
            .join(MilestoneRow, MilestoneRow.id == MilestoneSourceRow.milestone_id)
            .where(MilestoneSourceRow.item_id.in_(list(chunk)),
                   MilestoneRow.withdrawn_at.is_(None))).tuples()
        for sid, mid, item_id, wl, type_ in rows:
            if (wl, type_) not in hits[item_id]:
                gone.setdefault(mid, []).append(sid)
    withdrawn = 0
    for mid, source_ids in gone.items():
        session.execute(delete(MilestoneSourceRow).where(MilestoneSourceRow.id.in_(source_ids)))
        row = session.get(MilestoneRow, mid)
        assert row is not None
        first = session.scalars(select(MilestoneSourceRow).where(
            MilestoneSourceRow.milestone_id == mid).order_by(MilestoneSourceRow.added_at,
                                                             MilestoneSourceRow.id)).first()
        if first is None:
            row.withdrawn_at, row.withdrawn_reason = now, reason
            session.execute(update(AlertRow).where(
                AlertRow.milestone_id == mid, AlertRow.state == "pending").values(
                state="dead", last_error="milestone withdrawn: " + reason))
            withdrawn += 1
            continue
        row.sources = len(milestone_stories(session, [mid]).get(mid, ()))
        if row.first_item_id not in (None, first.item_id):
            row.first_item_id, row.evidence, row.evidence_at, row.reason = (
                first.item_id, first.evidence, first.evidence_at, first.reason)
    return withdrawn


def enqueue_alert(session: Session, *, channel: str, event: str, dedupe_key: str,
                  milestone_id: str | None, payload: dict[str, Any], now: datetime) -> bool:
    """Write an outbox row unless one exists for (dedupe_key, channel); True when written."""
    exists = session.scalar(select(AlertRow.id).where(AlertRow.dedupe_key == dedupe_key,
                                                      AlertRow.channel == channel))
    if exists:
        return False
    session.add(AlertRow(delivery_id=uuid.uuid4().hex, channel=channel, event=event,
                         dedupe_key=dedupe_key, milestone_id=milestone_id, payload=payload,
                         state="pending", attempts=0, next_attempt_at=now, created_at=now))
    return True


def claim_alerts(session: Session, *, owner: str, now: datetime, lease: timedelta,
                 limit: int, channels: Iterable[str] | None = None,
                 ids: Sequence[int] | None = None) -> list[AlertRow]:
    cond = [AlertRow.state == "pending", AlertRow.next_attempt_at <= now,
            or_(AlertRow.lease_until.is_(None), AlertRow.lease_until < now)]
    if channels is not None:
        cond.append(AlertRow.channel.in_(list(channels)))
    if ids:
        cond.append(AlertRow.id.in_(list(ids)))
    return _lease(session, AlertRow, cond, (AlertRow.next_attempt_at, AlertRow.id),
                  limit=limit, owner=owner, now=now, lease=lease)


def record_delivery(session: Session, alert_id: int, *, owner: str, now: datetime,
                    outcome: str, duration: float, status: int | None, error: str | None,
                    next_attempt_at: datetime | None) -> None:
    """Record one attempt and move the alert to delivered, pending (retry) or dead."""
    row = session.get(AlertRow, alert_id)
    assert row is not None
    row.attempts += 1
    row.lease_owner, row.lease_until = None, None
    row.last_error = error
    if outcome == "delivered":
        row.state, row.delivered_at = "delivered", now
    elif outcome == "dead":
        row.state = "dead"
    else:
        row.state, row.next_attempt_at = "pending", next_attempt_at or now
    session.add(DeliveryAttemptRow(alert_id=alert_id, at=now, duration=duration, outcome=outcome,
                                   status=status, error=error, worker=owner))


def milestone_sources(session: Session, milestone_id: str) -> list[tuple[ItemRow, FeedRow]]:
    q = (select(ItemRow, FeedRow).join(MilestoneSourceRow, MilestoneSourceRow.item_id == ItemRow.id)
         .join(FeedRow, FeedRow.id == ItemRow.feed_id)
         .where(MilestoneSourceRow.milestone_id == milestone_id)
         .order_by(func.coalesce(ItemRow.published, ItemRow.first_seen_at), ItemRow.id))
    return [(i, f) for i, f in session.execute(q).tuples()]


def relevant_item_ids(session: Session, *, since: datetime, until: datetime,
                      watchlists: Sequence[str], limit: int) -> list[int]:
    q = (select(ItemRow.id, ItemRow.watchlists).where(
        ItemRow.relevant.is_(True), ItemRow.first_seen_at > since, ItemRow.first_seen_at <= until,
        ItemRow.id == func.coalesce(ItemRow.story_id, ItemRow.id))  # one copy per story
        .order_by(ItemRow.first_seen_at).limit(limit * 4))
    out = [i for i, wls in session.execute(q)
           if not watchlists or set(wls or []) & set(watchlists)]
    return out[:limit]


def items_with_feeds(session: Session, ids: Sequence[int]) -> list[tuple[ItemRow, FeedRow]]:
    if not ids:
        return []
    q = (select(ItemRow, FeedRow).join(FeedRow, FeedRow.id == ItemRow.feed_id)
         .where(ItemRow.id.in_(list(ids))).order_by(ItemRow.first_seen_at, ItemRow.id))
    return [(i, f) for i, f in session.execute(q).tuples()]


def last_digest(session: Session, channel: str) -> datetime | None:
    row = session.get(ChannelStateRow, channel)
    return row.last_digest_at if row else None


def set_last_digest(session: Session, channel: str, when: datetime) -> None:
    row = session.get(ChannelStateRow, channel)
    if row is None:
        session.add(ChannelStateRow(channel=channel, last_digest_at=when))
    else:
        row.last_digest_at = when


def prune_fetch_attempts(session: Session, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` poll records started before ``before``; returns how many."""
    ids = select(FetchAttemptRow.id).where(FetchAttemptRow.started_at < before).limit(limit)
    res = session.execute(delete(FetchAttemptRow).where(FetchAttemptRow.id.in_(ids)))
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def release_dead_leases(session: Session, *, host: str, alive: Any, now: datetime) -> int:
    """Free leases held by processes of this host that no longer run (a crash, a SIGKILL).

    Leases of other hosts are left to expire: we cannot see their processes.
    """
    freed = 0
    for model in (FeedRow, AlertRow):
        owners = set(session.scalars(select(model.lease_owner).where(
            model.lease_owner.is_not(None), model.lease_until > now).distinct()))
        for owner in owners:
            o_host, _, pid = (owner or "").rpartition(":")
            if o_host == host and pid.isdigit() and not alive(int(pid)):
                res = session.execute(update(model).where(model.lease_owner == owner)
                                      .values(lease_owner=None, lease_until=None))
                freed += res.rowcount or 0  # type: ignore[attr-defined]
    return freed


def _chunks(values: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), n):
        yield values[i:i + n]
