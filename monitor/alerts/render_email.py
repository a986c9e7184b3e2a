"""E-mail messages of alerts: plain text and HTML from the templates (Jinja2, autoescaped),
the trigger words highlighted, syndicated copies collapsed as in the other formats.

Pure, like ``render``: no I/O, no clock."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any

import jinja2

from monitor.alerts.render import (
    collapse_groups,
    health_event,
    one_line,
    safe_href,
)
from monitor.model import FeedHealthAlert, MilestoneAlert, SourceRef, iso


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    # HTML templates autoescape everything; the text templates produce text/plain, where
    # HTML escaping would only garble the message.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"), autoescape=autoescape,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


def _render(name: str, **context: Any) -> tuple[str, str]:
    text = _environment(False).get_template(f"{name}.txt").render(**context)
    page = _environment(True).get_template(f"{name}.html").render(**context)
    return text, page


def highlight(text: str, terms: Iterable[str],
              spans: Iterable[tuple[int, int]] = ()) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, matched) pairs: the ``spans`` (character offsets, as
    the classifier found the trigger) if any, else ``terms`` matched case-insensitively as
    words (milestones stored before offsets were kept).

    Segments are raw text: the template escapes each one, then wraps matches in ``<mark>``.
    """
    marks = sorted((a, b) for a, b in spans if 0 <= a < b <= len(text))
    if not marks:
        words = {t.strip() for t in terms if t and t.strip()}
        words |= {w.replace("_", " ").replace("-", " ") for w in words}
        if not words:
            return [(text, False)]
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(
            re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?!\w)",
            re.IGNORECASE)
        marks = [m.span() for m in pattern.finditer(text)]
    out: list[tuple[str, bool]] = []
    pos = 0
    for a, b in marks:
        if a < pos:
            continue                      # overlaps a span already marked
        if a > pos:
            out.append((text[pos:a], False))
        out.append((text[a:b], True))
        pos = b
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def message_id(delivery_id: str, domain: str) -> str:
    """A Message-ID that is the same for every attempt of one delivery."""
    local = re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", "-", delivery_id).strip(".") or "x"
    host = re.sub(r"[^A-Za-z0-9.-]", "-", domain) or "monitor.local"
    return f"<monitor.{local}@{host}>"


def _sources_view(items: Iterable[SourceRef]) -> list[dict[str, Any]]:
    return [{"title": one_line(ref.title) or "(untitled)", "url": ref.url,
             "href": safe_href(ref.url), "feed": ref.feed, "outlet": ref.outlet,
             "published": iso(ref.published), "copies": n}
            for ref, n in collapse_groups(items)]


def _milestone_view(alert: MilestoneAlert) -> dict[str, Any]:
    return {"alert": alert, "first_seen": iso(alert.first_seen),
            "title": one_line(alert.title), "sources": _sources_view(alert.items),
            "evidence": highlight(alert.evidence, (*alert.triggers, *alert.actors),
                                  alert.highlights)}


def _message(subject: str, text: str, page: str, *, sender: str, recipients: Sequence[str],
             delivery_id: str, domain: str, event: str,
             sent_at: datetime | None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = one_line(subject, 200)
    msg["From"] = one_line(sender)
    msg["To"] = ", ".join(one_line(r) for r in recipients)
    msg["Message-ID"] = message_id(delivery_id, domain)
    msg["X-Monitor-Delivery"] = one_line(delivery_id)
    msg["X-Monitor-Event"] = event
    # RFC 3834: tells autoresponders not to answer.
    msg["Auto-Submitted"] = "auto-generated"
    if sent_at is not None:
        msg["Date"] = format_datetime(sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC))
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    return msg


def email_message(alert: MilestoneAlert, *, sender: str, recipients: Sequence[str],
                  subject_prefix: str = "[monitor]", message_id_domain: str = "monitor.local",
                  delivery_id: str, sent_at: datetime | None = None) -> EmailMessage:
    """A multipart/alternative (text + HTML) e-mail for one milestone. Raises ValueError on
    an unusable address."""
    subject = f"{subject_prefix} {alert.type_title} — {alert.watchlist}: {one_line(alert.title)}"
    view = _milestone_view(alert)
    text, page = _render("email_milestone", subject=one_line(subject, 200), **view,
                         delivery_id=delivery_id)
    msg = _message(subject, text, page, sender=sender, recipients=recipients,
                   delivery_id=delivery_id, domain=message_id_domain, event="milestone",
                   sent_at=sent_at)
    msg["X-Monitor-Milestone"] = one_line(alert.id, 200)
    return msg


def email_health_message(alert: FeedHealthAlert, *, sender: str, recipients: Sequence[str],
                         subject_prefix: str = "[monitor]",
                         message_id_domain: str = "monitor.local", delivery_id: str,
                         sent_at: datetime | None = None) -> EmailMessage:
    """An e-mail saying a feed went unhealthy or recovered."""
    what = "Feed recovered" if alert.state == "recovered" else "Feed unhealthy"
    subject = f"{subject_prefix} {what}: {alert.feed}"
    text, page = _render("email_health", subject=one_line(subject, 200), alert=alert,
                         what=what, since=iso(alert.since), href=safe_href(alert.url),
                         reason=alert.reason, delivery_id=delivery_id)
    return _message(subject, text, page, sender=sender, recipients=recipients,
                    delivery_id=delivery_id, domain=message_id_domain,
                    event=health_event(alert), sent_at=sent_at)


def digest_email(alerts: Sequence[MilestoneAlert], items: Sequence[SourceRef], *,
                 period_start: datetime, period_end: datetime, sender: str,
                 recipients: Sequence[str], delivery_id: str,
                 subject_prefix: str = "[monitor]", message_id_domain: str = "monitor.local",
                 sent_at: datetime | None = None) -> EmailMessage:
    """A digest e-mail of a period's milestones and relevant items."""
    sources = _sources_view(items)
    start, end = iso(period_start), iso(period_end)
    subject = (f"{subject_prefix} Digest {start} – {end}: {len(alerts)} milestone"
               f"{'' if len(alerts) == 1 else 's'}, {len(sources)} item"
               f"{'' if len(sources) == 1 else 's'}")
    text, page = _render("email_digest", subject=one_line(subject, 200),
                         milestones=[_milestone_view(a) for a in alerts], sources=sources,
                         period_start=start, period_end=end, delivery_id=delivery_id)
    return _message(subject, text, page, sender=sender, recipients=recipients,
                    delivery_id=delivery_id, domain=message_id_domain, event="digest",
                    sent_at=sent_at)
