"""Detection: classified items become milestones, and milestones alerts.

For each hit of a classified item, the pure rules (``monitor.milestones``) decide whether it
opens a milestone or corroborates one; this stage applies the decision in the store and
queues the alerts, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor import milestones as rules
from monitor.alerts.outbox import enqueue_milestone
from monitor.classify import Classifier
from monitor.config import Config
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.model import Classification, ItemText
from monitor.runtime import crash_point
from monitor.store.db import Session, sessionmaker
from monitor.store.items import (
    StoredItem,
    items_after,
    rows_by_id,
    save_classification,
    unclassified_items,
)
from monitor.store.milestones import (
    MilestoneCache,
    Report,
    add_milestone,
    corroborate,
    get_milestone,
    is_source,
    mark_alerted,
    reinstate,
    withdraw_unsupported,
)
from monitor.store.tables import ItemRow

log = get_logger("monitor.detect")


@dataclass
class Detected:
    """What one transaction's detection found (counted in metrics once it commits)."""

    relevant: int = 0
    irrelevant: int = 0
    milestones_new: int = 0
    alerts_queued: int = 0
    types: list[tuple[str, str]] = field(default_factory=list)   # (watchlist, type) opened

    def count(self, metrics: Metrics) -> None:
        for label, n in (("true", self.relevant), ("false", self.irrelevant)):
            if n:
                metrics.items_classified.labels(label).inc(n)
        for watchlist, type_ in self.types:
            metrics.milestones.labels(watchlist, type_).inc()


class Detector:
    """Applies classifications to milestones and the outbox for one process."""

    def __init__(self, config: Config, classifier: Classifier) -> None:
        self.config = config
        self.classifier = classifier
        a = config.alerting
        self.widest_window = timedelta(seconds=max([a.dedupe_window, *a.dedupe_windows.values()]))

    def detect(self, s: Session, stored: Sequence[StoredItem], now: datetime) -> Detected:
        """Milestones and alerts of the items a poll just stored (classified before the
        insert)."""
        found = Detected()
        hits = [item.id for item in stored
                if item.classification is not None and item.classification.milestones]
        rows = rows_by_id(s, ItemRow, hits)     # one query, not one per hit
        cache = MilestoneCache(s, self.widest_window)
        for item in stored:
            c = item.classification
            assert c is not None
            self._tally(found, c)
            if c.milestones:
                self.apply(s, rows[item.id], c, now, found, alert=True, cache=cache, fresh=True)
        return found

    def classify_pending(self, make: sessionmaker[Session], now: datetime,
                         limit: int = 500) -> Detected:
        """Classify items stored but not yet classified (left by a crash or an old version),
        and detect, in one transaction."""
        found = Detected()
        with make.begin() as s:
            for row in unclassified_items(s, limit):
                c = self._classify_stored(s, row, now)
                self._tally(found, c)
                if c.milestones:
                    self.apply(s, row, c, now, found, alert=True)
        return found

    def reclassify(self, make: sessionmaker[Session], now: datetime, *,
                   since: datetime | None = None, batch: int = 500) -> tuple[int, int, int]:
        """Rerun the current watchlists over stored items: new milestones found do not
        alert, and milestones that no stored item supports any more are withdrawn (never
        alerted). Returns (items, milestones created, milestones withdrawn)."""
        done = created = withdrawn = 0
        last_id = 0
        why = "no stored item reports it under " + ", ".join(
            f"{name} v{v}" for name, v in self.classifier.versions.items())
        while True:
            with make.begin() as s:
                rows = items_after(s, last_id, batch, since)
                if not rows:
                    return done, created, withdrawn
                found = Detected()
                hits: dict[int, set[tuple[str, str]]] = {}
                for row in rows:
                    c = self._classify_stored(s, row, now)
                    hits[row.id] = {(m.watchlist, m.type) for m in c.milestones}
                    if c.milestones:
                        self.apply(s, row, c, now, found, alert=False)
                created += found.milestones_new
                withdrawn += withdraw_unsupported(s, hits, now, why)
                done += len(rows)
                last_id = rows[-1].id

    def _classify_stored(self, s: Session, row: ItemRow, now: datetime) -> Classification:
        """Classify a stored item again and save the result in its row."""
        c = self.classifier.classify(ItemText.of(row, str(row.id)), now=now)
        save_classification(s, row, c, now)
        return c

    @staticmethod
    def _tally(found: Detected, c: Classification) -> None:
        if c.relevant:
            found.relevant += 1
        else:
            found.irrelevant += 1

    def apply(self, s: Session, row: ItemRow, c: Classification, now: datetime,
              found: Detected, *, alert: bool, cache: MilestoneCache | None = None,
              fresh: bool = False) -> None:
        """Create or corroborate milestones for one item's hits, counting in ``found``.

        ``cache`` serves candidates for a whole transaction; ``fresh`` says the item was
        inserted in this transaction (so it is no milestone's source yet).
        """
        cache = cache or MilestoneCache(s, self.widest_window)
        cfg = self.config.alerting
        max_age = timedelta(seconds=cfg.max_item_age) if cfg.max_item_age > 0 else None
        stale = (not alert) or rules.is_stale(row.published, row.first_seen_at, max_age)
        event_at = row.published if row.published and row.published <= now else row.first_seen_at
        for hit in c.milestones:
            report = Report(row.id, hit.status, hit.evidence, hit.confidence,
                            hit.evidence_at.to_json() if hit.evidence_at else None,
                            hit.reason.to_json() if hit.reason else None)
            window = timedelta(seconds=cfg.dedupe_windows.get(hit.type, cfg.dedupe_window))
            cands = cache.candidates(hit.watchlist, hit.type, event_at, window)
            decision = rules.decide(
                hit, event_at=event_at, window=window,
                candidates=[rules.Candidate(m.id, m.key, m.status, m.event_at) for m in cands],
                item_ident=f"{row.feed_id}:{row.identity}")
            if decision.new_id is not None:
                existing = get_milestone(s, decision.new_id)
                if existing is not None:  # the same first report, reclassified
                    if existing.withdrawn_at is not None and not is_source(s, existing.id,
                                                                           row.id):
                        reinstate(s, existing, report, now)
                    continue
                mrow = add_milestone(
                    s, id=decision.new_id, watchlist=hit.watchlist, type=hit.type,
                    key=decision.key, status=hit.status, severity=hit.severity,
                    title=row.title or hit.evidence[:200], type_title=hit.title,
                    evidence=hit.evidence, confidence=hit.confidence, actors=list(hit.actors),
                    triggers=list(hit.triggers), rule=hit.rule,
                    watchlist_version=c.versions.get(hit.watchlist, ""), event_at=event_at,
                    first_seen_at=now, last_seen_at=now, first_item_id=row.id, sources=1,
                    alerted=False, stale=stale, evidence_at=report.evidence_at,
                    reason=report.reason)
                cache.created(mrow, row.story_id or row.id)
                report.attach(s, mrow.id, now)
                crash_point("milestone")
                found.milestones_new += 1
                found.types.append((hit.watchlist, hit.type))
                log.info("milestone_detected", milestone_id=mrow.id, type=hit.type,
                         watchlist=hit.watchlist, item_id=row.id, stale=stale)
            else:
                got = get_milestone(s, decision.milestone_id or "")
                assert got is not None
                mrow = got
                if not fresh and is_source(s, mrow.id, row.id):
                    continue
                corroborate(s, mrow, report, now,
                            new_story=cache.new_story(mrow.id, row.story_id or row.id),
                            status=decision.status_step)
                if (decision.status_step and not stale and mrow.alerted
                        and decision.status_step in cfg.realert_on_status):
                    found.alerts_queued += enqueue_milestone(s, self.config, mrow, now,
                                                             step=decision.status_step)
            if not mrow.alerted and not mrow.stale and not stale \
                    and mrow.sources >= cfg.min_sources:
                found.alerts_queued += enqueue_milestone(s, self.config, mrow, now)
                mark_alerted(mrow)
