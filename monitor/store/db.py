"""Engine, sessions and schema migrations.

SQLite: WAL journal, a busy timeout, foreign keys on, ``check_same_thread=False`` with a
QueuePool (SQLAlchemy 2.0's default for file databases) so worker threads can share it.
PostgreSQL: psycopg 3 with pre-ping so a restarted server is reconnected transparently.
"""

from __future__ import annotations

import fcntl
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import RevisionError, StoreError

# Engine and Session are named here for the modules outside the store, which import no
# SQLAlchemy of their own.
__all__ = [
    "SQLITE_BUSY_MS",
    "Engine",
    "Session",
    "SingleProcessLock",
    "alembic_config",
    "current_revision",
    "database_error",
    "ensure_schema",
    "make_engine",
    "migrations_dir",
    "ping",
    "sessionmaker",
    "sessions",
    "upgrade",
]

SQLITE_BUSY_MS = 15000
SQLITE_WAL_PAGES = 10000                 # see _sqlite_pragmas


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False,
                read_only: bool = False) -> Engine:
    """Create an engine for a SQLAlchemy URL; raises StoreError for an unusable URL.

    ``read_only`` engines (the CLI's listings) start SQLite transactions DEFERRED, so in WAL
    mode they read while the daemon writes instead of queueing for the write lock.
    """
    try:
        u = make_url(url)
    except Exception as exc:
        raise StoreError(f"bad database URL: {exc}") from exc
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000}
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)  # (file: is a URI)
    else:
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    engine = create_engine(u, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; we issue BEGIN
    # ourselves (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A checkpoint (copying the WAL into the database, with an fsync) every SQLITE_WAL_PAGES
    # pages of WAL instead of SQLite's 1000: a cold cycle's batch writes about as much as
    # the default, which put a checkpoint into nearly every commit. The WAL file is reused,
    # not grown, after each checkpoint; readers look pages up in its index, as before.
    cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_PAGES}")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers wait on busy_timeout instead of
    # failing with "database is locked" when a reader upgrades to a writer.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrations_dir() -> str:
    return str(files("monitor") / "migrations")


def alembic_config(url: str) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", migrations_dir())
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; raises StoreError when the database refuses, and
    RevisionError for a revision that does not exist."""
    from alembic import command
    from alembic.util import CommandError

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {_short(exc)}") from exc
    except CommandError as exc:
        raise RevisionError(str(exc)) from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine, *, auto: bool, create: bool = False) -> None:
    """Check the schema is current, else upgrade it when ``auto`` (or, with ``create``, when
    the database is empty). ``monitor.app.open_database`` says which.

    Raises StoreError when the schema is missing or old and may not be upgraded.
    """
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    try:
        rev = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"database unreachable: {_short(exc)}") from exc
    if rev == head:
        return
    if auto or (create and rev is None):
        upgrade(engine)
        return
    raise StoreError(f"database schema is at {rev or 'nothing'}, not {head}: "
                     "run `monitor db upgrade` first")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


class SingleProcessLock:
    """An exclusive lock beside a SQLite file: SQLite serves one daemon, and says so."""

    def __init__(self, engine: Engine) -> None:
        self.path: Path | None = None
        self._fd: int | None = None
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self.path = Path(f"{engine.url.database}.lock")

    def acquire(self) -> None:
        """Take the lock; raises StoreError when another daemon holds it."""
        if self.path is None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            raise StoreError(
                f"another monitor daemon (pid {other or '?'}) already uses {self.path.stem}; "
                "SQLite serves one daemon at a time: use PostgreSQL to run several replicas"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def ping(engine: Engine) -> str | None:
    """None when the database answers; else the kind of failure."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return type(exc).__name__


def database_error(exc: BaseException) -> str | None:
    """The first line of a database error's message; None for any other exception."""
    if not isinstance(exc, SQLAlchemyError):
        return None
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]
