"""Hostile feeds: each gets a readable error or a bounded result, and nothing is read or fetched."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.parse import MAX_ITEMS, MAX_TITLE, parse_feed

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def parse(body: bytes) -> object:
    return parse_feed(body, url="https://hostile.example/feed", headers={}, now=NOW)


def outcome(body: bytes) -> str:
    """'items:N' or 'error:<message>'; any other exception fails the test."""
    try:
        feed = parse(body)
    except ParseError as exc:
        assert str(exc)
        return f"error:{exc}"
    return f"items:{len(feed.items)}"  # type: ignore[attr-defined]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://x.example/1</link></item></channel></rss>"""


def quadratic_blowup() -> bytes:
    big = "A" * 50_000
    ref = "&a;" * 50_000
    return (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{big}">]>'
            f'<rss version="2.0"><channel><title>q</title><item><title>{ref}</title>'
            f"<link>https://x.example/1</link></item></channel></rss>").encode()


# Parses stdin in a fresh interpreter and prints how far the parse raised the process's peak
# resident size (ru_maxrss, KiB), after a warm-up parse has loaded what parsing loads once.
# ru_maxrss is a peak so far: measured in the test process, an earlier heavier test would hide
# this parse's growth. The address-space cap turns a runaway expansion into a MemoryError
# instead of a machine out of memory.
PEAK_GROWTH = """
import resource, sys
from datetime import UTC, datetime
resource.setrlimit(resource.RLIMIT_AS, (2 ** 30, 2 ** 30))
from monitor.parse import parse_feed
body = sys.stdin.buffer.read()
def parse(body):
    return parse_feed(body, url="https://x.example/feed", now=datetime(2026, 5, 1, tzinfo=UTC))
parse(b'<rss version="2.0"><channel><title>c</title><item><title>t</title></item></channel></rss>')
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
parse(body)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def peak_growth_mb(body: bytes) -> float:
    """How much parsing ``body`` raises the peak resident size of a fresh process, in MiB."""
    run = subprocess.run([sys.executable, "-c", PEAK_GROWTH], input=body, capture_output=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    return int(run.stdout) / 1024


def test_billion_laughs_is_bounded() -> None:
    assert peak_growth_mb(BILLION_LAUGHS) < 200
    result = outcome(BILLION_LAUGHS)
    assert result == "items:1"
    feed = parse(BILLION_LAUGHS)
    assert [i.title for i in feed.items] == ["&lol9;"]  # type: ignore[attr-defined]


def test_quadratic_blowup_is_bounded() -> None:
    assert outcome(quadratic_blowup()) == "items:1"
    feed = parse(quadratic_blowup())
    # lxml stops the expansion; the reference is kept as text, cut at the title limit
    assert [i.title for i in feed.items] == [  # type: ignore[attr-defined]
        ("&a;" * 50_000)[:MAX_TITLE]]


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://127.0.0.1:1/secret"])
def test_external_entities_are_not_read(target: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    url = target if target.startswith("http") else secret.as_uri()
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "{url}">]>'
            f'<rss version="2.0"><channel><title>x</title><item><title>a &xxe; b</title>'
            f"<link>https://x.example/1</link><description>&xxe;</description></item>"
            f"</channel></rss>").encode()
    feed = parse(body)
    # the entity is dropped, never resolved
    items = feed.items  # type: ignore[attr-defined]
    assert [(it.title, it.summary, it.content) for it in items] == [("a b", "", "")]


def test_external_dtd_is_not_fetched() -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">'
            b'<rss version="2.0"><channel><title>t</title><item><title>ok</title>'
            b"<link>https://x.example/1</link></item></channel></rss>")
    assert outcome(body) == "items:1"


def entries(n: int, title: str = "t") -> bytes:
    items = "".join(f"<item><title>{title}{i}</title><link>https://x.example/{i}</link></item>"
                    for i in range(n))
    return f'<rss version="2.0"><channel><title>c</title>{items}</channel></rss>'.encode()


def test_hundred_thousand_entries_are_capped() -> None:
    feed = parse(entries(100_000))
    assert len(feed.items) == MAX_ITEMS  # type: ignore[attr-defined]
    warning = feed.warning  # type: ignore[attr-defined]
    assert warning == f"more than {MAX_ITEMS} entries; kept the first {MAX_ITEMS}"


def test_ten_megabyte_title_is_truncated() -> None:
    feed = parse(entries(1, "x" * 10_000_000))
    (item,) = feed.items  # type: ignore[attr-defined]
    assert item.title == "x" * MAX_TITLE


def test_nul_bytes_and_invalid_utf8() -> None:
    body = entries(3).replace(b"<title>t1", b"<title>t\x00\xff\xfe1")
    assert outcome(body) == "items:3"
    feed = parse(body)
    # NUL dropped; the bytes that are not UTF-8 make the whole document cp1252
    assert [it.title for it in feed.items] == ["t0", "tÿþ1", "t2"]  # type: ignore[attr-defined]
    assert "guessed cp1252" in feed.warning  # type: ignore[attr-defined]


@pytest.mark.parametrize("date", ["Mon, 01 Jan 0000 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
                                  "0000-00-00T00:00:00Z", "99999-01-01", "yesterday-ish"])
def test_absurd_dates_become_none(date: str) -> None:
    body = (f'<rss version="2.0"><channel><title>c</title><item><title>x</title>'
            f"<link>https://x.example/1</link><pubDate>{date}</pubDate></item></channel></rss>")
    (item,) = parse(body.encode()).items  # type: ignore[attr-defined]
    assert item.published is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_fuzz_any_bytes(body: bytes) -> None:
    outcome(body)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=500), st.text(max_size=2000))
def test_fuzz_any_text_inside_a_valid_feed(title: str, summary: str) -> None:
    from xml.sax.saxutils import escape

    body = (f'<rss version="2.0"><channel><title>c</title><item><title>{escape(title)}</title>'
            f"<description>{escape(summary)}</description><link>https://x.example/1</link>"
            f"</item></channel></rss>").encode("utf-8", "surrogatepass")
    outcome(body)


@pytest.mark.parametrize("date", ["Thu, 30 Apr 2026 10:00:00 +0000", "2026-04-30T10:00:00-0000",
                                  "Thu, 30 Apr 2026 00:00:00 GMT"])
def test_zero_zone_offsets_are_not_zero_years(date: str) -> None:
    body = (f'<rss version="2.0"><channel><title>c</title><item><title>x</title>'
            f"<link>https://x.example/1</link><pubDate>{date}</pubDate></item></channel></rss>")
    (item,) = parse(body.encode()).items  # type: ignore[attr-defined]
    assert item.published is not None and item.published.year == 2026
