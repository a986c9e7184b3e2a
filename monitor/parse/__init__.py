"""Turn a fetched body into a ParsedFeed: plain text, canonical URLs, UTC dates, stable ids.

Pure: no network, no files, no clock (``now`` is an argument). feedparser always gets a
``BytesIO`` and ``response_headers``, never a string, so it cannot fetch or open anything
itself. What real publishers get wrong, and what we do about it:

* charset: BOM, UTF-16 or UTF-32 without a BOM, declarations that lie, no declaration at all.
  We pick the encoding ourselves (``decode_body``), hand feedparser UTF-8 with a matching
  declaration, and say so in ``warning`` when we overrode the document.
* broken XML (bare ``&``, HTML entities, truncation, junk before the declaration): feedparser's
  loose parser first, then entity repair, then lxml ``recover=True``; the best result wins.
* JSON Feed 1.0/1.1, which feedparser 6 does not read.
* dates in other languages, "GMT+9" zones, epoch numbers; absurd dates become None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse.charset import decode_body, gunzip
from monitor.parse.dates import parse_date
from monitor.parse.entries import read_xml_feed
from monitor.parse.items import MAX_ITEMS, build_items, fingerprint, json_safe
from monitor.parse.jsonfeed import read_json_feed
from monitor.parse.text import (
    MAX_TEXT,
    MAX_TITLE,
    detect_language,
    field_text,
    html_to_text,
    language_tag,
)
from monitor.urls import canonical_url

__all__ = ["MAX_ITEMS", "MAX_TEXT", "MAX_TITLE", "ParseError", "canonical_url", "detect_language",
           "fingerprint", "html_to_text", "json_safe", "parse_date", "parse_feed"]


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None,
               default_language: str | None = None, now: datetime,
               fast_path: bool = True) -> ParsedFeed:
    """Parse an RSS, Atom, RDF or JSON Feed body into a ParsedFeed.

    Raises ParseError when the body is empty or is not a feed at all (an HTML page, invalid
    JSON, random bytes). A broken but usable feed comes back with ``warning`` set.
    ``fast_path=False`` forces feedparser (the parser of record) for well-formed RSS/Atom too.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    notes: list[str] = []
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, url)
        notes.append("body was gzip-compressed")
    if not body.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ParseError(url, "empty document")
    text, note = decode_body(body, headers)
    if note:
        notes.append(note)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        title, link, language, version, entries, json_note = read_json_feed(stripped, url)
    else:
        title, link, language, version, entries, json_note = read_xml_feed(
            stripped, url, headers, fast=fast_path and note is None)
    if json_note:
        notes.append(json_note)
    feed_language = language_tag(language) or language_tag(headers.get("content-language"))
    items = build_items(entries, url=url, feed_language=feed_language,
                   default_language=language_tag(default_language), now=now, notes=notes)
    return ParsedFeed(title=field_text(title, limit=MAX_TITLE) or None, link=link,
                      language=feed_language, version=version, items=items,
                      warning="; ".join(notes) or None)
