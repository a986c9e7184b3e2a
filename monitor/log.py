"""Logging: structlog, JSON when stderr is not a terminal (or asked for), console otherwise.

Standard-library loggers (httpx, apscheduler, alembic) go through the same processors, so a
machine reads one format. Event names are snake_case and past tense; the keys are fixed:
feed, url, item_id, milestone_id, channel, delivery_id, error.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


class _LogStream:
    """The log's stream, for a daemon that must outlive it: a line that cannot be written (a
    closed pipe, a full disk) is dropped instead of raising in the code that logged it -- a
    signal handler's log line must not keep the daemon from stopping."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError):           # ValueError: the stream was closed
            return 0

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def isatty(self) -> bool:
        try:
            return bool(self._stream.isatty())
        except (OSError, ValueError):
            return False


def setup_logging(level: str = "info", fmt: str = "auto", stream: Any = None) -> None:
    """Configure structlog and the standard library once, for the CLI.

    Our own events go straight from structlog to the stream (its filtering logger drops what
    is below the level before any work; the stdlib round trip is costly for a line every
    feed of a poll cycle writes); third-party stdlib records reach the same stream
    through a handler that runs the same processors and renderer.
    """
    stream = _LogStream(stream or sys.stderr)
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    threshold = _LEVELS.get(level, logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (structlog.processors.JSONRenderer() if as_json
                     else structlog.dev.ConsoleRenderer(colors=stream.isatty()))
    tail: list[Any] = [structlog.processors.format_exc_info, renderer] if as_json else [renderer]
    structlog.configure(
        processors=[*shared, *tail],
        logger_factory=structlog.WriteLoggerFactory(stream),
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        cache_logger_on_first_use=False,    # a second setup_logging (tests, CLI) takes effect
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    # third-party chatter stays at warning unless debugging
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "aiosmtplib", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def get_logger(name: str = "monitor") -> Any:
    return structlog.get_logger(name)
