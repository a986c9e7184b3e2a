"""Alembic environment: the monitor's tables, batch mode for SQLite, type comparison on."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from monitor.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if context.is_offline_mode():
            context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                              render_as_batch=True, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            return
        engine = create_engine(url)  # type: ignore[arg-type]
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,  # type: ignore[arg-type]
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
