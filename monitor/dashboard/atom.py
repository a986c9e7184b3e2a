"""An Atom 1.0 feed of a watchlist's milestones, so analysts follow them in their own reader.

Built with ElementTree, which escapes every text and attribute: feed content stays data.
Entry ids are ``urn:monitor:milestone:<id>``, stable across restarts; ``updated`` moves when
a milestone gains a source or a status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor.dashboard import queries
from monitor.dashboard.filters import Filters
from monitor.dashboard.views import href
from monitor.model import iso
from monitor.store.db import Engine

NS = "http://www.w3.org/2005/Atom"
ENTRIES = 50


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _content(m: dict[str, Any]) -> str:
    lines = [(f"{m['type_title'] or m['type']} ({m['status']}), "
             f"{m['sources']} source{'' if m['sources'] == 1 else 's'}.")]
    if m["evidence"]:
        lines += ["", f"“{m['evidence']}”"]
    if m["items"]:
        lines += ["", "Sources:"]
        lines += [f"- {i['title']} ({i['feed']}) {i['url'] or ''}".rstrip() for i in m["items"]]
    return "\n".join(lines)


def milestones_atom(watchlist: str | None, milestones: list[dict[str, Any]], *, base_url: str,
                    self_url: str, now: datetime | None = None) -> bytes:
    """The Atom document of these milestones (newest first), as UTF-8 bytes."""
    base = base_url.rstrip("/")
    feed = ET.Element("feed", {"xmlns": NS})
    name = watchlist or "all watchlists"
    _sub(feed, "id", f"urn:monitor:milestones:{quote(watchlist or '*', safe='')}")
    _sub(feed, "title", f"monitor: {name} milestones")
    updated = max((m["last_seen"] for m in milestones), default=now or datetime.now(UTC))
    _sub(feed, "updated", iso(updated))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    page = f"{base}/watchlists/{quote(watchlist, safe='')}" if watchlist else f"{base}/"
    _sub(feed, "link", rel="alternate", type="text/html", href=page)
    author = _sub(feed, "author")
    _sub(author, "name", "monitor")
    _sub(feed, "generator", "monitor")
    for m in milestones:
        e = _sub(feed, "entry")
        _sub(e, "id", f"urn:monitor:milestone:{m['id']}")
        _sub(e, "title", m["title"])
        _sub(e, "published", iso(m["first_seen"]))
        _sub(e, "updated", iso(m["last_seen"]))
        _sub(e, "link", rel="alternate", type="text/html",
             href=f"{base}/milestones/{quote(m['id'], safe='')}")
        for i in m["items"]:
            url = href(i["url"])
            if url != "#":
                _sub(e, "link", rel="related", href=url, title=i["title"][:300])
        _sub(e, "category", term=m["type"], label=m["type_title"] or m["type"])
        _sub(e, "summary", m["evidence"] or m["title"], type="text")
        _sub(e, "content", _content(m), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


class AtomFeeds:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def watchlist(self, request: Request) -> Response:
        name = request.path_params.get("name")
        f = Filters(watchlist=name, per_page=ENTRIES)
        rows, _total = await run_in_threadpool(queries.list_milestones, self.engine, f)
        base = str(request.base_url).rstrip("/")
        self_url = str(request.url.remove_query_params("token"))
        body = milestones_atom(name, rows, base_url=base, self_url=self_url)
        return Response(body, media_type="application/atom+xml; charset=utf-8",
                        headers={"cache-control": "no-cache"})

    def routes(self) -> list[Route]:
        return [Route("/watchlists/{name}/milestones.atom", self.watchlist, name="atom"),
                Route("/milestones.atom", self.watchlist, name="atom_all")]
