"""The web dashboard, its JSON API and Atom feeds, served beside /healthz and /metrics.

``routes(engine, config)`` is what the daemon mounts into its app at ``http.listen``;
``build_web_app`` is the same dashboard on its own, for ``monitor web``. Everything is read-only.

    /                                   milestones timeline (all watchlists)
    /watchlists/{name}                  one watchlist's timeline
    /watchlists/{name}/milestones.atom  its Atom feed (and /milestones.atom for all)
    /milestones/{id}                    one milestone with its sources and evidence
    /items  /feeds  /alerts             items with filters, feed health, deliveries
    /api/...                            JSON (see /api/openapi.json)
    /static/...                         CSS and the time-zone script
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from monitor.config import Config
from monitor.dashboard.api import Api
from monitor.dashboard.atom import AtomFeeds
from monitor.dashboard.auth import Access, DashboardMiddleware, check_access_config
from monitor.dashboard.views import Pages
from monitor.store.db import Engine
from monitor.web import Health, health_route

__all__ = ["build_web_app", "check_access_config", "dashboard_app", "routes"]


def dashboard_app(engine: Engine, config: Config) -> Any:
    """The dashboard as one ASGI app: pages, API, Atom, static files, behind access control."""
    check_access_config(config)
    static = StaticFiles(directory=str(files("monitor") / "static"))
    inner: list[BaseRoute] = [*Pages(engine, config).routes(), *Api(engine, config).routes(),
                              *AtomFeeds(engine).routes(), Mount("/static", static, name="static")]
    app = Starlette(routes=inner)
    return DashboardMiddleware(app, Access(config.http))


def routes(engine: Engine, config: Config) -> list[BaseRoute]:
    """The dashboard's routes for the daemon's app; raises ConfigError (see check_access_config)."""
    # One mount at the root: the daemon's own routes (/healthz, /metrics) are matched first,
    # and everything else goes through the dashboard's access check and security headers.
    return [Mount("", app=dashboard_app(engine, config))]


def build_web_app(engine: Engine, config: Config) -> Starlette:
    """``monitor web``: the dashboard with /healthz (200 when the database answers)."""
    return Starlette(routes=[health_route(Health(engine)), *routes(engine, config)])
