"""POST one rendered alert body to a webhook channel (the contract's "Webhook alerts")."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.alerts.render import sign
from monitor.config import Config
from monitor.errors import DeliveryError
from monitor.fetch import guarded_transport, parse_retry_after

__all__ = ["USER_AGENT", "Client", "new_client", "parse_retry_after", "post_webhook"]

Client = httpx.AsyncClient

USER_AGENT = f"monitor/{__version__} (webhook)"
_RESERVED = {"content-type", "user-agent", "x-monitor-delivery", "x-monitor-signature",
             "content-length", "host"}
_MAX_DRAIN = 64 * 1024  # response bytes read (and dropped) so the connection can be reused


def new_client(config: Config) -> Client:
    """The HTTP client webhooks are posted with. Redirects are not followed: a 3xx is the
    receiver's misconfiguration. The same private-network guard as feeds: a webhook URL
    resolving to loopback, private or link-local addresses is refused unless the config
    allows it."""
    transport = guarded_transport(allow_private_networks=config.fetch.allow_private_networks)
    return httpx.AsyncClient(transport=transport, follow_redirects=False, timeout=10.0,
                             trust_env=False, headers={"User-Agent": config.fetch.user_agent})


def _where(url: str) -> str:
    """scheme://host[:port] only: webhook URLs often carry a token in the path or query
    (Slack, Discord, Telegram), so the full URL never goes into a message."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "<invalid url>"


def _error(channel: str, message: str, *, retryable: bool, status: int | None = None,
           retry_after: float | None = None) -> DeliveryError:
    return DeliveryError(channel, message, retryable=retryable, status=status,
                         retry_after=retry_after)


async def post_webhook(client: httpx.AsyncClient, *, channel: str, url: str, body: bytes,
                       delivery_id: str, secret: str | None, timeout: float = 10.0,
                       extra_headers: dict[str, str] | None = None) -> int:
    """POST ``body`` (already encoded: it is signed as is) and return the 2xx status.

    Raises DeliveryError: retryable on 429, 5xx, timeouts and network errors (with
    ``retry_after`` seconds when the server sent Retry-After); not retryable on 3xx, other
    4xx and unusable URLs.
    """
    # Configured headers (an Authorization token, say) cannot replace the contract's own.
    headers = {k: v for k, v in (extra_headers or {}).items() if k.lower() not in _RESERVED}
    headers.update({"Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "X-Monitor-Delivery": delivery_id})
    if secret:
        headers["X-Monitor-Signature"] = sign(body, secret)
    where = _where(url)
    try:
        # Redirects are not followed: httpx would turn a 301/302/303 into a GET without the
        # body, a 307/308 would re-send the signed alert to a host nobody configured (and
        # past the private-network check the channel URL went through). A moved receiver is
        # a config change, so the operator hears about it.
        async with client.stream("POST", url, content=body, headers=headers,
                                 timeout=timeout, follow_redirects=False) as response:
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            location = response.headers.get("location")
            drained = 0
            async for chunk in response.aiter_raw():
                drained += len(chunk)
                if drained > _MAX_DRAIN:
                    break
    except httpx.TimeoutException as exc:
        raise _error(channel, f"POST {where} timed out after {timeout:g}s "
                     f"({type(exc).__name__})", retryable=True) from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise _error(channel, f"unusable webhook URL {where}: {type(exc).__name__}",
                     retryable=False) from exc
    except httpx.TransportError as exc:
        raise _error(channel, f"POST {where} failed: {type(exc).__name__}: "
                     f"{str(exc).replace(url, where)}",
                     retryable=True) from exc
    if 200 <= status < 300:
        return status
    if status == 429 or status >= 500:
        raise _error(channel, f"POST {where} answered HTTP {status}", retryable=True,
                     status=status, retry_after=retry_after)
    if 300 <= status < 400:
        target = f" to {_where(location)}" if location else ""
        raise _error(channel, f"POST {where} answered HTTP {status} (redirect{target} not "
                     "followed; update the channel URL)", retryable=False, status=status)
    raise _error(channel, f"POST {where} answered HTTP {status}", retryable=False,
                 status=status, retry_after=retry_after)
