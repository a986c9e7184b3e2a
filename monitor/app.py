"""The application, wired from a config: the one place that builds the database engine, the
classifier, the fetcher, the parse workers, the deliverer and the pipeline. Every entry point
(the commands, the daemon and its reloads, the dashboard, the demo) builds them here.

Nothing here parses: the daemon's process loads no parser (the workers do).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from monitor.alerts.outbox import Deliverer
from monitor.classify import Classifier, load_watchlists
from monitor.config import Config
from monitor.fetch import Fetcher
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline
from monitor.runtime import owner_id
from monitor.store.db import Engine, ensure_schema, make_engine, sessions
from monitor.workers import Workers, worker_count


def utcnow() -> datetime:
    return datetime.now(UTC)


def open_database(config: Config, *, upgrade: bool | None = None, read_only: bool = False,
                  check: bool = True) -> Engine:
    """The configured database, its schema checked (unless not ``check``: ``monitor db
    upgrade`` makes it). ``upgrade`` an old schema: by default on SQLite only, where the file
    is the user's own, and not by a ``read_only`` engine (listings: SQLite reads beside the
    daemon's writes); PostgreSQL is upgraded with ``monitor db upgrade``. An empty SQLite
    database gets its schema from any command."""
    c = config.database
    engine = make_engine(c.url, pool_size=c.pool_size, echo=c.echo, read_only=read_only)
    if not check:
        return engine
    sqlite = engine.dialect.name == "sqlite"
    if upgrade is None:
        upgrade = sqlite and not read_only
    try:
        ensure_schema(engine, auto=upgrade, create=sqlite)
    except BaseException:
        engine.dispose()
        raise
    return engine


def build_classifier(config: Config) -> Classifier:
    """The config's watchlists, read against its dedupe windows (raises ConfigError: a
    watchlist that does not load)."""
    a = config.alerting
    return Classifier(load_watchlists([Path(p) for p in config.watchlists]),
                      windows=a.dedupe_windows, default_window=a.dedupe_window)


def build_deliverer(config: Config, engine: Engine, *, owner: str | None = None,
                    clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                    echo: Callable[[str], None] | None = None,
                    metrics: Metrics | None = None) -> Deliverer:
    """Sends what the outbox holds; counts each outcome in ``metrics``."""
    on_outcome = (lambda ch, o: metrics.alerts.labels(ch, o).inc()) if metrics else None
    return Deliverer(config, sessions(engine), owner=owner or owner_id(), clock=clock,
                     rng=rng, echo=echo, on_outcome=on_outcome)


def build_pipeline(config: Config, engine: Engine, classifier: Classifier | None = None, *,
                   owner: str | None = None, clock: Callable[[], datetime] = utcnow,
                   rng: random.Random | None = None, metrics: Metrics | None = None,
                   echo: Callable[[str], None] | None = None, fetcher: Fetcher | None = None,
                   workers: Workers | None = None) -> Pipeline:
    """The whole pipeline of one process; ``fetcher`` and ``workers`` replace the config's
    (tests and benchmarks)."""
    classifier = classifier or build_classifier(config)
    owner = owner or owner_id()
    rng = rng or random.Random()
    metrics = metrics or Metrics()
    return Pipeline(
        config, engine, classifier,
        fetcher=fetcher or Fetcher(config.fetch),
        workers=workers or Workers(classifier, worker_count(config.schedule.parse_workers),
                                   log_level=config.log.level),
        deliverer=build_deliverer(config, engine, owner=owner, clock=clock, rng=rng,
                                  echo=echo, metrics=metrics),
        owner=owner, clock=clock, rng=rng, metrics=metrics)
