"""The HTTP edge: fetch one feed URL politely and safely, and say what happened.

``Fetcher.fetch`` never raises for network or HTTP trouble; it returns a FetchResult whose
``error``/``error_kind`` say what went wrong (timeout, connect, too_large, http, ssrf, scheme,
redirect, protocol). Safety, and where it lives:

* SSRF: every TCP connection, for every redirect hop, is opened by our aiohttp transport
  (``_GuardedTransport``) whose resolver (``_GuardedResolver``) resolves the host itself,
  refuses loopback/private/link-local/... addresses, and returns only the addresses it
  checked, which aiohttp then dials, so DNS rebinding between check and connect is impossible.
  IP literals, which aiohttp never resolves, are checked by the transport before sending.
* Redirects are followed here, not by httpx, so each hop's scheme is checked and loops and
  over-long chains are reported.
* Size: Content-Length is checked first; then the raw stream is inflated by our own zlib
  loop with ``max_length``, so a gzip bomb never inflates past the limit plus one byte.
* Politeness: a global slot limit, a per-host slot limit and a minimum gap between request
  starts to one host (clock and sleep are injectable).
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import httpx

from monitor.config import FetchConfig
from monitor.errors import FetchError
from monitor.fetch.transport import (
    _ALLOWED_SCHEMES,
    Dialer,
    GuardedTransport,
    Resolver,
    describe,
    guarded_transport,
    is_public_address,
    system_resolver,
)
from monitor.model import FetchResult

__all__ = ["Fetcher", "guarded_transport", "is_public_address", "parse_retry_after"]



_REDIRECTS = frozenset({301, 302, 303, 307, 308})


_PERMANENT = frozenset({301, 308})






_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
           "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
           "application/json;q=0.8, */*;q=0.5")


class _SetCookieCookies(httpx.Cookies):
    """httpx's cookie jar, read only from responses that set a cookie: httpx otherwise builds
    urllib request and response shims for every response, a cost a 304 poll notices."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose cookies are ``_SetCookieCookies``. Cookies still work as
    httpx's do (a cookie set by one poll is sent on the next)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = self._cookies            # httpx's __init__ bypasses the setter

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._cookies = _SetCookieCookies(cookies)


class _Inflater:
    """Undo Content-Encoding with a hard cap on the output (gzip bombs stop at limit + 1)."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._raw_deflate_tried = False
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._wbits: int | None = None
        elif encoding in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif encoding == "deflate":
            self._wbits = zlib.MAX_WBITS
        else:
            raise FetchError("protocol", f"unsupported Content-Encoding {encoding!r}")
        self._z = zlib.decompressobj(self._wbits) if self._wbits is not None else None

    def feed(self, data: bytes) -> bytes:
        if self._z is None:
            return self._count(data)
        out = bytearray()
        while data:
            try:
                chunk = self._z.decompress(data, self.limit - self.total + 1)
            except zlib.error as exc:
                if self._wbits == zlib.MAX_WBITS and self.total == 0 and not out \
                        and not self._raw_deflate_tried:
                    # Some servers send raw deflate without the zlib header.
                    self._raw_deflate_tried = True
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchError("protocol", f"corrupt compressed body: {exc}") from exc
            out += self._count(chunk)
            if self._z.eof:
                data = self._z.unused_data
                if not data.startswith(b"\x1f\x8b"):
                    return bytes(out)          # trailing garbage after the stream: ignore
                self._z = zlib.decompressobj(self._wbits or zlib.MAX_WBITS)
            else:
                data = self._z.unconsumed_tail
        return bytes(out)

    def finish(self) -> bytes:
        return self._count(self._z.flush()) if self._z is not None else b""

    def _count(self, chunk: bytes) -> bytes:
        self.total += len(chunk)
        if self.total > self.limit:
            raise FetchError("too_large", f"body exceeds {self.limit} bytes")
        return chunk


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110
    10.2.3), never negative; None when absent or unreadable. ``now`` defaults to UTC now."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class _Progress:
    url: str
    final_url: str
    status: int | None = None
    bytes_read: int = 0
    headers: dict[str, str] = field(default_factory=dict)


_MAX_TARGETS = 20_000                    # parsed feed URLs kept


_MAX_KEPT_URL = 2_048                    # characters; longer ones are parsed at every poll


class Fetcher:
    """Fetch feeds with one pooled httpx.AsyncClient; use as an async context manager."""

    def __init__(self, settings: FetchConfig, *, resolver: Resolver | None = None,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[Any]] | None = None,
                 dial: Dialer | None = None) -> None:
        """``dial`` maps an approved address to where to actually connect (tests only)."""
        self.settings = settings
        self._clock = clock or time.monotonic
        self._sleep = sleep or asyncio.sleep
        self._slots = asyncio.Semaphore(settings.max_connections)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._host_next_start: dict[str, float] = {}
        self._targets: dict[str, tuple[Any, httpx.URL]] = {}
        # Every pooled connection is kept alive: with fewer keep-alive slots than concurrent
        # requests, the surplus reconnects on each request (a TCP handshake per feed). Our
        # semaphore keeps the pool at or under max_connections.
        transport = GuardedTransport(max_connections=settings.max_connections,
                                      keepalive_expiry=30.0, resolver=resolver or system_resolver,
                                      allow_private=settings.allow_private_networks, dial=dial)
        self._client = _Client(
            transport=transport,
            timeout=httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                                  write=settings.read_timeout, pool=settings.total_timeout),
            headers={"User-Agent": settings.user_agent, "Accept": _ACCEPT,
                     "Accept-Encoding": "gzip, deflate"},
            # Redirects are followed by hand (_follow) so every hop is checked.
            follow_redirects=False,
            trust_env=False,    # a proxy from the environment would bypass the address guard
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None,
                    last_modified: str | None = None) -> FetchResult:
        """GET a feed (conditionally when validators are given). Never raises for network,
        HTTP or policy problems: they come back as ``error`` and ``error_kind``."""
        progress = _Progress(url=url, final_url=url)
        started = time.monotonic()
        try:
            async with self._slots:
                async with asyncio.timeout(self.settings.total_timeout):
                    return await self._follow(progress, etag, last_modified, started)
        except FetchError as exc:
            return self._failed(progress, started, exc.kind, str(exc))
        except TimeoutError:
            return self._failed(progress, started, "timeout",
                                f"no complete response within {self.settings.total_timeout}s")
        except httpx.TimeoutException as exc:
            return self._failed(progress, started, "timeout", describe(exc, "timed out"))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return self._failed(progress, started, "scheme", describe(exc, "invalid URL"))
        except httpx.ProtocolError as exc:
            return self._failed(progress, started, "protocol", describe(exc, "protocol error"))
        except (httpx.TransportError, OSError) as exc:
            return self._failed(progress, started, "connect", describe(exc, "network error"))

    async def _follow(self, progress: _Progress, etag: str | None, last_modified: str | None,
                      started: float) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = progress.url
        seen = {current}
        all_permanent = True
        hops = 0
        while True:
            progress.final_url = current
            parts, target_url = self._target(current, keep=hops == 0)
            async with self._host_slot(parts.hostname or ""):
                response = await self._client.send(
                    self._client.build_request("GET", target_url, headers=headers),
                    stream=True)
                try:
                    progress.status = response.status_code
                    progress.headers = {k.lower(): v for k, v in response.headers.items()}
                    location = response.headers.get("location")
                    if response.status_code not in _REDIRECTS or not location:
                        return await self._finish(progress, response, etag, last_modified,
                                                  started, all_permanent and hops > 0)
                finally:
                    await response.aclose()
            hops += 1
            all_permanent = all_permanent and response.status_code in _PERMANENT
            target = urljoin(current, location.strip())
            if hops > self.settings.max_redirects:
                raise FetchError("redirect", f"more than {self.settings.max_redirects} redirects")
            if target in seen:
                raise FetchError("redirect", f"redirect loop at {target}")
            seen.add(target)
            current = target

    def _target(self, url: str, *, keep: bool) -> tuple[Any, httpx.URL]:
        """``_check_url``'s split and httpx's parsed URL. Both are pure, and parsing the same
        feed URL at every poll is a visible share of a 304 cycle, so feed URLs' are kept
        (``keep``), unless long. Redirect targets are not: a publisher may redirect to a new
        long URL at every poll (a session token), which would fill the cache."""
        known = self._targets.get(url)
        if known is None:
            known = (_check_url(url), httpx.URL(url))     # FetchError, InvalidURL: not kept
            if keep and len(url) <= _MAX_KEPT_URL:
                if len(self._targets) >= _MAX_TARGETS:
                    self._targets.clear()
                self._targets[url] = known
        return known

    async def _finish(self, progress: _Progress, response: httpx.Response, etag: str | None,
                      last_modified: str | None, started: float,
                      permanent: bool) -> FetchResult:
        status = response.status_code
        headers = progress.headers
        common: dict[str, Any] = {
            "url": progress.url, "final_url": progress.final_url, "status": status,
            "headers": headers,
            "permanent_redirect": progress.final_url if permanent else None,
        }
        if status == 304:
            return FetchResult(**common, etag=headers.get("etag") or etag,
                               last_modified=headers.get("last-modified") or last_modified,
                               duration=time.monotonic() - started)
        if not 200 <= status < 300:
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(headers.get("retry-after"))
            reason = response.reason_phrase or ""
            message = (f"HTTP {status} without a Location header" if status in _REDIRECTS
                       else f"HTTP {status} {reason}".strip())
            kind = ("redirect" if status in _REDIRECTS
                    else "http" if status >= 400 else "protocol")
            return FetchResult(**common, retry_after=retry_after,
                               duration=time.monotonic() - started, error=message,
                               error_kind=kind)
        body = await self._read_body(progress, response)
        return FetchResult(**common, body=body, etag=headers.get("etag"),
                           last_modified=headers.get("last-modified"),
                           duration=time.monotonic() - started, bytes_read=len(body))

    async def _read_body(self, progress: _Progress, response: httpx.Response) -> bytes:
        limit = self.settings.max_body_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("too_large", f"Content-Length {declared} exceeds {limit} bytes")
        inflater = _Inflater(response.headers.get("content-encoding", ""), limit)
        body = bytearray()
        try:
            async for raw in response.aiter_raw():
                body += inflater.feed(raw)
                progress.bytes_read = inflater.total
            body += inflater.finish()
        finally:
            progress.bytes_read = inflater.total
        return bytes(body)

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """At most per_host_connections at once, request starts per_host_min_gap apart."""
        host = host.lower()
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self.settings.per_host_connections)
        async with slot:
            # Reserve the next start time before sleeping so concurrent callers queue up.
            now = self._clock()
            start = max(now, self._host_next_start.get(host, now))
            self._host_next_start[host] = start + self.settings.per_host_min_gap
            if start > now:
                await self._sleep(start - now)
            yield

    def _failed(self, progress: _Progress, started: float, kind: str,
                message: str) -> FetchResult:
        return FetchResult(url=progress.url, final_url=progress.final_url,
                           status=progress.status if kind in ("too_large", "protocol") else None,
                           headers=progress.headers, duration=time.monotonic() - started,
                           bytes_read=progress.bytes_read, error=message, error_kind=kind)


def _check_url(url: str) -> Any:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError("scheme", f"invalid URL {url!r}: {exc}") from exc
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise FetchError("scheme", f"refused scheme {parts.scheme or '(none)'!r} in {url}")
    if not parts.hostname:
        raise FetchError("scheme", f"URL without a host: {url}")
    return parts
