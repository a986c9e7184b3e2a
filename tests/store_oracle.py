"""The store's reference behaviour, item by item and feed by feed, for the tests: the bulk
path (``monitor.store.items.store_items``) must store what these store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.model import ParsedItem
from monitor.store.items import stored_identity
from monitor.store.sql import chunks
from monitor.store.tables import ItemRow


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
    for chunk in chunks(idents, 500):
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
    link_stories(session, rows)
    return rows


def link_stories(session: Session, rows: Sequence[ItemRow]) -> None:
    """Give each new item the id of the first item of the same story (URL or fingerprint)."""
    urls = [r.url for r in rows if r.url]
    prints = [r.fingerprint for r in rows if r.fingerprint]
    first: dict[tuple[str, str], int] = {}
    for col, values, tag in ((ItemRow.url, urls, "u"), (ItemRow.fingerprint, prints, "f")):
        for chunk in chunks(values, 500):
            q = (select(col, func.min(func.coalesce(ItemRow.story_id, ItemRow.id)))
                 .where(col.in_(chunk)).group_by(col))
            for value, sid in session.execute(q):
                first[(tag, value)] = sid
    for r in rows:
        cands = [first.get(("u", r.url or "")), first.get(("f", r.fingerprint))]
        ids = [c for c in cands if c is not None]
        r.story_id = min(ids) if ids else r.id
