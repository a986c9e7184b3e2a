"""Turn a fetched body into a ParsedFeed: plain text, canonical URLs, UTC dates, stable ids.

Pure: no network, no files, no clock (``now`` is an argument). feedparser always gets a
``BytesIO`` and ``response_headers``, never a string, so it cannot fetch or open anything
itself. What real publishers get wrong, and what we do about it:

* charset: BOM, UTF-16 without a BOM, declarations that lie, no declaration at all. We pick the
  encoding ourselves (``_decode``), hand feedparser UTF-8 with a matching declaration, and say
  so in ``warning`` when we overrode the document.
* broken XML (bare ``&``, HTML entities, truncation, junk before the declaration): feedparser's
  loose parser first, then entity repair, then lxml ``recover=True``; the best result wins.
* JSON Feed 1.0/1.1, which feedparser 6 does not read.
* dates in other languages, "GMT+9" zones, epoch numbers; absurd dates become None.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import json
import math
import re
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html.entities import name2codepoint
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import charset_normalizer
import dateutil.parser
import feedparser
import lxml.etree
import lxml.html
from dateutil import tz
from feedparser.datetimes import _parse_date as _feedparser_date
from w3lib.url import canonicalize_url as _w3lib_canonicalize

from monitor.errors import ParseError
from monitor.model import ParsedFeed, ParsedItem

MAX_ITEMS = 5000
MAX_TITLE = 2_000
MAX_TEXT = 100_000
MAX_HTML_INPUT = 2_000_000          # characters of markup we are willing to parse per field
MAX_RAW_STRING = 10_000
MAX_RAW_BYTES = 64_000
MAX_INFLATED = 50 * 1024 * 1024     # a gzip-wrapped body (Content-Encoding not undone upstream)
MIN_YEAR = 1990
MAX_FUTURE = timedelta(days=2)

# --------------------------------------------------------------------------------------------
# URLs

# Query parameters that identify a campaign or a click, not a document.
_TRACKING_EXACT = frozenset({
    "fbclid", "gclid", "yclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "_hsenc",
    "_hsmi", "mkt_tok", "ref", "ref_src", "ref_url", "referer", "referrer", "source", "src",
    "cmpid", "ncid", "ocid", "sr_share", "at_medium", "at_campaign", "at_custom1", "at_custom2",
    "at_custom3", "at_custom4", "rss", "partner", "feature", "spm",
})
_TRACKING_PREFIXES = ("utm_", "pk_", "piwik_", "mtm_", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    key = name.lower()
    return key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL without tracking parameters or fragment, lower-case scheme and host, sorted query.

    Non-http(s) or unparsable URLs come back stripped but otherwise unchanged. Never raises.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return url
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if not _is_tracking(k)]
        host = parts.hostname.lower().rstrip(".")
        if ":" in host:                                  # IPv6 literal
            host = f"[{host}]"
        port = parts.port
        netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
        if parts.username or parts.password:
            netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
        path = parts.path or "/"
        rebuilt = urlunsplit((scheme, netloc, path, urlencode(query), ""))
        return _w3lib_canonicalize(rebuilt, keep_fragments=False)
    except ValueError:       # bad port, bad IPv6 literal...
        return url


# --------------------------------------------------------------------------------------------
# HTML -> text

_DROP_TAGS = ("script", "style", "noscript", "template", "head", "iframe", "object", "embed",
              "svg", "math", "form", "button", "select", "textarea")
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    "body", "html",
})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_TAG_LIKE = re.compile(r"<[a-zA-Z/!]")
_TAG = re.compile(r"<[^>]*>")
# Parsing HTML with lxml: no network, no DTD, comments and PIs dropped. Nothing is executed.
_HTML_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True,
                                    recover=True, default_doctype=False)


def _collapse(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: scripts and styles dropped, blocks on their own lines.

    Entities are decoded and whitespace collapsed. Never raises.
    """
    if not markup:
        return ""
    markup = _CONTROL.sub("", markup[:MAX_HTML_INPUT])
    if not _TAG_LIKE.search(markup):
        return _collapse(html.unescape(markup) if "&" in markup else markup)
    try:
        root = lxml.html.document_fromstring(f"<html><body>{markup}</body></html>",
                                             parser=_HTML_PARSER)
    except (lxml.etree.LxmlError, ValueError):
        return _collapse(html.unescape(_TAG.sub(" ", markup)))
    for element in list(root.iter(*_DROP_TAGS)):
        element.drop_tree()           # keeps the tail text
    out: list[str] = []
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                out.append("\n")
            if element.text:
                out.append(element.text)
        else:
            if tag in _BLOCK_TAGS:
                out.append("\n")
            if element.tail:
                out.append(element.tail)
    return _collapse("".join(out))


def _text(value: str | None, detail: Mapping[str, Any] | None = None, limit: int = MAX_TEXT) -> str:
    """Plain text of a feed field, whether the feed called it HTML or text."""
    if not value:
        return ""
    kind = str((detail or {}).get("type") or "")
    if "html" in kind or _TAG_LIKE.search(value):
        text = html_to_text(value)
    else:
        # Publishers often double-escape ("&amp;#8211;"), so decode once more.
        text = _collapse(html.unescape(_CONTROL.sub("", value[:MAX_HTML_INPUT])))
    return text[:limit]


# --------------------------------------------------------------------------------------------
# Dates

_MONTHS = {
    # Portuguese, Italian, Spanish, French, German, Dutch (only non-English spellings).
    "janeiro": 1, "fevereiro": 2, "fev": 2, "março": 3, "marco": 3, "abril": 4, "abr": 4,
    "maio": 5, "junho": 6, "julho": 7, "agosto": 8, "ago": 8, "setembro": 9, "set": 9,
    "outubro": 10, "out": 10, "novembro": 11, "dezembro": 12, "dez": 12,
    "gennaio": 1, "gen": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "mag": 5,
    "giugno": 6, "giu": 6, "luglio": 7, "lug": 7, "settembre": 9, "ottobre": 10, "ott": 10,
    "dicembre": 12, "dic": 12,
    "enero": 1, "ene": 1, "febrero": 2, "mayo": 5, "junio": 6, "julio": 7, "septiembre": 9,
    "octubre": 10, "noviembre": 11, "diciembre": 12,
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8,
    "septembre": 9, "sept": 9, "octobre": 10, "décembre": 12, "decembre": 12, "déc": 12,
    "januar": 1, "februar": 2, "märz": 3, "maerz": 3, "mär": 3, "juni": 6, "juli": 7,
    "oktober": 10, "okt": 10, "dezember": 12, "mei": 5, "mrt": 3,
}
_MONTH_ABBR = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec")
_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
_LEADING_WEEKDAY = re.compile(r"^\s*[^\W\d_]+\.?\s*,\s*|^\s*[^\W\d_]{2,4}\.?\s+(?=\d)", re.UNICODE)
# "GMT+9", "UTC-03:30": dateutil reads these POSIX-style (sign inverted); publishers mean ISO.
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b", re.IGNORECASE)
_ZERO_YEAR = re.compile(r"(?<![\d+:-])0{3}\d(?![\d:])")  # years 0000-0009: no news is that old
_EPOCH = re.compile(r"^\s*(\d{9,10}|\d{12,13})\s*$")
_ZONES = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 3600, "CET": 3600, "MET": 3600,
    "CEST": 7200, "MEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800, "MSD": 14400,
    "IST": 19800, "HKT": 28800, "SGT": 28800, "AWST": 28800, "KST": 32400, "JST": 32400,
    "AEST": 36000, "AEDT": 39600, "NZST": 43200, "NZDT": 46800, "AST": -14400, "ADT": -10800,
    "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000, "MST": -25200, "MDT": -21600,
    "PST": -28800, "PDT": -25200, "AKST": -32400, "AKDT": -28800, "HST": -36000,
}


def _tzinfos(name: str | None, offset: int | None) -> Any:
    if offset is not None:
        return tz.tzoffset(name, offset)
    if name and name.upper() in _ZONES:
        return tz.tzoffset(name, _ZONES[name.upper()])
    return None          # unknown zone name: treated as UTC below rather than guessed


def _gmt_offset(match: re.Match[str]) -> str:
    sign, hours, minutes = match.group(1), int(match.group(2)), match.group(3) or "00"
    return f" {sign}{hours:02d}{minutes}"


def _translate_months(value: str) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        month = _MONTHS.get(word.rstrip(".").lower())
        return _MONTH_ABBR[month] if month else word
    return _WORD.sub(swap, value)


def parse_date(value: str | None, *, now: datetime) -> datetime | None:
    """An aware UTC datetime from a feed's date string, or None when unreadable or absurd.

    Tries feedparser's handlers (RFC 822, W3C-DTF, ISO 8601, Korean, Greek, Hungarian...), then
    epoch numbers, then dateutil after translating month names and fixing "GMT+9"-style zones.
    Never raises.
    """
    if not value or not value.strip():
        return None
    value = value.strip()[:200]
    epoch = _EPOCH.match(value)
    if epoch:
        # Before feedparser, whose ISO 8601 handler reads "1518478934" as a 2015 date.
        seconds = int(epoch.group(1))
        return _sane(datetime.fromtimestamp(seconds // 1000 if seconds > 10**11 else seconds,
                                            UTC), now)
    if _ZERO_YEAR.search(value):
        # RFC 822 handlers read a 4-digit year "0000" as a 2-digit one (2000): refuse it.
        return None
    # feedparser's dispatcher over its registered handlers; private name, stable across 6.x.
    parsed = _from_struct(_feedparser_date(value))
    if parsed is None:
        parsed = _fallback_date(value)
    return _sane(parsed, now)


def _fallback_date(value: str) -> datetime | None:
    cleaned = _GMT_OFFSET.sub(_gmt_offset, value)
    cleaned = _LEADING_WEEKDAY.sub("", cleaned)
    cleaned = _translate_months(cleaned)
    try:
        result = dateutil.parser.parse(cleaned, tzinfos=_tzinfos, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    try:
        return result.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _from_struct(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
    except (ValueError, TypeError, OverflowError):
        return None


def _sane(value: datetime | None, now: datetime) -> datetime | None:
    if value is None or value.year < MIN_YEAR:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if value > now + MAX_FUTURE:
        return None
    return value


# --------------------------------------------------------------------------------------------
# Charsets

_UTF16_PATTERNS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                   (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"),
                   (b"\xfe\xff", "utf-16-be"))
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?>", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# charset-normalizer is good at telling Cyrillic code pages apart but guesses wildly among the
# Latin ones, where windows-1252 (what browsers do) is the better default.
_TRUSTED_GUESSES = ("koi8", "cp1251", "windows_1251", "iso8859_5", "mac_cyrillic", "cp866",
                    "cp1253", "iso8859_7", "cp1255", "cp1256", "big5", "gb", "euc", "shift_jis",
                    "cp932", "cp949", "iso2022", "tis", "cp874")
_SINGLE_BYTE_WESTERN = ("iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252", "us-ascii",
                        "ascii", "iso-8859-15")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return str(codecs.lookup(name).name)
    except LookupError:
        return None


def _declared(head: bytes, headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(encoding in the XML declaration, charset in Content-Type); raw names, maybe unknown."""
    decl = _XML_DECL.match(head)
    in_doc = None
    if decl:
        enc = _XML_DECL_ENCODING.search(decl.group(0))
        in_doc = enc.group(1).decode("ascii") if enc else None
    charset = _CHARSET.search(headers.get("content-type", ""))
    return in_doc, charset.group(1) if charset else None


def _decode(body: bytes, headers: Mapping[str, str]) -> tuple[str, str | None]:
    """The document as text and a note when we overrode its declaration or had to guess."""
    for bom, codec in _UTF16_PATTERNS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace").lstrip("\ufeff"), None
    sample = body[:4000]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 4:
        # UTF-16 without a BOM: ASCII markup leaves every other byte NUL.
        codec = "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
        return body.decode(codec, errors="replace"), f"undeclared {codec} detected"
    declared_doc, declared_http = _declared(body[:1000].lstrip(), headers)
    if body.isascii():
        return body.decode("ascii"), None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Valid multi-byte UTF-8 is almost never an accident of another charset.
        declared = _codec(declared_doc) or _codec(declared_http)
        note = None
        if declared and declared not in ("utf-8", "utf-8-sig") and not declared.startswith("utf"):
            note = f"declared encoding {declared_doc or declared_http} but bytes are UTF-8"
        return text, note
    for name in (declared_doc, declared_http):
        known = _codec(name)
        if known and not known.startswith("utf"):
            return body.decode(known, errors="replace"), None
    guess = charset_normalizer.from_bytes(body[:200_000]).best()
    codec = guess.encoding if guess is not None else "cp1252"
    if not codec.startswith(_TRUSTED_GUESSES):
        codec = "cp1252"
    note = "undeclared encoding, guessed " + codec
    if declared_doc or declared_http:
        note = f"declared encoding {declared_doc or declared_http} does not fit, guessed {codec}"
    return body.decode(codec, errors="replace"), note


def _as_utf8_xml(text: str) -> bytes:
    """UTF-8 bytes whose XML declaration (if any) says UTF-8; leading junk whitespace removed."""
    text = text.lstrip("\ufeff \t\r\n\x00")
    decl = re.match(r"<\?xml[^>]*?\?>", text)
    if decl:
        text = text[decl.end():]
    return ('<?xml version="1.0" encoding="utf-8"?>' + text).encode("utf-8", errors="replace")


# --------------------------------------------------------------------------------------------
# Repair

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


# --------------------------------------------------------------------------------------------
# The document


@dataclass
class _Entry:
    """One entry in a format-neutral shape, before normalisation."""

    id: str | None
    link: str | None
    title: str
    summary: str
    content: str
    dates: tuple[str | None, ...]
    parsed_date: datetime | None
    language: str | None
    author: str | None
    raw: Mapping[str, Any]


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None,
               default_language: str | None = None, now: datetime) -> ParsedFeed:
    """Parse an RSS, Atom, RDF or JSON Feed body into a ParsedFeed.

    Raises ParseError when the body is empty or is not a feed at all (an HTML page, invalid
    JSON, random bytes). A broken but usable feed comes back with ``warning`` set.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    notes: list[str] = []
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body, url)
        notes.append("body was gzip-compressed")
    if not body.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ParseError(url, "empty document")
    text, note = _decode(body, headers)
    if note:
        notes.append(note)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        title, link, language, version, entries, json_note = _read_json_feed(stripped, url)
    else:
        title, link, language, version, entries, json_note = _read_xml_feed(
            stripped, url, headers)
    if json_note:
        notes.append(json_note)
    feed_language = _language(language) or _language(headers.get("content-language"))
    items = _items(entries, url=url, feed_language=feed_language,
                   default_language=_language(default_language), now=now, notes=notes)
    return ParsedFeed(title=_text(title, limit=MAX_TITLE) or None, link=link,
                      language=feed_language, version=version, items=items,
                      warning="; ".join(notes) or None)


def _gunzip(body: bytes, url: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise ParseError(url, f"gzip-compressed body is corrupt: {exc}") from exc
    if len(data) > MAX_INFLATED:
        raise ParseError(url, "gzip-compressed body inflates beyond the size limit")
    return data


_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html|<head|<body)",
                         re.IGNORECASE | re.DOTALL)


def _run_feedparser(data: bytes, headers: Mapping[str, str]) -> Any:
    return feedparser.parse(io.BytesIO(data), response_headers=dict(headers),
                            sanitize_html=False, resolve_relative_uris=False)


def _read_xml_feed(text: str, url: str, headers: Mapping[str, str]
                   ) -> tuple[str | None, str | None, str | None, str, list[_Entry], str | None]:
    fp_headers = {k: v for k, v in headers.items()
                  if k in ("content-language", "last-modified", "etag")}
    # We already decoded the document: make feedparser trust that. No Content-Location: it
    # would make feedparser resolve relative guids against the feed URL, so ids would change
    # when the feed moves; relative links are resolved in _item instead.
    fp_headers["content-type"] = "application/xml; charset=utf-8"
    data = _as_utf8_xml(text)
    result = _run_feedparser(data, fp_headers)
    note = None
    if result.bozo:
        note = _bozo_note(result.bozo_exception)
        attempts = []
        repaired = _repair_entities(text)
        if repaired != text:
            attempts.append(_as_utf8_xml(repaired))
        recovered = _recover_with_lxml(attempts[0] if attempts else data)
        if recovered is not None:
            attempts.append(recovered)
        for attempt in attempts:
            if result.bozo and not isinstance(result.bozo_exception,
                                              feedparser.CharacterEncodingOverride):
                candidate = _run_feedparser(attempt, fp_headers)
                if len(candidate.entries) > len(result.entries) or (
                        len(candidate.entries) == len(result.entries) and not candidate.bozo):
                    result = candidate
    if not result.entries and not dict.get(result, "version"):
        if _HTML_START.match(text):
            raise ParseError(url, "document is an HTML page, not a feed")
        reason = _bozo_note(result.bozo_exception) if result.bozo else "no feed elements"
        raise ParseError(url, f"document is not a feed ({reason})")
    if note:
        note += f"; recovered {len(result.entries)} entries"
    feed: dict[str, Any] = dict(result.feed)
    entries = [_entry_from_feedparser(e) for e in result.entries[:MAX_ITEMS + 1]]
    return (feed.get("title"), feed.get("link"), feed.get("language"),
            dict.get(result, "version") or "", entries, note)


def _bozo_note(exc: BaseException | None) -> str:
    if exc is None:
        return "document was malformed"
    message = str(getattr(exc, "getMessage", lambda: exc)()) or type(exc).__name__
    line = getattr(exc, "getLineNumber", lambda: None)()
    where = f" at line {line}" if line else ""
    return f"document was not well-formed ({message}{where})"


def _entry_from_feedparser(fp_entry: Any) -> _Entry:
    # dict.get, not FeedParserDict.get: the latter maps "updated" to "published" with a
    # DeprecationWarning (feedparser issue 310).
    entry: dict[str, Any] = dict(fp_entry)
    contents = entry.get("content") or []
    content_parts = [_text(c.get("value"), c) for c in contents if c.get("value")]
    summary = _text(entry.get("summary"), entry.get("summary_detail"))
    content = "\n".join(p for p in content_parts if p)[:MAX_TEXT]
    if content == summary:
        content = ""
    parsed = None
    for key in ("published", "updated", "created"):
        if _EPOCH.match(str(entry.get(key) or "")):
            continue         # feedparser misreads epoch numbers; parse_date handles them
        parsed = _from_struct(entry.get(key + "_parsed"))
        if parsed is not None:
            break
    language = None
    for detail in (entry.get("title_detail"), entry.get("summary_detail"), *contents):
        if detail and detail.get("language"):
            language = detail.get("language")
            break
    return _Entry(
        id=entry.get("id") or entry.get("guid"),
        link=entry.get("link"),
        title=_text(entry.get("title"), entry.get("title_detail"), MAX_TITLE),
        summary=summary,
        content=content,
        dates=(entry.get("published"), entry.get("updated"), entry.get("created")),
        parsed_date=parsed,
        language=language,
        author=entry.get("author"),
        raw=entry,
    )


def _read_json_feed(text: str, url: str
                    ) -> tuple[str | None, str | None, str | None, str, list[_Entry], str | None]:
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
                      ) -> tuple[str | None, str | None, str | None, str, list[_Entry], str | None]:
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
        summary = _text(_str(item.get("description")), {"type": "text/html"})
        guid = item.get("guid")
        if isinstance(guid, dict):
            guid = guid.get("value") or guid.get("#value")
        entries.append(_Entry(
            id=_str(guid), link=_str(item.get("link")),
            title=_text(_str(item.get("title")), limit=MAX_TITLE), summary=summary, content="",
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


def _entry_from_json(item: Mapping[str, Any], doc: Mapping[str, Any]) -> _Entry:
    summary = _text(_str(item.get("summary")), {"type": "text/html"})
    content = _text(_str(item.get("content_html")), {"type": "text/html"}) or _text(
        _str(item.get("content_text")))
    if content == summary:
        content = ""
    item_id = item.get("id")
    return _Entry(
        id=_str(item_id) if item_id not in (None, "") else None,
        link=_str(item.get("url")) or _str(item.get("external_url")),
        title=_text(_str(item.get("title")), limit=MAX_TITLE),
        summary=summary,
        content=content[:MAX_TEXT],
        dates=(_str(item.get("date_published")), _str(item.get("date_modified"))),
        parsed_date=None,
        language=_str(item.get("language")),
        author=_json_author(item) or _json_author(doc),
        raw=item,
    )


# --------------------------------------------------------------------------------------------
# Items


def _items(entries: list[_Entry], *, url: str, feed_language: str | None,
           default_language: str | None, now: datetime, notes: list[str]
           ) -> tuple[ParsedItem, ...]:
    if len(entries) > MAX_ITEMS:
        entries = entries[:MAX_ITEMS]
        notes.append(f"more than {MAX_ITEMS} entries; kept the first {MAX_ITEMS}")
    built = [item for entry in entries
             if (item := _item(entry, url=url, feed_language=feed_language,
                               default_language=default_language, now=now)) is not None]
    skipped = len(entries) - len(built)
    if skipped:
        notes.append(f"{skipped} empty entries skipped")
    # Entries that share an id (a guid copied to every item, or one page URL for every post)
    # but differ in text all get an id derived from their text, so none is lost; exact
    # repeats are dropped. Deterministic for a given document.
    groups: dict[str, set[str]] = {}
    for item in built:
        groups.setdefault(item.identity, set()).add(_item_hash(item))
    items: list[ParsedItem] = []
    seen: set[str] = set()
    duplicates = 0
    for item in built:
        if len(groups[item.identity]) > 1:
            item = replace(item, identity=f"{item.identity}|{_item_hash(item)[:16]}")
        if item.identity in seen:
            duplicates += 1
            continue
        seen.add(item.identity)
        items.append(item)
    if duplicates:
        notes.append(f"{duplicates} repeated entries dropped")
    return tuple(items)


def _item_hash(item: ParsedItem) -> str:
    return _sha256("\n".join((item.title, item.link or "", item.summary, item.content)))


def _item(entry: _Entry, *, url: str, feed_language: str | None,
          default_language: str | None, now: datetime) -> ParsedItem | None:
    if not (entry.title or entry.summary or entry.content or entry.link):
        return None
    link = entry.link.strip() if entry.link else None
    if link and not urlsplit(link).scheme:
        link = urljoin(url, link)
    canonical = canonical_url(link) if link else None
    published = _sane(entry.parsed_date, now) if entry.parsed_date else None
    if published is None:
        for raw_date in entry.dates:
            published = parse_date(raw_date, now=now)
            if published is not None:
                break
    # A link-based identity keeps the fragment: some blogs (scripting.com) give every post
    # the same page URL with a different "#anchor".
    link_identity = None
    if canonical and link:
        fragment = urlsplit(link).fragment
        link_identity = f"{canonical}#{fragment}" if fragment else canonical
    identity = (entry.id or "").strip() or link_identity or _sha256(
        entry.title + "\n" + (entry.summary or entry.content))
    if len(identity) > 1000:
        identity = "sha256:" + _sha256(identity)
    language = (_language(entry.language) or feed_language or default_language
                or detect_language(" ".join((entry.title, entry.summary[:2000],
                                             entry.content[:2000]))))
    return ParsedItem(
        identity=identity,
        title=entry.title,
        url=canonical,
        link=link,
        summary=entry.summary,
        content=entry.content,
        published=published,
        language=language,
        author=_text(entry.author, limit=500) or None,
        fingerprint=fingerprint(entry.title, entry.summary or entry.content),
        raw=json_safe(entry.raw),
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()


_WORDS = re.compile(r"\w+", re.UNICODE)


def fingerprint(title: str, summary: str) -> str:
    """sha1 of the lower-cased words of the title and of the first 30 words of the summary."""
    words = _WORDS.findall(title.lower()) + _WORDS.findall(summary[:2000].lower())[:30]
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


_LANGUAGE = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
# Country codes publishers put in <language> ("US"); mapped to the language they mean.
_COUNTRY_AS_LANGUAGE = {"us": "en", "gb": "en"}


def _language(value: str | None) -> str | None:
    """The primary language subtag, lower-cased ("en-US" -> "en"), or None."""
    if not value:
        return None
    match = _LANGUAGE.match(value)
    if not match:
        return None
    primary = match.group(1).lower()
    return _COUNTRY_AS_LANGUAGE.get(primary, primary)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_ASCII_WORD = re.compile(r"[A-Za-z]+")
_ENGLISH_FUNCTION_WORDS = frozenset(
    ["the", "of", "and", "to", "in", "is", "for", "on", "with", "at", "by", "from", "as", "that", "this", "it", "was", "are", "be", "has", "have", "will", "after", "over", "says", "said", "new", "its", "an", "not", "who"])


def detect_language(text: str) -> str | None:
    """A guess from the script alone: "be", "uk", "ru", "en" or None when unsure."""
    sample = text[:4000]
    cyrillic = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cyrillic == 0 and latin == 0:
        return None
    if cyrillic > latin:
        # Belarusian writes і and ў but never и; Ukrainian writes і and и (and ї, є, ґ).
        lower = sample.lower()
        if "ў" in lower or ("і" in lower and "и" not in lower):
            return "be"
        if "і" in lower or any(ch in lower for ch in "їєґ"):
            return "uk"
        return "ru"
    words = _ASCII_WORD.findall(sample)
    ascii_letters = sum(len(w) for w in words)
    if ascii_letters < 0.97 * latin or not words:
        return None
    function_words = sum(1 for w in words if w.lower() in _ENGLISH_FUNCTION_WORDS)
    return "en" if function_words and function_words >= 0.05 * len(words) else None


def json_safe(value: Any, *, depth: int = 0) -> Any:
    """A JSON-serialisable copy: struct_time and datetimes as ISO strings, long strings cut."""
    if depth > 8:
        return None
    if isinstance(value, Mapping):
        # "*_parsed" struct_times repeat the date strings next to them.
        result = {str(k): json_safe(v, depth=depth + 1) for k, v in list(value.items())[:200]
                  if not str(k).endswith("_parsed")}
        if depth == 0 and len(json.dumps(result, ensure_ascii=False)) > MAX_RAW_BYTES:
            result = _shrink(result)
        return result
    if isinstance(value, str):
        return value[:MAX_RAW_STRING]
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, time.struct_time):
        parsed = _from_struct(value)
        return parsed.isoformat() if parsed else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")[:MAX_RAW_STRING]
    if isinstance(value, Iterable):
        return [json_safe(v, depth=depth + 1) for v in list(value)[:100]]
    return str(value)[:MAX_RAW_STRING]


def _shrink(raw: dict[str, Any]) -> dict[str, Any]:
    """Drop the biggest fields until the copy is small enough; say which ones went."""
    dropped = []
    sizes = sorted(((len(json.dumps(v, ensure_ascii=False)), k) for k, v in raw.items()),
                   reverse=True)
    total = sum(size for size, _ in sizes)
    for size, key in sizes:
        if total <= MAX_RAW_BYTES:
            break
        raw.pop(key)
        dropped.append(key)
        total -= size
    raw["_truncated"] = dropped
    return raw
