"""Who may read the dashboard, and the security headers every dashboard response carries.

Access is open on a loopback address without credentials. When ``http.token`` or
``http.username``/``http.password`` are set they are always required: a bearer token
(``Authorization: Bearer``, or ``?token=`` once, which then sets a cookie so links keep
working) or HTTP basic credentials. Bound beyond loopback without credentials the dashboard
refuses to start (``check_access_config``). Secrets are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from monitor.config import Config, HttpConfig
from monitor.errors import ConfigError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "monitor_session"
# default-src 'self': no inline script or style, so even an injected <script> cannot run.
SECURITY_HEADERS = [
    (b"content-security-policy",
     (b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
     b"form-action 'self'")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def is_loopback(listen: str) -> bool:
    """True when ``HOST:PORT`` binds only the loopback interface."""
    host = listen.rpartition(":")[0].strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def has_credentials(http: HttpConfig) -> bool:
    return bool(http.token) or bool(http.username and http.password)


def check_access_config(config: Config) -> None:
    """Refuse to serve the dashboard beyond loopback without credentials; raises ConfigError."""
    http = config.http
    if bool(http.username) != bool(http.password):
        raise ConfigError(config.source, "http.username",
                          "set both http.username and http.password, or neither")
    if not is_loopback(http.listen) and not has_credentials(http):
        raise ConfigError(config.source, "http.listen",
                          f"{http.listen} is reachable beyond this machine: set http.token or "
                          "http.username and http.password so the dashboard is not open to all")


def _session_value(token: str) -> str:
    # the cookie carries a digest of the token, not the token itself
    return hmac.new(token.encode(), b"monitor-dashboard-session", hashlib.sha256).hexdigest()


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Access:
    """Decides whether one request carries valid credentials."""

    def __init__(self, http: HttpConfig) -> None:
        self.token = http.token or None
        self.user = http.username if http.username and http.password else None
        self.password = http.password if self.user else None
        self.required = bool(self.token or self.user)

    def check(self, scope: Scope) -> tuple[bool, bool]:
        """(allowed, set the session cookie) for an HTTP scope."""
        if not self.required:
            return True, False
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if self.token and scheme.lower() == "bearer" and _eq(value.strip(), self.token):
            return True, False
        if self.user and scheme.lower() == "basic" and self._basic_ok(value.strip()):
            return True, False
        if self.token:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = query.get("token", [""])[-1]
            if given and _eq(given, self.token):
                return True, True
            cookie = SimpleCookie()
            try:
                cookie.load(headers.get("cookie", ""))
            except Exception:  # noqa: BLE001 - a malformed cookie header is no credential
                return False, False
            morsel = cookie.get(COOKIE)
            if morsel is not None and _eq(morsel.value, _session_value(self.token)):
                return True, False
        return False, False

    def _basic_ok(self, value: str) -> bool:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        assert self.user is not None and self.password is not None
        # evaluate both comparisons: no early exit that would tell which part was wrong
        ok_user = _eq(user, self.user)
        ok_password = _eq(password, self.password)
        return ok_user and ok_password

    def challenge(self) -> bytes:
        return b'Basic realm="monitor", charset="UTF-8"' if self.user else b'Bearer realm="monitor"'


class DashboardMiddleware:
    """Pure ASGI middleware: refuses requests without credentials and adds security headers."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed, set_cookie = self.access.check(scope)
        if not allowed:
            await self._refuse(send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if set_cookie and self.access.token:
                    headers.append((b"set-cookie", (
                        f"{COOKIE}={_session_value(self.access.token)}; Path=/; HttpOnly; "
                        "SameSite=Strict").encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, send: Send) -> None:
        body = b"401 Unauthorized: this dashboard needs a token or a user name and password\n"
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", self.access.challenge()),
            (b"cache-control", b"no-store"),
            *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})
