"""Build small RSS and Atom documents for tests."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


def rss(items: list[dict[str, object]], *, title: str = "Test feed",
        language: str | None = None) -> bytes:
    """``items``: dicts with title, link, summary, guid, published (aware datetime)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
             f"<title>{escape(title)}</title><link>https://example.org/</link>",
             "<description>test</description>"]
    if language:
        parts.append(f"<language>{language}</language>")
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(str(it['title']))}</title>")
        if it.get("link"):
            parts.append(f"<link>{escape(str(it['link']))}</link>")
        if it.get("guid"):
            parts.append(f'<guid isPermaLink="false">{escape(str(it["guid"]))}</guid>')
        if it.get("summary"):
            parts.append(f"<description>{escape(str(it['summary']))}</description>")
        pub = it.get("published")
        if isinstance(pub, datetime):
            parts.append(f"<pubDate>{format_datetime(pub)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")
