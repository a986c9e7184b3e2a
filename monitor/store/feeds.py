"""Feeds: the config's feeds in the table, claims and leases, what a poll writes back,
and the record of polls. The caller owns the session (one per unit of work)."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.store.sql import chunks
from monitor.store.tables import (
    AlertRow,
    FeedRow,
    FetchAttemptRow,
    ItemRow,
)


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
    # (a cost that grows with feeds times claimed feeds), where NOT IN (subquery) stays a
    # hashed subplan.
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


def release_feed(session: Session, feed_id: int, owner: str) -> None:
    session.execute(update(FeedRow).where(FeedRow.id == feed_id, FeedRow.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None))


_FEEDS = cast(Table, FeedRow.__table__)


class FeedPatch:
    """A feed's row as a poll's store sees it: the columns it reads, and every assignment
    recorded in ``changes``, which ``update_feeds`` writes with one executemany per set of
    columns, rather than loading whole rows into the ORM and flushing them one by one (the
    larger part of a 304 cycle's store). Reading a column that was neither loaded nor
    assigned is an error."""

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
    for chunk in chunks(list(ids), 500):
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
    the table rather than the mapped class, whose bulk-insert preparation is a visible share
    of a 304 cycle's CPU. Column defaults apply the same way."""
    if attempts:
        session.flush()                     # feeds added in this session exist first
        session.connection().execute(insert(cast(Table, FetchAttemptRow.__table__)),
                                     list(attempts))


def prune_fetch_attempts(session: Session, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` poll records started before ``before``; returns how many."""
    ids = select(FetchAttemptRow.id).where(FetchAttemptRow.started_at < before).limit(limit)
    res = session.execute(delete(FetchAttemptRow).where(FetchAttemptRow.id.in_(ids)))
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def release_dead_leases(session: Session, *, dead: Callable[[str], bool], now: datetime) -> int:
    """Free the leases whose owner is ``dead`` (``runtime.dead_local_owner``: a process of
    this host that no longer runs); the others are left to expire."""
    freed = 0
    for model in (FeedRow, AlertRow):
        owners = set(session.scalars(select(model.lease_owner).where(
            model.lease_owner.is_not(None), model.lease_until > now).distinct()))
        for owner in owners:
            if owner and dead(owner):
                res = session.execute(update(model).where(model.lease_owner == owner)
                                      .values(lease_owner=None, lease_until=None))
                freed += res.rowcount or 0  # type: ignore[attr-defined]
    return freed


def mark_silent(session: Session, cutoff: datetime, now: datetime) -> list[FeedRow]:
    """Flag enabled feeds that published nothing new since ``cutoff`` (and were not flagged
    yet) as silent since ``now``; returns them."""
    rows = list(session.scalars(select(FeedRow).where(
        FeedRow.enabled.is_(True), FeedRow.silent_since.is_(None),
        func.coalesce(FeedRow.last_new_item_at, FeedRow.created_at) < cutoff)))
    for row in rows:
        row.silent_since = now
    return rows


def feed_stored(session: Session, name: str) -> bool:
    """Whether a feed of that name was ever polled (it may have left the config since)."""
    return bool(session.scalar(select(exists().where(FeedRow.name == name))))


def feed_counts(session: Session) -> tuple[int, int]:
    """(feeds unhealthy, feeds of the config disabled)."""
    unhealthy = session.scalar(select(func.count(FeedRow.id)).where(FeedRow.unhealthy.is_(True)))
    disabled = session.scalar(select(func.count(FeedRow.id)).where(
        FeedRow.enabled.is_(False), FeedRow.in_config.is_(True)))
    return unhealthy or 0, disabled or 0


def feed_state(row: FeedRow) -> str:
    """What the listings call a feed: ``disabled`` (whatever its health), ``unhealthy`` or ``ok``."""
    return "disabled" if not row.enabled else "unhealthy" if row.unhealthy else "ok"


def feeds_with_counts(session: Session) -> list[tuple[FeedRow, int]]:
    """Every feed, by name, with the number of items stored from it."""
    counts = dict(session.execute(select(ItemRow.feed_id, func.count())
                                  .group_by(ItemRow.feed_id)).tuples().all())
    return [(r, counts.get(r.id, 0)) for r in session.scalars(select(FeedRow)
                                                               .order_by(FeedRow.name))]


def feed_dict(r: FeedRow, items: int) -> dict[str, Any]:
    """A feed as the dashboard and the API list it (times left as datetimes), with the
    number of its stored items."""
    return {"name": r.name, "url": r.current_url or r.url, "language": r.language,
            "outlet": r.outlet, "enabled": r.enabled, "in_config": r.in_config,
            "disabled_reason": r.disabled_reason, "healthy": not r.unhealthy,
            "state": feed_state(r),
            "failures": r.failures, "polls": r.polls, "last_success": r.last_success_at,
            "last_polled": r.last_polled_at, "last_status": r.last_status,
            "last_error": r.last_error, "last_error_at": r.last_error_at,
            "next_poll": r.next_check_at, "interval": r.interval_s, "items": items}
