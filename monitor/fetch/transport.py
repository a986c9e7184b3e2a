"""The connections under the fetcher (and the webhook sender): an httpx transport on aiohttp
whose resolver checks every address it returns, so no request reaches a loopback, private
or link-local address unless the config allows it (see the package's docstring)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import aiohttp
import aiohttp.abc
import httpx
import yarl
from aiohttp.abc import ResolveResult
from multidict import CIMultiDict

from monitor.errors import AddressRefusedError

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


Dialer = Callable[[str, int], tuple[str, int]]


_READ_SIZE = 64 * 1024       # at most one read past max_body_bytes is counted
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_MAX_HEADER = 64 * 1024      # one header line (aiohttp's default of 8190 is tighter than h11's)


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified... addresses.

    IPv4 addresses embedded in IPv6 (mapped, 6to4, Teredo, NAT64) are judged as IPv4.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.IPv6Network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


async def system_resolver(host: str, port: int) -> list[str]:
    """Addresses for host from the OS resolver (getaddrinfo in the event loop's executor)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen


async def _guarded_addresses(host: str, port: int, resolver: Resolver,
                             allow_private: bool) -> Sequence[str]:
    """The addresses host may be dialled at: resolved, and all public unless allowed.

    Raises AddressRefusedError (a private address) or OSError (no address).
    """
    literal = host.strip("[]")
    try:
        ipaddress.ip_address(literal)
        addresses: Sequence[str] = [literal]
    except ValueError:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise OSError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise OSError(f"cannot resolve {host}: no addresses")
    if not allow_private:
        # Refuse when ANY address is private: an attacker's name may mix both kinds.
        for address in addresses:
            if not is_public_address(address):
                raise AddressRefusedError(host, address)
    return addresses


class _GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver hook: resolve, check every address, hand back only checked ones.

    aiohttp dials exactly the addresses returned here, so DNS rebinding between check and
    connect is impossible. aiohttp does not call a resolver for IP literals; the transport
    checks those itself (``GuardedTransport.handle_async_request``).
    """

    def __init__(self, resolver: Resolver, allow_private: bool, dial: Dialer | None) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._dial = dial

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        addresses = await _guarded_addresses(host, port, self._resolver, self._allow_private)
        results: list[ResolveResult] = []
        for address in addresses:
            target, target_port = self._dial(address, port) if self._dial else (address, port)
            results.append({"hostname": host, "host": target, "port": target_port,
                            "family": socket.AF_INET6 if ":" in target else socket.AF_INET,
                            "proto": 0, "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV})
        return results

    async def close(self) -> None:
        pass


def _mapped(exc: Exception) -> Exception:
    """The httpx exception for an aiohttp (or socket) failure, so callers see one vocabulary."""
    message = describe(exc, "network error")
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, TimeoutError):       # aiohttp's SocketTimeoutError (sock_read) too
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError
                    | aiohttp.ClientResponseError):
        # httpcore's words for the same events: a closed connection before or during the
        # response, a truncated or malformed message.
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionError | OSError):
        kind = httpx.ReadError
    else:
        kind = httpx.TransportError
    return kind(message)


class _ResponseStream(httpx.AsyncByteStream):
    """The raw (still Content-Encoded) body of an aiohttp response, at most 64 KiB a read."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while chunk := await content.read(_READ_SIZE):
                yield chunk
        except (aiohttp.ClientError, OSError) as exc:
            raise _mapped(exc) from exc

    async def aclose(self) -> None:
        # A fully read response goes back to the pool; anything else drops the connection.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp session whose resolver is the address guard.

    aiohttp's connection pool costs less CPU a request than httpcore's; the client API stays
    httpx. No environment proxies (one would bypass the guard), no automatic
    decompression (``_Inflater`` caps bombs), no cookies (httpx keeps them), no redirects.
    """

    def __init__(self, *, max_connections: int, keepalive_expiry: float, resolver: Resolver,
                 allow_private: bool, dial: Dialer | None) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._resolver = resolver
        self._allow_private = allow_private
        self._guard = _GuardedResolver(resolver, allow_private, dial)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Built on first use: aiohttp binds the session to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0,
                keepalive_timeout=self._keepalive_expiry, resolver=self._guard,
                use_dns_cache=False,    # every new connection resolves and is checked anew
                ssl=httpx.create_ssl_context())   # certifi bundle, as httpx does
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=None),
                # Send exactly httpx's headers: nothing added behind its back.
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                max_line_size=_MAX_HEADER, max_field_size=_MAX_HEADER)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in _ALLOWED_SCHEMES:
            raise httpx.UnsupportedProtocol(f"refused scheme {url.scheme or '(none)'!r}")
        if not url.host:
            raise httpx.UnsupportedProtocol("URL without a host")
        # aiohttp skips the resolver for IP literals, so they are checked here; the connection
        # then goes to that very literal.
        try:
            ipaddress.ip_address(url.host.strip("[]"))
        except ValueError:
            pass
        else:
            if not self._allow_private and not is_public_address(url.host.strip("[]")):
                raise AddressRefusedError(url.host, url.host)
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        session = self._open()
        try:
            response = await session.request(
                request.method, yarl.URL(str(url), encoded=True),
                headers=CIMultiDict((k.decode("latin-1"), v.decode("latin-1"))
                                    for k, v in request.headers.raw),
                data=body or None, allow_redirects=False, compress=None,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout.get("pool"),
                                              sock_connect=timeout.get("connect"),
                                              sock_read=timeout.get("read")))
        except (aiohttp.ClientError, OSError) as exc:
            cause = exc.__cause__ if isinstance(exc, aiohttp.ClientConnectorDNSError) else None
            raise _mapped(exc) from (cause or exc)
        version = response.version
        return httpx.Response(
            status_code=response.status, headers=list(response.raw_headers),
            stream=_ResponseStream(response), request=request,
            extensions={"http_version": b"HTTP/%d.%d" % (version or (1, 1)),
                        "reason_phrase": (response.reason or "").encode("latin-1", "replace")})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def describe(exc: BaseException, fallback: str) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else f"{type(exc).__name__}: {fallback}"


def guarded_transport(*, allow_private_networks: bool, max_connections: int = 10,
                      resolver: Resolver | None = None,
                      dial: Dialer | None = None) -> httpx.AsyncBaseTransport:
    """An httpx transport that refuses private addresses unless allowed (webhooks use it).

    A refused connection raises ``AddressRefusedError`` through httpx.
    """
    return GuardedTransport(max_connections=max_connections, keepalive_expiry=30.0,
                             resolver=resolver or system_resolver,
                             allow_private=allow_private_networks, dial=dial)
