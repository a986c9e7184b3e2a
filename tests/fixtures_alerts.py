"""Real local receivers for alert-channel tests: an aiosmtpd SMTP server and a webhook endpoint.

Import into a test module (``from tests.fixtures_alerts import *``) or list this module in
``pytest_plugins`` of a conftest.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

__all__ = [
    "ReceivedMail", "RecordingHandler", "SmtpServer", "WebhookReceiver", "closed_port",
    "free_port", "smtp_auth_server", "smtp_server", "webhook_receiver",
]

SMTP_USER = "alerts"
SMTP_PASSWORD = "correct horse battery staple"
WEBHOOK_SECRET = "test-secret-\u00e9"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    aiosmtpd's Controller needs an explicit port: its readiness probe dials that port, so
    port 0 does not work there.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    return free_port()


# -- SMTP ------------------------------------------------------------------------------------

@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None           # the AUTH user name, when the client logged in

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class RecordingHandler:
    """aiosmtpd handler that records every message; replies can be set to fail on purpose."""

    rcpt_reply: str | None = None   # e.g. "550 5.1.1 no such user" refuses every recipient
    data_reply: str | None = None   # e.g. "451 4.3.0 try later" refuses the message
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session,
                          envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        # session.auth_data is what _authenticate put in its AuthResult (login_data is
        # deprecated in aiosmtpd 1.4).
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        self.received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          content, login))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler
    username: str | None = None
    password: str | None = None

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received


def _authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
          and auth_data.password == SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


def _start(handler: RecordingHandler, **smtp_kwargs: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **smtp_kwargs)
    controller.start()
    return controller


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that records what it receives (no AUTH, no TLS)."""
    handler = RecordingHandler()
    controller = _start(handler)
    try:
        yield SmtpServer("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_auth_server() -> Iterator[SmtpServer]:
    """Like ``smtp_server`` but with AUTH (PLAIN/LOGIN) checked against SMTP_USER/PASSWORD.

    ``auth_require_tls=False`` lets AUTH run over the loopback connection without a
    certificate. ``auth_required`` stays off: aiosmtpd warns (UserWarning) on every
    connection when AUTH is required without TLS, and under ``filterwarnings = error`` that
    warning fails the server thread. The client under test logs in because a user name is
    configured, and the handler records the login so tests can check it happened.
    """
    handler = RecordingHandler()
    controller = _start(handler, authenticator=_authenticate, auth_require_tls=False)
    try:
        yield SmtpServer("127.0.0.1", controller.port, handler, SMTP_USER, SMTP_PASSWORD)
    finally:
        controller.stop()


# -- webhooks --------------------------------------------------------------------------------

@dataclass
class WebhookReceiver:
    """A pytest-httpserver endpoint plus helpers; ``requests`` lists what arrived."""

    server: HTTPServer
    path: str = "/hooks/monitor"
    secret: str = WEBHOOK_SECRET
    _release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.server.url_for(self.path)

    @property
    def requests(self) -> list[Request]:
        return [request for request, _response in self.server.log]

    def respond(self, status: int = 200, headers: dict[str, str] | None = None,
                body: str = "", path: str | None = None) -> None:
        self.server.expect_request(path or self.path, method="POST").respond_with_data(
            body, status=status, headers=headers)

    def stall(self, path: str | None = None) -> None:
        """Hold the request open until the test ends (for client timeouts; no sleeps)."""
        def handler(request: Request) -> Response:
            self._release.wait(30)
            return Response("late", status=200)
        self.server.expect_request(path or self.path, method="POST").respond_with_handler(
            handler)


@pytest.fixture
def webhook_receiver(httpserver: HTTPServer) -> Iterator[WebhookReceiver]:
    """A real HTTP server on 127.0.0.1 (pytest-httpserver) for webhook deliveries."""
    receiver = WebhookReceiver(httpserver)
    try:
        yield receiver
    finally:
        receiver._release.set()
