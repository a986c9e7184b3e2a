"""The HTTP edge against real local servers (pytest-httpserver, plus a raw socket server for
stalls and gzip bombs)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import FetchConfig
from monitor.errors import AddressRefusedError, ParseError
from monitor.fetch import (
    Fetcher,
    guarded_transport,
    is_public_address,
    parse_retry_after,
)
from monitor.model import FetchResult
from monitor.parse import parse_feed

T = TypeVar("T")
NOW = datetime(2024, 5, 1, tzinfo=UTC)
RSS = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
       b"<item><title>Hello</title><link>https://example.org/a</link><guid>a</guid></item>"
       b"</channel></rss>")
FAKE_PUBLIC = "93.184.215.14"     # what our test resolver says public.example is


def local_settings(**overrides: Any) -> FetchConfig:
    values: dict[str, Any] = {"allow_private_networks": True, "per_host_min_gap": 0.0,
                              "connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 5.0}
    values.update(overrides)
    return FetchConfig(**values)


def run(make: Callable[[Fetcher], Awaitable[T]], settings: FetchConfig | None = None,
        **kwargs: Any) -> T:
    async def main() -> T:
        async with Fetcher(settings or local_settings(), **kwargs) as fetcher:
            return await make(fetcher)
    return asyncio.run(main())


def fetch(url: str, settings: FetchConfig | None = None, **kwargs: Any) -> FetchResult:
    options = {k: kwargs.pop(k) for k in ("etag", "last_modified") if k in kwargs}
    return run(lambda f: f.fetch(url, **options), settings, **kwargs)


# --------------------------------------------------------------------------------------------
# plain responses


def test_200_returns_body_validators_and_user_agent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        RSS, content_type="application/rss+xml", headers={"ETag": '"v1"',
                                                          "Last-Modified": "Wed, 01 May 2024"})
    result = fetch(httpserver.url_for("/feed"))
    assert result.ok and result.status == 200 and result.error is None
    assert result.body == RSS and result.bytes_read == len(RSS)
    assert result.etag == '"v1"' and result.last_modified == "Wed, 01 May 2024"
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.permanent_redirect is None and result.duration > 0
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"].startswith("monitor/0.1")
    assert "If-None-Match" not in request.headers


def test_gzip_content_encoding_is_undone(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gz").respond_with_data(
        gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    result = fetch(httpserver.url_for("/gz"))
    assert result.ok and result.body == RSS


def test_304_with_etag(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"'}).respond_with_data(
        b"", status=304, headers={"ETag": '"v1"'})
    result = fetch(httpserver.url_for("/feed"), etag='"v1"')
    assert result.status == 304 and result.not_modified and result.body is None
    assert result.error is None and result.etag == '"v1"'


def test_304_with_last_modified(httpserver: HTTPServer) -> None:
    stamp = "Wed, 01 May 2024 10:00:00 GMT"
    httpserver.expect_request("/feed", headers={"If-Modified-Since": stamp}).respond_with_data(
        b"", status=304)
    result = fetch(httpserver.url_for("/feed"), last_modified=stamp)
    assert result.not_modified and result.body is None
    assert result.last_modified == stamp      # carried over when the 304 omits it


@pytest.mark.parametrize(("status", "kind"), [(404, "http"), (410, "http"), (500, "http")],
                         ids=["404", "410", "500"])
def test_error_statuses(httpserver: HTTPServer, status: int, kind: str) -> None:
    httpserver.expect_request("/x").respond_with_data(b"nope", status=status)
    result = fetch(httpserver.url_for("/x"))
    assert result.status == status and result.error_kind == kind and result.body is None
    assert str(status) in (result.error or "") and not result.ok


def test_429_retry_after_seconds(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data(b"", status=429,
                                                      headers={"Retry-After": "120"})
    result = fetch(httpserver.url_for("/x"))
    assert result.status == 429 and result.error_kind == "http" and result.retry_after == 120


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 01 May 2024 00:10:00 GMT", NOW) == 600
    assert parse_retry_after("Wed, 01 May 2024 00:10:00 GMT", now=NOW) == 600
    assert parse_retry_after("120") == 120 and parse_retry_after("-5") == 0
    assert parse_retry_after("inf") is None and parse_retry_after("nan") is None
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:00 GMT") == 0    # default now: today
    assert parse_retry_after("Tue, 30 Apr 2024 00:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_empty_body_fetches_but_does_not_parse(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/empty").respond_with_data(b"")
    result = fetch(httpserver.url_for("/empty"))
    assert result.ok and result.body == b""
    with pytest.raises(ParseError, match="empty"):
        parse_feed(result.body or b"", url=result.final_url, headers=result.headers, now=NOW)


def test_html_instead_of_feed(httpserver: HTTPServer) -> None:
    page = b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</p></body></html>"
    httpserver.expect_request("/page").respond_with_data(page, content_type="text/html")
    result = fetch(httpserver.url_for("/page"))
    assert result.ok and result.body == page
    with pytest.raises(ParseError, match="HTML"):
        parse_feed(result.body or b"", url=result.final_url, headers=result.headers, now=NOW)


def test_wrong_charset_header_is_overridden_by_the_bytes(httpserver: HTTPServer) -> None:
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Мінск</title><item>'
            "<title>Лукашэнка і амбасадар</title><guid>1</guid></item></channel></rss>")
    httpserver.expect_request("/cp").respond_with_data(
        body.encode("utf-8"), content_type="application/rss+xml; charset=iso-8859-1")
    result = fetch(httpserver.url_for("/cp"))
    assert result.ok
    parsed = parse_feed(result.body or b"", url=result.final_url, headers=result.headers,
                        now=NOW)
    assert parsed.items[0].title == "Лукашэнка і амбасадар"
    assert parsed.items[0].language == "be"
    assert parsed.warning and "UTF-8" in parsed.warning


# --------------------------------------------------------------------------------------------
# redirects


def test_301_sets_permanent_redirect(httpserver: HTTPServer) -> None:
    target = httpserver.url_for("/new")
    httpserver.expect_request("/old").respond_with_data(b"", status=301,
                                                        headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(RSS)
    result = fetch(httpserver.url_for("/old"))
    assert result.ok and result.final_url == target and result.permanent_redirect == target


def test_feed_urls_are_parsed_once_but_not_redirect_targets(httpserver: HTTPServer) -> None:
    """The fetcher keeps each feed URL's parse (httpx re-parsed it at every poll); a redirect
    target is parsed anew each time, since a publisher may send a new one at every poll."""
    long_tail = "x" * 3000
    httpserver.expect_request("/old").respond_with_data(b"", status=302,
                                                        headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(RSS)
    httpserver.expect_request(f"/{long_tail}").respond_with_data(RSS)

    async def twice(fetcher: Fetcher) -> list[str]:
        for url in (httpserver.url_for("/old"), httpserver.url_for(f"/{long_tail}")):
            for _ in range(2):
                assert (await fetcher.fetch(url)).ok
        return list(fetcher._targets)
    assert run(twice) == [httpserver.url_for("/old")]


def test_302_does_not_set_permanent_redirect(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(b"", status=301, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(b"", status=302, headers={"Location": "/c"})
    httpserver.expect_request("/c").respond_with_data(RSS)
    result = fetch(httpserver.url_for("/a"))
    assert result.ok and result.final_url == httpserver.url_for("/c")
    assert result.permanent_redirect is None


def test_redirect_loop(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(b"", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(b"", status=302, headers={"Location": "/a"})
    result = fetch(httpserver.url_for("/a"))
    assert result.error_kind == "redirect" and "loop" in (result.error or "")


def test_too_many_redirects(httpserver: HTTPServer) -> None:
    for n in range(10):
        httpserver.expect_request(f"/r{n}").respond_with_data(
            b"", status=307, headers={"Location": f"/r{n + 1}"})
    result = fetch(httpserver.url_for("/r0"), local_settings(max_redirects=3))
    assert result.error_kind == "redirect" and "more than 3" in (result.error or "")


def test_redirect_to_non_http_scheme_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(
        b"", status=302, headers={"Location": "file:///etc/passwd"})
    result = fetch(httpserver.url_for("/a"))
    assert result.error_kind == "scheme" and result.body is None


def test_non_http_url_is_refused() -> None:
    assert fetch("ftp://example.org/feed").error_kind == "scheme"


# --------------------------------------------------------------------------------------------
# SSRF


def test_loopback_refused_without_allow_private_networks(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(RSS)
    result = fetch(httpserver.url_for("/feed"), local_settings(allow_private_networks=False))
    assert result.error_kind == "ssrf" and result.body is None
    assert len(httpserver.log) == 0          # nothing was sent


def test_name_resolving_to_private_address_refused(httpserver: HTTPServer) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["169.254.169.254"]
    url = f"http://metadata.example:{httpserver.port}/latest"
    result = fetch(url, local_settings(allow_private_networks=False), resolver=resolver)
    assert result.error_kind == "ssrf" and "169.254.169.254" in (result.error or "")


def test_redirect_from_public_name_to_private_address_refused(httpserver: HTTPServer) -> None:
    """First hop: a name our resolver calls public (dialled to the local server); second hop:
    a redirect to 127.0.0.1, which must be refused before anything is sent to it."""
    httpserver.expect_request("/start").respond_with_data(
        b"", status=302, headers={"Location": httpserver.url_for("/secret")})
    httpserver.expect_request("/secret").respond_with_data(b"secret")

    async def resolver(host: str, port: int) -> list[str]:
        return {"public.example": [FAKE_PUBLIC]}.get(host, ["127.0.0.1"])

    def dial(address: str, port: int) -> tuple[str, int]:
        return ("127.0.0.1", port) if address == FAKE_PUBLIC else (address, port)

    result = fetch(f"http://public.example:{httpserver.port}/start",
                   local_settings(allow_private_networks=False), resolver=resolver, dial=dial)
    assert result.error_kind == "ssrf" and result.body is None
    assert [r.path for r, _ in httpserver.log] == ["/start"]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
                                     "169.254.169.254", "0.0.0.0", "224.0.0.1", "240.0.0.1",
                                     "100.64.0.1", "::1", "fe80::1", "fc00::1",
                                     "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::",
                                     "64:ff9b::a00:1", "not-an-ip"])
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


# --------------------------------------------------------------------------------------------
# limits: size, gzip bomb, stall, per-host gap


class RawServer:
    """A socket server whose per-connection behaviour is a function; for stalls and bombs."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.sent = 0
        self._behave = behave
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self._behave(conn)
            except OSError:
                pass              # the client hung up on purpose

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self._thread.join(timeout=2)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def make(behave: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(behave))
        return servers[-1]
    yield make
    for server in servers:
        server.close()


def test_stalled_server_hits_the_deadline(raw_server: Any) -> None:
    def stall(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>")
        server.stop.wait(30)         # released by close(), after the test
    server = raw_server(stall)
    result = fetch(f"http://127.0.0.1:{server.port}/feed",
                   local_settings(read_timeout=5.0, total_timeout=0.3))
    # the deadline, not the read timeout (5 s): each says so in its own words
    assert result.error_kind == "timeout" and result.body is None
    assert result.error == "no complete response within 0.3s"


def test_read_timeout_between_bytes(raw_server: Any) -> None:
    def stall(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        server.stop.wait(30)
    server = raw_server(stall)
    result = fetch(f"http://127.0.0.1:{server.port}/feed",
                   local_settings(read_timeout=0.2, total_timeout=5.0))
    assert result.error_kind == "timeout"
    assert result.error is not None and result.error.startswith("ReadTimeout")


def test_content_length_over_limit_refused_up_front(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    result = fetch(httpserver.url_for("/big"), local_settings(max_body_bytes=1000))
    assert result.error_kind == "too_large" and result.body is None
    assert result.bytes_read == 0


def test_streamed_body_over_limit_aborted(raw_server: Any) -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 16384
        while not server.stop.is_set():
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            server.sent += len(chunk)
    server = raw_server(endless)
    result = fetch(f"http://127.0.0.1:{server.port}/", local_settings(max_body_bytes=100_000))
    assert result.error_kind == "too_large" and result.body is None
    assert 100_000 < result.bytes_read <= 100_000 + 65_536   # at most one network read more


def test_gzip_bomb_is_stopped_early(raw_server: Any) -> None:
    # 1 GB of zeros as 1024 concatenated gzip members of 1 MB each (valid gzip, RFC 1952
    # section 2.2), so building it costs one small compression, not a gigabyte of work.
    member = gzip.compress(bytes(1024 * 1024), compresslevel=9)
    bomb = member * 1024
    assert len(bomb) < 2_000_000 and len(gzip.decompress(member * 2)) == 2 * 1024 * 1024

    def serve(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(bomb))
        for start in range(0, len(bomb), 65536):
            conn.sendall(bomb[start:start + 65536])
            server.sent += 65536
    server = raw_server(serve)
    result = fetch(f"http://127.0.0.1:{server.port}/", local_settings(max_body_bytes=1_000_000))
    assert result.error_kind == "too_large" and result.body is None
    assert result.bytes_read <= 1_000_001       # inflated no further than the limit


def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]        # bound but not listening: refused
        result = fetch(f"http://127.0.0.1:{port}/")
    assert result.error_kind == "connect" and result.status is None


def test_per_host_gap_uses_the_injected_clock(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(RSS)
    slept: list[float] = []
    now = [1000.0]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def three(fetcher: Fetcher) -> list[FetchResult]:
        return list(await asyncio.gather(*(fetcher.fetch(httpserver.url_for("/feed"))
                                           for _ in range(3))))
    results = run(three, local_settings(per_host_min_gap=1.5, per_host_connections=3),
                  clock=lambda: now[0], sleep=sleep)
    assert all(r.ok for r in results)
    assert slept == [1.5, 1.5] and now[0] == 1003.0   # starts at t, t+1.5, t+3.0


@pytest.mark.parametrize(("hosts", "limits"), [
    (["feeds.test"] * 4, {"per_host_connections": 2, "max_connections": 20}),
    (["a.test", "b.test", "c.test", "d.test"], {"per_host_connections": 2, "max_connections": 2}),
], ids=["per-host", "global"])
def test_global_and_per_host_concurrency_are_bounded(raw_server: Any, hosts: list[str],
                                                     limits: dict[str, int]) -> None:
    """Four requests under a limit of two: two are in flight at once, never more.

    The server holds every request until two are held and every connection the fetcher has
    resolved (each new connection asks our resolver) has arrived; only then are they released.
    A fetcher that let more than two through would have resolved them before sending the
    first (its tasks all reach the resolver before any connection is up), so they would be
    held and counted too. A request is counted down before its response goes out, so one let
    through only after another finished is never counted beside it."""
    state = {"resolved": 0, "arrived": 0, "active": 0, "peak": 0}
    changed = threading.Condition()
    released = threading.Event()

    def held(conn: socket.socket) -> None:
        with changed:
            state["arrived"] += 1
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
            changed.notify_all()
        released.wait(10)
        with changed:
            state["active"] -= 1
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    server = raw_server(held)

    async def resolver(host: str, port: int) -> list[str]:
        with changed:
            state["resolved"] += 1
        return ["127.0.0.1"]

    def two_held_and_no_more_coming() -> bool:
        with changed:
            return changed.wait_for(lambda: state["active"] >= 2
                                    and state["arrived"] == state["resolved"], timeout=10)

    async def many(fetcher: Fetcher) -> tuple[bool, list[FetchResult]]:
        fetches = asyncio.gather(*(fetcher.fetch(f"http://{host}:{server.port}/")
                                   for host in hosts))
        try:
            held_two = await asyncio.to_thread(two_held_and_no_more_coming)
        finally:
            released.set()
        return held_two, list(await fetches)
    held_two, results = run(many, local_settings(total_timeout=30.0, read_timeout=30.0,
                                                 **limits), resolver=resolver)
    assert held_two, f"two requests were never in flight at once: {state}"
    assert [r.error for r in results] == [None] * 4
    assert state["peak"] == 2 and state["resolved"] == 4


def test_request_validators_not_sent_without_values(httpserver: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        assert "If-Modified-Since" not in request.headers
        return Response(RSS)
    httpserver.expect_request("/feed").respond_with_handler(handler)
    assert fetch(httpserver.url_for("/feed")).ok


# --------------------------------------------------------------------------------------------
# the aiohttp transport: guard on every hop, pool reuse, no proxies, stalls, truncation


def test_redirect_between_names_checks_the_second_name(httpserver: HTTPServer) -> None:
    """Both hops are names; the second resolves (on our resolver) to a private address."""
    httpserver.expect_request("/start").respond_with_data(
        b"", status=302,
        headers={"Location": f"http://internal.example:{httpserver.port}/secret"})
    httpserver.expect_request("/secret").respond_with_data(b"secret")
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return {"public.example": [FAKE_PUBLIC]}.get(host, ["10.0.0.5"])

    def dial(address: str, port: int) -> tuple[str, int]:
        return ("127.0.0.1", port)          # would reach the server if the guard let it

    result = fetch(f"http://public.example:{httpserver.port}/start",
                   local_settings(allow_private_networks=False), resolver=resolver, dial=dial)
    assert result.error_kind == "ssrf" and "10.0.0.5" in (result.error or "")
    assert asked == ["public.example", "internal.example"]
    assert [r.path for r, _ in httpserver.log] == ["/start"]


def test_name_with_one_private_address_among_public_ones_is_refused(
        httpserver: HTTPServer) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return [FAKE_PUBLIC, "127.0.0.1"]
    result = fetch(f"http://mixed.example:{httpserver.port}/feed",
                   local_settings(allow_private_networks=False), resolver=resolver,
                   dial=lambda address, port: ("127.0.0.1", port))
    assert result.error_kind == "ssrf" and len(httpserver.log) == 0


def test_unresolvable_name_is_a_connect_error() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        raise OSError("no such host")
    result = fetch("http://nowhere.example/feed", resolver=resolver)
    assert result.error_kind == "connect" and "nowhere.example" in (result.error or "")


def test_guarded_transport_raises_address_refused_through_httpx(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data(b"ok")

    async def main() -> None:
        transport = guarded_transport(allow_private_networks=False)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            with pytest.raises(AddressRefusedError):
                await client.post(httpserver.url_for("/hook"), content=b"{}")
    asyncio.run(main())
    assert len(httpserver.log) == 0


def test_guarded_transport_posts_the_exact_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST", data=b'{"a": 1}').respond_with_data(b"ok")

    async def main() -> int:
        transport = guarded_transport(allow_private_networks=True)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            response = await client.post(httpserver.url_for("/hook"), content=b'{"a": 1}',
                                         headers={"Content-Type": "application/json"})
            return response.status_code
    assert asyncio.run(main()) == 200
    request, _ = httpserver.log[0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Content-Length"] == "8"


def keep_alive(responses: list[bytes], connections: list[int]) -> Callable[[socket.socket],
                                                                            None]:
    """Serve ``responses`` in turn on one connection for as long as the client keeps it."""
    def behave(conn: socket.socket) -> None:
        connections.append(1)
        index = 0
        while True:
            conn.sendall(responses[min(index, len(responses) - 1)])
            index += 1
            if not conn.recv(65536):
                return
    return behave


def test_connections_are_reused_across_requests_and_304s(raw_server: Any) -> None:
    connections: list[int] = []
    ok = b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Length: %d\r\n\r\n%s' % (len(RSS), RSS)
    not_modified = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n'
    server = raw_server(keep_alive([ok, not_modified], connections))
    url = f"http://127.0.0.1:{server.port}/feed"

    async def five(fetcher: Fetcher) -> list[FetchResult]:
        first = await fetcher.fetch(url)
        return [first] + [await fetcher.fetch(url, etag=first.etag) for _ in range(4)]
    results = run(five)
    assert results[0].ok and results[0].body == RSS
    assert all(r.not_modified for r in results[1:])
    assert len(connections) == 1


def test_environment_proxy_is_ignored(httpserver: HTTPServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    httpserver.expect_request("/feed").respond_with_data(RSS)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")     # discard port: nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = fetch(httpserver.url_for("/feed"))
    assert result.ok and result.body == RSS


def test_server_that_never_answers_hits_the_read_timeout(raw_server: Any) -> None:
    server = raw_server(lambda conn: server.stop.wait(30))    # reads the request, says nothing
    result = fetch(f"http://127.0.0.1:{server.port}/feed",
                   local_settings(read_timeout=0.2, total_timeout=5.0))
    # the read timeout, not the deadline (5 s)
    assert result.error_kind == "timeout" and result.status is None
    assert result.error is not None and result.error.startswith("ReadTimeout")


def test_body_cut_short_is_a_protocol_error(raw_server: Any) -> None:
    server = raw_server(lambda conn: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>"))    # then hangs up
    result = fetch(f"http://127.0.0.1:{server.port}/feed")
    assert result.error_kind == "protocol" and result.body is None


def test_deflate_bomb_is_stopped_early(raw_server: Any) -> None:
    bomb = zlib.compress(bytes(20 * 1024 * 1024), 9)

    def serve(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(bomb), bomb))
    server = raw_server(serve)
    result = fetch(f"http://127.0.0.1:{server.port}/", local_settings(max_body_bytes=1_000_000))
    assert result.error_kind == "too_large" and result.bytes_read <= 1_000_001


def test_a_cookie_set_by_a_consent_redirect_is_sent_on_the_next_poll(
        httpserver: HTTPServer) -> None:
    """Consent walls: the feed redirects to a page that sets a cookie and redirects back.
    The first poll ends as a redirect loop (the feed's URL comes twice); the jar keeps the
    cookie, so the next poll gets the feed. httpx's jar is only read when a response sets a
    cookie (fetch._SetCookieCookies): this still works."""
    def feed(request: Request) -> Response:
        if request.cookies.get("consent") == "yes":
            return Response(RSS, content_type="application/rss+xml")
        return Response(b"", status=302, headers={"Location": "/consent"})
    httpserver.expect_request("/feed").respond_with_handler(feed)
    httpserver.expect_request("/consent").respond_with_data(
        b"", status=302, headers={"Location": "/feed", "Set-Cookie": "consent=yes; Path=/"})

    async def twice(f: Fetcher) -> tuple[FetchResult, FetchResult]:
        return await f.fetch(httpserver.url_for("/feed")), await f.fetch(httpserver.url_for("/feed"))
    first, second = run(twice)
    assert first.error_kind == "redirect"
    assert second.ok and second.body == RSS
