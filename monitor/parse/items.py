"""Format-neutral entries to ParsedItems: links, dates, identities, language, fingerprints."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.model import ParsedItem, identity_key
from monitor.parse.dates import from_struct, parse_date, sane_date
from monitor.parse.text import detect_language, field_text, language_tag
from monitor.urls import canonical_url

MAX_ITEMS = 5000
MAX_RAW_STRING = 10_000
MAX_RAW_BYTES = 64_000


@dataclass
class Entry:
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



def build_items(entries: list[Entry], *, url: str, feed_language: str | None,
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
    counts = Counter(item.identity for item in built)
    groups: dict[str, set[str]] = {}
    for item in built:
        if counts[item.identity] > 1:
            groups.setdefault(item.identity, set()).add(_item_hash(item))
    items: list[ParsedItem] = []
    seen: set[str] = set()
    duplicates = 0
    for item in built:
        if len(groups.get(item.identity, ())) > 1:
            item = replace(item, identity=identity_key(f"{item.identity}|{_item_hash(item)[:16]}"))
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


def _item(entry: Entry, *, url: str, feed_language: str | None,
          default_language: str | None, now: datetime) -> ParsedItem | None:
    # An entry with an id but no text or link (a podcast episode: a guid and an enclosure) is
    # still an item: it has an identity.
    if not (entry.title or entry.summary or entry.content or entry.link
            or (entry.id and entry.id.strip())):
        return None
    link = entry.link.strip() if entry.link else None
    # A relative link is joined to the feed's URL; one starting "http(s)://" (nearly all)
    # has its scheme, so it is not split for that.
    if link and not link.startswith(("http://", "https://")):
        try:
            if not urlsplit(link).scheme:
                link = urljoin(url, link)
        except ValueError:          # "http://[oops/": kept as it is, not the feed's failure
            pass
    canonical = canonical_url(link) if link else None
    published = sane_date(entry.parsed_date, now) if entry.parsed_date else None
    if published is None:
        for raw_date in entry.dates:
            published = parse_date(raw_date, now=now)
            if published is not None:
                break
    # A link-based identity keeps the fragment: some blogs (scripting.com) give every post
    # the same page URL with a different "#anchor".
    identity = (entry.id or "").strip()
    if not identity and canonical:
        fragment = _fragment(link) if link else ""
        identity = f"{canonical}#{fragment}" if fragment else canonical
    identity = identity_key(
        identity or _sha256(entry.title + "\n" + (entry.summary or entry.content)))
    language = (language_tag(entry.language) or feed_language or default_language
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
        author=field_text(entry.author, limit=500) or None,
        fingerprint=fingerprint(entry.title, entry.summary or entry.content),
        raw=json_safe(entry.raw),
    )


def _fragment(link: str) -> str:
    try:
        return urlsplit(link).fragment
    except ValueError:
        return ""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()


_WORDS = re.compile(r"\w+", re.UNICODE)
# ASCII text's words without the regex: every byte that \w does not match becomes a space.
_ASCII_NON_WORD = bytes(c if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(128)
                        ).ljust(256, b" ")


# The same for text that cp1251 encodes (ASCII and Cyrillic: our Russian and Belarusian
# sources), byte by byte as the regex sees each character.
_CP1251_NON_WORD = bytes(c if _WORDS.fullmatch(bytes([c]).decode("cp1251", "replace"))
                         else 0x20 for c in range(256))


def _words(text: str) -> list[str]:
    """``_WORDS.findall(text)``, through ``bytes.translate`` for ASCII and cp1251 text."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii").split()
    try:
        data = text.encode("cp1251")
    except UnicodeEncodeError:
        return _WORDS.findall(text)
    return data.translate(_CP1251_NON_WORD).decode("cp1251").split()


def fingerprint(title: str, summary: str) -> str:
    """sha1 of the lower-cased words of the title and of the first 30 words of the summary."""
    # The first 30 words usually lie in the first 400 characters: when 31 words start there,
    # the 30th ended before the cut, so those 30 are the document's. (Lower-cased before the
    # cut: a Greek capital sigma's lower case depends on what follows it.)
    text = summary[:2000].lower()
    head = _words(text[:400])
    if len(head) > 30:
        first = head[:30]
    elif text.isascii():
        first = _words(text)[:30]
    else:
        first = [m.group() for m in islice(_WORDS.finditer(text), 30)]
    words = _words(title.lower()) + first
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


def json_safe(value: Any, *, depth: int = 0) -> Any:
    """A JSON-serialisable copy: struct_time and datetimes as ISO strings, long strings cut."""
    if depth > 8:
        return None
    if depth == 0 and type(value) is dict:
        flat = _flat_copy(value)
        if flat is not None:
            return flat
    if isinstance(value, Mapping):
        # "*_parsed" struct_times repeat the date strings next to them.
        result = {key: json_safe(v, depth=depth + 1) for k, v in islice(value.items(), 200)
                  if not (key := str(k)).endswith("_parsed")}
        if depth == 0 and _json_bound(result) > MAX_RAW_BYTES and len(
                json.dumps(result, ensure_ascii=False)) > MAX_RAW_BYTES:
            result = _shrink(result)
        return result
    if isinstance(value, str):
        return value[:MAX_RAW_STRING]
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, time.struct_time):
        parsed = from_struct(value)
        return parsed.isoformat() if parsed else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")[:MAX_RAW_STRING]
    if isinstance(value, Iterable):
        return [json_safe(v, depth=depth + 1) for v in list(value)[:100]]
    return str(value)[:MAX_RAW_STRING]


def _flat_copy(value: dict[Any, Any]) -> dict[str, Any] | None:
    """``json_safe(value)`` when ``value`` is a dict of at most 200 string keys (none ending
    in "_parsed") to strings and lists of at most 100 strings, what the fast path's entries
    hold (``entries._slim_raw``); else None. One pass instead of a call per value."""
    if len(value) > 200:
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str or key.endswith("_parsed"):
            return None
        kind = type(item)
        if kind is str:
            out[key] = item[:MAX_RAW_STRING]
        elif kind is list and len(item) <= 100 and all(type(v) is str for v in item):
            out[key] = [v[:MAX_RAW_STRING] for v in item]
        else:
            return None
    if _json_bound(out) > MAX_RAW_BYTES and len(
            json.dumps(out, ensure_ascii=False)) > MAX_RAW_BYTES:
        out = _shrink(out)
    return out


def _json_bound(value: dict[str, Any]) -> float:
    """An upper bound of len(json.dumps(value, ensure_ascii=False)) when every value is a
    string or a list of strings (a character takes at most 6, as "\\u001f"; 8 more per
    pair, 2 for the braces), else infinity."""
    chars = 0
    for key, item in value.items():
        if type(item) is str:
            chars += len(key) + len(item)
        elif type(item) is list and all(type(v) is str for v in item):
            # "[" and "]", and per string its quotes and ", " (counted as 6 characters' worth)
            chars += len(key) + sum(len(v) + 1 for v in item) + 1
        else:
            return math.inf
    return 6 * chars + 8 * len(value) + 2


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
