"""JSON Feed 1.0/1.1 (which feedparser 6 does not read) and Dave Winer's RSS-in-JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from monitor.errors import ParseError
from monitor.parse.items import MAX_ITEMS, Entry
from monitor.parse.text import MAX_TEXT, MAX_TITLE, field_text


def read_json_feed(text: str, url: str
                    ) -> tuple[str | None, str | None, str | None, str, list[Entry], str | None]:
    note = None
    try:
        doc = json.loads(text, strict=False)
    except ValueError as exc:
        doc = _salvage_json_feed(text)
        if doc is None:
            raise ParseError(url, f"invalid JSON: {exc}") from exc
        note = f"invalid JSON ({exc}); recovered {len(doc['items'])} items"
    if isinstance(doc, dict) and isinstance(doc.get("rss"), dict):
        return _read_rss_in_json(doc["rss"], url)
    if not isinstance(doc, dict) or not (
            "jsonfeed.org" in str(doc.get("version", "")) or isinstance(doc.get("items"), list)):
        raise ParseError(url, "JSON document is not a JSON Feed")
    version = "json11" if str(doc.get("version", "")).rstrip("/").endswith("1.1") else "json10"
    items: list[Any] = doc["items"] if isinstance(doc.get("items"), list) else []
    entries = [_entry_from_json(i, doc) for i in items[:MAX_ITEMS + 1] if isinstance(i, dict)]
    home = doc.get("home_page_url")
    return (_str(doc.get("title")), _str(home), _str(doc.get("language")), version, entries,
            note)


def _read_rss_in_json(rss: Mapping[str, Any], url: str
                      ) -> tuple[str | None, str | None, str | None, str, list[Entry], str | None]:
    """Dave Winer's "RSS in JSON" (rss.channel.item[]), which Scripting News publishes."""
    channel = rss.get("channel")
    if not isinstance(channel, dict):
        raise ParseError(url, "JSON document is not a feed (rss without channel)")
    raw_items = channel.get("item") or []
    if isinstance(raw_items, dict):
        raw_items = [raw_items]
    entries = []
    for item in raw_items[:MAX_ITEMS + 1]:
        if not isinstance(item, dict):
            continue
        summary = field_text(_str(item.get("description")), {"type": "text/html"})
        guid = item.get("guid")
        if isinstance(guid, dict):
            guid = guid.get("value") or guid.get("#value")
        entries.append(Entry(
            id=_str(guid), link=_str(item.get("link")),
            title=field_text(_str(item.get("title")), limit=MAX_TITLE), summary=summary, content="",
            dates=(_str(item.get("pubDate")),), parsed_date=None, language=None,
            author=_str(item.get("author")), raw=item))
    return (_str(channel.get("title")), _str(channel.get("link")), _str(channel.get("language")),
            "rss-json", entries, None)


_ITEMS_KEY = re.compile(r'"items"\s*:\s*\[')


def _salvage_json_feed(text: str) -> dict[str, Any] | None:
    """Items of a truncated JSON Feed, decoded one by one until the damage."""
    match = _ITEMS_KEY.search(text)
    if not match:
        return None
    decoder = json.JSONDecoder(strict=False)
    items: list[Any] = []
    pos = match.end()
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        items.append(item)
    if not items:
        return None
    head: dict[str, Any] = {"items": items}
    for key in ("version", "title", "home_page_url", "language"):
        found = re.search(rf'"{key}"\s*:\s*("(?:[^"\\]|\\.)*")', text[:match.start()])
        if found:
            head[key] = json.loads(found.group(1), strict=False)
    return head


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _json_author(obj: Mapping[str, Any]) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        return _str(authors[0].get("name"))
    author = obj.get("author")
    if isinstance(author, dict):
        return _str(author.get("name"))
    return None


def _entry_from_json(item: Mapping[str, Any], doc: Mapping[str, Any]) -> Entry:
    summary = field_text(_str(item.get("summary")), {"type": "text/html"})
    content = field_text(_str(item.get("content_html")), {"type": "text/html"}) or field_text(
        _str(item.get("content_text")))
    if content == summary:
        content = ""
    item_id = item.get("id")
    return Entry(
        id=_str(item_id) if item_id not in (None, "") else None,
        link=_str(item.get("url")) or _str(item.get("external_url")),
        title=field_text(_str(item.get("title")), limit=MAX_TITLE),
        summary=summary,
        content=content[:MAX_TEXT],
        dates=(_str(item.get("date_published")), _str(item.get("date_modified"))),
        parsed_date=None,
        language=_str(item.get("language")),
        author=_json_author(item) or _json_author(doc),
        raw=item,
    )

