"""Send one rendered alert e-mail over SMTP (aiosmtplib)."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import structlog

from monitor.errors import DeliveryError

log = structlog.get_logger(__name__)


def _scrub(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _reply_error(channel: str, what: str, code: int, reply: str,
                 password: str | None) -> DeliveryError:
    # RFC 5321 4.2.1: 4yz is a transient failure (try again), 5yz a permanent one.
    return DeliveryError(channel, f"{what}: {code} {_scrub(reply, password)}".strip(),
                         retryable=400 <= code < 500, status=code)


async def send_email(message: EmailMessage, *, channel: str, host: str, port: int,
                     starttls: bool, tls: bool, username: str | None, password: str | None,
                     timeout: float = 30.0, tls_context: ssl.SSLContext | None = None) -> None:
    """Send ``message`` to its To/Cc/Bcc recipients.

    ``tls`` is implicit TLS (port 465), ``starttls`` upgrades a plain connection; AUTH is used
    when ``username`` is set. Adds a Date header when the message has none. Raises
    DeliveryError: retryable on connection errors, timeouts and 4xx replies; not retryable on
    5xx replies, failed authentication (535) and missing server features (STARTTLS, AUTH).
    """
    if message["Date"] is None:
        message["Date"] = format_datetime(datetime.now(UTC))
    where = f"{host}:{port}"
    try:
        errors, _reply = await aiosmtplib.send(
            message, hostname=host, port=port, use_tls=tls, start_tls=starttls and not tls,
            username=username or None, password=password if username else None,
            timeout=timeout, tls_context=tls_context)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        # Every recipient refused; the worst reply decides (one 550 makes it permanent).
        codes = [r.code for r in exc.recipients] or [550]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        raise DeliveryError(channel, f"{where} refused all recipients ({_scrub(detail, password)})",
                            retryable=all(400 <= c < 500 for c in codes),
                            status=max(codes)) from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise _reply_error(channel, f"{where} refused the login for {username!r}", exc.code,
                           exc.message, password) from exc
    except aiosmtplib.SMTPResponseException as exc:
        # Covers a refused greeting, HELO, MAIL FROM, RCPT and DATA.
        raise _reply_error(channel, f"{where} {type(exc).__name__}", exc.code, exc.message,
                           password) from exc
    except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
        raise DeliveryError(channel, f"{where} timed out after {timeout:g}s",
                            retryable=True) from exc
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected) as exc:
        raise DeliveryError(channel, f"cannot talk to {where}: {_scrub(str(exc), password)}",
                            retryable=True) from exc
    except aiosmtplib.SMTPException as exc:
        # What is left is the server lacking something the config asks for (STARTTLS, an
        # AUTH mechanism, SMTPUTF8): retrying will not change that.
        raise DeliveryError(channel, f"{where}: {_scrub(str(exc), password)}",
                            retryable=False) from exc
    except OSError as exc:  # DNS failures, refused connections, TLS handshake errors
        raise DeliveryError(channel, f"cannot talk to {where}: {type(exc).__name__}: "
                            f"{_scrub(str(exc), password)}", retryable=True) from exc
    if errors:
        # Accepted for some recipients: retrying would send the rest a duplicate, so the
        # delivery counts as done and the refusals are logged.
        log.warning("email_recipients_refused", channel=channel,
                    error="; ".join(f"{rcpt}: {resp.code} {resp.message}"
                                    for rcpt, resp in errors.items()))
