"""Bytes to text: BOMs, UTF-16 and UTF-32 without a BOM, lying declarations, gzip-wrapped
bodies."""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Mapping

import charset_normalizer

from monitor.errors import ParseError

MAX_INFLATED = 50 * 1024 * 1024     # a gzip-wrapped body (Content-Encoding not undone upstream)

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


def _wide_codec(sample: bytes) -> str:
    """UTF-32 or UTF-16, and the byte order, of a document without a BOM.

    ASCII markup in UTF-16 leaves every other byte NUL. In UTF-32 the top byte of each 4-byte
    unit is always NUL, and so is the byte below it but in the rare astral characters; in
    UTF-16 text that would take every other 2-byte unit to be U+0000.
    """
    half = len(sample) // 8         # half of the 4-byte units
    for codec, top, below in (("utf-32-le", 3, 2), ("utf-32-be", 0, 1)):
        if sample[top::4].count(0) > half and sample[below::4].count(0) > half:
            return codec
    return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"


def decode_body(body: bytes, headers: Mapping[str, str]) -> tuple[str, str | None]:
    """The document as text and a note when we overrode its declaration or had to guess."""
    for bom, codec in _UTF16_PATTERNS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace").lstrip("\ufeff"), None
    sample = body[:4000]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 4:
        codec = _wide_codec(sample)
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


def as_utf8_xml(text: str) -> bytes:
    """UTF-8 bytes whose XML declaration (if any) says UTF-8; leading junk whitespace removed."""
    text = text.lstrip("\ufeff \t\r\n\x00")
    decl = re.match(r"<\?xml[^>]*?\?>", text)
    if decl:
        text = text[decl.end():]
    return ('<?xml version="1.0" encoding="utf-8"?>' + text).encode("utf-8", errors="replace")


def gunzip(body: bytes, url: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise ParseError(url, f"gzip-compressed body is corrupt: {exc}") from exc
    if len(data) > MAX_INFLATED:
        raise ParseError(url, "gzip-compressed body inflates beyond the size limit")
    return data
