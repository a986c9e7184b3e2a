"""Query-string filters shared by the pages and the JSON API, parsed once and validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import FilterError

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Filters:
    watchlist: str | None = None
    actor: str | None = None
    type: str | None = None
    status: str | None = None
    feed: str | None = None
    relevant: bool = False
    since: datetime | None = None
    until: datetime | None = None      # exclusive
    q: str | None = None
    state: str | None = None           # alerts
    channel: str | None = None         # alerts
    order: str = "desc"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    # as given, to rebuild links and refill forms
    raw: tuple[tuple[str, str], ...] = ()

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    def query(self, **override: Any) -> str:
        """The query string of these filters, with some parameters replaced (None drops one)."""
        params = dict(self.raw)
        for k, v in override.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = str(v)
        return urlencode({k: v for k, v in params.items() if v != ""})


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FilterError(f"tz: unknown time zone {name!r}") from None


def _when(key: str, value: str, zone: tzinfo, *, end: bool) -> datetime:
    """A date (a whole day in the viewer's zone) or an ISO datetime, as aware UTC."""
    v = value.strip()
    try:
        if len(v) == 10:
            day = datetime.fromisoformat(v).date()
            start = datetime.combine(day, time(), tzinfo=zone)
            return (start + timedelta(days=1) if end else start).astimezone(UTC)
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise FilterError(f"{key}: give a date (2024-05-01) or a datetime "
                          f"(2024-05-01T10:00:00Z), not {value!r}") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=zone)).astimezone(UTC)


def _int(key: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise FilterError(f"{key}: a whole number is needed, not {value!r}") from None
    if not low <= n <= high:
        raise FilterError(f"{key}: must be between {low} and {high}")
    return n


def parse_filters(params: Mapping[str, str], *, per_page: int = DEFAULT_PER_PAGE) -> Filters:
    """Filters from a query string; raises FilterError naming the bad parameter."""
    def text(key: str) -> str | None:
        v = (params.get(key) or "").strip()
        return v[:200] or None

    zone = _zone(text("tz"))
    since, until = text("since"), text("until")
    order = text("order") or "desc"
    if order not in ("asc", "desc"):
        raise FilterError("order: asc or desc")
    raw = tuple((k, v) for k, v in params.items() if k != "token")
    return Filters(
        watchlist=text("watchlist"), actor=text("actor"), type=text("type"),
        status=text("status"), feed=text("feed"),
        relevant=(params.get("relevant") or "").lower() in TRUE,
        since=_when("since", since, zone, end=False) if since else None,
        until=_when("until", until, zone, end=True) if until else None,
        q=text("q"), state=text("state"), channel=text("channel"), order=order,
        page=_int("page", params.get("page"), 1, 1, 1_000_000),
        per_page=_int("per_page", params.get("per_page"), per_page, 1, MAX_PER_PAGE),
        raw=raw)
