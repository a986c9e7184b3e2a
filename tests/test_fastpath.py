"""The lxml fast path gives exactly feedparser's items, on the whole corpus and hostile inputs.

The fast path accepts exactly the corpus files in ``FAST_PATH_FILES``, and for each of them
every ParsedItem field except ``raw`` (and the ParsedFeed's title, link, language, version and
warning) equals what the feedparser path gives. Run with ``-s`` to see how many files and items take the fast path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.model import ParsedFeed, ParsedItem
from monitor.parse import fast, parse_feed
from monitor.parse.charset import as_utf8_xml, decode_body
from tests.conftest import CORPUS, shared

from . import test_hostile

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FILES = sorted(p.name for p in CORPUS.glob("*") if p.name != "FEEDPARSER-BASELINE.tsv") \
    if CORPUS.is_dir() else []
COVERAGE: dict[str, tuple[bool, int]] = {}
ITEM_FIELDS = [f.name for f in fields(ParsedItem) if f.name != "raw"]
# The corpus files the fast path takes today (108 of 242; the corpus is fixed by SHA256SUMS).
# A file leaving this set is a lost speed-up, a file joining it is newly compared field by field:
# either way, look at why and update the set.
FAST_PATH_FILES = frozenset({
    "Feeder__atom_cornucopia.xml", "Feeder__atom_cowboy.xml", "Feeder__atom_research_rsc.xml",
    "Feeder__atom_utdelningsseglaren.xml", "Feeder__empty_slash_comment.xml",
    "Feeder__golem-de.xml", "Feeder__openstreetmap.xml", "Feeder__rss_anime2you.xml",
    "Feeder__rss_cornucopia.xml", "Feeder__rss_cowboy.xml", "Feeder__rss_cyklistbloggen.xml",
    "Feeder__rss_diskuse.xml", "Feeder__rss_fz.xml", "Feeder__rss_fz_2022.xml",
    "Feeder__rss_geekpark.xml", "Feeder__rss_golem_2.xml", "Feeder__rss_lawnchair.xml",
    "Feeder__rss_lemonde.xml", "Feeder__rss_londoner.xml", "Feeder__rss_nixers_newsletter.xml",
    "Feeder__rss_ukrnet.xml", "RSParser__489.rss", "RSParser__4fsodonline.atom",
    "RSParser__EMarley.rss", "RSParser__KatieFloyd.rss", "RSParser__allthis.atom",
    "RSParser__dcrainmaker.xml", "RSParser__donthitsave.xml", "RSParser__kc0011.rss",
    "RSParser__manton.rss", "RSParser__monkeydom.rss", "RSParser__natasha.xml",
    "RSParser__phpxml.rss", "RSParser__russcox.atom", "RSParser__scriptingNews.rss",
    "RSParser__theomnishow.rss", "feed-rs__atom_example_4.xml", "feed-rs__atom_example_5.xml",
    "feed-rs__atom_example_reddit.xml", "feed-rs__atom_mediarss_reddit_1.xml",
    "feed-rs__rss_0.91_encoding_1.xml", "feed-rs__rss_0.91_encoding_2.xml",
    "feed-rs__rss_0.91_missing_id.xml", "feed-rs__rss_2.0_cloudflare.xml",
    "feed-rs__rss_2.0_element_io.xml", "feed-rs__rss_2.0_encoding_1.xml",
    "feed-rs__rss_2.0_example_3.xml", "feed-rs__rss_2.0_example_4.xml",
    "feed-rs__rss_2.0_example_5.xml", "feed-rs__rss_2.0_example_6.xml",
    "feed-rs__rss_2.0_ghost_2.xml", "feed-rs__rss_2.0_heated.xml",
    "feed-rs__rss_2.0_ilgiornale.xml", "feed-rs__rss_2.0_ilmessaggero.xml",
    "feed-rs__rss_2.0_kdist.xml", "feed-rs__rss_2.0_matrix.xml", "feed-rs__rss_2.0_nbcny.xml",
    "feed-rs__rss_2.0_reddit.xml", "feed-rs__rss_2.0_rps.xml", "feed-rs__rss_2.0_spiegel.xml",
    "feed-rs__rss_2.0_wirecutter.xml", "feedjira__AtomFeedWithSpacesAroundEquals.xml",
    "feedjira__FeedjiraBlog.xml", "feedjira__RSSWithComments.xml", "feedjira__TenderLovemaking.xml",
    "feedjira__google_alerts_atom.xml", "gofeed__rss_feed_leading_spaces.xml",
    "huginn__onethingwell.rss", "huginn__slickdeals.atom",
    "mediacloud-rss-fetcher__real-korean-times.rss", "miniflux__encoding_ISO-8859-1.xml",
    "miniflux__encoding_WINDOWS-1251.xml", "miniflux__koi8r.xml", "miniflux__large_atom.xml",
    "miniflux__large_rss.xml", "miniflux__urdu_UTF8.xml", "node-feedparser__category-feed.xml",
    "node-feedparser__iconv.xml", "node-feedparser__relative-channel-image-url.xml",
    "node-feedparser__rss-with-relative-urls.xml", "node-feedparser__wapowellness.xml",
    "picoFeed__fulltextrss.xml", "picoFeed__googleblog.xml", "picoFeed__groovehq.xml",
    "picoFeed__ibash.ru.xml", "picoFeed__resorts.xml", "picoFeed__rue89.xml",
    "picoFeed__sametmax.xml", "picoFeed__univers_freebox.xml", "picoFeed__xakep.ru.xml",
    "rss-parser__content-encoded.rss", "rss-parser__encoding.rss", "rss-parser__heise.atom",
    "rss-parser__item-itunes-episodeType.rss", "rss-parser__itunes-href.rss",
    "rss-parser__itunes-keywords-array.rss", "rss-parser__itunes-keywords-astext.rss",
    "rss-parser__many-links.rss", "rss2email__disqus-feed.rss",
    "rss2email__fastmailstatus-feed.rss", "rss2email__nodejs-feed1.xml",
    "rss2email__nodejs-feed2.xml", "rss2email__nodejs-feed3.xml", "rss2email__quiltville-feed.atom",
    "rss2email__tails-feed.rss", "rss2email__tumblr-feed.rss",
    "simplepie__feed-with-whitespace-before-xml-declaration.xml",
    "simplepie__feed_rss-2.0_for_file_mock.xml",
})


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if COVERAGE:
        xml = {k: v for k, v in COVERAGE.items() if not k.endswith(".json")}
        fast_files = [k for k, (ok, _) in xml.items() if ok]
        fast_items = sum(n for ok, n in xml.values() if ok)
        all_items = sum(n for _, n in xml.values())
        print(f"\n\nfast path: {len(fast_files)} of {len(xml)} XML corpus files, "
              f"{fast_items} of {all_items} items")


def _accepted(body: bytes) -> bool:
    """Whether parse_feed would take the fast path for this body (no decoding note, lxml ok)."""
    text, note = decode_body(body, {})
    if note is not None:
        return False
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        return False
    return fast.read_fast(as_utf8_xml(stripped), language=None) is not None


def _both(body: bytes, url: str) -> tuple[ParsedFeed | str, ParsedFeed | str]:
    out: list[ParsedFeed | str] = []
    for fast_path in (True, False):
        try:
            out.append(parse_feed(body, url=url, now=NOW, fast_path=fast_path))
        except ParseError as exc:
            out.append(f"ParseError: {exc}")
    return out[0], out[1]


def _assert_same(quick: ParsedFeed | str, slow: ParsedFeed | str, name: str) -> None:
    if isinstance(slow, str) or isinstance(quick, str):
        assert quick == slow, name
        return
    assert (quick.title, quick.link, quick.language, quick.version, quick.warning) == (
        slow.title, slow.link, slow.language, slow.version, slow.warning), name
    assert len(quick.items) == len(slow.items), name
    for n, (a, b) in enumerate(zip(quick.items, slow.items, strict=True)):
        for field in ITEM_FIELDS:
            assert getattr(a, field) == getattr(b, field), f"{name} item {n} field {field}"
        json.dumps(a.raw)          # JSON-safe (feedparser-path raw is capped at 64 KB)


@pytest.mark.parametrize("name", FILES or ["<no corpus>"])
def test_fast_path_matches_feedparser_on_corpus(name: str) -> None:
    body = (shared("feeds-corpus") / name).read_bytes()
    accepted = _accepted(body)
    quick, slow = _both(body, f"https://corpus.test/{name}")
    COVERAGE[name] = (accepted, 0 if isinstance(slow, str) else len(slow.items))
    assert accepted == (name in FAST_PATH_FILES), f"fast path accepted {name}: {accepted}"
    if accepted:
        _assert_same(quick, slow, name)
        assert not isinstance(quick, str)
        # The fast path keeps a small raw: ids, link, title, dates, author, tags; no bodies.
        assert all(len(json.dumps(item.raw)) < 20_000 for item in quick.items)


HOSTILE = {
    "billion-laughs": test_hostile.BILLION_LAUGHS,
    "quadratic": test_hostile.quadratic_blowup(),
    "xxe": (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<rss version="2.0"><channel><title>x</title><item><title>a &xxe; b</title>'
            b"<link>https://x.example/1</link></item></channel></rss>"),
    "external-dtd": (b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/e.dtd">'
                     b'<rss version="2.0"><channel><title>t</title><item><title>ok</title>'
                     b"<link>https://x.example/1</link></item></channel></rss>"),
    "many-entries": test_hostile.entries(20_000),
    "big-title": test_hostile.entries(1, "x" * 1_000_000),
    "nul-and-invalid-utf8": test_hostile.entries(3).replace(b"<title>t1", b"<title>t\x00\xff1"),
    "zero-year": (b'<rss version="2.0"><channel><title>c</title><item><title>x</title>'
                  b"<link>https://x.example/1</link><pubDate>Mon, 01 Jan 0000 00:00:00 GMT"
                  b"</pubDate></item></channel></rss>"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_fast_path_refuses_or_matches_hostile_inputs(name: str) -> None:
    body = HOSTILE[name]
    quick, slow = _both(body, "https://hostile.example/feed")
    _assert_same(quick, slow, name)
    if name in ("billion-laughs", "quadratic", "xxe", "external-dtd"):
        assert not _accepted(body), "DOCTYPEs always go to feedparser"


@pytest.mark.parametrize("body", [
    (b'<rss version="2.0"><channel><item><title>a</title><media:title xmlns:media='
    b'"http://search.yahoo.com/mrss/">b</media:title></item></channel></rss>'),
    b'<rss version="2.0"><channel><item xml:base="http://x/"><link>y</link></item></channel></rss>',
    (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>a</title>'
    b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">b</div></content>'
    b"</entry></feed>"),
    b'<rss version="2.0"><channel><item><title>a<b>c</b></title></item></channel></rss>',
    b'<rss version="2.0"><channel><item><title>a</title><title>b</title></item></channel></rss>',
], ids=["media-title", "xml-base", "atom-xhtml", "markup-in-title", "two-titles"])
def test_fast_path_refuses_odd_documents(body: bytes) -> None:
    assert fast.read_fast(body, language=None) is None
    quick, slow = _both(body, "https://x.example/feed")
    _assert_same(quick, slow, "odd")



def test_fast_path_keeps_categories_in_raw() -> None:
    """Categories go to ``raw["tags"]``, in document order: Atom's term, RSS's text."""
    atom = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            b"<title>t</title><entry><title>a</title><id>urn:a</id>"
            b'<category term="Belarus"/><category term="Diplomacy"/></entry></feed>')
    rss = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
           b"<item><title>a</title><guid>urn:b</guid><category> US </category>"
           b"<category>Minsk</category></item></channel></rss>")
    for body, tags in ((atom, ["Belarus", "Diplomacy"]), (rss, ["US", "Minsk"])):
        quick = parse_feed(body, url="http://x/feed", now=NOW)
        assert fast.read_fast(as_utf8_xml(decode_body(body, {})[0]), language=None) is not None
        assert quick.items[0].raw["tags"] == tags
