"""The exceptions of monitor.

    MonitorError
    ├── ConfigError        bad config or watchlist: exit status 2
    ├── FetchError         a feed could not be fetched (network, HTTP status, limits, policy)
    ├── ParseError         a body could not be turned into a feed
    ├── StoreError         the database refused or is unreachable: exit status 1
    └── DeliveryError      an alert could not be delivered (``retryable`` says whether to try again)

``cli.py`` maps them to exit codes in one place; everything else catches broadly only at the
per-feed and per-delivery boundary.
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
    """A feed could not be fetched."""

    def __init__(self, url: str, message: str, *, status: int | None = None,
                 retryable: bool = True) -> None:
        self.url = url
        self.status = status
        self.retryable = retryable
        super().__init__(f"{url}: {message}")


class ParseError(MonitorError):
    """A body could not be parsed as a feed."""

    def __init__(self, url: str | None, message: str) -> None:
        self.url = url
        super().__init__(f"{url or '<feed>'}: {message}")


class StoreError(MonitorError):
    """The database refused an operation or cannot be reached."""


class DeliveryError(MonitorError):
    """An alert could not be delivered to a channel."""

    def __init__(self, channel: str, message: str, *, retryable: bool,
                 status: int | None = None, retry_after: float | None = None) -> None:
        self.channel = channel
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after  # seconds the receiver asked us to wait (429/503)
        super().__init__(f"channel {channel}: {message}")
