"""Pure rendering of alerts: contract payloads, signatures, escaping, collapsing, e-mails."""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.alerts import render, render_email
from monitor.model import FeedHealthAlert, MilestoneAlert, SourceRef

T0 = datetime(2020, 4, 20, 14, 2, tzinfo=UTC)
SENT_AT = datetime(2020, 4, 20, 14, 5, 30, 123456, tzinfo=UTC)
ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SCRIPT = "<script>alert('x')</script>"


def ref(title: str = "Trump to name Fisher", url: str | None = "https://example.org/a",
        feed: str = "wire", published: datetime | None = T0, outlet: str | None = None,
        ) -> SourceRef:
    return SourceRef(title, url, feed, published, outlet)


def alert(**changes: object) -> MilestoneAlert:
    base = MilestoneAlert(
        id="ms-1", type="ambassador_named", type_title="Ambassador named",
        watchlist="belarus-us", watchlist_version="2024.1",
        title="Trump to nominate Julie Fisher", status="announced", severity="high",
        first_seen=T0,
        evidence="Trump said he would nominate Julie Fisher as ambassador to Belarus.",
        actors=("fisher", "belarus"), triggers=("nominate",), rule="ambassador.named.1",
        confidence=0.9,
        items=(ref(), ref(url="https://mirror.example.net/x", feed="mirror",
                          published=T0 + timedelta(hours=1))))
    return replace(base, **changes)  # type: ignore[arg-type]


def health(state: str = "unhealthy") -> FeedHealthAlert:
    return FeedHealthAlert(feed="wire", url="https://example.org/rss", state=state,
                           since=T0, reason="HTTP 503 five times", watchlists=("belarus-us",))


def html_of(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def text_of(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def mail(a: MilestoneAlert, delivery_id: str = "dlv-1") -> email.message.EmailMessage:
    return render_email.email_message(a, sender="monitor@example.org",
                                recipients=["desk@example.org"], delivery_id=delivery_id)


# -- contract payload ------------------------------------------------------------------------

def test_milestone_payload_has_contract_shape() -> None:
    payload = render.milestone_payload(alert(), sent_at=SENT_AT, delivery_id="dlv-1")
    assert payload["event"] == "milestone"
    assert payload["sent_at"] == "2020-04-20T14:05:30Z"
    assert payload["delivery_id"] == "dlv-1"
    m = payload["milestone"]
    assert {"id", "type", "watchlist", "title", "status", "first_seen", "items"} <= set(m)
    for key in ("id", "type", "watchlist", "title", "status", "first_seen"):
        assert isinstance(m[key], str), key
    assert (m["id"], m["type"], m["watchlist"], m["status"]) == (
        "ms-1", "ambassador_named", "belarus-us", "announced")
    assert ZULU.match(m["first_seen"])
    assert isinstance(m["items"], list) and len(m["items"]) == 2
    for item in m["items"]:
        assert {"title", "url", "feed", "published"} <= set(item)
        assert isinstance(item["title"], str) and isinstance(item["feed"], str)
        assert ZULU.match(item["published"])
    assert m["severity"] == "high" and m["type_title"] == "Ambassador named"
    assert m["watchlist_version"] == "2024.1" and m["confidence"] == 0.9
    assert m["explain"] == {"evidence": alert().evidence, "actors": ["fisher", "belarus"],
                            "triggers": ["nominate"], "rule": "ambassador.named.1"}


def test_times_are_utc_zulu() -> None:
    plus3 = timezone(timedelta(hours=3))
    assert render.iso(datetime(2020, 4, 20, 17, 2, tzinfo=plus3)) == "2020-04-20T14:02:00Z"
    assert render.iso(datetime(2020, 4, 20, 14, 2)) == "2020-04-20T14:02:00Z"  # naive = UTC
    assert render.iso(None) is None
    payload = render.milestone_payload(alert(items=(ref(published=None),)), sent_at=SENT_AT,
                                       delivery_id="d")
    assert payload["milestone"]["items"][0]["published"] is None


@pytest.mark.parametrize(("state", "event"), [("unhealthy", "feed_unhealthy"),
                                              ("recovered", "feed_recovered")],
                         ids=["unhealthy", "recovered"])
def test_feed_health_payload(state: str, event: str) -> None:
    payload = render.feed_health_payload(health(state), sent_at=SENT_AT, delivery_id="h1")
    assert payload["event"] == event and payload["delivery_id"] == "h1"
    assert payload["feed"]["name"] == "wire" and payload["feed"]["since"] == "2020-04-20T14:02:00Z"
    json.loads(render.encode_body(payload))


# -- bytes and signatures --------------------------------------------------------------------

def test_body_is_compact_utf8_json() -> None:
    a = alert(title="Лукашэнка прыняў амбасадара")
    payload = render.milestone_payload(a, sent_at=SENT_AT, delivery_id="d")
    body = render.encode_body(payload)
    assert isinstance(body, bytes)
    assert "Лукашэнка".encode() in body  # not \u-escaped
    assert b": " not in body and b", " not in body.replace(b"said he, ", b"")
    assert json.loads(body) == payload


def test_signature_is_over_the_exact_bytes() -> None:
    body = render.encode_body(render.milestone_payload(alert(), sent_at=SENT_AT,
                                                       delivery_id="d"))
    signature = render.sign(body, "s3cret")
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", signature)
    assert render.verify(body, "s3cret", signature)
    assert not render.verify(body + b" ", "s3cret", signature)
    assert not render.verify(body, "other", signature)
    assert not render.verify(body, "s3cret", None)
    assert not render.verify(body, "s3cret", "sha256=zz")
    assert not render.verify(body, "s3cret", "sha256=é")
    # Re-encoding the same payload differently would break the signature.
    pretty = json.dumps(json.loads(body), indent=2).encode()
    assert not render.verify(pretty, "s3cret", signature)


@given(st.binary(max_size=256), st.text(min_size=1, max_size=32))
def test_sign_verify_roundtrip(body: bytes, secret: str) -> None:
    assert render.verify(body, secret, render.sign(body, secret))


# -- escaping --------------------------------------------------------------------------------

def test_script_in_title_and_evidence_is_escaped_in_email_html() -> None:
    a = alert(title=f"Headline {SCRIPT}", evidence=f"He will nominate {SCRIPT} Fisher.",
              items=(ref(title=f"Item {SCRIPT}"),))
    markup = html_of(mail(a))
    assert "<script" not in markup.lower()
    assert "&lt;script&gt;" in markup
    assert "<mark>nominate</mark>" in markup
    assert "<mark>Fisher</mark>" in markup


def test_highlight_marks_only_whole_words_case_insensitively() -> None:
    segments = render_email.highlight("Renominated? No: NOMINATE the envoy", ["nominate"])
    assert [s for s, hit in segments if hit] == ["NOMINATE"]
    assert "".join(s for s, _ in segments) == "Renominated? No: NOMINATE the envoy"
    assert render_email.highlight("text", []) == [("text", False)]


def test_only_http_urls_become_links() -> None:
    a = alert(items=(ref(title="evil", url="javascript:alert(1)"),
                     ref(title="data", url="data:text/html,<b>x</b>", feed="f2"),
                     ref(title="quote", url='https://example.org/"onmouseover="x', feed="f3")))
    markup = html_of(mail(a))
    assert "javascript:" not in markup
    assert 'href="data:' not in markup
    assert 'onmouseover="x' not in markup
    assert 'href="https://example.org/&#34;onmouseover=&#34;x"' in markup
    assert render.safe_href("HTTPS://example.org/x") == "HTTPS://example.org/x"
    assert render.safe_href("https:///nohost") is None


def test_script_is_escaped_in_slack_text() -> None:
    a = alert(title=f"A & B {SCRIPT}", evidence=f"Fisher {SCRIPT} named",
              items=(ref(title=f"<https://evil.example|click> {SCRIPT}"),))
    payload = render.slack_payload(a)
    dumped = json.dumps(payload, ensure_ascii=False)
    assert "<script" not in dumped
    assert "&lt;script&gt;" in payload["text"] and "A &amp; B" in payload["text"]
    assert "<https://evil.example" not in dumped
    assert "<https://example.org/a|" in dumped  # our own link, and only that one


def test_telegram_and_discord_escape() -> None:
    a = alert(title=f"@everyone {SCRIPT}", evidence=f"[click](https://evil.example) {SCRIPT}")
    tg = render.telegram_payload(a, chat_id=-100123)
    assert tg["parse_mode"] == "HTML" and tg["chat_id"] == -100123
    assert "<script" not in tg["text"] and "&lt;script&gt;" in tg["text"]
    assert len(tg["text"]) <= 4096
    dc = render.discord_payload(a)
    assert dc["allowed_mentions"] == {"parse": []}
    assert "[click](https://evil" not in dc["embeds"][0]["description"]
    assert "\\[click\\]" in dc["embeds"][0]["description"]


def test_render_for_format() -> None:
    a = alert()
    kwargs: dict[str, Any] = {"sent_at": SENT_AT, "delivery_id": "d"}
    assert render.render_for_format("monitor", a, **kwargs, options={}) == \
        render.milestone_payload(a, **kwargs)
    assert render.render_for_format("monitor", health(), **kwargs)["event"] == "feed_unhealthy"
    slack = render.render_for_format("slack", a, **kwargs, options={"username": "monitor"})
    assert slack["username"] == "monitor" and "blocks" in slack
    assert "embeds" in render.render_for_format("discord", health("recovered"), **kwargs)
    tg = render.render_for_format("telegram", a, **kwargs, options={"chat_id": "42"})
    assert tg["chat_id"] == "42"
    with pytest.raises(ValueError, match="chat_id"):
        render.render_for_format("telegram", a, **kwargs, options={})
    with pytest.raises(ValueError, match="unknown webhook format"):
        render.render_for_format("teams", a, **kwargs, options={})


# -- e-mail headers --------------------------------------------------------------------------

def test_subject_says_what_happened_and_has_no_newline() -> None:
    a = alert(title="Ambassador news\r\nBcc: victim@example.org\n\nbody")
    msg = mail(a)
    subject = msg["Subject"]
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("[monitor] Ambassador named — belarus-us: Ambassador news")
    reparsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert reparsed["Bcc"] is None
    assert "\n" not in str(reparsed["Subject"])


def test_message_id_is_stable_per_delivery() -> None:
    first, again, other = mail(alert(), "dlv-7"), mail(alert(), "dlv-7"), mail(alert(), "dlv-8")
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert re.fullmatch(r"<[^<>@\s]+@monitor\.local>", first["Message-ID"])
    assert first["X-Monitor-Delivery"] == "dlv-7"
    odd = render_email.message_id("a b<c>@d\r\n", "evil.example>\r\nX: y")
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", odd)


def test_email_parts_carry_the_facts() -> None:
    msg = render_email.email_message(alert(), sender="monitor@example.org",
                               recipients=["a@example.org", "b@example.org"],
                               subject_prefix="[belarus]", delivery_id="d",
                               sent_at=SENT_AT)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == "a@example.org, b@example.org"
    assert msg["Date"] and msg["Subject"].startswith("[belarus] ")
    for body in (text_of(msg), html_of(msg)):
        for fact in ("announced", "high", "2020-04-20T14:02:00Z", "ambassador.named.1",
                     "2024.1", "https://example.org/a", "Julie Fisher"):
            assert fact in body, fact


def test_health_email() -> None:
    msg = render_email.email_health_message(health(), sender="m@example.org",
                                      recipients=["d@example.org"], delivery_id="h")
    assert msg["Subject"] == "[monitor] Feed unhealthy: wire"
    assert "HTTP 503 five times" in text_of(msg) and "HTTP 503 five times" in html_of(msg)


# -- collapsing ------------------------------------------------------------------------------

def collapse_sources(items: Iterable[SourceRef]) -> tuple[SourceRef, ...]:
    """The items with syndicated copies counted once."""
    return tuple(r for r, _ in render.collapse_groups(items))


def test_syndicated_copies_count_once() -> None:
    items = (
        ref("Fisher named", "https://www.example.org/a/?utm_source=rss", "f1", T0 + timedelta(1)),
        ref("Fisher named (copy)", "http://example.org/a#top", "f2", T0),
        ref("U.S. names envoy", "https://partner.example/1", "f3", T0, outlet="Wire"),
        ref("U.S. names envoy!", "https://other.example/2", "f4", T0, outlet="wire"),
        ref("U.S. names envoy", "https://third.example/3", "f5", T0, outlet="Other Paper"),
        ref("No link", None, "f6", None),
    )
    groups = render.collapse_groups(items)
    assert [(r.feed, n) for r, n in groups] == [("f2", 2), ("f3", 2), ("f5", 1), ("f6", 1)]
    assert collapse_sources(items) == tuple(r for r, _ in groups)
    payload = render.milestone_payload(alert(items=items), sent_at=SENT_AT, delivery_id="d")
    assert [i["copies"] for i in payload["milestone"]["items"]] == [2, 2, 1, 1]
    assert "(+1 copy)" in text_of(mail(alert(items=items)))


def test_collapse_keeps_query_parameters_that_matter() -> None:
    items = (ref("A", "https://example.org/story?id=1", "f1"),
             ref("B", "https://example.org/story?id=2", "f2"))
    assert len(collapse_sources(items)) == 2


refs = st.builds(
    SourceRef,
    title=st.sampled_from(["Envoy named", "envoy  NAMED", "Other", ""]),
    url=st.sampled_from([None, "https://a.example/x", "http://www.a.example/x/",
                         "https://b.example/y", "mailto:x@y"]),
    feed=st.sampled_from(["f1", "f2"]),
    published=st.one_of(st.none(), st.sampled_from([T0, T0 + timedelta(hours=2)])),
    outlet=st.sampled_from([None, "Wire"]))


@given(st.lists(refs, max_size=8))
def test_collapse_is_idempotent_and_loses_no_article(items: list[SourceRef]) -> None:
    once = collapse_sources(items)
    assert collapse_sources(once) == once
    assert len(once) <= len(items)
    assert sum(n for _, n in render.collapse_groups(items)) == len(items)
    assert set(once) <= set(items)


# -- digest ----------------------------------------------------------------------------------

def test_digest_email_and_payload() -> None:
    second = alert(id="ms-2", type="sanctions_lifted", type_title="Sanctions lifted",
                   title=f"Potash sanctions eased {SCRIPT}", triggers=("eased",),
                   evidence="Washington eased sanctions on Belaruskali.")
    items = [ref("Background story", "https://example.org/b", "f1"),
             ref("Background story", "https://example.org/b?utm_medium=x", "f2")]
    start, end = T0, T0 + timedelta(days=1)
    msg = render_email.digest_email([alert(), second], items, period_start=start, period_end=end,
                              sender="m@example.org", recipients=["d@example.org"],
                              delivery_id="digest-2020-04-20")
    assert msg["Subject"] == ("[monitor] Digest 2020-04-20T14:02:00Z – 2020-04-21T14:02:00Z: "
                              "2 milestones, 1 item")
    assert msg["Message-ID"] == render_email.message_id("digest-2020-04-20", "monitor.local")
    markup, text = html_of(msg), text_of(msg)
    for body in (markup, text):
        assert "Trump to nominate Julie Fisher" in body and "Potash sanctions eased" in body
        assert "Background story" in body
    assert "<script" not in markup and "<mark>eased</mark>" in markup
    payload = render.digest_payload([alert(), second], items, period_start=start,
                                    period_end=end, sent_at=SENT_AT, delivery_id="dg")
    assert payload["event"] == "digest"
    assert payload["period"] == {"start": "2020-04-20T14:02:00Z", "end": "2020-04-21T14:02:00Z"}
    assert [m["id"] for m in payload["milestones"]] == ["ms-1", "ms-2"]
    assert len(payload["items"]) == 1
    json.loads(render.encode_body(payload))


def test_empty_digest() -> None:
    msg = render_email.digest_email([], [], period_start=T0, period_end=T0, sender="m@example.org",
                              recipients=["d@example.org"], delivery_id="dg")
    assert "0 milestones, 0 items" in msg["Subject"]
    assert "No milestones in this period." in text_of(msg)


def test_render_is_pure() -> None:
    code = ("import sys, monitor.alerts.render; "
            "bad = {'httpx', 'aiosmtplib', 'smtplib', 'sqlalchemy'} & set(sys.modules); "
            "print(sorted(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
