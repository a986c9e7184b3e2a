"""The feedparser path (the parser of record): RSS, Atom and RDF, with repair of broken XML."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from html.entities import name2codepoint
from typing import Any

import feedparser
import lxml.etree

from monitor.errors import ParseError
from monitor.parse.charset import as_utf8_xml
from monitor.parse.dates import EPOCH, from_struct
from monitor.parse.fast import read_fast
from monitor.parse.items import MAX_ITEMS, Entry
from monitor.parse.text import MAX_TEXT, MAX_TITLE, field_text

_ENTITY = re.compile(r"&(#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)?")
_XML_ENTITIES = frozenset({"amp;", "lt;", "gt;", "quot;", "apos;"})


def _repair_entities(text: str) -> str:
    """Escape bare '&' and turn HTML named entities (undefined in XML) into numeric ones."""
    def fix(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref is None:
            return "&amp;"
        if ref.startswith("#") or ref in _XML_ENTITIES:
            return match.group(0)
        code = name2codepoint.get(ref[:-1])
        return f"&#{code};" if code else "&amp;" + ref
    return _ENTITY.sub(fix, text)


def _recover_with_lxml(data: bytes) -> bytes | None:
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True,
                                  load_dtd=False, huge_tree=False)
    try:
        root = lxml.etree.fromstring(data, parser=parser)
    except (lxml.etree.LxmlError, ValueError):
        return None
    if root is None:
        return None
    return bytes(lxml.etree.tostring(root, encoding="utf-8", xml_declaration=True))



_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html|<head|<body)",
                         re.IGNORECASE | re.DOTALL)


def _run_feedparser(data: bytes, headers: Mapping[str, str]) -> Any:
    return feedparser.parse(io.BytesIO(data), response_headers=dict(headers),
                            sanitize_html=False, resolve_relative_uris=False)


def read_xml_feed(text: str, url: str, headers: Mapping[str, str], *, fast: bool = True
                  ) -> tuple[str | None, str | None, str | None, str, list[Entry], str | None]:
    """The feed's title, link, language, version, entries and a repair note.

    ``fast``: try the lxml fast path first (monitor.parse.fast), which gives the same entries
    as feedparser on the documents it accepts. Raises ParseError when it is not a feed.
    """
    fp_headers = {k: v for k, v in headers.items()
                  if k in ("content-language", "last-modified", "etag")}
    # We already decoded the document: make feedparser trust that. No Content-Location: it
    # would make feedparser resolve relative guids against the feed URL, so ids would change
    # when the feed moves; relative links are resolved in _item instead.
    fp_headers["content-type"] = "application/xml; charset=utf-8"
    data = as_utf8_xml(text)
    if fast:
        quick = read_fast(data, language=fp_headers.get("content-language"))
        if quick is not None:
            title, link, language, version, fp_entries = quick
            entries = []
            for fp_entry in fp_entries[:MAX_ITEMS + 1]:
                entry = entry_from_feedparser(fp_entry)
                entry.raw = _slim_raw(fp_entry)
                entries.append(entry)
            return title, link, language, version, entries, None
    result = _run_feedparser(data, fp_headers)
    note = None
    if result.bozo:
        note = _bozo_note(result.bozo_exception)
        # (document, lossless): the entity repair only escapes, but lxml's recovery drops what
        # it cannot read (of "&#X41;", an invalid reference, it keeps "X41;"), so its copy wins
        # only with more entries that hold something, never a tie with the tolerant parse.
        attempts: list[tuple[bytes, bool]] = []
        repaired = _repair_entities(text)
        if repaired != text:
            attempts.append((as_utf8_xml(repaired), True))
        recovered = _recover_with_lxml(attempts[0][0] if attempts else data)
        if recovered is not None:
            attempts.append((recovered, False))
        for attempt, lossless in attempts:
            if result.bozo and not isinstance(result.bozo_exception,
                                              feedparser.CharacterEncodingOverride):
                candidate = _run_feedparser(attempt, fp_headers)
                gain = _filled(candidate.entries) - _filled(result.entries)
                if gain > 0 or (gain == 0 and lossless and not candidate.bozo):
                    result = candidate
    if not result.entries and not dict.get(result, "version"):
        if _HTML_START.match(text):
            raise ParseError(url, "document is an HTML page, not a feed")
        reason = _bozo_note(result.bozo_exception) if result.bozo else "no feed elements"
        raise ParseError(url, f"document is not a feed ({reason})")
    if note:
        note += f"; recovered {len(result.entries)} entries"
    feed: dict[str, Any] = dict(result.feed)
    entries = [entry_from_feedparser(e) for e in result.entries[:MAX_ITEMS + 1]]
    return (feed.get("title"), feed.get("link"), feed.get("language"),
            dict.get(result, "version") or "", entries, note)


def _filled(entries: list[Any]) -> int:
    """How many entries hold a title, text, link or id: those ``build_items`` can keep."""
    return sum(1 for e in entries if any(dict.get(e, key) for key in _FILLED_KEYS))


_FILLED_KEYS = ("title", "summary", "content", "link", "id")
_RAW_KEYS = ("id", "link", "title", "published", "updated", "created", "author", "tags")


def _slim_raw(fp_entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the dashboard and debugging need of a fast-path entry: no text bodies."""
    return {key: fp_entry[key] for key in _RAW_KEYS if fp_entry.get(key) not in (None, "", [])}


def _bozo_note(exc: BaseException | None) -> str:
    if exc is None:
        return "document was malformed"
    message = str(getattr(exc, "getMessage", lambda: exc)()) or type(exc).__name__
    line = getattr(exc, "getLineNumber", lambda: None)()
    where = f" at line {line}" if line else ""
    return f"document was not well-formed ({message}{where})"


def entry_from_feedparser(fp_entry: Any) -> Entry:
    # dict.get, not FeedParserDict.get: the latter maps "updated" to "published" with a
    # DeprecationWarning (feedparser issue 310).
    entry: dict[str, Any] = dict(fp_entry)
    contents = entry.get("content") or []
    content_parts = [field_text(c.get("value"), c) for c in contents if c.get("value")]
    summary = field_text(entry.get("summary"), entry.get("summary_detail"))
    content = "\n".join(p for p in content_parts if p)[:MAX_TEXT]
    if content == summary:
        content = ""
    parsed = None
    for key in ("published", "updated", "created"):
        if EPOCH.match(str(entry.get(key) or "")):
            continue         # feedparser misreads epoch numbers; parse_date handles them
        parsed = from_struct(entry.get(key + "_parsed"))
        if parsed is not None:
            break
    language = None
    for detail in (entry.get("title_detail"), entry.get("summary_detail"), *contents):
        if detail and detail.get("language"):
            language = detail.get("language")
            break
    return Entry(
        id=entry.get("id") or entry.get("guid"),
        link=entry.get("link"),
        title=field_text(entry.get("title"), entry.get("title_detail"), MAX_TITLE),
        summary=summary,
        content=content,
        dates=(entry.get("published"), entry.get("updated"), entry.get("created")),
        parsed_date=parsed,
        language=language,
        author=entry.get("author"),
        raw=entry,
    )

