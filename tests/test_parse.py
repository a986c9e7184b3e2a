"""monitor.parse: dates, URLs, text, identity, JSON Feed, charsets, broken documents."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import parse
from monitor.errors import ParseError
from monitor.parse import canonical_url, html_to_text, parse_date, parse_feed
from monitor.parse import items as parse_items

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def rss(items: str, *, head: str = '<?xml version="1.0" encoding="utf-8"?>',
        channel: str = "<title>Feed</title>") -> bytes:
    return f'{head}<rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()


def test_parse_module_is_pure() -> None:
    files = sorted(Path(parse.__file__).parent.glob("*.py"))
    assert len(files) > 1, "monitor.parse is a package"
    imported: set[str] = set()
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"))
        imported |= {alias.name.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.Import | ast.ImportFrom)
                     for alias in (node.names if isinstance(node, ast.Import)
                                   else [ast.alias(node.module or "")])}
    assert not imported & {"httpx", "sqlalchemy", "smtplib", "apscheduler", "socket",
                           "requests", "urllib3"}


# --------------------------------------------------------------------------------------------
# dates


@pytest.mark.parametrize(("raw", "expected"), [
    ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
    ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
    ("16 dicembre 2022 10:00", datetime(2022, 12, 16, 10, tzinfo=UTC)),
    ("Qui, 03 Fev 2022 08:00:00 GMT", datetime(2022, 2, 3, 8, tzinfo=UTC)),
    ("Thu,28 Jul 2022 4:35:5 GMT+9", datetime(2022, 7, 27, 19, 35, 5, tzinfo=UTC)),
    ("Wed, 01 May 2024 10:00:00 EDT", datetime(2024, 5, 1, 14, tzinfo=UTC)),
    ("Wed, 01 May 2024 10:00:00 XYZ", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-04-30T23:00:00+02:00", datetime(2024, 4, 30, 21, tzinfo=UTC)),
    ("1518478934", datetime(2018, 2, 12, 23, 42, 14, tzinfo=UTC)),
], ids=["portuguese", "italian-abbr", "italian-full", "portuguese-fev", "gmt-plus-9",
        "edt", "unknown-zone-as-utc", "iso", "epoch"])
def test_dates(raw: str, expected: datetime) -> None:
    assert parse_date(raw, now=NOW) == expected


@pytest.mark.parametrize("raw", ["0000-01-01T00:00:00Z", "Mon, 01 Jan 0001 00:00:00 GMT",
                                 "9999-12-31T00:00:00Z", "1970-01-01T00:00:00Z",
                                 "2024-05-04T00:00:00Z", "yesterday-ish", "", None],
                         ids=["year0", "year1", "year9999", "epoch-zero", "3-days-ahead",
                              "garbage", "empty", "none"])
def test_absurd_or_missing_dates_are_none(raw: str | None) -> None:
    assert parse_date(raw, now=NOW) is None


def test_item_date_falls_back_and_is_utc() -> None:
    feed = parse_feed(rss("<item><title>a</title><pubDate>Seg, 24 Set 2018 19:42:40 -0300"
                          "</pubDate></item>"), url="https://x.org/f", now=NOW)
    assert feed.items[0].published == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# URLs and text


@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTPS://Example.ORG:443/a/b?utm_source=x&b=2&a=1&fbclid=z#top",
     "https://example.org/a/b?a=1&b=2"),
    ("http://example.org/?gclid=1&yclid=2&mc_cid=3&mc_eid=4&ref=rss&utm_medium=feed",
     "http://example.org/"),
    ("http://example.org:8080/x?id=5", "http://example.org:8080/x?id=5"),
    ("  https://example.org  ", "https://example.org/"),
    ("mailto:someone@example.org", "mailto:someone@example.org"),
], ids=["tracking-and-fragment", "all-tracking", "port-kept", "whitespace", "not-http"])
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_html_to_text_drops_scripts_and_decodes_entities() -> None:
    html = ("<p>Hello&nbsp;&amp; <b>welcome</b></p><script>alert('x')</script>"
            "<style>p{}</style><ul><li>one</li><li>two&#8211;three</li></ul>tail &lt;3")
    assert html_to_text(html) == "Hello & welcome\none\ntwo–three\ntail <3"



def test_html_to_text_keeps_image_alt_text() -> None:
    html = ('<p>Lukashenko<img src="a.jpg" alt="meets Hale"/>in Minsk</p>'
            '<img src="pixel.gif" alt=""><img src="b.jpg">')
    assert html_to_text(html) == "Lukashenko meets Hale in Minsk"
    feed = parse_feed(rss('<item><title>&lt;img src="h.png" alt="Embassy reopens"&gt;</title>'
                          "</item>"), url="https://x.org/f", now=NOW)
    assert [i.title for i in feed.items] == ["Embassy reopens"]

def test_html_to_text_survives_junk() -> None:
    assert html_to_text("") == ""
    assert html_to_text("plain  text\n\n  here") == "plain text\nhere"
    assert html_to_text("\x00<p>nul\x01</p>") == "nul"
    assert html_to_text("<div><<<>>>") == "<<<>>>"


def test_fields_are_capped() -> None:
    long = "word " * 50_000
    feed = parse_feed(rss(f"<item><title>{long}</title><description>{long * 2}</description>"
                          "</item>"), url="https://x.org/f", now=NOW)
    assert feed.items[0].title == long[:parse.MAX_TITLE]
    assert feed.items[0].summary == (long * 2)[:parse.MAX_TEXT]


# --------------------------------------------------------------------------------------------
# identity and fingerprint


def test_identity_prefers_guid_then_link_then_hash() -> None:
    feed = parse_feed(rss(
        "<item><title>a</title><guid>id-1</guid><link>https://x.org/a</link></item>"
        "<item><title>b</title><link>https://x.org/b?utm_source=rss</link></item>"
        "<item><title>c</title><description>text</description></item>"),
        url="https://x.org/f", now=NOW)
    a, b, c = feed.items
    assert a.identity == "id-1"
    assert b.identity == "https://x.org/b" and b.url == "https://x.org/b"
    assert b.link == "https://x.org/b?utm_source=rss"
    assert len(c.identity) == 64 and c.url is None
    again = parse_feed(rss("<item><title>c</title><description>text</description></item>"),
                       url="https://x.org/f", now=NOW)
    assert again.items[0].identity == c.identity


def test_an_identity_longer_than_the_column_is_its_hash() -> None:
    """One rule with the store (``model.identity_key``): two long guids that share their
    first 512 characters stay two items."""
    long = "urn:x:" + "g" * 600
    feed = parse_feed(rss(f"<item><title>a</title><guid>{long}a</guid></item>"
                          f"<item><title>b</title><guid>{long}b</guid></item>"
                          f"<item><title>c</title><guid>{long[:500]}</guid></item>"),
                      url="https://x.org/f", now=NOW)
    a, b, c = feed.items
    assert a.identity.startswith("sha256:") and b.identity.startswith("sha256:")
    assert a.identity != b.identity and c.identity == long[:500]


@pytest.mark.parametrize("fast_path", [True, False])
def test_an_entry_with_only_a_guid_is_kept(fast_path: bool) -> None:
    feed = parse_feed(rss('<item><guid isPermaLink="false">ep-17</guid><enclosure url='
                          '"https://x.org/17.mp3" length="1" type="audio/mpeg"/></item>'
                          "<item><guid> </guid></item>"),
                      url="https://x.org/f", now=NOW, fast_path=fast_path)
    assert [(i.identity, i.title, i.link) for i in feed.items] == [("ep-17", "", None)]
    assert feed.warning == "1 empty entries skipped"


def test_shared_link_without_guid_keeps_every_distinct_entry() -> None:
    feed = parse_feed(rss("".join(
        f"<item><title>post {n}</title><link>https://x.org/news</link></item>" for n in range(3))
        + "<item><title>post 0</title><link>https://x.org/news</link></item>"),
        url="https://x.org/f", now=NOW)
    assert [i.title for i in feed.items] == ["post 0", "post 1", "post 2"]
    assert len({i.identity for i in feed.items}) == 3
    assert feed.warning and "repeated" in feed.warning


def test_fingerprint_same_story_two_feeds() -> None:
    one = parse_feed(rss('<item><title>Embassy reopens in Minsk</title><link>'
                         "https://a.org/s?utm_source=x</link><description>&lt;p&gt;The US "
                         "embassy reopened.&lt;/p&gt;</description></item>"),
                     url="https://a.org/f", now=NOW)
    two = parse_feed(rss("<item><title>EMBASSY  reopens in Minsk!</title><link>"
                         "https://a.org/s?fbclid=1</link><description>The US embassy "
                         "reopened</description></item>"), url="https://b.org/f", now=NOW)
    assert one.items[0].fingerprint == two.items[0].fingerprint
    assert one.items[0].url == two.items[0].url == "https://a.org/s"


def test_raw_is_json_safe() -> None:
    feed = parse_feed(rss("<item><title>a</title><pubDate>Wed, 01 May 2024 10:00:00 GMT"
                          "</pubDate></item>"), url="https://x.org/f", now=NOW)
    raw = feed.items[0].raw
    json.dumps(raw)
    assert raw["title"] == "a"


# --------------------------------------------------------------------------------------------
# languages


@pytest.mark.parametrize(("title", "expected"), [
    ("Лукашэнка сустрэўся з амбасадарам", "be"),
    ("Лукашенко встретился с послом США", "ru"),
    ("The United States names an ambassador to Belarus", "en"),
    ("Promotoria abre inquérito para apurar suspeita", None),
], ids=["be", "ru", "en", "pt-unsure"])
def test_language_detected_from_script(title: str, expected: str | None) -> None:
    feed = parse_feed(rss(f"<item><title>{title}</title></item>"), url="https://x.org/f",
                      now=NOW)
    assert feed.items[0].language == expected


def test_language_precedence() -> None:
    body = rss("<item><title>Hello there</title></item>", channel="<language>ru-RU</language>")
    assert parse_feed(body, url="https://x.org/f", now=NOW).items[0].language == "ru"
    body = rss("<item><title>Привет</title></item>")
    assert parse_feed(body, url="https://x.org/f", default_language="be",
                      now=NOW).items[0].language == "be"


# --------------------------------------------------------------------------------------------
# JSON Feed


def test_json_feed_1_1() -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "language": "en-US",
           "home_page_url": "https://j.org/",
           "items": [{"id": 7, "url": "https://j.org/7?utm_campaign=x", "title": "A &#8211; B",
                      "content_html": "<p>Body</p>", "date_published": "2024-04-30T10:00:00Z",
                      "authors": [{"name": "Ann"}]},
                     {"id": "8", "content_text": "only text"}]}
    feed = parse_feed(json.dumps(doc).encode(), url="https://j.org/feed.json", now=NOW)
    assert feed.version == "json11" and feed.title == "J" and feed.language == "en"
    first, second = feed.items
    assert first.identity == "7" and first.title == "A – B" and first.content == "Body"
    assert first.url == "https://j.org/7" and first.author == "Ann"
    assert first.published == datetime(2024, 4, 30, 10, tzinfo=UTC)
    assert second.content == "only text" and second.title == ""


def test_truncated_json_feed_keeps_complete_items() -> None:
    doc = json.dumps({"version": "https://jsonfeed.org/version/1", "title": "J",
                      "items": [{"id": "1", "title": "one"}, {"id": "2", "title": "two"}]})
    feed = parse_feed(doc[:-20].encode(), url="https://j.org/f", now=NOW)
    assert [i.identity for i in feed.items] == ["1"]
    assert feed.warning and "invalid JSON" in feed.warning


@pytest.mark.parametrize("body", [b"{not json", b'{"hello": "world"}', b"[1, 2]"],
                         ids=["invalid", "not-a-feed", "array"])
def test_json_that_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, url="https://j.org/f", now=NOW)


# --------------------------------------------------------------------------------------------
# encodings and broken documents


def test_undeclared_koi8r() -> None:
    body = ('<rss version="2.0"><channel><title>Новости</title><item><title>'
            "Президент встретился с послом Соединённых Штатов в Минске</title></item>"
            "</channel></rss>").encode("koi8-r")
    feed = parse_feed(body, url="https://x.org/f", now=NOW)
    assert feed.items[0].title.startswith("Президент") and feed.items[0].language == "ru"


def test_declared_windows_1251() -> None:
    body = ('<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel>'
            "<item><title>Беларусь</title></item></channel></rss>").encode("cp1251")
    assert parse_feed(body, url="https://x.org/f", now=NOW).items[0].title == "Беларусь"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                                   "utf-32-be"])
def test_utf16_and_utf32(codec: str) -> None:
    """With a BOM ("utf-16", "utf-32") or without one."""
    body = rss("<item><title>Мінск</title></item>", head="").decode().encode(codec)
    assert parse_feed(body, url="https://x.org/f", now=NOW).items[0].title == "Мінск"


def test_false_declaration_utf8_bytes() -> None:
    body = rss("<item><title>Café €</title></item>",
               head='<?xml version="1.0" encoding="ISO-8859-1"?>')
    feed = parse_feed(body, url="https://x.org/f", now=NOW)
    assert feed.items[0].title == "Café €" and "UTF-8" in (feed.warning or "")


def test_whitespace_before_declaration() -> None:
    feed = parse_feed(b"\n\n   " + rss("<item><title>a</title></item>"), url="https://x.org/f",
                      now=NOW)
    assert [i.title for i in feed.items] == ["a"]


def test_bare_ampersand_and_html_entities() -> None:
    feed = parse_feed(rss("<item><title>Fish & Chips &nbsp;&copy; 2024</title></item>"
                          "<item><title>second</title></item>"), url="https://x.org/f", now=NOW)
    assert [i.title for i in feed.items] == ["Fish & Chips © 2024", "second"]
    assert feed.warning



def test_repair_keeps_what_the_tolerant_parse_read() -> None:
    """"&#X41;" is no XML reference (XML wants a lower-case x): feedparser's tolerant parser
    reads "A" where lxml's recovery keeps "X41;". With as many entries, the former wins."""
    feed = parse_feed(rss("<item><title>&#X41;BC &amp; D</title><link>https://x.org/a</link>"
                          "</item>"), url="https://x.org/f", now=NOW)
    assert [i.title for i in feed.items] == ["ABC & D"]
    assert feed.warning and "not well-formed" in feed.warning

def test_truncated_document_keeps_complete_items() -> None:
    body = rss("<item><title>one</title></item><item><title>two</title></item>")[:-30]
    feed = parse_feed(body, url="https://x.org/f", now=NOW)
    assert [i.title for i in feed.items] == ["one", "two"]


def test_gzip_wrapped_body() -> None:
    import gzip
    feed = parse_feed(gzip.compress(rss("<item><title>z</title></item>")),
                      url="https://x.org/f", now=NOW)
    assert feed.items[0].title == "z" and "gzip" in (feed.warning or "")


@pytest.mark.parametrize("body", [b"", b"   \n", b"<!DOCTYPE html><html><body>hi</body></html>",
                                  b"<html><head><title>Moved</title></head></html>",
                                  b"just some text"],
                         ids=["empty", "blank", "html5", "html", "text"])
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, url="https://x.org/f", now=NOW)


def test_entry_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_items, "MAX_ITEMS", 3)
    feed = parse_feed(rss("".join(f"<item><guid>{n}</guid><title>t{n}</title></item>"
                                  for n in range(5))), url="https://x.org/f", now=NOW)
    assert len(feed.items) == 3 and "kept the first 3" in (feed.warning or "")


def test_relative_links_resolved_against_feed_url() -> None:
    feed = parse_feed(rss("<item><title>a</title><link>/posts/1</link></item>"),
                      url="https://x.org/feed.xml", now=NOW)
    assert feed.items[0].url == "https://x.org/posts/1"


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_link_urllib_cannot_split_costs_only_its_own_url(fast_path: bool) -> None:
    """"http://[oops/" (an unclosed IPv6 host) made urlsplit raise, which failed the whole
    feed: every other item was lost. The item keeps the link as written."""
    body = rss("<item><title>a</title><link>http://[oops/x</link></item>"
               "<item><title>b</title><link>https://ok.example/b#top</link></item>")
    feed = parse_feed(body, url="https://x.org/feed.xml", now=NOW, fast_path=fast_path)
    assert [(i.title, i.url, i.identity) for i in feed.items] == [
        ("a", "http://[oops/x", "http://[oops/x"),
        ("b", "https://ok.example/b", "https://ok.example/b#top")]


# --------------------------------------------------------------------------------------------
# the lxml fast path agrees with feedparser


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("attributes", ['type="application/octet-stream"',
                                        'type="html" mode="base64"'],
                         ids=["octet-stream", "mode-base64"])
def test_base64_titles_are_decoded(attributes: str, fast_path: bool) -> None:
    """feedparser base64-decodes an Atom title of a binary type or with mode="base64"."""
    title = f"<title {attributes}>RXhhbXBsZSA8Yj5BdG9tPC9iPg==</title>"
    body = (f'<feed xmlns="http://www.w3.org/2005/Atom">{title}'
            f"<entry><id>urn:a</id>{title}</entry></feed>").encode()
    feed = parse_feed(body, url="https://x.org/f", now=NOW, fast_path=fast_path)
    assert (feed.title, feed.items[0].title) == ("Example Atom", "Example Atom")
