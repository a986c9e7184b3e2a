"""feedparser's own test suite through parse_feed: every file, both paths, its Expect line.

../shared/feedparser-suite holds the 2,107 test feeds of feedparser (RSS, Atom, RDF, CDF, JSON
Feed; encodings, entities, xml:base, sanitising, broken markup). Each names in a comment what
feedparser makes of it: ``Expect: not bozo and entries[0]['title'] == '...'``. For every file:

* parse_feed returns a feed, or raises ParseError for the files in NOT_FEEDS, and nothing else;
* the lxml fast path gives what the feedparser path gives (every item field but ``raw``);
* each entry its Expect line describes by title, link, id or date (``entries[i]['title']``,
  ``entries[i].link``, ``entries[i]['updated_parsed']``...) is among our items with the title,
  link, date and id (as identity) feedparser gives it, there, where the Expect line holds.
  DIFFERENCES lists the files where we differ on purpose, why, and what we give instead.

The Expect lines are evaluated against feedparser's own result (a trusted, read-only suite,
as feedparser's tests do), parsed the way its tests parse: HTTP cases with their ``Header:``
lines and their URL as the document's location.
"""

from __future__ import annotations

import ast
import datetime
import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import feedparser
import pytest
from feedparser.urls import make_safe_absolute_uri

from monitor.errors import ParseError
from monitor.model import ParsedFeed, ParsedItem
from monitor.parse import parse_feed
from tests.conftest import SHARED

SUITE = "feedparser-suite"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
FILES = sorted(str(p.relative_to(SHARED / SUITE)) for p in (SHARED / SUITE).rglob("*")
               if p.suffix in (".xml", ".json")) if (SHARED / SUITE).is_dir() else []
ITEM_FIELDS = [f.name for f in fields(ParsedItem) if f.name != "raw"]

_EXPECT = re.compile(r"Expect:\s*(.*?)\s*-->", re.DOTALL)
_HEADER = re.compile(r"^Header:\s+([^:]+):(.*)$", re.MULTILINE)
# What an Expect line may call; "locals()" is feedparser's result, as in its own tests.
_EVAL_BUILTINS = {"len": len, "ord": ord, "isinstance": isinstance, "locals": locals}
# The entry keys that describe an entry by its title, link, id or date.
_DESCRIBING = frozenset({"title", "title_detail", "link", "id", "guid"} | {
    key + suffix for key in ("published", "updated", "created", "issued", "modified", "date")
    for suffix in ("", "_parsed")})

CDF_CHANNEL = ("a CDF channel without items: feedparser names no version and finds no entry, "
               "which is what it makes of any document that is not a feed")
NOT_FEEDS = {
    "illformed/rss_empty_document.xml": "a comment and nothing else",
    "wellformed/cdf/channel_abstract_map_description.xml": CDF_CHANNEL,
    "wellformed/cdf/channel_abstract_map_tagline.xml": CDF_CHANNEL,
    "wellformed/cdf/channel_href_map_link.xml": CDF_CHANNEL,
    "wellformed/cdf/channel_href_map_links.xml": CDF_CHANNEL,
    "wellformed/cdf/channel_lastmod.xml": CDF_CHANNEL,
    "wellformed/cdf/channel_lastmod_parsed.xml": CDF_CHANNEL,
    "wellformed/cdf/channel_title.xml": CDF_CHANNEL,
}

# Expect lines about entries that the feedparser we run does not meet: the suite is newer.
NEWER_FEEDPARSER = ("feedparser 6.0 lets the text of a later <link rel=\"enclosure\"> without "
                    "href replace the entry's alternate link, which the suite's newer feedparser "
                    "does not; we give what feedparser 6.0 gives")
FEEDPARSER_MISSES = {
    "wellformed/atom/entry_link_no_href_link_priority.xml": NEWER_FEEDPARSER,
    "wellformed/atom/entry_link_rel_enclosure_no_href.xml": NEWER_FEEDPARSER,
    "wellformed/atom10/entry_link_no_href_link_priority.xml": NEWER_FEEDPARSER,
    "wellformed/atom10/entry_link_rel_enclosure_no_href.xml": NEWER_FEEDPARSER,
}

# Where our item differs from feedparser's entry on purpose: file, or "file entries[i]" for one
# entry -> (why, what we give instead of feedparser's title, link or id). None: we keep no item
# for the entry, and say so in the feed's warning.
PLAIN_TEXT = ("titles are plain text: markup dropped, entities decoded, whitespace collapsed "
              "(feedparser keeps sanitised HTML)")
DATE_ONLY = "the entry has a date and nothing else (no title, text, link or id): skipped"
IMAGE_ONLY = ("the entry has nothing but a title that is an image without alt text: no text, "
              "so skipped")
TAG_LIKE_TEXT = ("a text title that looks like markup is read as HTML, since publishers put "
                 "HTML in text fields; the literal \"<blink>\" goes with it")
FALLBACK = ("<embed> and <object> are dropped with their content, and to the HTML parser the "
            "text after an unclosed one is its content")
FEED_URL_BASE = ("relative links are resolved against the URL the feed was fetched from "
                 "(feedparser: against xml:base or Content-Location, or not at all)")
ID_AS_WRITTEN = ("ids are kept as written, not resolved against the document's location: an "
                 "entry keeps its id when the feed moves")
SHARED_ID = ("two different entries share one id: each gets it with a hash of its text, so "
             "neither is lost")
DIFFERENCES: dict[str, tuple[str, dict[str, str] | None]] = {
    "wellformed/amp/amp01.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp02.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp04.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp05.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp06.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp08.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp09.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp10.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp12.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp13.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp14.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp15.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp16.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp17.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp18.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp19.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp20.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp21.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp22.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp23.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp24.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp25.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp26.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp27.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp28.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp29.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp30.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp31.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp32.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp33.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp34.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp35.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp36.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp37.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp38.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp39.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp40.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp41.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp42.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp43.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp44.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp45.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp46.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp47.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp48.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp49.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp50.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp52.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp53.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp54.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp55.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp56.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp57.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp58.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp59.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp60.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp61.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp62.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp63.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/amp64.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/attr01.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/attr02.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/attr03.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/attr04.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/attr05.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/amp/attr06.xml": (PLAIN_TEXT, {"title": "&"}),
    "wellformed/atom/entry_created.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_created_multiple_values.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_created_parsed.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_issued.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_issued_parsed.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_modified.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_modified_map_updated_parsed.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_published_parsed.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_published_parsed_date_overwriting.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_title_base64.xml": (PLAIN_TEXT, {"title": "Example Atom"}),
    "wellformed/atom/entry_title_base64_2.xml":
        (PLAIN_TEXT, {"title": "History of the <blink> tag"}),
    "wellformed/atom/entry_title_escaped_markup.xml": (PLAIN_TEXT, {"title": "Example Atom"}),
    "wellformed/atom/entry_title_inline_markup.xml": (PLAIN_TEXT, {"title": "Example Atom"}),
    "wellformed/atom/entry_title_inline_markup_2.xml":
        (PLAIN_TEXT, {"title": "History of the <blink> tag"}),
    "wellformed/atom/entry_title_naked_markup.xml": (PLAIN_TEXT, {"title": "Example Atom"}),
    "wellformed/atom/entry_title_text_plain_brackets.xml":
        (TAG_LIKE_TEXT, {"title": "History of the tag"}),
    "wellformed/atom/entry_updated_multiple_values.xml": (DATE_ONLY, None),
    "wellformed/atom/entry_updated_parsed.xml": (DATE_ONLY, None),
    "wellformed/atom10/entry_id_with_attributes.xml":
        (FEED_URL_BASE, {"link": "http://127.0.0.1:8097/wellformed/atom10/right"}),
    "wellformed/atom10/entry_title_base64.xml": (PLAIN_TEXT, {"title": "Example Atom"}),
    "wellformed/atom10/entry_title_base64_2.xml":
        (PLAIN_TEXT, {"title": "History of the <blink> tag"}),
    "wellformed/atom10/entry_title_escaped_markup.xml": (PLAIN_TEXT, {"title": "Example Atom"}),
    "wellformed/atom10/entry_title_inline_markup.xml": (PLAIN_TEXT, {"title": "Example Atom"}),
    "wellformed/atom10/entry_title_inline_markup_2.xml":
        (PLAIN_TEXT, {"title": "History of the <blink> tag"}),
    "wellformed/atom10/entry_title_text_plain_brackets.xml":
        (TAG_LIKE_TEXT, {"title": "History of the tag"}),
    "wellformed/atom10/qna.xml": (PLAIN_TEXT, {"title": "Q&A session"}),
    "wellformed/base/entry_title_xml_base.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/entry_title_xml_base_inherit.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/entry_title_xml_base_inherit_2.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/entry_title_xml_base_inherit_3.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/entry_title_xml_base_inherit_4.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/http_entry_id_base_content_location.xml":
        (f"{ID_AS_WRITTEN}; {FEED_URL_BASE}",
         {"id": "/relative/link", "link": "http://127.0.0.1:8097/relative/link"}),
    "wellformed/base/http_entry_id_base_docuri.xml": (ID_AS_WRITTEN, {"id": "/relative/link"}),
    "wellformed/base/http_entry_title_base64_base_content_location.xml":
        (PLAIN_TEXT, {"title": "click here"}),
    "wellformed/base/http_entry_title_base64_base_docuri.xml":
        (PLAIN_TEXT, {"title": "click here"}),
    "wellformed/base/http_entry_title_base_content_location.xml":
        (PLAIN_TEXT, {"title": "click here"}),
    "wellformed/base/http_entry_title_base_docuri.xml": (PLAIN_TEXT, {"title": "click here"}),
    "wellformed/base/http_entry_title_inline_base_content_location.xml":
        (PLAIN_TEXT, {"title": "click here"}),
    "wellformed/base/http_entry_title_inline_base_docuri.xml":
        (PLAIN_TEXT, {"title": "click here"}),
    "wellformed/base/http_item_link_base_content_location.xml":
        (FEED_URL_BASE, {"link": "http://127.0.0.1:8097/relative/uri"}),
    "wellformed/base/http_relative_xml_base.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/http_relative_xml_base_2.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/malformed_base.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/relative_xml_base.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/relative_xml_base_2.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/base/unsafe_base.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/cdf/item_lastmod.xml": (DATE_ONLY, None),
    "wellformed/cdf/item_lastmod_parsed.xml": (DATE_ONLY, None),
    "wellformed/lang/entry_title_xml_lang_blank.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/lang/entry_title_xml_lang_inherit.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/lang/entry_title_xml_lang_inherit_2.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/lang/entry_title_xml_lang_inherit_3.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/lang/entry_title_xml_lang_inherit_4.xml": (PLAIN_TEXT, {"title": "Example test"}),
    "wellformed/lang/http_content_language_entry_title_inherit_2.xml":
        (ID_AS_WRITTEN, {"id": "1"}),
    "wellformed/node_precedence/atom10_id.xml entries[0]":
        (f"{SHARED_ID}; {FEED_URL_BASE}",
         {"id": "Correct Value|a475cff42d53f271",
          "link": "http://127.0.0.1:8097/wellformed/node_precedence/Correct Value"}),
    "wellformed/node_precedence/atom10_id.xml entries[1]":
        (f"{SHARED_ID}; {FEED_URL_BASE}",
         {"id": "Correct Value|494d4754222433e4",
          "link": "http://127.0.0.1:8097/wellformed/node_precedence/Incorrect Value"}),
    "wellformed/rss/item_dc_date.xml": (DATE_ONLY, None),
    "wellformed/rss/item_dc_date_parsed.xml": (DATE_ONLY, None),
    "wellformed/rss/item_dcterms_created.xml": (DATE_ONLY, None),
    "wellformed/rss/item_dcterms_created_parsed.xml": (DATE_ONLY, None),
    "wellformed/rss/item_dcterms_issued.xml": (DATE_ONLY, None),
    "wellformed/rss/item_dcterms_issued_parsed.xml": (DATE_ONLY, None),
    "wellformed/rss/item_dcterms_modified.xml": (DATE_ONLY, None),
    "wellformed/rss/item_dcterms_modified_parsed.xml": (DATE_ONLY, None),
    "wellformed/rss/item_pubDate.xml": (DATE_ONLY, None),
    "wellformed/rss/item_pubDate_map_updated_parsed.xml": (DATE_ONLY, None),
    "wellformed/sanitize/entry_title_crazy.xml":
        (PLAIN_TEXT, {"title": "Crazy HTML -- Can Your Regex Parse This?\nDid The Javascript "
                               "Execute?\nI will execute here, too, if you mouse over me"}),
    "wellformed/sanitize/entry_title_embed.xml": (FALLBACK, {"title": "safe"}),
    "wellformed/sanitize/entry_title_object.xml": (FALLBACK, {"title": "safe"}),
    "wellformed/sanitize/entry_title_onabort.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onblur.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onchange.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onclick.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_ondblclick.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onerror.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onfocus.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onkeydown.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onkeypress.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onkeyup.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onload.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onmousedown.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onmouseout.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onmouseover.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onmouseup.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onreset.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onresize.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onsubmit.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_onunload.xml": (IMAGE_ONLY, None),
    "wellformed/sanitize/entry_title_script_inline.xml":
        (PLAIN_TEXT, {"title": "safe description"}),
    "wellformed/sanitize/entry_title_style.xml":
        (PLAIN_TEXT, {"title": "never trust your upstream platypus"}),
}
_LISTED = {key.split(" ")[0] for key in DIFFERENCES}      # the files


@dataclass(frozen=True)
class Case:
    body: bytes
    url: str
    headers: dict[str, str]        # what parse_feed is given
    expect: str


def load_case(suite: Path, name: str) -> Case:
    """The file, its Expect line and, for HTTP cases, the headers feedparser's tests serve."""
    body = (suite / name).read_bytes()
    # The comment is ASCII; in the UTF-16 and UTF-32 files NUL bytes sit between its letters.
    comment = body.replace(b"\x00", b"").decode("utf-8", errors="ignore")
    match = _EXPECT.search(comment)
    assert match, f"{name}: no Expect line"
    headers = {key.lower(): value.strip() for key, value in _HEADER.findall(comment)}
    if "http" in name:
        headers.setdefault("content-type", "text/xml")
    return Case(body, f"http://127.0.0.1:8097/{name}", headers, match.group(1))


def run_feedparser(case: Case, name: str) -> Any:
    """feedparser's result as its own tests get it: served from the file's URL (the base of
    relative references, unless a Content-Location header says otherwise)."""
    headers = dict(case.headers)
    if "http" in name:
        headers["content-location"] = make_safe_absolute_uri(
            case.url, headers.get("content-location", "")) or case.url
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return feedparser.parse(io.BytesIO(case.body), response_headers=headers)


def expect_holds(expect: str, result: Any) -> bool:
    env = {"__builtins__": _EVAL_BUILTINS, "datetime": datetime, "feedparser": feedparser}
    try:
        return bool(eval(expect, env, result))      # the suite's own assertion, as it runs it
    except (KeyError, AttributeError, IndexError, NameError, TypeError):
        return False


def described_entries(expect: str) -> list[int]:
    """The indexes i of the entries described: ``entries[i]['title']``, ``entries[i].link``,
    ``entries[i]['id']``, ``entries[i]['updated_parsed']``..."""
    found = set()
    for node in ast.walk(ast.parse(expect, mode="eval")):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key, inner = node.slice.value, node.value
        elif isinstance(node, ast.Attribute):
            key, inner = node.attr, node.value
        else:
            continue
        if (key in _DESCRIBING and isinstance(inner, ast.Subscript)
                and isinstance(inner.value, ast.Name) and inner.value.id == "entries"
                and isinstance(inner.slice, ast.Constant)):
            found.add(inner.slice.value)
    return sorted(found)


def entry_view(entry: Any) -> dict[str, Any]:
    """A feedparser entry as an item would show it: no title is "", dates in UTC (feedparser's
    ``*_parsed`` are UTC already), the first of published, updated and created; the id, when
    there is one, is the identity."""
    date = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if dict.get(entry, key):
            date = datetime.datetime(*dict.get(entry, key)[:6], tzinfo=datetime.UTC)
            break
    view = {"title": dict.get(entry, "title") or "", "link": dict.get(entry, "link"),
            "date": date}
    if dict.get(entry, "id"):
        view["id"] = dict.get(entry, "id")
    return view


def item_view(item: ParsedItem, keys: Iterable[str]) -> dict[str, Any]:
    view = {"title": item.title, "link": item.link, "date": item.published,
            "id": item.identity}
    return {key: view[key] for key in keys}


def parse_both(case: Case) -> tuple[ParsedFeed | str, ParsedFeed | str]:
    out: list[ParsedFeed | str] = []
    for fast_path in (True, False):
        try:
            out.append(parse_feed(case.body, url=case.url, headers=case.headers, now=NOW,
                                  fast_path=fast_path))
        except ParseError as exc:
            out.append(f"ParseError: {exc}")
    return out[0], out[1]


def feed_view(feed: ParsedFeed | str) -> Any:
    if isinstance(feed, str):
        return feed
    return (feed.title, feed.link, feed.language, feed.version, feed.warning,
            [tuple(getattr(item, field) for field in ITEM_FIELDS) for item in feed.items])


@pytest.mark.parametrize("name", FILES or ["<no suite>"])
def test_feedparser_suite_file(name: str, shared_dir: Path) -> None:
    suite = shared_dir / SUITE
    assert suite.is_dir(), f"{suite} is missing"
    case = load_case(suite, name)
    quick, slow = parse_both(case)
    assert feed_view(quick) == feed_view(slow), f"{name}: the fast path differs"
    if name in NOT_FEEDS:
        assert isinstance(slow, str), f"{name} is listed as no feed but parsed"
        return
    assert isinstance(slow, ParsedFeed), f"{name}: {slow}"
    indexes = described_entries(case.expect)
    if not indexes:
        assert name not in _LISTED and name not in FEEDPARSER_MISSES, f"{name}: listed"
        return
    result = run_feedparser(case, name)
    holds = expect_holds(case.expect, result)
    assert holds is (name not in FEEDPARSER_MISSES), f"{name}: Expect {case.expect}"
    if not holds:
        return
    for index in indexes:
        theirs = entry_view(result.entries[index])
        ours = [item_view(item, theirs) for item in slow.items]
        reason, instead = DIFFERENCES.get(f"{name} entries[{index}]",
                                          DIFFERENCES.get(name, ("", {})))
        if not reason:
            assert theirs in ours, f"{name}: entries[{index}] {theirs} not among {ours}"
            continue
        assert theirs not in ours, f"{name} is listed ({reason}) but matches feedparser"
        if instead is None:
            assert slow.warning and "empty entries skipped" in slow.warning, name
        else:
            assert {**theirs, **instead} in ours, f"{name}: entries[{index}]: {ours}"


@pytest.mark.usefixtures("shared_dir")
def test_every_listed_file_is_in_the_suite() -> None:
    listed = NOT_FEEDS.keys() | FEEDPARSER_MISSES.keys() | _LISTED
    assert listed <= set(FILES), sorted(listed - set(FILES))
