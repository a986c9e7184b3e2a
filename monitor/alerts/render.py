"""Turn alerts into what channels send: contract JSON and chat presets (e-mail messages:
``render_email``).

Pure: no I/O, no clock (``sent_at`` comes in), no globals. Feed text is untrusted
everywhere: chat presets escape by their own rules, e-mail HTML is built by Jinja2 with
autoescape, and only http(s) URLs ever become links.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from monitor.model import FeedHealthAlert, MilestoneAlert, SourceRef, iso
from monitor.urls import canonical_url

Alert = MilestoneAlert | FeedHealthAlert

FORMATS = ("monitor", "slack", "discord", "telegram")
# Options each format reads from a channel's config; config validation can check against this.
FORMAT_OPTIONS: dict[str, frozenset[str]] = {
    "monitor": frozenset(),
    "slack": frozenset({"channel", "username", "icon_emoji", "icon_url"}),
    "discord": frozenset({"username", "avatar_url"}),
    "telegram": frozenset({"chat_id", "message_thread_id", "disable_notification"}),
}
SEVERITY_COLORS = {"critical": 0xB00020, "high": 0xE65100, "medium": 0xF9A825, "low": 0x607D8B}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


# -- values ------------------------------------------------------------------------------

def safe_href(url: str | None) -> str | None:
    """The URL when it may become a link (http/https with a host), else None."""
    if not url:
        return None
    url = url.strip()
    if _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def one_line(text: str, limit: int = 0) -> str:
    """Control characters (CR, LF...) and runs of whitespace become one space; clipped."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return clip(text, limit) if limit else text


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clip_escaped(raw: str, limit: int, escape: Callable[[str], str]) -> str:
    """Escape, then clip to ``limit`` characters without cutting an ``&...;`` entity."""
    text = escape(raw)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


# -- collapsing syndicated copies ------------------------------------------------------------

def _url_key(url: str | None) -> str | None:
    """What makes two links one article: their canonical URL (``monitor.urls``), where http
    and https, "www." and a trailing slash do not make another one either."""
    if not url:
        return None
    canon = canonical_url(url)
    try:
        parts = urlsplit(canon)
    except ValueError:
        return canon
    if parts.scheme not in ("http", "https"):
        return canon
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/') or '/'}?{parts.query}"


def _title_key(ref: SourceRef) -> tuple[str, str] | None:
    title = unicodedata.normalize("NFKC", ref.title).casefold()
    title = " ".join(re.sub(r"[^\w]+", " ", title).split())
    if not title:
        return None
    return ((ref.outlet or ref.feed).strip().casefold(), title)


def collapse_groups(items: Iterable[SourceRef]) -> list[tuple[SourceRef, int]]:
    """Group copies (same canonical URL, or same outlet and title); one representative each.

    The representative is the earliest-published copy that has a link; groups come out in
    order of their representative's publication time (undated last), then input order.
    """
    refs = list(items)
    parent = list(range(len(refs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[object, int] = {}
    for i, ref in enumerate(refs):
        for key in (("url", _url_key(ref.url)), ("title", _title_key(ref))):
            if key[1] is None:
                continue
            if key in seen:
                parent[find(i)] = find(seen[key])
            else:
                seen[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(refs)):
        groups.setdefault(find(i), []).append(i)

    def rank(i: int) -> tuple[bool, bool, datetime, int]:
        ref = refs[i]
        published = ref.published or datetime.max.replace(tzinfo=UTC)
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        return (safe_href(ref.url) is None, ref.published is None, published, i)

    reps = sorted((min(members, key=rank), len(members)) for members in groups.values())
    reps.sort(key=lambda rep: rank(rep[0])[1:])
    return [(refs[i], n) for i, n in reps]


def _source_dict(ref: SourceRef, copies: int) -> dict[str, Any]:
    return {"title": ref.title, "url": ref.url, "feed": ref.feed,
            "published": iso(ref.published), "outlet": ref.outlet, "copies": copies}


# -- contract JSON ---------------------------------------------------------------------------

def milestone_dict(alert: MilestoneAlert) -> dict[str, Any]:
    """The contract's ``milestone`` object plus explanation fields."""
    return {
        "id": alert.id,
        "type": alert.type,
        "watchlist": alert.watchlist,
        "title": alert.title,
        "status": alert.status,
        "first_seen": iso(alert.first_seen),
        "items": [_source_dict(ref, n) for ref, n in collapse_groups(alert.items)],
        "severity": alert.severity,
        "type_title": alert.type_title,
        "watchlist_version": alert.watchlist_version,
        "confidence": round(alert.confidence, 4),
        "explain": {"evidence": alert.evidence, "actors": list(alert.actors),
                    "triggers": list(alert.triggers), "rule": alert.rule,
                    **({"highlights": [list(h) for h in alert.highlights]}
                       if alert.highlights else {}),
                    **({"evidence_at": {"item_id": alert.item_id, **alert.evidence_at.to_json()}}
                       if alert.evidence_at else {}),
                    **({"reason": alert.reason.to_json()} if alert.reason else {})},
    }


def milestone_payload(alert: MilestoneAlert, *, sent_at: datetime,
                      delivery_id: str) -> dict[str, Any]:
    """The contract webhook body for a milestone (``sent_at`` is signed: replay protection)."""
    return {"event": "milestone", "sent_at": iso(sent_at), "delivery_id": delivery_id,
            "milestone": milestone_dict(alert)}


def health_event(alert: FeedHealthAlert) -> str:
    return "feed_recovered" if alert.state == "recovered" else "feed_unhealthy"


def feed_health_payload(alert: FeedHealthAlert, *, sent_at: datetime,
                        delivery_id: str) -> dict[str, Any]:
    """Webhook body for a feed going unhealthy (``feed_unhealthy``) or back (``feed_recovered``)."""
    return {
        "event": health_event(alert), "sent_at": iso(sent_at), "delivery_id": delivery_id,
        "feed": {"name": alert.feed, "url": alert.url, "state": alert.state,
                 "since": iso(alert.since), "reason": alert.reason,
                 "watchlists": list(alert.watchlists)},
    }


def digest_payload(alerts: Sequence[MilestoneAlert], items: Sequence[SourceRef], *,
                   period_start: datetime, period_end: datetime, sent_at: datetime,
                   delivery_id: str) -> dict[str, Any]:
    """Webhook body for a periodic digest (``"event": "digest"``)."""
    return {
        "event": "digest", "sent_at": iso(sent_at), "delivery_id": delivery_id,
        "period": {"start": iso(period_start), "end": iso(period_end)},
        "milestones": [milestone_dict(a) for a in alerts],
        "items": [_source_dict(ref, n) for ref, n in collapse_groups(items)],
    }


def encode_body(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent. Raises ValueError on NaN."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body with the channel's secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body``; compared in constant time."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret).encode("ascii"),
                               header.strip().encode("utf-8", "replace"))


# -- chat presets ----------------------------------------------------------------------------

def slack_escape(text: str) -> str:
    # https://api.slack.com/reference/surfaces/formatting#escaping: only &, < and >.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str | None, label: str) -> str:
    label = _clip_escaped(one_line(label), 200, slack_escape).replace("|", "¦")
    href = safe_href(url)
    if href is None:
        return label
    return f"<{slack_escape(href).replace('|', '%7C')}|{label}>"


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Slack incoming-webhook body: blocks plus an escaped ``text`` fallback."""
    e = slack_escape
    if isinstance(alert, FeedHealthAlert):
        what = "Feed recovered" if alert.state == "recovered" else "Feed unhealthy"
        text = f"{what}: {alert.feed}: {one_line(alert.reason, 300)}"
        return {"text": e(text), "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _clip_escaped(
                f"*{what}*: {alert.feed}\n{one_line(alert.reason)}", 3000, e)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip_escaped(
                f"since {iso(alert.since)} · {alert.url}", 2000, e)}]}]}
    sources = collapse_groups(alert.items)
    lines = [f"• {_slack_link(ref.url, ref.title)} — {e(ref.feed)}"
             + (f" (+{n - 1} copies)" if n > 1 else "") for ref, n in sources[:10]]
    if len(sources) > 10:
        lines.append(f"… and {len(sources) - 10} more")
    quote = _clip_escaped(one_line(alert.evidence), 2900, e)
    head = f"{alert.type_title} — {alert.watchlist}: {one_line(alert.title)}"
    return {"text": _clip_escaped(head, 3000, e), "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip_escaped(
            f"{alert.type_title} · {alert.watchlist}", 300, e) + "\n*"
            + _clip_escaped(one_line(alert.title), 2500, e) + "*"}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Status*\n{e(alert.status)}"},
            {"type": "mrkdwn", "text": f"*Severity*\n{e(alert.severity)}"},
            {"type": "mrkdwn", "text": f"*First seen*\n{iso(alert.first_seen)}"},
            {"type": "mrkdwn", "text": f"*Confidence*\n{alert.confidence:.2f}"}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"> {quote}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(
            "*Sources*\n" + "\n".join(lines or ["(none)"]), 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip_escaped(
            f"rule {alert.rule} · {alert.watchlist} v{alert.watchlist_version} · {alert.id}",
            2000, e)}]}]}


# Discord (simple-markdown) treats a backslash before any punctuation as a literal.
_DISCORD_MD = re.compile(r"([\\*_~`|>#\[\]()<@])")


def discord_escape(text: str) -> str:
    """Backslash-escape Markdown so feed text cannot format, link or mention."""
    return _DISCORD_MD.sub(r"\\\1", text)


def _discord_url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def discord_payload(alert: Alert) -> dict[str, Any]:
    """Discord webhook body: one embed; mentions disabled (feed text could say @everyone)."""
    d = discord_escape
    if isinstance(alert, FeedHealthAlert):
        what = "Feed recovered" if alert.state == "recovered" else "Feed unhealthy"
        embed: dict[str, Any] = {
            "title": clip(f"{what}: {one_line(alert.feed)}", 256),
            "description": _clip_escaped(alert.reason, 4000, d),
            "color": 0x2E7D32 if alert.state == "recovered" else SEVERITY_COLORS["high"],
            "timestamp": iso(alert.since),
            "fields": [{"name": "URL", "value": _clip_escaped(alert.url, 1000, d)}]}
        return {"content": _clip_escaped(f"{what}: {alert.feed}", 1900, d),
                "embeds": [embed], "allowed_mentions": {"parse": []}}
    sources = collapse_groups(alert.items)
    links = []
    for ref, _n in sources[:10]:
        label = _clip_escaped(one_line(ref.title), 150, d)
        href = safe_href(ref.url)
        links.append(f"[{label}]({_discord_url(href)})" if href else label)
    embed = {
        "title": clip(f"{alert.type_title}: {one_line(alert.title)}", 256),
        "description": _clip_escaped(one_line(alert.evidence), 4000, d),
        "color": SEVERITY_COLORS.get(alert.severity, SEVERITY_COLORS["medium"]),
        "timestamp": iso(alert.first_seen),
        "fields": [
            {"name": "Status", "value": clip(alert.status or "-", 1000), "inline": True},
            {"name": "Severity", "value": clip(alert.severity or "-", 1000), "inline": True},
            {"name": "Watchlist", "value": clip(alert.watchlist or "-", 1000), "inline": True},
            {"name": f"Sources ({len(sources)})", "value": clip(
                "\n".join(links) or "-", 1024)}],
        "footer": {"text": clip(f"rule {alert.rule} · {alert.watchlist} "
                                f"v{alert.watchlist_version} · {alert.id}", 2000)},
    }
    first = next((safe_href(ref.url) for ref, _ in sources if safe_href(ref.url)), None)
    if first:
        embed["url"] = first
    content = _clip_escaped(f"{alert.type_title} — {alert.watchlist}: {one_line(alert.title)}",
                            1900, d)
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}


def _tg(text: str) -> str:
    return html.escape(text, quote=False)


def telegram_payload(alert: Alert, chat_id: str | int) -> dict[str, Any]:
    """Telegram Bot API ``sendMessage`` body with ``parse_mode`` HTML, every text escaped."""
    if isinstance(alert, FeedHealthAlert):
        what = "Feed recovered" if alert.state == "recovered" else "Feed unhealthy"
        lines = [f"<b>{_tg(what)}</b>: {_tg(one_line(alert.feed, 200))}",
                 _clip_escaped(alert.reason, 2000, _tg),
                 f"since {iso(alert.since)}"]
    else:
        sources = collapse_groups(alert.items)
        lines = [(f"<b>{_tg(one_line(alert.type_title, 200))}</b> — "
                  f"{_tg(one_line(alert.watchlist, 200))}"),
                 _clip_escaped(one_line(alert.title), 500, _tg),
                 (f"Status: {_tg(alert.status)} · severity: {_tg(alert.severity)} · "
                  f"first seen {iso(alert.first_seen)}"),
                 f"<blockquote>{_clip_escaped(one_line(alert.evidence), 1500, _tg)}</blockquote>"]
        for ref, n in sources[:8]:
            label = _clip_escaped(one_line(ref.title), 150, _tg)
            href = safe_href(ref.url)
            link = f'<a href="{html.escape(href, quote=True)}">{label}</a>' if href else label
            lines.append(f"• {link} — {_tg(one_line(ref.feed, 80))}"
                         + (f" (+{n - 1})" if n > 1 else ""))
        if len(sources) > 8:
            lines.append(f"… and {len(sources) - 8} more")
    return {"chat_id": chat_id, "text": "\n".join(lines)[:4096], "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True}}


def render_for_format(fmt: str, alert: Alert, *, sent_at: datetime, delivery_id: str,
                      options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body for a webhook channel's ``format``. Raises ValueError on an unknown format
    or a missing required option (telegram's ``chat_id``); options not in FORMAT_OPTIONS are
    ignored."""
    options = options or {}
    fmt = fmt or "monitor"
    if fmt not in FORMAT_OPTIONS:
        raise ValueError(f"unknown webhook format {fmt!r}; expected one of {', '.join(FORMATS)}")
    extra = {k: v for k, v in options.items() if k in FORMAT_OPTIONS[fmt] and v is not None}
    if fmt == "monitor":
        if isinstance(alert, FeedHealthAlert):
            return feed_health_payload(alert, sent_at=sent_at, delivery_id=delivery_id)
        return milestone_payload(alert, sent_at=sent_at, delivery_id=delivery_id)
    if fmt == "slack":
        return {**slack_payload(alert), **extra}
    if fmt == "discord":
        return {**discord_payload(alert), **extra}
    if "chat_id" not in extra:
        raise ValueError("the telegram format needs the option chat_id")
    return {**telegram_payload(alert, extra.pop("chat_id")), **extra}
