"""What every command shares: the context (config, database, classifier), error handling
with the contract's exit codes (0 success, 1 a runtime failure, 2 a usage or configuration
error), and reading dates."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import click

from monitor.config import Config, load_config, parse_duration
from monitor.errors import ConfigError, MonitorError
from monitor.log import setup_logging
from monitor.model import iso
from monitor.store.db import Engine

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Ctx", "ago", "handle_errors", "iso", "parse_since",
           "pass_ctx", "prepared_engine"]


class Ctx:
    def __init__(self, config_path: str | None, log_format: str | None,
                 log_level: str | None) -> None:
        self.config_path = config_path
        self.log_format = log_format
        self.log_level = log_level
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            setup_logging(self.log_level or self._config.log.level,
                          self.log_format or self._config.log.format)
        return self._config

    def engine(self, *, read_only: bool = False) -> Engine:
        """The database without a schema check (``db upgrade`` makes the schema)."""
        from monitor.app import open_database

        return open_database(self.config, read_only=read_only, check=False)

    def unknown(self, key: str, what: str, name: str) -> ConfigError:
        """The error for a ``what`` the config's ``key`` does not name (exit status 2)."""
        return ConfigError(self.config.source, key, f"no {what} named {name!r}")

    def classifier(self) -> Any:
        from monitor.app import build_classifier

        return build_classifier(self.config)


def handle_errors(fn: F) -> F:
    """Turn our exceptions into a message on stderr and the contract's exit status."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"config error: {exc}", err=True)
            sys.exit(2)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:
            # `monitor items | head`: the reader has what it wanted, so no message; the output
            # is incomplete, a runtime failure (the contract's statuses are 0, 1 and 2).
            # stdout to /dev/null so that the interpreter's last flush does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:  # the database layer and others: a runtime failure
            from monitor.store.db import database_error

            msg = database_error(exc)
            if msg is None:
                raise
            click.echo(f"error: database: {msg}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


pass_ctx = click.make_pass_decorator(Ctx)


def prepared_engine(c: Ctx, *, read_only: bool = False) -> Engine:
    """The database with its schema checked, as ``monitor.app.open_database`` decides."""
    from monitor.app import open_database

    return open_database(c.config, read_only=read_only)


def parse_since(value: str | None) -> datetime | None:
    """``--since``: an ISO date or datetime, or a duration back from now (``3d``)."""
    if not value:
        return None
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a date (2024-05-01), a datetime "
                                 "(2024-05-01T10:00Z) or a duration (3d)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def ago(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "-"
    secs = (now - dt).total_seconds()
    sign = "" if secs >= 0 else "in "
    secs = abs(secs)
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= n:
            return f"{sign}{int(secs // n)}{unit}" + (" ago" if not sign else "")
    return f"{sign}{int(secs)}s" + (" ago" if not sign else "")
