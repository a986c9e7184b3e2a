"""Shared fixtures: databases (SQLite file and the real PostgreSQL), a local feed/webhook server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.fixtures_alerts import *
from tests.servers import FeedServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "feeds-corpus"
PG_URL = os.environ.get("MONITOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_pg_state: dict[str, str | None] = {}


def need(why: str) -> NoReturn:
    """Skip a test that cannot run here (``why`` says what is missing); with CI=true fail it
    instead: CI runs every test or fails."""
    if IN_CI:
        pytest.fail(f"{why} (CI=true: every test must run, none may skip)")
    pytest.skip(why)


def shared(*parts: str) -> Path:
    """A path in ../shared, the material kept beside the repository; see ``need``."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        need(f"{path} is missing: these tests need ../shared beside the repository")
    return path


def _pg_unavailable() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per session)."""
    if "why" not in _pg_state:
        try:
            import psycopg

            url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["why"] = None
        except Exception as exc:  # noqa: BLE001
            _pg_state["why"] = f"PostgreSQL at {PG_URL} unreachable: {exc}".splitlines()[0]
    return _pg_state["why"]


def require_postgres() -> None:
    why = _pg_unavailable()
    if why:
        need(why)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("MONITOR_") and key != "MONITOR_TEST_PG_URL":
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL database, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    raw = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every database test runs on a SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[object]:
    from monitor.store.db import make_engine, upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    checked_out = eng.pool.checkedout() if hasattr(eng.pool, "checkedout") else 0
    eng.dispose()
    assert checked_out == 0, f"{checked_out} database connections were left checked out"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared_dir() -> Path:
    return shared()
