"""One fetched body → its items and their classifications: the worker processes' stage.

``parse_job`` parses a body (the lxml fast path or feedparser, then HTML to text and
normalisation) and classifies the items the previous parse of the feed did not have. It is
pure CPU work, run by ``monitor.workers`` in worker processes (or in a thread of the daemon).

A worker process runs ``python -m monitor.parse_job`` and speaks a small protocol on its stdin
and stdout: length-prefixed pickles (our own objects, between our own processes), a pickled
Classifier first, then ``(id, ParseJob)`` in and ``(id, ParseOutcome)`` out. It imports only the parser
and the classifier (no asyncio, no structlog, no database), which keeps each worker small.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from monitor.classify import Classifier
from monitor.errors import ParseError
from monitor.model import Classification, ItemText, ParsedFeed

log = logging.getLogger("monitor.workers")

HEADER = struct.Struct("!Q")             # a frame: its length, then a pickle


@dataclass(frozen=True)
class ParseJob:
    """One fetched body to parse, and the identities whose classification is not needed."""

    body: bytes
    url: str
    headers: Mapping[str, str]
    default_language: str | None
    now: datetime
    known: bytes = b""                    # see ``known_items``
    classify: bool = True                 # False: the daemon classifies (see Pipeline)


@dataclass
class ParseOutcome:
    """What ``parse_job`` made of a body: the feed, or the parse error, or the crash."""

    feed: ParsedFeed | None = None
    error: str | None = None              # ParseError: not a feed (the feed's failure)
    crash: str | None = None              # a bug or a dead worker: logged with its traceback
    classes: dict[str, Classification] = field(default_factory=dict)  # identity → result


def _key(identity: str) -> bytes:
    return hashlib.blake2b(identity.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def known_items(identities: Iterable[str]) -> bytes:
    """Identities as ``ParseJob.known`` carries them: 8 bytes of a hash each, in one bytes
    object rather than a set of strings (the daemon keeps one per feed, for every feed). A
    collision only makes the worker skip an item's classification, which the daemon then does
    itself."""
    return b"".join(sorted({_key(i) for i in identities}))


def parse_job(job: ParseJob, classifier: Classifier | None) -> ParseOutcome:
    """Parse one body and classify its items that are not in ``job.known``; never raises."""
    # Imported here, not at the top: the daemon imports this module for its types, and with
    # worker processes it never parses, so it does not load feedparser, lxml and w3lib
    # (megabytes of its memory). Workers import the parser when they start (``main``).
    from monitor.parse import parse_feed
    try:
        feed = parse_feed(job.body, url=job.url, headers=job.headers,
                          default_language=job.default_language, now=job.now)
    except ParseError as exc:
        return ParseOutcome(error=str(exc))
    except Exception as exc:  # noqa: BLE001 - the per-feed boundary, in the worker
        return ParseOutcome(crash=_describe(exc))
    out = ParseOutcome(feed=feed)
    if classifier is None or not job.classify:
        return out
    known = {job.known[i:i + 8] for i in range(0, len(job.known), 8)}
    quiet: Classification | None = None
    try:
        for it in feed.items:
            if it.identity not in out.classes and _key(it.identity) not in known:
                c = classifier.classify(ItemText.of(it), now=job.now)
                if not (c.relevant or c.score or c.watchlists or c.actors or c.milestones):
                    # Most items: "nothing here", equal for all of them. One object for all
                    # is pickled once (then referenced) and unpickled once by the daemon.
                    if quiet is None or quiet != c:
                        quiet = c
                    c = quiet
                out.classes[it.identity] = c
    except Exception as exc:  # noqa: BLE001 - the store classifies what is missing, and logs
        log.error("worker_classify_failed", extra={"url": job.url, "error": str(exc)})
    return out


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip() + "\n" + "".join(
        traceback.format_tb(exc.__traceback__)[-5:])


def _read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: a pickled Classifier first, then (id, ParseJob) → (id, ParseOutcome)."""
    first = _read_frame(stdin)
    if first is None:
        return
    classifier: Any = pickle.loads(first)  # from our own parent process
    _write_frame(stdout, (0, None))                 # ready
    while (frame := _read_frame(stdin)) is not None:
        job_id, job = pickle.loads(frame)
        _write_frame(stdout, (job_id, parse_job(job, classifier)))


def frame(value: object) -> bytes:
    """``value`` as one frame of the protocol: its pickle's length, then the pickle."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def _write_frame(stream: BinaryIO, value: object) -> None:
    stream.write(frame(value))
    stream.flush()


def main() -> None:
    # The daemon handles SIGINT/SIGTERM by finishing in-flight work; its workers go when their
    # input closes, so a terminal's Ctrl-C or systemd's SIGTERM to the group kills no job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr              # nothing else may write into the result stream
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    logging.basicConfig(level=log_level(os.environ.get("MONITOR_LOG_LEVEL", "info")),
                        handlers=[handler])
    import monitor.parse  # noqa: F401 - before the first job, not during it
    _widen_pipes()
    log.debug("parse_worker_started", extra={"pid": os.getpid()})
    serve(sys.stdin.buffer, out)


PIPE_BYTES = 1 << 20


def _widen_pipes() -> None:
    """Pipes of 1 MB instead of 64 KB (Linux): room for a few dozen results, so the worker
    goes on parsing while the daemon's event loop, busy elsewhere, has not read them yet
    (with 64 KB, one or two results filled the pipe and the worker sat waiting)."""
    try:
        import fcntl  # POSIX only, and the daemon imports this module too
    except ImportError:
        return
    if not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    for fd in (0, 1):
        with contextlib.suppress(OSError):    # not a pipe, or above pipe-max-size
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def log_level(name: str) -> int:
    """A worker's level from ``MONITOR_LOG_LEVEL``: any standard name; unknown means info."""
    level = logging.getLevelName(name.strip().upper())
    return level if isinstance(level, int) else logging.INFO


class _JsonLines(logging.Formatter):
    """The daemon's JSON log line (event, level, timestamp and the fixed keys), without
    structlog: a worker imports only what parsing and classifying need."""

    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in self._STANDARD}
        line = {**extra, "event": record.getMessage(), "level": record.levelname.lower(),
                "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat()
                .replace("+00:00", "Z")}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


if __name__ == "__main__":
    # Run as monitor.parse_job, not __main__, so results pickle as monitor.parse_job.ParseOutcome.
    from monitor.parse_job import main as _main

    _main()
