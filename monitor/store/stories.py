"""Stories: the reports of one article across feeds (same URL or fingerprint) share the
id of its first stored item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from sqlalchemy import (
    Table,
    bindparam,
    update,
)
from sqlalchemy.orm import Session

from monitor.store.sql import chunks, one_of, placeholder
from monitor.store.tables import ItemRow

if TYPE_CHECKING:
    from monitor.store.items import StoredItem

_ITEMS = cast(Table, ItemRow.__table__)


def relink(session: Session, stored: Sequence[StoredItem]) -> None:
    """Story ids of rows just inserted, set again from scratch (their own cleared first)."""
    conn = session.connection()
    ids = [p.id for p in stored]
    for chunk in chunks(ids, 500):
        conn.execute(update(_ITEMS).where(_ITEMS.c.id.in_(chunk)).values(story_id=None))
    links = story_ids(session, stored)
    conn.execute(update(_ITEMS).where(_ITEMS.c.id == bindparam("_id"))
                 .values(story_id=bindparam("_sid")),
                 [{"_id": i, "_sid": sid} for i, sid in links.items()])


def story_ids(session: Session, stored: Sequence[StoredItem]) -> dict[int, int]:
    """Story ids exactly as storing the batch feed by feed would have set them.

    Per feed, the first item of a story is the lowest story id of the stored rows that share
    its URL or fingerprint, if there are any; else the lowest of the story ids earlier feeds of
    this batch were given and the ids of this feed's own new rows. Without another writer the
    stored rows' ids are all below the batch's, so that is the lowest of them all, as the
    feed-by-feed reference (``tests/store_oracle.py``) takes it. The batch's ids are taken
    before the insert, though, and a PostgreSQL replica may commit rows of the same story
    with higher ids meanwhile: the story it stored first is kept rather than split in two.
    """
    urls = list(dict.fromkeys(s.item.url for s in stored if s.item.url))
    prints = list(dict.fromkeys(s.item.fingerprint for s in stored if s.item.fingerprint))
    newest = min(s.id for s in stored)      # rows below it were stored before this batch
    first: dict[tuple[str, str], int] = {}
    conn = session.connection()
    for col, values, tag in (("url", urls, "u"), ("fingerprint", prints, "f")):
        for cond, params in one_of(conn, col, values):
            for value, sid in conn.exec_driver_sql(
                    f"SELECT {col}, min(coalesce(story_id, id)) FROM items WHERE {cond}"
                    f" AND (story_id IS NOT NULL OR id < {placeholder(conn)}) GROUP BY {col}",
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
