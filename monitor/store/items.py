"""Items: which are new, their bulk insert with their classification, and reading them
back. The caller owns the session (one per unit of work)."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    String,
    Table,
    func,
    select,
)
from sqlalchemy.orm import Session

from monitor.model import Classification, ParsedItem, identity_key
from monitor.store.sql import chunks, one_of, placeholder
from monitor.store.stories import relink, story_ids
from monitor.store.tables import (
    FeedRow,
    ItemRow,
)

_ITEMS = cast(Table, ItemRow.__table__)


# Identities are stored as ``model.identity_key`` gives them (the parser's rule), also
# those of items built elsewhere.
stored_identity = identity_key


_Row = TypeVar("_Row", FeedRow, ItemRow)


def rows_by_id(session: Session, model: type[_Row], ids: Sequence[int]) -> dict[int, _Row]:
    """Rows of one table by id, in one query per 500 ids."""
    out: dict[int, _Row] = {}
    for chunk in chunks(list(ids), 500):
        out.update((r.id, r) for r in session.scalars(
            select(model).where(model.id.in_(chunk))))
    return out


@dataclass(frozen=True)
class StoredItem:
    """A row ``store_items`` inserted: its id, feed, the parsed item and its classification."""

    id: int
    feed_id: int
    item: ParsedItem
    classification: Classification | None


def new_items(session: Session, batch: Sequence[tuple[int, Sequence[ParsedItem]]]
              ) -> list[tuple[int, ParsedItem]]:
    """The (feed id, item) pairs of ``batch`` that are not stored yet, each identity once
    per feed, in feed order then document order: what ``store_items`` is then given, with
    the classification of each."""
    fresh: list[tuple[int, ParsedItem]] = []
    known = _stored_pairs(session.connection(),
                          [(feed_id, ident) for feed_id, items in batch
                           for ident in {stored_identity(i.identity) for i in items}])
    for feed_id, items in batch:
        seen: set[str] = set()
        for it in items:
            ident = stored_identity(it.identity)
            if (feed_id, ident) not in known and ident not in seen:
                seen.add(ident)
                fresh.append((feed_id, it))
    return fresh


def store_items(session: Session,
                fresh: Sequence[tuple[int, ParsedItem, Classification | None]],
                now: datetime) -> list[StoredItem]:
    """Insert new items of several feeds (``new_items``), each with its classification in
    the same row (no UPDATE after), in statements of up to 256 items. Rows another
    transaction stored meanwhile are skipped (ON CONFLICT DO NOTHING on the (feed, identity)
    constraint). Returns the rows inserted, in the order given, with stories linked as the
    feed-by-feed reference links them (``tests/store_oracle.py``).

    This is the cold cycle's hot path, so the rows go to the driver as they are (see
    ``_ItemInsert``) rather than through SQLAlchemy's per-row parameter processing, which cost
    more than the database's own work; the stored values are the same (tests/test_store_bulk).
    The rows' ids are taken before the insert, as the database would give them (``_new_ids``),
    so that each row is written once, with its story id: setting the story ids with an UPDATE
    after the insert writes every row twice, and on PostgreSQL a row's update is a new row
    version, with new entries in the items' indexes.
    """
    if not fresh:
        return []
    conn = session.connection()
    pending = [StoredItem(id_, feed_id, it, c) for id_, (feed_id, it, c)
               in zip(_new_ids(conn, len(fresh)), fresh, strict=True)]
    links = story_ids(session, pending)
    insert_rows = _ItemInsert(conn.dialect, now)
    values = [insert_rows.values(p.id, links[p.id], p.feed_id, p.item, p.classification)
              for p in pending]
    inserted: set[int] = set()
    if conn.dialect.name == "postgresql":
        for chunk in chunks(values, _ItemInsert.ARRAY_ROWS):
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
        for cond, params in one_of(conn, "id", [p.id for p in pending], "bigint"):
            inserted.update(r[0] for r in conn.exec_driver_sql(
                f"SELECT id FROM items WHERE {cond}", params))
    if len(inserted) == len(pending):
        return pending
    # Some rows were stored by another transaction meanwhile (PostgreSQL replicas; SQLite's
    # write lock rules it out) and skipped: stories may point at them. The rows inserted are
    # linked again as they would have been without the skipped ones.
    stored = [p for p in pending if p.id in inserted]
    if stored:
        relink(session, stored)
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
    for chunk in chunks(pairs, 500):
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


class _ItemInsert:
    """``INSERT INTO items ... ON CONFLICT DO NOTHING`` with rows as driver values.

    Datetimes go through the column type's own bind processor and JSON is ``json.dumps``, as
    SQLAlchemy would send them; the empty lists most items have are encoded once.

    SQLite takes multi-row VALUES. PostgreSQL takes one array per column, ``INSERT ... SELECT
    FROM unnest(...)``: a short statement of 22 parameters whatever the number of rows, which
    psycopg converts once and the server prepares once, with the arrays sent in binary. A
    VALUES statement of 256 rows has thousands of parameters, which psycopg parses anew at
    every execution (it caches statements of at most 50 parameters), and the server too.
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
        holder = placeholder(dialect)
        cast_json = "::json" if dialect.name == "postgresql" else ""
        self._row = "(" + ", ".join(holder + (cast_json if c in self.JSON_COLUMNS else "")
                                    for c in self.COLUMNS) + ")"
        self._head = f"INSERT INTO items ({', '.join(self.COLUMNS)}) VALUES "
        self._tail = " ON CONFLICT (feed_id, identity) DO NOTHING"
        self._versions: dict[int, str] = {}
        if dialect.name == "postgresql":
            self.unnest_sql = self._unnest_sql(dialect)

    # Rows per PostgreSQL statement: its arrays are built and sent at once, so more rows a
    # statement raise the cold cycle's peak memory, for no speed.
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

    # Rows per statement. The driver keeps each prepared statement it has run, and a statement
    # of many rows of VALUES is large, so a few fixed sizes keep that cache small, where one
    # size per batch length would fill it.
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


def items_after(session: Session, after_id: int, limit: int,
                since: datetime | None = None) -> list[ItemRow]:
    """Up to ``limit`` stored items with ids above ``after_id``, in id order; with ``since``,
    those published (else first seen) then or later."""
    q = select(ItemRow).where(ItemRow.id > after_id).order_by(ItemRow.id).limit(limit)
    if since is not None:
        q = q.where(func.coalesce(ItemRow.published, ItemRow.first_seen_at) >= since)
    return list(session.scalars(q))


def item_dict(i: ItemRow, feed: str) -> dict[str, Any]:
    """A stored item as the dashboard and the API list it (times left as datetimes)."""
    return {"id": i.id, "feed": feed, "title": i.title, "url": i.url or i.link,
            "published": i.published, "first_seen": i.first_seen_at, "summary": i.summary,
            "language": i.language, "relevant": i.relevant, "score": i.score,
            "watchlists": list(i.watchlists or []), "actors": list(i.actors or []),
            "milestones": list(i.milestones or []), "story_id": i.story_id}


def item_listing(session: Session, *, since: datetime | None = None, feed: str | None = None,
                 relevant: bool = False, limit: int = 100) -> list[tuple[ItemRow, str]]:
    """Stored items with their feed's name, newest (published, else first seen) first."""
    when = func.coalesce(ItemRow.published, ItemRow.first_seen_at)
    q = (select(ItemRow, FeedRow.name).join(FeedRow, FeedRow.id == ItemRow.feed_id)
         .order_by(when.desc(), ItemRow.id.desc()).limit(limit))
    if since is not None:
        q = q.where(when >= since)
    if feed:
        q = q.where(FeedRow.name == feed)
    if relevant:
        q = q.where(ItemRow.relevant.is_(True))
    return list(session.execute(q).tuples().all())
