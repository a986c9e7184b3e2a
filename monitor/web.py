"""The daemon's HTTP face: health, readiness and Prometheus metrics (the dashboard plugs in here)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Generator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from monitor.metrics import Metrics
from monitor.store.db import Engine, ping


class Health:
    """What /healthz and /readyz report; the scheduler updates ``last_tick``. Without
    ``tick_seconds`` there is no scheduler to watch (``monitor web``): the database decides."""

    def __init__(self, engine: Engine, tick_seconds: float | None = None) -> None:
        self.engine = engine
        self.tick_seconds = tick_seconds
        self.last_tick: float | None = None
        self.started = time.monotonic()
        self.ready = False

    def scheduler_alive(self) -> bool:
        if self.tick_seconds is None:
            return True
        # the scheduler ticks every tick_seconds; allow a slow tick (a big poll batch) too
        ref = self.last_tick if self.last_tick is not None else self.started
        return time.monotonic() - ref < max(120.0, 10 * self.tick_seconds)

    def database_ok(self) -> tuple[bool, str | None]:
        failure = ping(self.engine)
        return failure is None, failure


def health_route(health: Health) -> Route:
    """``/healthz``: 200 when the database answers and the scheduler, if any, ticks; else 503."""

    async def healthz(_: Request) -> Response:
        db_ok, err = await asyncio.to_thread(health.database_ok)
        alive = health.scheduler_alive()
        body: dict[str, Any] = {"status": "ok" if db_ok and alive else "failing"}
        if health.tick_seconds is not None:
            body["scheduler"] = alive
        body["database"] = db_ok
        # `monitor web`'s probe has only ever answered status and database
        if err and health.tick_seconds is not None:
            body["error"] = err
        return JSONResponse(body, status_code=200 if db_ok and alive else 503)

    return Route("/healthz", healthz)


def build_app(health: Health, metrics: Metrics,
              refresh: Callable[[], None] | None = None,
              extra_routes: list[Any] | None = None) -> Starlette:
    """The Starlette app served at ``http.listen``."""

    async def readyz(_: Request) -> Response:
        db_ok, _err = await asyncio.to_thread(health.database_ok)
        ok = db_ok and health.ready
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    async def metrics_view(_: Request) -> Response:
        if refresh is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(refresh)
        return PlainTextResponse(metrics.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [health_route(health), Route("/readyz", readyz),
              Route("/metrics", metrics_view)]
    return Starlette(routes=routes + (extra_routes or []))


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the daemon owns SIGTERM/SIGINT/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def make_server(app: Starlette, listen: str, *, own_signals: bool = False) -> uvicorn.Server:
    """A uvicorn server for ``app`` at ``listen`` (HOST:PORT; an IPv6 host in brackets).

    The daemon handles SIGTERM/SIGINT/SIGHUP itself, so the server installs no handlers
    unless ``own_signals`` (``monitor web``: no daemon, uvicorn stops on them)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    config = uvicorn.Config(app, host=host, port=int(port), log_config=None, access_log=False,
                            lifespan="off")
    return uvicorn.Server(config) if own_signals else _QuietServer(config)
