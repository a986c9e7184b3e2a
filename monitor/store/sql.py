"""SQL that differs by database, and batching: what every store module shares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any


def one_of(conn: Any, column: str, values: Sequence[Any],
           array_type: str = "text") -> Iterator[tuple[str, tuple[Any, ...]]]:
    """``column`` is one of ``values``, as driver SQL: (condition, its parameters) for each
    statement to run; ``array_type`` is the values' PostgreSQL type. The store's hot lookups
    go straight to the driver, as SQLAlchemy's rendering of an expanding IN of hundreds of
    values cost more than the query.

    On PostgreSQL, one statement whatever the number of values, with one text[] parameter
    (``= ANY``, sent in binary): psycopg converts a statement of more than 50 parameters anew
    at every execution, and an IN has one per value. On SQLite, an IN of 500 placeholders at
    most (the driver keeps the statement of each length it has seen).
    """
    if not values:
        return
    if conn.dialect.name == "postgresql":
        yield f"{column} = ANY(%b::{array_type}[])", (list(values),)
        return
    for chunk in chunks(values, 500):
        yield f"{column} IN ({', '.join('?' * len(chunk))})", tuple(chunk)


def placeholder(conn_or_dialect: Any) -> str:
    dialect = getattr(conn_or_dialect, "dialect", conn_or_dialect)
    return "?" if dialect.paramstyle == "qmark" else "%s"


def chunks(values: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), n):
        yield values[i:i + n]
