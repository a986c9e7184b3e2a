"""Webhook and e-mail channels against real local servers (pytest-httpserver, aiosmtpd)."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import threading
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from monitor.alerts import render, render_email
from monitor.alerts.email import send_email
from monitor.alerts.webhook import USER_AGENT, parse_retry_after, post_webhook
from monitor.errors import DeliveryError
from monitor.model import MilestoneAlert, SourceRef
from tests.fixtures_alerts import *
from tests.fixtures_alerts import SMTP_PASSWORD, SmtpServer, WebhookReceiver

T = TypeVar("T")
SENT_AT = datetime(2020, 4, 20, 14, 5, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make_alert() -> MilestoneAlert:
    t = datetime(2020, 4, 20, 14, 2, tzinfo=UTC)
    return MilestoneAlert(
        id="ms-1", type="ambassador_named", type_title="Ambassador named",
        watchlist="belarus-us", watchlist_version="2024.1",
        title="Trump to nominate Julie Fisher as ambassador to Belarus", status="announced",
        severity="high", first_seen=t,
        evidence="Trump said he would nominate Julie Fisher as the first U.S. ambassador "
                 "to Belarus since 2008.",
        actors=("fisher", "belarus"), triggers=("nominate",), rule="ambassador.named.1",
        confidence=0.9,
        items=(SourceRef("Trump to nominate Fisher — Минск", "https://example.org/a", "wire",
                         t, "Wire"),))


def body_for(alert: MilestoneAlert, delivery_id: str = "dlv-1") -> bytes:
    return render.encode_body(render.milestone_payload(alert, sent_at=SENT_AT,
                                                       delivery_id=delivery_id))


async def post(url: str, body: bytes, *, secret: str | None = "s", timeout: float = 5.0,
               delivery_id: str = "dlv-1") -> int:
    async with httpx.AsyncClient() as client:
        return await post_webhook(client, channel="ops", url=url, body=body,
                                  delivery_id=delivery_id, secret=secret, timeout=timeout)


def failure(coro: Coroutine[Any, Any, Any]) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        run(coro)
    return info.value


# -- webhooks --------------------------------------------------------------------------------

def test_webhook_delivers_signed_body(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.respond(200)
    body = body_for(make_alert())
    assert run(post(webhook_receiver.url, body, secret=webhook_receiver.secret)) == 200
    [request] = webhook_receiver.requests
    assert request.get_data() == body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Monitor-Delivery"] == "dlv-1"
    assert request.headers["User-Agent"] == USER_AGENT
    signature = request.headers["X-Monitor-Signature"]
    assert signature.startswith("sha256=")
    assert render.verify(request.get_data(), webhook_receiver.secret, signature)
    assert not render.verify(request.get_data(), "other secret", signature)


@pytest.mark.parametrize("status", [201, 202, 204], ids=lambda s: f"http-{s}")
def test_webhook_any_2xx_is_delivered(webhook_receiver: WebhookReceiver, status: int) -> None:
    webhook_receiver.respond(status)
    assert run(post(webhook_receiver.url, b"{}")) == status


def test_webhook_extra_headers_cannot_override_contract_headers(
        webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.respond(200)

    async def go() -> int:
        async with httpx.AsyncClient() as client:
            return await post_webhook(
                client, channel="ops", url=webhook_receiver.url, body=b"{}",
                delivery_id="dlv-1", secret="s",
                extra_headers={"Authorization": "Bearer t", "x-monitor-signature": "forged",
                               "content-type": "text/plain"})
    assert run(go()) == 200
    [request] = webhook_receiver.requests
    assert request.headers["Authorization"] == "Bearer t"
    assert request.headers.getlist("X-Monitor-Signature") == [render.sign(b"{}", "s")]
    assert request.headers.getlist("Content-Type") == ["application/json"]


def test_webhook_without_secret_is_unsigned(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.respond(204)
    run(post(webhook_receiver.url, b"{}", secret=None))
    [request] = webhook_receiver.requests
    assert "X-Monitor-Signature" not in request.headers
    assert request.headers["X-Monitor-Delivery"] == "dlv-1"


@pytest.mark.parametrize("status", [500, 502, 503], ids=lambda s: f"http-{s}")
def test_webhook_server_error_is_retryable(webhook_receiver: WebhookReceiver,
                                           status: int) -> None:
    webhook_receiver.respond(status)
    err = failure(post(webhook_receiver.url, b"{}"))
    assert err.retryable and err.status == status
    assert err.retry_after is None  # type: ignore[attr-defined]


def test_webhook_429_is_retryable_with_retry_after(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.respond(429, headers={"Retry-After": "120"})
    err = failure(post(webhook_receiver.url, b"{}"))
    assert err.retryable and err.status == 429
    assert err.retry_after == 120.0  # type: ignore[attr-defined]


def test_retry_after_http_date() -> None:
    now = datetime(2020, 4, 20, 14, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 20 Apr 2020 14:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Mon, 20 Apr 2020 13:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422], ids=lambda s: f"http-{s}")
def test_webhook_client_error_is_not_retryable(webhook_receiver: WebhookReceiver,
                                               status: int) -> None:
    webhook_receiver.respond(status)
    err = failure(post(webhook_receiver.url, b"{}"))
    assert not err.retryable and err.status == status


@pytest.mark.parametrize("status", [301, 302, 307, 308], ids=lambda s: f"http-{s}")
def test_webhook_redirect_is_not_followed(webhook_receiver: WebhookReceiver,
                                          status: int) -> None:
    target = webhook_receiver.server.url_for("/elsewhere")
    webhook_receiver.respond(status, headers={"Location": target})
    webhook_receiver.respond(200, path="/elsewhere")
    err = failure(post(webhook_receiver.url, b"{}"))
    assert not err.retryable and err.status == status
    assert [r.path for r in webhook_receiver.requests] == [webhook_receiver.path]


def test_webhook_connection_refused_is_retryable(closed_port: int) -> None:
    err = failure(post(f"http://127.0.0.1:{closed_port}/hook", b"{}"))
    assert err.retryable and err.status is None


def test_webhook_stall_times_out_retryable(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.stall()
    err = failure(post(webhook_receiver.url, b"{}", timeout=0.3))
    assert err.retryable and "timed out" in str(err)


def test_webhook_errors_leak_neither_secret_nor_url_token(
        webhook_receiver: WebhookReceiver) -> None:
    path = "/services/T000/B000/XyZsecretTOKEN"
    webhook_receiver.respond(500, path=path)
    err = failure(post(webhook_receiver.server.url_for(path), b"{}", secret="hunter2"))
    text = f"{err} {err!r} {err.args}"
    assert "XyZsecretTOKEN" not in text and "hunter2" not in text


def test_webhook_bad_scheme_is_not_retryable() -> None:
    err = failure(post("ftp://example.org/hook", b"{}"))
    assert not err.retryable


# -- the example receiver --------------------------------------------------------------------

@pytest.fixture
def example_receiver() -> Iterator[tuple[str, io.StringIO]]:
    path = Path(__file__).resolve().parent.parent / "examples" / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    handler = module.make_handler("s", module.Deliveries(), out=out,
                                  clock=lambda: SENT_AT.timestamp() + 60)
    server = module.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", out
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_example_receiver_verifies_dedupes_and_rejects_replays(
        example_receiver: tuple[str, io.StringIO]) -> None:
    url, out = example_receiver
    alert = make_alert()
    body = body_for(alert)
    assert run(post(url, body, secret="s")) == 204
    assert run(post(url, body, secret="s")) == 200          # retried delivery: deduped
    assert out.getvalue().count("ambassador_named") == 1
    assert alert.title in out.getvalue()
    assert failure(post(url, body, secret="wrong", delivery_id="dlv-2")).status == 401
    stale = render.encode_body(render.milestone_payload(
        alert, sent_at=datetime(2020, 4, 20, 13, 0, tzinfo=UTC), delivery_id="dlv-3"))
    err = failure(post(url, stale, secret="s", delivery_id="dlv-3"))
    assert err.status == 400 and not err.retryable


# -- e-mail ----------------------------------------------------------------------------------

def message(delivery_id: str = "dlv-1") -> Any:
    return render_email.email_message(make_alert(), sender="monitor@example.org",
                                recipients=["desk@example.org", "ops@example.org"],
                                delivery_id=delivery_id)


async def send(server: SmtpServer | None, msg: Any, *, port: int | None = None,
               username: str | None = None, password: str | None = None) -> None:
    await send_email(msg, channel="desk", host="127.0.0.1",
                     port=port if port is not None else server.port,  # type: ignore[union-attr]
                     starttls=False, tls=False, username=username, password=password,
                     timeout=5.0)


def test_email_delivers_multipart(smtp_server: SmtpServer) -> None:
    run(send(smtp_server, message()))
    [mail] = smtp_server.received
    assert mail.mail_from == "monitor@example.org"
    assert mail.rcpt_tos == ["desk@example.org", "ops@example.org"]
    assert mail.login is None
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == ("[monitor] Ambassador named — belarus-us: Trump to nominate "
                              "Julie Fisher as ambassador to Belarus")
    assert msg["Message-ID"] == render_email.message_id("dlv-1", "monitor.local")
    assert msg["X-Monitor-Delivery"] == "dlv-1"
    assert msg["Date"] is not None
    plain = msg.get_body(("plain",))
    page = msg.get_body(("html",))
    assert plain is not None and page is not None
    text, markup = plain.get_content(), page.get_content()
    assert "Status:     announced" in text and "https://example.org/a" in text
    assert "Минск" in text and "Минск" in markup
    assert "<mark>nominate</mark>" in markup
    assert '<a href="https://example.org/a">' in markup


def test_email_smtp_down_is_retryable(closed_port: int) -> None:
    err = failure(send(None, message(), port=closed_port))
    assert err.retryable


def test_email_auth_good_password(smtp_auth_server: SmtpServer) -> None:
    run(send(smtp_auth_server, message(), username=smtp_auth_server.username,
             password=smtp_auth_server.password))
    [mail] = smtp_auth_server.received
    assert mail.login == smtp_auth_server.username


def test_email_auth_wrong_password_is_not_retryable(smtp_auth_server: SmtpServer) -> None:
    wrong = "not-" + SMTP_PASSWORD
    err = failure(send(smtp_auth_server, message(), username=smtp_auth_server.username,
                       password=wrong))
    assert not err.retryable and err.status == 535
    assert wrong not in f"{err} {err!r}"
    assert smtp_auth_server.received == []


def test_email_recipient_refused_550_is_not_retryable(smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt_reply = "550 5.1.1 No such user"
    err = failure(send(smtp_server, message()))
    assert not err.retryable and err.status == 550


def test_email_data_refused_550_is_not_retryable(smtp_server: SmtpServer) -> None:
    smtp_server.handler.data_reply = "550 5.7.1 Rejected as spam"
    err = failure(send(smtp_server, message()))
    assert not err.retryable and err.status == 550


def test_email_temporary_451_is_retryable(smtp_server: SmtpServer) -> None:
    smtp_server.handler.data_reply = "451 4.3.0 Try again later"
    err = failure(send(smtp_server, message()))
    assert err.retryable and err.status == 451


def test_email_retry_keeps_message_id(smtp_server: SmtpServer) -> None:
    run(send(smtp_server, message("dlv-9")))
    run(send(smtp_server, message("dlv-9")))
    first, second = (m.message for m in smtp_server.received)
    assert first["Message-ID"] == second["Message-ID"]
