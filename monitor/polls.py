"""What a poll changes in its feed: its state and next poll (``monitor.policy`` decides),
its record, health alerts when it turns unhealthy or recovers, and feeds gone silent."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts.outbox import enqueue_feed_health
from monitor.config import Config
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.model import Classification, FeedHealthAlert, FetchResult, ParsedFeed
from monitor.policy import PollDecision, PollPolicy, decide_next_poll
from monitor.store.db import Session, sessionmaker
from monitor.store.feeds import FeedPatch, FeedState, attempt, mark_silent
from monitor.store.tables import FeedRow

log = get_logger("monitor.polls")


@dataclass
class CycleSummary:
    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    unchanged: int = 0
    failed: int = 0
    items_new: int = 0
    relevant: int = 0
    milestones_new: int = 0
    alerts_queued: int = 0
    local_outage: bool = False
    errors: list[str] = field(default_factory=list)

    def add(self, other: CycleSummary) -> None:
        """Count ``other`` in: every count summed, an outage in either, errors of both."""
        for f in fields(self):
            if type(getattr(self, f.name)) is int:      # the counts (not the outage flag)
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.local_outage = self.local_outage or other.local_outage
        self.errors.extend(other.errors)


@dataclass
class Polled:
    """One feed of a batch between fetch and store."""

    feed: FeedState
    result: FetchResult
    conditional: bool
    started: datetime
    outcome: str = "error"
    error: str | None = None
    body_hash: str | None = None
    parsed: ParsedFeed | None = None
    classes: dict[str, Classification] = field(default_factory=dict)
    crash: Exception | None = None


class PollRecorder:
    """Writes back what each poll of a batch found, in the batch's transaction."""

    def __init__(self, config: Config, policy: PollPolicy, rng: random.Random, owner: str,
                 metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.policy = policy
        self.rng = rng
        self.owner = owner
        self._feed_watchlists = {f.name: tuple(f.watchlists) for f in config.feeds}

    def finish(self, s: Session, row: FeedPatch, p: Polled, outage: bool,
               new: int, now: datetime, summary: CycleSummary,
               after: list[Callable[[], None]], attempts: list[dict[str, Any]]) -> None:
        feed, result = p.feed, p.result
        if p.crash is not None:
            # A crash in the parser is logged and the feed released, as at the per-feed boundary.
            exc = p.crash
            if row.lease_owner == self.owner:
                row.lease_owner, row.lease_until = None, None
            summary.failed += 1
            summary.errors.append(f"{feed.name}: {exc}")
            after.append(lambda: log.error("feed_processing_failed", feed=feed.name,
                                           error=str(exc), exc_info=exc))
            return
        outcome, error = p.outcome, p.error if p.error is not None else result.error
        failed = outcome == "error"
        # A parse failure is the feed's failure, not the network's: policy sees an error.
        policy_result = result if not (failed and result.ok) else _as_error(result, error)
        decision = decide_next_poll(now=now, interval=feed.interval, failures=feed.failures,
                                    result=policy_result, rng=self.rng, policy=self.policy,
                                    local_outage=outage)
        self._update(s, row, result, decision, outcome, error, p.body_hash, p.conditional, now)
        if new:
            row.last_new_item_at = now
            if row.silent_since is not None:
                row.silent_since = None
                self._health_event(s, row, "recovered", now, "publishing again")
        seen = len(p.parsed.items) if p.parsed else 0
        attempts.append(attempt(
            feed_id=feed.id, started_at=p.started, url=feed.url, status=result.status,
            outcome=outcome, duration=result.duration, nbytes=result.bytes_read, seen=seen,
            new=new, error=error, worker=self.owner))
        summary.items_new += new
        field_name = {"new": "ok", "unchanged": "unchanged", "not_modified": "not_modified",
                      "error": "failed"}[outcome]
        setattr(summary, field_name, getattr(summary, field_name) + 1)
        if failed:
            summary.errors.append(f"{feed.name}: {error}")

        def emit() -> None:
            self.metrics.polls.labels(outcome).inc()
            self.metrics.items_stored.inc(new)
            log.info("feed_polled", feed=feed.name, url=feed.url, outcome=outcome,
                     status=result.status, items=seen, new=new,
                     duration=round(result.duration, 3), error=error,
                     next_check=decision.next_check_at.isoformat())
        after.append(emit)

    def _update(self, s: Session, row: FeedPatch, result: FetchResult,
                d: PollDecision, outcome: str, error: str | None, body_hash: str | None,
                conditional: bool, now: datetime) -> None:
        was_unhealthy = row.unhealthy
        row.polls += 1
        row.last_polled_at = now
        row.last_status = result.status
        row.lease_owner, row.lease_until = None, None
        row.next_check_at, row.failures, row.unhealthy = d.next_check_at, d.failures, d.unhealthy
        if outcome == "error":
            row.last_error, row.last_error_at = error, now
        else:
            row.last_success_at = now
            if result.ok:  # a 304 keeps the validators it was asked with
                row.etag, row.last_modified, row.body_hash = (result.etag, result.last_modified,
                                                              body_hash)
                if not conditional:
                    row.last_unconditional_at = now
            if result.permanent_redirect:
                row.current_url = result.permanent_redirect
        if d.disable:
            row.enabled, row.disabled_reason = False, d.disable_reason
        if row.unhealthy and not was_unhealthy:
            row.unhealthy_since = now
            self._health_event(s, row, "unhealthy", now, error or "failing")
        elif was_unhealthy and not row.unhealthy:
            self._health_event(s, row, "recovered", now, "polled successfully again")
            row.unhealthy_since = None

    def _health_event(self, s: Session, row: FeedRow | FeedPatch, state: str,
                      now: datetime, reason: str) -> None:
        alert = FeedHealthAlert(feed=row.name, url=row.current_url or row.url, state=state,
                                since=now, reason=reason,
                                watchlists=self._feed_watchlists.get(row.name, ()))
        enqueue_feed_health(s, self.config, alert, now)
        log.warning("feed_health_changed", feed=row.name, state=state, error=reason)

    def check_silence(self, make: sessionmaker[Session], now: datetime) -> int:
        """Flag feeds that published nothing new for ``alerting.feed_silence`` (0: off)."""
        silence = self.config.alerting.feed_silence
        if silence <= 0:
            return 0
        with make.begin() as s:
            rows = mark_silent(s, now - timedelta(seconds=silence), now)
            for row in rows:
                self._health_event(s, row, "unhealthy", now,
                                   f"no new items for {int(silence // 3600)}h or more")
            return len(rows)


def _as_error(result: FetchResult, error: str | None) -> FetchResult:
    return replace(result, error=error or "unparseable feed", error_kind="parse")
