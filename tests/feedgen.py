"""Build small RSS and Atom documents for tests."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


def rss(items: list[dict[str, object]], *, title: str = "Test feed",
        language: str | None = None) -> bytes:
    """``items``: dicts with title, link, summary, guid, published (aware datetime) and
    content: a whole article, written as ``content:encoded`` HTML, one ``<p>`` per paragraph
    (paragraphs separated by blank lines), as publishers' feeds carry it."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             ('<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
              "<channel>"),
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
        if it.get("content"):
            html = "".join(f"<p>{escape(p)}</p>" for p in str(it["content"]).split("\n\n"))
            parts.append(f"<content:encoded>{escape(html)}</content:encoded>")
        pub = it.get("published")
        if isinstance(pub, datetime):
            parts.append(f"<pubDate>{format_datetime(pub)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")
