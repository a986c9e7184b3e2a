"""Server-rendered pages: the milestone timeline, items with filters, feed health, deliveries.

Feed text is untrusted: templates autoescape, and the one place we emit markup of our own
(``<mark>`` around evidence, ``<time>``) escapes the text first and wraps it afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from monitor.config import Config
from monitor.dashboard import queries
from monitor.dashboard.filters import Filters, parse_filters
from monitor.errors import FilterError
from monitor.model import iso
from monitor.store.db import Engine

EXCERPT = 700


def time_tag(dt: datetime | None) -> Markup:
    """``<time>`` in UTC; static/dashboard.js rewrites the text in the viewer's time zone."""
    if dt is None:
        return Markup("&ndash;")
    return Markup('<time datetime="{}">{}</time>').format(
        iso(dt), dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def _pattern(needle: str) -> re.Pattern[str] | None:
    words = needle.split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)


def mark(text: str | None, needles: Iterable[str]) -> Markup:
    """Escape ``text`` and wrap every occurrence of a needle in ``<mark>`` (escaped too)."""
    text = text or ""
    pats = [p for p in (_pattern(n) for n in needles if n) if p is not None]
    spans: list[tuple[int, int]] = []
    for p in pats:
        spans.extend(m.span() for m in p.finditer(text) if m.end() > m.start())
    spans.sort()
    out: list[Markup] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue  # overlaps a span already marked
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>{}</mark>").format(text[start:end]))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def evidence_in(text: str | None, evidence: str | None) -> Markup:
    """The source's text with its evidence sentence marked, or the sentence alone, marked."""
    text, evidence = text or "", (evidence or "").strip()
    p = _pattern(evidence)
    m = p.search(text) if p else None
    if m is None:
        return Markup("<mark>{}</mark>").format(evidence) if evidence else escape(
            text[:EXCERPT])
    start = max(0, m.start() - EXCERPT // 2)
    end = min(len(text), m.end() + EXCERPT // 2)
    excerpt = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    return mark(excerpt, [evidence])


def mark_spans(text: str | None, spans: Iterable[Iterable[int]],
               needles: Iterable[str] = ()) -> Markup:
    """Escape ``text`` and wrap the character ``spans`` (the classifier's trigger offsets)
    in ``<mark>``; without spans (milestones stored before offsets were kept), the
    ``needles`` as words."""
    text = text or ""
    marks = sorted((a, b) for a, b in (tuple(s) for s in spans) if 0 <= a < b <= len(text))
    if not marks:
        return mark(text, needles)
    out: list[Markup] = []
    pos = 0
    for a, b in marks:
        if a < pos:
            continue
        out.append(escape(text[pos:a]))
        out.append(Markup("<mark>{}</mark>").format(text[a:b]))
        pos = b
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def source_evidence(item: dict[str, Any]) -> Markup:
    """A source item's text around its evidence sentence: the sentence marked and its
    trigger words in bold, by the offsets the classifier kept; for sources stored before
    offsets were kept, the sentence found in the summary by its words."""
    at, text = item.get("evidence_at"), item.get("evidence_source")
    if not at or text is None or not 0 <= at["start"] < at["end"] <= len(text):
        return evidence_in(item.get("summary") or item.get("title"), item.get("evidence"))
    a, b = at["start"], at["end"]
    start, end = max(0, a - EXCERPT // 2), min(len(text), b + EXCERPT // 2)
    inner = [(x - a, y - a) for x, y in at.get("triggers") or [] if a <= x < y <= b]
    sentence = text[a:b]
    parts: list[Markup] = []
    pos = 0
    for x, y in sorted(inner):
        if x < pos:
            continue
        parts.append(escape(sentence[pos:x]))
        parts.append(Markup("<b>{}</b>").format(sentence[x:y]))
        pos = y
    parts.append(escape(sentence[pos:]))
    return Markup("").join([
        escape(("…" if start else "") + text[start:a]),
        Markup("<mark>{}</mark>").format(Markup("").join(parts)),
        escape(text[b:end] + ("…" if end < len(text) else ""))])


def href(url: str | None) -> str:
    """Only http(s) links from feeds: a ``javascript:`` URL becomes a dead link."""
    u = (url or "").strip()
    return u if u.lower().startswith(("http://", "https://")) else "#"


def make_env() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(files("monitor") / "templates" / "dashboard"))
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(time=time_tag, iso=iso, mark=mark, mark_spans=mark_spans,
                       evidence_in=evidence_in, source_evidence=source_evidence, href=href)
    return env


class Pages:
    """The HTML pages of one engine and config."""

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.env = make_env()
        self.config_watchlists = [p.rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(
            ".yml") for p in config.watchlists]

    def render(self, request: Request, name: str, status: int = 200,
               **context: Any) -> Response:
        context.setdefault("error", None)
        html = self.env.get_template(name).render(
            request=request, base=request.scope.get("root_path", ""), nav=name, **context)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    async def _filters(self, request: Request) -> tuple[Filters, str | None]:
        try:
            return parse_filters(request.query_params), None
        except FilterError as exc:
            return Filters(), str(exc)

    async def timeline(self, request: Request) -> Response:
        f, error = await self._filters(request)
        name = request.path_params.get("name")
        if name:
            f = f.with_(watchlist=name)
        rows, total = await run_in_threadpool(queries.list_milestones, self.engine, f)
        facets = await run_in_threadpool(queries.facets, self.engine, self.config_watchlists)
        return self.render(request, "timeline.html", status=400 if error else 200, error=error,
                           milestones=rows, total=total, f=f, facets=facets, watchlist=name)

    async def milestone(self, request: Request) -> Response:
        m = await run_in_threadpool(queries.get_milestone, self.engine,
                                    request.path_params["id"])
        if m is None:
            return self.render(request, "error.html", status=404,
                               error="There is no milestone with this id.")
        return self.render(request, "milestone.html", m=m)

    async def items(self, request: Request) -> Response:
        f, error = await self._filters(request)
        rows, total = await run_in_threadpool(queries.list_items, self.engine, f)
        facets = await run_in_threadpool(queries.facets, self.engine, self.config_watchlists)
        return self.render(request, "items.html", status=400 if error else 200, error=error,
                           items=rows, total=total, f=f, facets=facets)

    async def feeds(self, request: Request) -> Response:
        rows = await run_in_threadpool(queries.list_feeds, self.engine)
        return self.render(request, "feeds.html", feeds=rows, now=datetime.now(UTC))

    async def alerts(self, request: Request) -> Response:
        f, error = await self._filters(request)
        rows, total = await run_in_threadpool(queries.list_alerts, self.engine, f)
        return self.render(request, "alerts.html", status=400 if error else 200, error=error,
                           alerts=rows, total=total, f=f)

    def routes(self) -> list[Route]:
        return [Route("/", self.timeline, name="timeline"),
                Route("/watchlists/{name}", self.timeline, name="watchlist"),
                Route("/milestones/{id}", self.milestone, name="milestone"),
                Route("/items", self.items, name="items"),
                Route("/feeds", self.feeds, name="feeds"),
                Route("/alerts", self.alerts, name="alerts")]
