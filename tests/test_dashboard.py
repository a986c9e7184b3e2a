"""The dashboard, its JSON API and Atom feed, on rows seeded through SQLAlchemy sessions."""

from __future__ import annotations

import base64
import io
import re
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

with warnings.catch_warnings():
    # starlette.testclient touches an anyio alias that newer anyio deprecates (import time only)
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from monitor.config import Config
from monitor.dashboard import build_web_app, check_access_config
from monitor.dashboard.views import evidence_in, mark
from monitor.errors import ConfigError
from monitor.store.tables import (
    AlertRow,
    DeliveryAttemptRow,
    FeedRow,
    ItemRow,
    MilestoneRow,
    MilestoneSourceRow,
)

NOW = datetime.now(UTC).replace(microsecond=0)
EVIL = "<script>window.__pwned = 1</script>Prisoners freed <b>today</b>"
NOISE = 30
# (id, type, title, days ago, actors, evidence, source title)
MILESTONES = [
    ("m-amb", "ambassador_named", "US names an ambassador to Belarus", 6, ["us", "belarus"],
     "The White House said it would nominate a career diplomat as ambassador to Minsk.",
     "White House to nominate ambassador to Belarus"),
    ("m-sanc", "sanctions_lifted", "US eases sanctions on Belarusian potash", 4, ["us", "belaruskali"],
     "The Treasury eased sanctions on the potash producer.",
     "Treasury eases potash sanctions"),
    ("m-pris", "prisoners_released", EVIL, 2, ["lukashenko"],
     "Minsk pardoned and released fourteen political prisoners.",
     EVIL),
]


def seed(engine: Engine, *, showcase: bool = False) -> dict[str, Any]:
    """Two feeds, relevant and noise items, three milestones with sources, two alerts.

    ``showcase`` (the README screenshot) gives the third milestone a plain title.
    """
    plain = "Belarus frees 14 political prisoners"
    with Session(engine) as s, s.begin():
        wire = FeedRow(name="wire", url="https://wire.example.org/rss", language="en",
                       created_at=NOW, last_success_at=NOW - timedelta(minutes=5),
                       next_check_at=NOW + timedelta(minutes=10), polls=12, failures=0)
        state = FeedRow(name="state-dept", url="https://state.example.org/rss", language="en",
                        created_at=NOW, last_error="HTTP 503 <html>", failures=6, unhealthy=True,
                        last_error_at=NOW - timedelta(hours=1), polls=20, outlet="State")
        s.add_all([wire, state])
        s.flush()
        for n, (mid, type_, title, days, actors, evidence, src_title) in enumerate(MILESTONES):
            if showcase and title == EVIL:
                title = src_title = plain
            when = NOW - timedelta(days=days)
            item = ItemRow(feed_id=wire.id if n != 1 else state.id, identity=f"i-{mid}",
                           url=f"https://news.example.org/{mid}", title=src_title,
                           summary=f"Earlier context. {evidence} More words after.",
                           published=when, first_seen_at=when, relevant=True, score=0.9,
                           watchlists=["belarus-us"], actors=actors,
                           milestones=[{"type": type_, "watchlist": "belarus-us",
                                        "status": "announced", "evidence": evidence}])
            s.add(item)
            s.flush()
            s.add(MilestoneRow(id=mid, watchlist="belarus-us", type=type_, key=",".join(actors),
                               status="announced", title=title, type_title=type_.replace("_", " ").capitalize(),
                               evidence=evidence, confidence=0.9, actors=actors,
                               triggers=["released"], event_at=when, first_seen_at=when,
                               last_seen_at=when, first_item_id=item.id, sources=1,
                               alerted=True))
            s.flush()
            s.add(MilestoneSourceRow(milestone_id=mid, item_id=item.id, status="announced",
                                     evidence=evidence, confidence=0.9, added_at=when))
        other_when = NOW - timedelta(days=3)
        s.add(MilestoneRow(id="m-other", watchlist="other", type="high_level_contact",
                           key="x", status="announced", title="Other watchlist meeting",
                           event_at=other_when, first_seen_at=other_when,
                           last_seen_at=other_when))
        for k in range(NOISE):
            when = NOW - timedelta(days=10, hours=k)
            s.add(ItemRow(feed_id=state.id, identity=f"noise-{k}", title=f"Weather report {k}",
                          url=f"https://weather.example.org/{k}", summary="Rain in Minsk.",
                          published=when, first_seen_at=when, relevant=False, score=0.0))
        s.flush()
        done = AlertRow(delivery_id="d-1", channel="ops", event="milestone",
                        dedupe_key="milestone:m-amb", milestone_id="m-amb", state="delivered",
                        attempts=2, next_attempt_at=NOW, created_at=NOW - timedelta(days=6),
                        delivered_at=NOW - timedelta(days=6))
        pend = AlertRow(delivery_id="d-2", channel="ops", event="milestone",
                        dedupe_key="milestone:m-pris", milestone_id="m-pris", state="pending",
                        attempts=1, next_attempt_at=NOW + timedelta(minutes=5),
                        created_at=NOW - timedelta(days=2), last_error="HTTP 502")
        s.add_all([done, pend])
        s.flush()
        s.add_all([DeliveryAttemptRow(alert_id=done.id, at=NOW - timedelta(days=6),
                                      outcome="retry", status=500, error="HTTP 500"),
                   DeliveryAttemptRow(alert_id=done.id, at=NOW - timedelta(days=6),
                                      outcome="delivered", status=200),
                   DeliveryAttemptRow(alert_id=pend.id, at=NOW - timedelta(days=2),
                                      outcome="retry", status=502, error="HTTP 502")])
    return {"items": len(MILESTONES) + NOISE}


def make_config(listen: str = "127.0.0.1:8080", **http: Any) -> Config:
    return Config.model_validate({"http": {"listen": listen, **http},
                                  "alerts": {"channels": [{"name": "ops", "type": "console"}]}})


@pytest.fixture
def client(engine: Engine) -> Any:
    seed(engine)
    with TestClient(build_web_app(engine, make_config())) as c:
        yield c


def test_timeline_shows_milestones_newest_first(client: TestClient) -> None:
    r = client.get("/watchlists/belarus-us")
    assert r.status_code == 200
    body = r.text
    positions = [body.index(t) for t in ("Prisoners freed", "US eases sanctions",
                                         "US names an ambassador")]
    assert positions == sorted(positions)
    assert "Other watchlist meeting" not in body
    assert '<time datetime="' in body and "<mark>" in body
    assert "Other watchlist meeting" in client.get("/").text


def test_feed_text_is_escaped_everywhere(client: TestClient) -> None:
    for path in ("/", "/items", "/milestones/m-pris", "/alerts", "/feeds"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "<script>window" not in r.text, path
        assert "<b>today" not in r.text, path
    assert "&lt;script&gt;window.__pwned" in client.get("/items").text
    assert "HTTP 503 &lt;html&gt;" in client.get("/feeds").text


def test_feeds_page_counts_each_feeds_items(client: TestClient) -> None:
    page = client.get("/feeds").text
    assert re.search(r'<a href="[^"]*/items\?feed=wire">2</a>', page), page
    assert "built-in method" not in page


def test_security_headers(client: TestClient) -> None:
    for path in ("/", "/api/items", "/watchlists/belarus-us/milestones.atom", "/nowhere"):
        r = client.get(path)
        assert r.headers["content-security-policy"].startswith("default-src 'self'"), path
        assert r.headers["x-content-type-options"] == "nosniff"


def test_items_page_filters(client: TestClient) -> None:
    body = client.get("/items", params={"relevant": "1"}).text
    assert "Treasury eases potash sanctions" in body and "Weather report" not in body
    body = client.get("/items", params={"feed": "wire"}).text
    assert "White House to nominate" in body and "Treasury eases" not in body
    assert client.get("/items", params={"since": "not-a-date"}).status_code == 400


def test_api_items_pagination(client: TestClient) -> None:
    seen: list[int] = []
    url: str | None = "/api/items?per_page=7"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        page = r.json()
        assert page["total"] == len(MILESTONES) + NOISE and page["per_page"] == 7
        seen += [i["id"] for i in page["items"]]
        url = page["next"]
        if url:
            assert 'rel="next"' in r.headers["link"]
        pages += 1
    assert pages == page["pages"] == 5
    assert len(seen) == len(set(seen)) == len(MILESTONES) + NOISE
    first = client.get("/api/items", params={"per_page": 1}).json()["items"][0]
    assert first["title"] == EVIL and first["published"].endswith("Z")
    assert client.get("/api/items", params={"per_page": 1000}).status_code == 400
    assert client.get("/api/items", params={"page": "x"}).json()["error"].startswith("page")


@pytest.mark.parametrize(("params", "titles"), [
    ({"relevant": "true"}, 3),
    ({"feed": "state-dept"}, 1 + NOISE),
    ({"feed": "state-dept", "relevant": "1"}, 1),
    ({"actor": "lukashenko"}, 1),
    ({"type": "ambassador_named"}, 1),
    ({"watchlist": "belarus-us"}, 3),
    ({"watchlist": "nope"}, 0),
    ({"q": "POTASH"}, 1),
    ({"q": "100%"}, 0),
    ({"since": (NOW - timedelta(days=5)).date().isoformat()}, 2),
    ({"until": (NOW - timedelta(days=9)).date().isoformat()}, NOISE),
    ({"since": (NOW - timedelta(days=3)).isoformat(), "until": NOW.isoformat()}, 1),
], ids=["relevant", "feed", "feed+relevant", "actor", "type", "watchlist", "watchlist-none",
        "text", "text-like-escaped", "since-date", "until-date", "range-datetimes"])
def test_api_items_filters(client: TestClient, params: dict[str, str], titles: int) -> None:
    r = client.get("/api/items", params={**params, "per_page": 200})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == titles == len(r.json()["items"])


def test_api_milestones(client: TestClient) -> None:
    page = client.get("/api/milestones", params={"watchlist": "belarus-us"}).json()
    assert [m["id"] for m in page["items"]] == ["m-pris", "m-sanc", "m-amb"]
    assert page["items"][0]["items"][0]["evidence"].startswith("Minsk pardoned")
    asc = client.get("/api/milestones", params={"order": "asc", "per_page": 2}).json()
    assert [m["id"] for m in asc["items"]] == ["m-amb", "m-sanc"] and asc["next"]
    one = client.get("/api/milestones", params={"type": "sanctions_lifted"}).json()
    assert [m["id"] for m in one["items"]] == ["m-sanc"]
    assert client.get("/api/milestones/m-amb").json()["title"].startswith("US names")
    assert client.get("/api/milestones/none").status_code == 404


def test_api_feeds_alerts_openapi(client: TestClient) -> None:
    feeds = {f["name"]: f for f in client.get("/api/feeds").json()["items"]}
    assert feeds["state-dept"]["state"] == "unhealthy" and feeds["state-dept"]["failures"] == 6
    assert feeds["wire"]["items"] == 2
    alerts = client.get("/api/alerts").json()
    assert alerts["total"] == 2
    delivered = next(a for a in alerts["items"] if a["state"] == "delivered")
    assert [t["outcome"] for t in delivered["history"]] == ["retry", "delivered"]
    assert client.get("/api/alerts", params={"state": "pending"}).json()["total"] == 1
    assert "retry" in client.get("/alerts").text
    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/api/items" in doc["paths"]
    names = {p["name"] for p in doc["paths"]["/api/items"]["get"]["parameters"]}
    assert {"watchlist", "actor", "type", "relevant", "feed", "since", "until", "q",
            "page", "per_page"} <= names


def test_atom_feed_parses(client: TestClient) -> None:
    r = client.get("/watchlists/belarus-us/milestones.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(io.BytesIO(r.content))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert [e.title for e in parsed.entries] == [EVIL, "US eases sanctions on Belarusian potash",
                                                 "US names an ambassador to Belarus"]
    assert parsed.entries[0].id == "urn:monitor:milestone:m-pris"
    assert parsed.entries[0].link.endswith("/milestones/m-pris")
    empty = feedparser.parse(io.BytesIO(client.get("/watchlists/none/milestones.atom").content))
    assert not empty.bozo and empty.entries == []


def test_auth_token_and_basic(engine: Engine) -> None:
    seed(engine)
    config = make_config("0.0.0.0:8080", token="s3cret", username="ana", password="pw")
    with TestClient(build_web_app(engine, config)) as c:
        for path in ("/", "/api/items", "/watchlists/belarus-us/milestones.atom", "/static/dashboard.css"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert "Prisoners" not in r.text and r.headers["www-authenticate"].startswith("Basic")
        assert c.get("/healthz").status_code == 200  # probes need no credentials
        assert c.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        basic = base64.b64encode(b"ana:pw").decode()
        assert c.get("/api/items", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        bad = base64.b64encode(b"ana:nope").decode()
        assert c.get("/", headers={"Authorization": f"Basic {bad}"}).status_code == 401
        r = c.get("/watchlists/belarus-us/milestones.atom", params={"token": "s3cret"})
        assert r.status_code == 200 and "token" not in r.text
        assert "monitor_session" in r.headers["set-cookie"]
        assert c.get("/items").status_code == 200  # the cookie carries the session on
    with TestClient(build_web_app(engine, config)) as fresh:
        assert fresh.get("/", params={"token": "nope"}).status_code == 401


def test_check_access_config() -> None:
    check_access_config(make_config())
    check_access_config(make_config("[::1]:8080"))
    check_access_config(make_config("0.0.0.0:8080", token="t"))
    check_access_config(make_config("10.0.0.5:8080", username="u", password="p"))
    for bad, key_path in ((make_config("0.0.0.0:8080"), "http.listen"),
                          (make_config("example.org:80"), "http.listen"),
                          (make_config("0.0.0.0:8080", username="only-user"), "http.username")):
        with pytest.raises(ConfigError) as err:
            check_access_config(bad)
        assert err.value.key_path == key_path


def test_daemon_app_keeps_its_routes(engine: Engine) -> None:
    from monitor.dashboard import routes
    from monitor.metrics import Metrics
    from monitor.web import Health, build_app

    seed(engine)
    app = build_app(Health(engine, 5.0), Metrics(), extra_routes=routes(engine, make_config()))
    with TestClient(app) as c:
        assert c.get("/metrics").status_code == 200
        assert "content-security-policy" not in c.get("/metrics").headers
        assert "US names an ambassador" in c.get("/").text


def test_mark_escapes_before_wrapping() -> None:
    out = mark("a <b> released & freed", ["released", "<b>"])
    assert out == "a <mark>&lt;b&gt;</mark> <mark>released</mark> &amp; freed"
    assert evidence_in("x <i>y</i> z", "nothing here") == "<mark>nothing here</mark>"
    assert evidence_in("x <i>y</i>  z", "<i>y</i> z") == "x <mark>&lt;i&gt;y&lt;/i&gt;  z</mark>"
