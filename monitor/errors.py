"""The exceptions of monitor.

    MonitorError
    ├── ConfigError          bad config or watchlist: exit status 2
    ├── FetchError           a feed could not be fetched (``kind``: timeout, connect, http,
    │   │                    too_large, ssrf, scheme, redirect, protocol); the fetcher turns
    │   │                    it into its FetchResult, it never leaves the fetcher
    │   └── AddressRefusedError  an address that is not public (SSRF guard)
    ├── ParseError           a body could not be turned into a feed
    ├── ParseCrash           the parser failed on a body in a way it should not (a bug)
    ├── WorkerDied           a parse worker exited or broke the protocol with a job in hand
    ├── StoreError           the database refused or is unreachable: exit status 1
    │   └── RevisionError    ``db upgrade --revision`` names no schema revision: exit status 2
    ├── DeliveryError        an alert could not be delivered (``retryable``: try again)
    └── FilterError          a dashboard or API query parameter is unusable (also a
                             ValueError); the page or the API answers 400 with its message

``monitor.cli`` maps them to exit codes in one place; everything else catches broadly only
at the per-feed and per-delivery boundary.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""

    exit_code = 1


class ConfigError(MonitorError):
    """The config or a watchlist is invalid; names the file and the key path."""

    exit_code = 2

    def __init__(self, file: str | None, key_path: str | None, message: str) -> None:
        self.file = file
        self.key_path = key_path
        self.detail = message
        where = file or "<config>"
        if key_path:
            where = f"{where}: {key_path}"
        super().__init__(f"{where}: {message}")


class FetchError(MonitorError):
    """A feed could not be fetched; ``kind`` is the FetchResult's ``error_kind``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class AddressRefusedError(FetchError):
    """A connection to an address that is not public, refused inside the connection pool."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__("ssrf", f"refused to connect to {host} ({address}): "
                                 "not a public address (fetch.allow_private_networks is off)")


class ParseError(MonitorError):
    """A body could not be parsed as a feed."""

    def __init__(self, url: str | None, message: str) -> None:
        self.url = url
        super().__init__(f"{url or '<feed>'}: {message}")


class ParseCrash(MonitorError):
    """The parser failed on a body in a way it should not (its traceback is the message)."""


class WorkerDied(MonitorError):
    """A parse worker process exited (or broke the protocol) with a job in hand."""


class StoreError(MonitorError):
    """The database refused an operation or cannot be reached."""


class RevisionError(StoreError):
    """A schema revision asked for does not exist."""

    exit_code = 2


class DeliveryError(MonitorError):
    """An alert could not be delivered to a channel."""

    def __init__(self, channel: str, message: str, *, retryable: bool,
                 status: int | None = None, retry_after: float | None = None) -> None:
        self.channel = channel
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after  # seconds the receiver asked us to wait (429/503)
        super().__init__(f"channel {channel}: {message}")


class FilterError(MonitorError, ValueError):
    """A query parameter has a value we cannot use; the message names it."""
