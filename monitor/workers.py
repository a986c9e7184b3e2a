"""Parse and classify on the other cores: worker processes between fetch and store.

Parsing (the lxml fast path or feedparser, then HTML to text and normalisation) and
classification are pure CPU work; in one process they share one core with fetching and
storing. ``Workers`` runs ``digest`` (one fetched body → its items and the classifications of
the items not seen in the previous parse) in worker processes when there is more than one
core, and in a thread of this process otherwise: same function, same results.

A worker is a fresh interpreter (``python -m monitor.workers``) that imports only the parser
and the classifier: it is never forked from this multi-threaded process, and it does not
import the caller's ``__main__``. Jobs and results travel as length-prefixed pickles over its
stdin and stdout (our own objects, between our own processes). A worker exits when its stdin
closes, so it never outlives the daemon, and it ignores SIGINT and SIGTERM, which the daemon
handles by finishing its work first. A worker that dies (a segfault in a C parser on hostile
input, the OOM killer) fails its jobs; each is tried once more, alone, on a new worker, so a
body that kills a worker costs that feed an error and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal

from monitor.classify import Classifier
from monitor.errors import ParseError
from monitor.log import get_logger, setup_logging
from monitor.model import Classification, ItemText, ParsedFeed, ParsedItem
from monitor.parse import parse_feed

log = get_logger("monitor.workers")

_HEADER = struct.Struct("!Q")
_LIMIT = 1 << 30                        # a frame bigger than this is a protocol error


@dataclass(frozen=True)
class Job:
    """One fetched body to parse, and the identities whose classification is not needed."""

    body: bytes
    url: str
    headers: Mapping[str, str]
    default_language: str | None
    now: datetime
    known: bytes = b""                    # see ``known_items``


@dataclass
class Digest:
    """What ``digest`` made of a body: the feed, or the parse error, or the crash."""

    feed: ParsedFeed | None = None
    error: str | None = None              # ParseError: not a feed (the feed's failure)
    crash: str | None = None              # a bug or a dead worker: logged with its traceback
    classes: dict[str, Classification] = field(default_factory=dict)  # identity → result


def parsed_item_text(it: ParsedItem) -> ItemText:
    """The text the classifier reads for a parsed (not yet stored) item."""
    return ItemText(id="", title=it.title or "", summary=it.summary or "",
                    content=it.content or "", published=it.published, language=it.language,
                    url=it.url)


def _key(identity: str) -> bytes:
    return hashlib.blake2b(identity.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def known_items(identities: Iterable[str]) -> bytes:
    """Identities as ``Job.known`` carries them: 8 bytes of a hash each, about 30 times less
    memory than a set of the strings (the daemon keeps one per feed). A collision only makes
    the worker skip an item's classification, which the store then does itself."""
    return b"".join(sorted({_key(i) for i in identities}))


def digest(job: Job, classifier: Classifier | None) -> Digest:
    """Parse one body and classify its items that are not in ``job.known``; never raises."""
    try:
        feed = parse_feed(job.body, url=job.url, headers=job.headers,
                          default_language=job.default_language, now=job.now)
    except ParseError as exc:
        return Digest(error=str(exc))
    except Exception as exc:  # noqa: BLE001 - the per-feed boundary, in the worker
        return Digest(crash=_describe(exc))
    out = Digest(feed=feed)
    if classifier is None:
        return out
    known = {job.known[i:i + 8] for i in range(0, len(job.known), 8)}
    try:
        for it in feed.items:
            if it.identity not in out.classes and _key(it.identity) not in known:
                out.classes[it.identity] = classifier.classify(parsed_item_text(it), now=job.now)
    except Exception as exc:  # noqa: BLE001 - the store classifies what is missing, and logs
        log.error("worker_classify_failed", url=job.url, error=str(exc))
    return out


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip() + "\n" + "".join(
        traceback.format_tb(exc.__traceback__)[-5:])


def worker_count(setting: int | Literal["auto"]) -> int:
    """``auto``: one worker per core beyond the first (the first fetches and stores)."""
    if setting == "auto":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        return max(0, cores - 1)
    return max(0, int(setting))


# -- the parent's side ------------------------------------------------------------------------


def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL without reaping: asyncio's own ``kill()`` polls first and may reap the child
    under its child watcher, which then loses the exit status (and logs "Unknown child")."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)


class WorkerDied(Exception):
    """The worker process exited (or broke the protocol) with this job in hand."""


class _Worker:
    """One worker process and the jobs it has in hand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pending: dict[int, asyncio.Future[Digest]] = {}
        self.alive = True
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                head = await self.proc.stdout.readexactly(_HEADER.size)
                (size,) = _HEADER.unpack(head)
                if size > _LIMIT:
                    raise WorkerDied(f"frame of {size} bytes")
                job_id, result = pickle.loads(await self.proc.stdout.readexactly(size))
                if job_id == 0:                 # loaded its classifier: ready for jobs
                    if not self.ready.done():
                        self.ready.set_result(None)
                    continue
                fut = self.pending.pop(job_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(result)
        except asyncio.CancelledError:
            self._fail("worker pool closed")
            raise
        except Exception as exc:  # noqa: BLE001 - EOF, a broken frame: the worker is gone
            self._fail(f"worker {self.proc.pid} died: {exc!r}")
            _kill(self.proc)

    def _fail(self, why: str) -> None:
        self.alive = False
        if not self.ready.done():
            self.ready.set_exception(WorkerDied(why))
            self.ready.exception()              # retrieved: nobody may be waiting for it
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(WorkerDied(why))
        self.pending.clear()

    def send(self, job_id: int, job: Job) -> asyncio.Future[Digest]:
        assert self.proc.stdin is not None
        fut: asyncio.Future[Digest] = asyncio.get_running_loop().create_future()
        self.pending[job_id] = fut
        data = pickle.dumps((job_id, job), protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(_HEADER.pack(len(data)) + data)
        return fut

    async def close(self) -> None:
        self.alive = False
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()          # the worker exits at end of input
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=10)
        except TimeoutError:
            _kill(self.proc)
            await self.proc.wait()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class Workers:
    """Runs ``digest`` in ``n`` worker processes (``n == 0``: in a thread of this process)."""

    def __init__(self, classifier: Classifier, n: int, *, timeout: float = 120.0) -> None:
        self.classifier = classifier
        self.n = n
        self.timeout = timeout              # a job's limit in a worker; then the worker dies
        self.respawned = 0
        self._pickled: bytes | None = None
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._spawning = asyncio.Lock()     # binds to the running loop at first use
        self._retry = asyncio.Lock()

    async def start(self) -> None:
        """Start the workers now and wait until they are ready (else they start on demand)."""
        if self.n:
            await asyncio.gather(*(w.ready for w in await self._ready()))

    async def _ready(self) -> list[_Worker]:
        async with self._spawning:
            self._workers = [w for w in self._workers if w.alive]
            while len(self._workers) < self.n:
                self._workers.append(await self._spawn())
        return self._workers

    async def _spawn(self) -> _Worker:
        if self._pickled is None:
            self._pickled = pickle.dumps(self.classifier, protocol=pickle.HIGHEST_PROTOCOL)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor.workers",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=1 << 20)
        assert proc.stdin is not None
        proc.stdin.write(_HEADER.pack(len(self._pickled)) + self._pickled)
        return _Worker(proc)

    async def digest(self, job: Job) -> Digest:
        if not self.n:
            return await asyncio.to_thread(digest, job, self.classifier)
        try:
            return await self._run(job)
        except WorkerDied as exc:
            first = exc
        # Its worker died with this job or another one in hand: once more, alone, so a body
        # that kills its worker again breaks no other body's retry.
        self.respawned += 1
        log.warning("parser_worker_died", url=job.url, error=str(first))
        async with self._retry:
            try:
                return await self._run(job)
            except WorkerDied as exc:
                log.error("parser_worker_died_twice", url=job.url, error=str(exc))
                return Digest(crash=f"{job.url}: the parser worker died on this body twice")

    async def _run(self, job: Job) -> Digest:
        workers = await self._ready()
        worker = min(workers, key=lambda w: len(w.pending))
        job_id = next(self._ids)
        fut = worker.send(job_id, job)
        assert worker.proc.stdin is not None
        try:
            await worker.proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            worker.alive = False
            if not fut.done():
                fut.set_exception(WorkerDied(f"worker {worker.proc.pid}: {exc!r}"))
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.timeout)
        except TimeoutError:
            # Hung (a pathological body, a stopped process): it dies, and so do its other
            # jobs, which are retried like those of any dead worker.
            log.error("parser_worker_hung", url=job.url, seconds=self.timeout,
                      pid=worker.proc.pid)
            worker.alive = False
            worker.pending.pop(job_id, None)
            fut.cancel()
            _kill(worker.proc)
            raise WorkerDied(f"worker {worker.proc.pid}: no result in {self.timeout:g}s") from None

    async def aclose(self) -> None:
        workers, self._workers = self._workers, []
        await asyncio.gather(*(w.close() for w in workers))


# -- the worker's side ------------------------------------------------------------------------


def _read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: a pickled Classifier first, then (id, Job) → (id, Digest)."""
    first = _read_frame(stdin)
    if first is None:
        return
    classifier: Any = pickle.loads(first)  # from our own parent process
    _write_frame(stdout, (0, None))                 # ready
    while (frame := _read_frame(stdin)) is not None:
        job_id, job = pickle.loads(frame)
        _write_frame(stdout, (job_id, digest(job, classifier)))


def _write_frame(stream: BinaryIO, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def main() -> None:
    # The daemon handles SIGINT/SIGTERM by finishing in-flight work; its workers go when their
    # input closes, so a terminal's Ctrl-C or systemd's SIGTERM to the group kills no job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr              # nothing else may write into the result stream
    setup_logging(os.environ.get("MONITOR_LOG_LEVEL", "info"), "json", sys.stderr)
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    # Run as monitor.workers, not __main__, so results pickle as monitor.workers.Digest.
    from monitor.workers import main as _main

    _main()
