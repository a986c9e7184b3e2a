"""The JSON API under ``/api/``: the dashboard's data, paginated, with the same filters.

Every list answers ``{"items": [...], "total", "page", "per_page", "pages", "next", "prev"}``
(``next``/``prev`` are URLs or null, also sent as a ``Link`` header). Times are ISO 8601 UTC.
``/api/openapi.json`` describes it (OpenAPI 3.1, written by hand: small and stable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.config import Config
from monitor.dashboard import queries
from monitor.dashboard.filters import MAX_PER_PAGE, Filters, parse_filters
from monitor.errors import FilterError
from monitor.model import iso
from monitor.store.db import Engine


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _paged(request: Request, f: Filters, rows: list[dict[str, Any]], total: int) -> Response:
    pages = max(1, -(-total // f.per_page))
    base = str(request.url.replace(query=""))

    def link(page: int) -> str:
        return f"{base}?{f.query(page=page)}"

    nxt = link(f.page + 1) if f.page < pages else None
    prev = link(f.page - 1) if f.page > 1 else None
    headers = {}
    links = [f'<{u}>; rel="{rel}"' for u, rel in ((nxt, "next"), (prev, "prev")) if u]
    if links:
        headers["link"] = ", ".join(links)
    body = {"items": jsonable(rows), "total": total, "page": f.page, "per_page": f.per_page,
            "pages": pages, "next": nxt, "prev": prev}
    return JSONResponse(body, headers=headers)


class Api:
    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config

    async def _list(self, request: Request, query: Any) -> Response:
        """One paginated listing: filters from the query string (400 if bad), then a page."""
        try:
            f = parse_filters(request.query_params)
        except FilterError as exc:
            return _error(400, str(exc))
        rows, total = await run_in_threadpool(query, self.engine, f)
        return _paged(request, f, rows, total)

    async def milestones(self, request: Request) -> Response:
        return await self._list(request, queries.list_milestones)

    async def milestone(self, request: Request) -> Response:
        m = await run_in_threadpool(queries.get_milestone, self.engine,
                                    request.path_params["id"])
        if m is None:
            return _error(404, "no milestone with this id")
        return JSONResponse(jsonable(m))

    async def items(self, request: Request) -> Response:
        return await self._list(request, queries.list_items)

    async def feeds(self, request: Request) -> Response:
        rows = await run_in_threadpool(queries.list_feeds, self.engine)
        return JSONResponse({"items": jsonable(rows), "total": len(rows)})

    async def alerts(self, request: Request) -> Response:
        return await self._list(request, queries.list_alerts)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    def routes(self) -> list[Route]:
        return [Route("/api/milestones", self.milestones, name="api_milestones"),
                Route("/api/milestones/{id}", self.milestone, name="api_milestone"),
                Route("/api/items", self.items, name="api_items"),
                Route("/api/feeds", self.feeds, name="api_feeds"),
                Route("/api/alerts", self.alerts, name="api_alerts"),
                Route("/api/openapi.json", self.openapi, name="api_openapi")]


# -- the OpenAPI description -------------------------------------------------------------------

_TEXT = {"type": "string"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_PARAMS = {
    "watchlist": "Only this watchlist.",
    "actor": "Only items (or milestones) naming this actor id.",
    "type": "Only this milestone type (items: reporting it).",
    "status": "Milestones: only this status (announced, completed, ...).",
    "feed": "Items: only this feed.",
    "relevant": "Items: only relevant ones (true/false).",
    "since": "From this date (a whole day in `tz`) or ISO datetime, inclusive.",
    "until": "Up to this date (the whole day, in `tz`) or ISO datetime, exclusive.",
    "tz": "IANA time zone for plain dates (default UTC).",
    "q": "Text search in titles and summaries (milestones: title and evidence).",
    "state": "Alerts: pending, delivered or dead.",
    "channel": "Alerts: only this channel.",
    "order": "desc (newest first, the default) or asc.",
}


def _param(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = dict(_TEXT)
    if name == "relevant":
        schema = {"type": "boolean"}
    elif name == "order":
        schema = {"type": "string", "enum": ["desc", "asc"]}
    return {"name": name, "in": "query", "required": False, "description": _PARAMS[name],
            "schema": schema}


_PAGING = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
           {"name": "per_page", "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                       "default": 50}}]

_ITEM = {"type": "object", "properties": {
    "id": {"type": "integer"}, "feed": _TEXT, "title": _TEXT, "url": {"type": ["string", "null"]},
    "published": _TIME, "first_seen": _TIME, "summary": _TEXT, "relevant": {"type": ["boolean",
                                                                                     "null"]},
    "watchlists": {"type": "array", "items": _TEXT}, "actors": {"type": "array", "items": _TEXT},
    "milestones": {"type": "array", "items": {"type": "object"}}}}
_MILESTONE = {"type": "object", "properties": {
    "id": _TEXT, "watchlist": _TEXT, "type": _TEXT, "title": _TEXT, "status": _TEXT,
    "severity": _TEXT, "event_at": _TIME, "first_seen": _TIME, "last_seen": _TIME,
    "sources": {"type": "integer"}, "evidence": _TEXT,
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}

_ALERT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "delivery_id": _TEXT, "channel": _TEXT, "event": _TEXT,
    "milestone_id": {"type": ["string", "null"]}, "state": _TEXT, "attempts": {"type": "integer"},
    "created": _TIME, "delivered": _TIME, "history": {"type": "array", "items": {"type": "object"}}}}


def _list(summary: str, params: list[str], schema: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": [_param(p) for p in params] + _PAGING,
                    "responses": {
                        "200": {"description": "One page", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Page", "properties": {
                                "items": {"type": "array", "items": {
                                    "$ref": f"#/components/schemas/{schema}"}}}}}}},
                        "400": {"description": "A bad filter value"},
                        "401": {"description": "Credentials needed"}}}}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``/api/``."""
    common = ["watchlist", "type", "since", "until", "tz", "q", "order"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "monitor API", "version": "1",
                 "description": "Milestones, items, feeds and alert deliveries of monitor."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "basic": {"type": "http", "scheme": "basic"},
                                "token": {"type": "apiKey", "in": "query", "name": "token"}},
            "schemas": {"Item": _ITEM, "Milestone": _MILESTONE, "Alert": _ALERT, "Page": {
                "type": "object", "required": ["items", "total", "page", "per_page"],
                "properties": {"items": {"type": "array"}, "total": {"type": "integer"},
                               "page": {"type": "integer"}, "per_page": {"type": "integer"},
                               "pages": {"type": "integer"},
                               "next": {"type": ["string", "null"]},
                               "prev": {"type": ["string", "null"]}}}}},
        "security": [{}, {"bearer": []}, {"basic": []}, {"token": []}],
        "paths": {
            "/api/milestones": _list("Milestones, newest event first",
                                     common + ["status", "actor"], "Milestone"),
            "/api/milestones/{id}": {"get": {
                "summary": "One milestone with its sources",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": _TEXT}],
                "responses": {"200": {"description": "The milestone", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Milestone"}}}},
                    "404": {"description": "No such milestone"}}}},
            "/api/items": _list("Stored items, newest first",
                                common + ["actor", "feed", "relevant"], "Item"),
            "/api/feeds": {"get": {"summary": "Every feed with its health", "responses": {
                "200": {"description": "All feeds"}}}},
            "/api/alerts": _list("Alert deliveries with their attempts, newest first",
                                 ["state", "channel", "watchlist"], "Alert"),
            "/watchlists/{name}/milestones.atom": {"get": {
                "summary": "An Atom feed of a watchlist's milestones",
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": _TEXT}],
                "responses": {"200": {"description": "Atom 1.0",
                                      "content": {"application/atom+xml": {}}}}}},
        },
    }
