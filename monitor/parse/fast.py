"""A fast path for well-formed, plain RSS 2.0 / 0.9x and Atom 1.0: lxml instead of feedparser.

feedparser stays the parser of record. This module reads only documents whose every element
it understands, and builds the same entry dicts feedparser would (same keys, same text
post-processing: whitespace strip, ``_urljoin``, its UTF-8-read-as-Latin-1 repair and its
cp1252 mapping), so ``entry_from_feedparser`` turns them into identical entries.
tests/test_fastpath.py proves it on the whole shared corpus. Anything odd returns None and
the caller falls back to feedparser: DOCTYPEs and entities, xml:base, xml:lang below the root,
duplicate key fields, markup inside text fields, xhtml/base64/src content, titles feedparser
would base64-decode, elements feedparser maps onto a key field that we do not model
(media:title, itunes:summary, dc:language...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import lxml.etree
from feedparser.api import StrictFeedParser
from feedparser.datetimes import _date_handlers
from feedparser.datetimes import _parse_date as _feedparser_date
from feedparser.datetimes.w3dtf import _parse_date_w3dtf
from feedparser.mixin import _cp1252
from feedparser.urls import _urljoin

# Hardened: no entity expansion, no network, no DTD, bounded trees. DOCTYPEs are refused
# before parsing anyway (feedparser handles them, with its own hardening).
_PARSER = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                               load_dtd=False, remove_blank_text=False)
_ATOM = "http://www.w3.org/2005/Atom"
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"
# feedparser's namespace table: URI (lower-cased) -> the prefix its handlers are named after.
_KNOWN = {uri.lower(): prefix for uri, prefix in StrictFeedParser.namespaces.items()}
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_DATES = {"pubdate": "published", "published": "published", "dcterms:issued": "published",
          "updated": "updated", "dc:date": "updated", "dcterms:modified": "updated"}
# Elements with a feedparser handler that touches nothing we read, or that we model.
_ITEM_HARMLESS = frozenset({
    "category", "enclosure", "dc:subject", "media:content", "media:thumbnail", "media:credit",
    "media:player", "media:rating", "media:restriction", "media:license", "media:keywords",
    "media:category", "itunes:explicit", "itunes:block", "itunes:image", "itunes:keywords",
    "itunes:category", "itunes:subtitle", "rights", "copyright", "contributor", "dc:rights",
    "dc:publisher", "georss:point",
})
_CHANNEL_HARMLESS = frozenset({
    "description", "pubdate", "lastbuilddate", "generator", "image", "textinput", "copyright",
    "rights", "managingeditor", "webmaster", "ttl", "docs", "category", "cloud", "subtitle",
    "tagline", "updated", "id", "icon", "logo", "author", "contributor", "dc:creator",
    "dc:date", "dc:publisher", "dc:rights", "dc:subject", "itunes:owner", "itunes:image",
    "itunes:category", "itunes:explicit", "itunes:author", "itunes:summary", "itunes:subtitle",
    "itunes:keywords", "itunes:block", "media:thumbnail", "media:category", "media:rating",
    "media:keywords", "media:credit", "media:copyright", "media:license", "published",
})
_SUBTREE_EXEMPT = frozenset({"image", "textinput", "itunes:owner", "cloud", "author",
                             "contributor", "media:content", "itunes:category"})
_LINK_AMP = re.compile("&([A-Za-z0-9_]+);")
_C1 = re.compile("[\x80-\x9f]")           # the keys of feedparser's _cp1252 map

Result = tuple[str | None, str | None, str | None, str, list[dict[str, Any]]]


class _Refused(Exception):
    """The document has something the fast path does not model: use feedparser."""


def read_fast(data: bytes, *, language: str | None) -> Result | None:
    """(title, link, language, version, feedparser-shaped entries), or None to fall back.

    ``data`` is the UTF-8 document with a UTF-8 declaration (what feedparser is given);
    ``language`` is the Content-Language header feedparser would see. Never raises.
    """
    head = data[:4096]
    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in data or b"xml:base" in data:
        return None
    try:
        root = lxml.etree.fromstring(data, parser=_PARSER)
    except (lxml.etree.LxmlError, ValueError):
        return None
    if root is None:
        return None
    try:
        return _read(root, language)
    except _Refused:
        return None


def _name(element: Any) -> str:
    """The element's name as feedparser's handlers see it: canonical prefix, lower case."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    if tag[0] != "{":
        return tag.lower()
    uri, local = tag[1:].split("}", 1)
    lowered = uri.lower()
    if "backend.userland.com/rss" in lowered:
        lowered = "http://backend.userland.com/rss"
    prefix = _KNOWN.get(lowered, element.prefix)
    return f"{prefix.lower()}:{local.lower()}" if prefix else local.lower()


def _handled(name: str) -> bool:
    method = "_start_" + name.replace(":", "_")
    end = "_end_" + name.replace(":", "_")
    return hasattr(StrictFeedParser, method) or hasattr(StrictFeedParser, end)


def _check_subtree(element: Any) -> None:
    """Descendants of an element we skip must not reach a feedparser handler we don't model."""
    for child in element.iterdescendants():
        if not isinstance(child.tag, str):
            continue
        name = _name(child)
        if _handled(name) and name not in _ITEM_HARMLESS:
            raise _Refused(name)


def _attrs(element: Any) -> dict[str, str]:
    out = {}
    for key, value in element.attrib.items():
        local = key.rsplit("}", 1)[-1].lower()
        if local in ("lang", "base") or key.startswith(_XML_NS):
            raise _Refused("xml:lang or xml:base below the root")
        out[local] = value.lower() if local in ("rel", "type") else value
    return out


def _children(element: Any) -> Iterator[tuple[str, Any]]:
    for child in element:
        if isinstance(child.tag, str):
            yield _name(child), child


def _fix(text: str) -> str:
    """feedparser's post-processing of every text value it stores (mixin.pop).

    Each step is skipped when it cannot change the text: ASCII changes in neither; only C1
    controls are in the cp1252 map. (Text with a character above U+00FF fails the Latin-1
    encoding at that character, which is cheaper than looking for one first.)
    """
    if text.isascii():
        return text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        pass
    return text.translate(_cp1252) if _C1.search(text) else text


def _join(uri: str) -> str:
    """feedparser's ``_urljoin("", uri)``: with no base it only removes the slashes after a
    leading "scheme://" ("http:///x" -> "http://x"), so a URI without ":///" is returned as
    it is, without its regex substitution (the fast path's costliest call per item)."""
    return _urljoin("", uri) if ":///" in uri else uri


def _value(element: Any, name: str, *, relative: bool = False) -> str:
    if len(element):
        raise _Refused(f"markup inside <{name}>")
    text = (element.text or "").strip()
    if relative and text:
        text = _join(text)
    return _fix(text)


def _content_type(attrs: dict[str, str], default: str) -> str:
    kind = attrs.get("type", default)
    return {"text": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(kind, kind)


def _title(element: Any, attrs: dict[str, str]) -> str:
    """A title's text. feedparser base64-decodes a title with mode="base64" or with a type
    that is neither text nor XML (Atom's "application/octet-stream"): those are refused."""
    kind = _content_type(attrs, "text/plain")
    if kind not in _TEXT_TYPES or attrs.get("mode") == "base64":
        raise _Refused(f"title of type {kind}")
    return _value(element, "title")


def _href(attrs: dict[str, str]) -> str | None:
    return attrs.get("url", attrs.get("uri", attrs.get("href")))


def _read(root: Any, language: str | None) -> Result:
    lang = language or None
    root_name = _name(root)
    root_attrs = {k.rsplit("}", 1)[-1].lower(): v for k, v in root.attrib.items()}
    feed_language = None
    root_lang = root.get(_XML_NS + "lang", root.get("lang"))
    if root_lang is not None:
        lang = root_lang or None
        if lang:
            feed_language = lang.replace("_", "-")
    if root_name == "rss":
        channels = [c for n, c in _children(root) if n == "channel"]
        if len(channels) != 1 or len(root) != 1:
            raise _Refused("not one channel")
        channel = channels[0]
        attr_version = root_attrs.get("version", "")
        version = _RSS_VERSIONS.get(attr_version) or (
            "rss20" if attr_version.startswith("2.") else "rss")
        item_name = "item"
    elif root.tag == f"{{{_ATOM}}}feed":
        channel, version, item_name = root, "atom10", "entry"
    else:
        raise _Refused("not RSS or Atom 1.0")
    if "lastmod" in _attrs(channel) or "href" in _attrs(channel):
        raise _Refused("CDF attributes")
    title: str | None = None
    link: str | None = None
    entries: list[dict[str, Any]] = []
    for name, child in _children(channel):
        if name == item_name:
            entries.append(_entry(child, lang))
        elif name == "title":
            if title is not None:
                raise _Refused("two feed titles")
            title = _title(child, _attrs(child))
        elif name == "link":
            attrs = _attrs(child)
            href = _href(attrs)
            if href is None:
                link = _LINK_AMP.sub(r"&\g<1>", _value(child, name, relative=True))
            elif _alternate_html(attrs):
                link = _join(href)
        elif name == "id" and version == "atom10":
            feed_id = _value(child, name, relative=True)
            if link is None:
                link = feed_id
        elif name == "language" and version != "atom10":
            feed_language = _value(child, name)
        elif name in _CHANNEL_HARMLESS or not _handled(name):
            if name not in _SUBTREE_EXEMPT:
                _check_subtree(child)
        else:
            raise _Refused(f"feed element {name}")
    total = sum(1 for el in root.iter() if isinstance(el.tag, str)
                and _name(el) in ("item", "entry"))
    if total != len(entries):
        raise _Refused("items outside the channel")
    return title, link, feed_language, version, entries


def _alternate_html(attrs: dict[str, str]) -> bool:
    rel = attrs.get("rel", "alternate")
    kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
    return rel == "alternate" and _content_type({"type": kind}, "") in _HTML_TYPES


def _entry(item: Any, lang: str | None) -> dict[str, Any]:
    attrs = _attrs(item)
    if "lastmod" in attrs or "href" in attrs:
        raise _Refused("CDF attributes")
    entry: dict[str, Any] = {}
    contents: list[dict[str, Any]] = []
    has_content = False
    seen: set[str] = set()
    tags: list[str] = []
    detail_lang = lang.replace("_", "-") if lang else lang
    for name, child in _children(item):
        if name == "category":
            tags.append(child.get("term") or (child.text or "").strip())
        attrs = _attrs(child)
        if name in seen and name not in ("link", "category", "enclosure") and not (
                name in _ITEM_HARMLESS or not _handled(name)):
            raise _Refused(f"two <{name}>")
        seen.add(name)
        if name == "title":
            entry["title"] = _title(child, attrs)
            entry["title_detail"] = {"type": _content_type(attrs, "text/plain"),
                                     "language": detail_lang}
        elif name == "link":
            href = _href(attrs)
            if href is None:
                value = _value(child, name, relative=True).replace("&amp;", "&")
                entry["link"] = _LINK_AMP.sub(r"&\g<1>", value) if "&" in value else value
            elif _alternate_html(attrs):
                if len(child):
                    raise _Refused("markup inside <link>")
                entry["link"] = _join(href)
        elif name in ("description", "summary", "itunes:summary"):
            if "summary" in entry and not has_content:
                raise _Refused("summary after summary")
            kind = _content_type(attrs, "text/html" if name == "description" else "text/plain")
            if kind not in _TEXT_TYPES:
                raise _Refused(f"{name} of type {kind}")
            entry["summary"] = _value(child, name)
            entry["summary_detail"] = {"type": kind, "language": detail_lang}
        elif name in ("content:encoded", "content"):
            kind = _content_type(attrs, "text/html" if name == "content:encoded"
                                 else "text/plain")
            if kind not in _TEXT_TYPES or "src" in attrs or attrs.get("mode") == "base64":
                raise _Refused(f"content of type {kind}")
            has_content = True
            value = _value(child, name)
            contents.append({"type": kind, "language": detail_lang, "value": value})
            entry.setdefault("summary", value)
        elif name in ("guid", "id"):
            permalink = attrs.get("ispermalink", "true") == "true"
            value = _value(child, name, relative=permalink)
            entry["id"] = value
            if permalink:
                entry.setdefault("link", value)
        elif name in _DATES:
            key = _DATES[name]
            if key in entry:
                raise _Refused(f"two {key} dates")
            value = _value(child, name)
            entry[key] = value
            entry[key + "_parsed"] = parse_date(value)
        elif name in ("author", "dc:creator", "itunes:author"):
            if "author" in entry:
                raise _Refused("two authors")
            entry["author"] = _author(child) if len(child) else _value(child, name)
        elif name == "source":
            if len(child):
                raise _Refused("atom source")
        elif name in _ITEM_HARMLESS or not _handled(name):
            if name not in _SUBTREE_EXEMPT or name == "media:content":
                _check_subtree(child)
        else:
            raise _Refused(f"item element {name}")
    if contents:
        entry["content"] = contents
    if tags:
        entry["tags"] = tags[:20]
    return entry


# feedparser's date handlers but its W3C-DTF one, which never reads a date that starts with a
# letter: it needs four digits before the first "-", "t" or space.
_LETTER_FIRST_HANDLERS = [h for h in _date_handlers if h is not _parse_date_w3dtf]


def parse_date(value: str) -> Any:
    """feedparser's ``_parse_date(value)``. RSS dates start with a letter ("Fri, 04 Dec
    2026 ..."); for those the W3C-DTF handler, which feedparser tries first, is skipped:
    its failed try on every RSS date was wasted work."""
    if not value[:1].isalpha():
        return _feedparser_date(value)
    for handler in _LETTER_FIRST_HANDLERS:          # feedparser's loop, as it is
        try:
            date9tuple = handler(value)
        except (KeyError, OverflowError, ValueError, AttributeError):
            continue
        if date9tuple and len(date9tuple) == 9:
            return date9tuple
    return None


def _author(element: Any) -> str:
    """Atom <author>: "name (email)", "name" or "email", as feedparser's _sync_author_detail."""
    if (element.text or "").strip():
        raise _Refused("text beside author children")
    parts: dict[str, str] = {}
    for name, child in _children(element):
        if not _handled(name) and not len(child):
            continue                 # Blogger's gd:image: feedparser files it elsewhere
        if name not in ("name", "email", "uri") or name in parts:
            raise _Refused(f"author element {name}")
        parts[name] = _value(child, name)
    name_, email = parts.get("name"), parts.get("email")
    if name_ and email:
        return f"{name_} ({email})"
    return name_ or email or ""
