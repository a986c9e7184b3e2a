"""Feed dates to aware UTC datetimes; absurd dates become None."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import dateutil.parser
from dateutil import tz
from feedparser.datetimes import _parse_date as _feedparser_date

MIN_YEAR = 1990
MAX_FUTURE = timedelta(days=2)

_MONTHS = {
    # Portuguese, Italian, Spanish, French, German, Dutch (only non-English spellings).
    "janeiro": 1, "fevereiro": 2, "fev": 2, "março": 3, "marco": 3, "abril": 4, "abr": 4,
    "maio": 5, "junho": 6, "julho": 7, "agosto": 8, "ago": 8, "setembro": 9, "set": 9,
    "outubro": 10, "out": 10, "novembro": 11, "dezembro": 12, "dez": 12,
    "gennaio": 1, "gen": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "mag": 5,
    "giugno": 6, "giu": 6, "luglio": 7, "lug": 7, "settembre": 9, "ottobre": 10, "ott": 10,
    "dicembre": 12, "dic": 12,
    "enero": 1, "ene": 1, "febrero": 2, "mayo": 5, "junio": 6, "julio": 7, "septiembre": 9,
    "octubre": 10, "noviembre": 11, "diciembre": 12,
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8,
    "septembre": 9, "sept": 9, "octobre": 10, "décembre": 12, "decembre": 12, "déc": 12,
    "januar": 1, "februar": 2, "märz": 3, "maerz": 3, "mär": 3, "juni": 6, "juli": 7,
    "oktober": 10, "okt": 10, "dezember": 12, "mei": 5, "mrt": 3,
}
_MONTH_ABBR = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec")
_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
_LEADING_WEEKDAY = re.compile(r"^\s*[^\W\d_]+\.?\s*,\s*|^\s*[^\W\d_]{2,4}\.?\s+(?=\d)", re.UNICODE)
# "GMT+9", "UTC-03:30": dateutil reads these POSIX-style (sign inverted); publishers mean ISO.
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b", re.IGNORECASE)
_ZERO_YEAR = re.compile(r"(?<![\d+:-])0{3}\d(?![\d:])")  # years 0000-0009: no news is that old
EPOCH = re.compile(r"^\s*(\d{9,10}|\d{12,13})\s*$")
_ZONES = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 3600, "CET": 3600, "MET": 3600,
    "CEST": 7200, "MEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800, "MSD": 14400,
    "IST": 19800, "HKT": 28800, "SGT": 28800, "AWST": 28800, "KST": 32400, "JST": 32400,
    "AEST": 36000, "AEDT": 39600, "NZST": 43200, "NZDT": 46800, "AST": -14400, "ADT": -10800,
    "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000, "MST": -25200, "MDT": -21600,
    "PST": -28800, "PDT": -25200, "AKST": -32400, "AKDT": -28800, "HST": -36000,
}


def _tzinfos(name: str | None, offset: int | None) -> Any:
    if offset is not None:
        return tz.tzoffset(name, offset)
    if name and name.upper() in _ZONES:
        return tz.tzoffset(name, _ZONES[name.upper()])
    return None          # unknown zone name: treated as UTC below rather than guessed


def _gmt_offset(match: re.Match[str]) -> str:
    sign, hours, minutes = match.group(1), int(match.group(2)), match.group(3) or "00"
    return f" {sign}{hours:02d}{minutes}"


def _translate_months(value: str) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        month = _MONTHS.get(word.rstrip(".").lower())
        return _MONTH_ABBR[month] if month else word
    return _WORD.sub(swap, value)


def parse_date(value: str | None, *, now: datetime) -> datetime | None:
    """An aware UTC datetime from a feed's date string, or None when unreadable or absurd.

    Tries feedparser's handlers (RFC 822, W3C-DTF, ISO 8601, Korean, Greek, Hungarian...), then
    epoch numbers, then dateutil after translating month names and fixing "GMT+9"-style zones.
    Never raises.
    """
    if not value or not value.strip():
        return None
    value = value.strip()[:200]
    epoch = EPOCH.match(value)
    if epoch:
        # Before feedparser, whose ISO 8601 handler reads "1518478934" as a 2015 date.
        seconds = int(epoch.group(1))
        return sane_date(datetime.fromtimestamp(seconds // 1000 if seconds > 10**11 else seconds,
                                            UTC), now)
    if _ZERO_YEAR.search(value):
        # RFC 822 handlers read a 4-digit year "0000" as a 2-digit one (2000): refuse it.
        return None
    # feedparser's dispatcher over its registered handlers; private name, stable across 6.x.
    parsed = from_struct(_feedparser_date(value))
    if parsed is None:
        parsed = _fallback_date(value)
    return sane_date(parsed, now)


def _fallback_date(value: str) -> datetime | None:
    cleaned = _GMT_OFFSET.sub(_gmt_offset, value)
    cleaned = _LEADING_WEEKDAY.sub("", cleaned)
    cleaned = _translate_months(cleaned)
    try:
        result = dateutil.parser.parse(cleaned, tzinfos=_tzinfos, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    try:
        return result.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def from_struct(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
    except (ValueError, TypeError, OverflowError):
        return None


def sane_date(value: datetime | None, now: datetime) -> datetime | None:
    if value is None or value.year < MIN_YEAR:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if value > now + MAX_FUTURE:
        return None
    return value

