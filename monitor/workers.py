"""Parse and classify on the other cores: worker processes between fetch and store.

Parsing and classification (``monitor.parse_job``) are pure CPU work; in one process they share
one core with fetching and storing. ``Workers`` runs ``parse_job`` in worker processes when there
is more than one core, and in a thread of this process otherwise: same function, same results.

A worker is a fresh interpreter (``python -m monitor.parse_job``) that imports only the parser
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
import itertools
import os
import pickle
import signal
import sys
from typing import Literal

from monitor.classify import Classifier
from monitor.errors import WorkerDied
from monitor.log import get_logger
from monitor.parse_job import (
    HEADER,
    ParseJob,
    ParseOutcome,
    frame,
    known_items,
    parse_job,
)

__all__ = [
    "ClassifyShare",
    "ParseJob",
    "ParseOutcome",
    "WorkerDied",
    "Workers",
    "known_items",
    "worker_count",
]

log = get_logger("monitor.workers")

_LIMIT = 1 << 30                        # a frame bigger than this is a protocol error


def worker_count(setting: int | Literal["auto"]) -> int:
    """``auto``: one worker per core beyond the first (the first fetches and stores)."""
    if setting == "auto":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        return max(0, cores - 1)
    return max(0, int(setting))


class ClassifyShare:
    """The share of jobs whose items the daemon classifies itself, adjusted batch by batch.

    A worker parses and classifies while the daemon fetches and stores; on two cores the
    worker is the slower of the two (parsing and classifying an item take longer than storing
    it), so the daemon waited for it and its core sat partly idle. Parsing stays in
    the worker (a hostile body can only crash a worker), but classification, our own code on
    text already parsed, can run in either: the daemon takes a share of it, more when its last
    batch was stored before the next one was parsed, less when it was not (then the daemon is
    the slower). Either way an item gets the same classification.
    """

    STEP = 0.1
    MAX = 0.9

    def __init__(self, fraction: float = 0.0) -> None:
        self.fraction = fraction
        self._owed = 0.0

    def take(self) -> bool:
        """Whether the daemon classifies the next job's items (spread evenly over jobs)."""
        self._owed += self.fraction
        if self._owed >= 1.0:
            self._owed -= 1.0
            return True
        return False

    def observe(self, *, store_waited: bool) -> None:
        """After a batch: ``store_waited`` when the previous batch's store had finished (the
        daemon then waited on fetching and the workers) before this batch was parsed."""
        step = self.STEP if store_waited else -self.STEP
        self.fraction = round(min(self.MAX, max(0.0, self.fraction + step)), 3)


# -- the parent's side ------------------------------------------------------------------------


def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL without reaping: asyncio's own ``kill()`` polls first and may reap the child
    under its child watcher, which then loses the exit status (and logs "Unknown child")."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)


class _Worker:
    """One worker process and the jobs it has in hand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pending: dict[int, asyncio.Future[ParseOutcome]] = {}
        self.alive = True
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                head = await self.proc.stdout.readexactly(HEADER.size)
                (size,) = HEADER.unpack(head)
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

    def send(self, job_id: int, job: ParseJob) -> asyncio.Future[ParseOutcome]:
        assert self.proc.stdin is not None
        fut: asyncio.Future[ParseOutcome] = asyncio.get_running_loop().create_future()
        self.pending[job_id] = fut
        self.proc.stdin.write(frame((job_id, job)))
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
    """Runs ``parse_job`` in ``n`` worker processes (``n == 0``: in a thread of this process)."""

    def __init__(self, classifier: Classifier, n: int, *, timeout: float = 120.0,
                 log_level: str = "info") -> None:
        self.classifier = classifier
        self.n = n
        self.timeout = timeout              # a job's limit in a worker; then the worker dies
        self.log_level = log_level          # the config's ``log.level``, for the workers' logs
        self.respawned = 0
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
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor.parse_job",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "MONITOR_LOG_LEVEL": self.log_level}, limit=1 << 20)
        assert proc.stdin is not None
        # Pickled anew for each (rare) spawn rather than kept: it is the size of the watchlists.
        proc.stdin.write(frame(self.classifier))
        return _Worker(proc)

    async def parse(self, job: ParseJob) -> ParseOutcome:
        if not self.n:
            return await asyncio.to_thread(parse_job, job, self.classifier)
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
                return ParseOutcome(crash=f"{job.url}: the parser worker died on this body twice")

    async def _run(self, job: ParseJob) -> ParseOutcome:
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
