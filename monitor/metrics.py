"""Prometheus metrics of one process, in their own registry (tests make many processes' worth)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.polls = Counter("monitor_polls_total", "Feed polls by outcome", ["outcome"],
                             registry=r)
        self.fetch_seconds = Histogram(
            "monitor_fetch_seconds", "Feed fetch latency", registry=r,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
        self.items_stored = Counter("monitor_items_stored_total", "New items stored", registry=r)
        self.items_classified = Counter("monitor_items_classified_total",
                                        "Items classified by relevance", ["relevant"], registry=r)
        self.milestones = Counter("monitor_milestones_total", "Milestones created",
                                  ["watchlist", "type"], registry=r)
        self.alerts = Counter("monitor_alerts_total", "Alert delivery attempts by outcome",
                              ["channel", "outcome"], registry=r)
        self.outbox_backlog = Gauge("monitor_outbox_backlog", "Alerts waiting for delivery",
                                    registry=r)
        self.outbox_oldest_seconds = Gauge("monitor_outbox_oldest_seconds",
                                           "Age of the oldest undelivered alert", registry=r)
        self.feeds_unhealthy = Gauge("monitor_feeds_unhealthy", "Feeds flagged unhealthy",
                                     registry=r)
        self.feeds_disabled = Gauge("monitor_feeds_disabled", "Feeds disabled", registry=r)
        self.last_tick = Gauge("monitor_scheduler_last_tick_timestamp",
                               "Unix time of the last scheduler tick", registry=r)
        self.runs_skipped = Counter(
            "monitor_scheduler_runs_skipped_total",
            "Scheduled runs not started because the job's previous run was still going",
            ["job"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
