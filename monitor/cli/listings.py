"""``monitor feeds``, ``monitor items`` and ``monitor milestones``: what the database holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from monitor.cli.common import Ctx, ago, handle_errors, iso, parse_since, pass_ctx, prepared_engine
from monitor.errors import MonitorError
from monitor.model import MilestoneAlert


@click.command("feeds")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
@handle_errors
def feeds_cmd(c: Ctx, as_json: bool) -> None:
    """Each feed's health: last success, last error, failures, next poll, items."""
    from monitor.store.db import sessions
    from monitor.store.feeds import feed_dict, feeds_with_counts

    engine = prepared_engine(c, read_only=True)
    now = datetime.now(UTC)
    with sessions(engine)() as s:
        feeds = [feed_dict(r, n) for r, n in feeds_with_counts(s)]
    if as_json:
        click.echo(json.dumps([_feed_json(f) for f in feeds], ensure_ascii=False, indent=1))
        return
    if not feeds:
        click.echo("no feeds yet (they appear after the first `monitor poll --once` or `run`)")
        return
    w = max(len(f["name"]) for f in feeds)
    click.echo(f"{'feed':{w}}  {'state':9} {'fail':>4} {'items':>6}  {'last ok':>9}  "
               f"{'next poll':>9}  last error")
    for f in feeds:
        err = (f["last_error"] or "")[:70] if f["failures"] or f["state"] != "ok" else ""
        click.echo(f"{f['name']:{w}}  {f['state']:9} {f['failures']:>4} {f['items']:>6}  "
                   f"{ago(f['last_success'], now):>9}  {ago(f['next_poll'], now):>9}  "
                   f"{err}")


# ``feeds --json``: its keys, in its order (scripts read it), a subset of the API's
_FEED_KEYS = ("name", "url", "enabled", "in_config", "disabled_reason", "healthy", "failures",
              "polls", "last_success", "last_error", "last_error_at", "last_status",
              "next_poll", "items")
_FEED_TIMES = frozenset({"last_success", "last_error_at", "next_poll"})


def _feed_json(feed: dict[str, Any]) -> dict[str, Any]:
    """A feed of ``feeds --json``: the API's feed, its keys as above, with ISO times."""
    return {k: iso(feed[k]) if k in _FEED_TIMES else feed[k] for k in _FEED_KEYS}


@click.command("items")
@click.option("--json", "as_json", is_flag=True)
@click.option("--since", help="A date, a datetime or a duration back from now (3d).")
@click.option("--feed", help="Only this feed.")
@click.option("--relevant", is_flag=True, help="Only items relevant to a watchlist.")
@click.option("--limit", type=int, default=100, show_default=True)
@pass_ctx
@handle_errors
def items_cmd(c: Ctx, as_json: bool, since: str | None, feed: str | None, relevant: bool,
              limit: int) -> None:
    """Stored items, newest first."""
    from monitor.store.db import sessions
    from monitor.store.feeds import feed_stored
    from monitor.store.items import item_dict, item_listing

    when = parse_since(since)
    engine = prepared_engine(c, read_only=True)
    with sessions(engine)() as s:
        rows = item_listing(s, since=when, feed=feed, relevant=relevant, limit=limit)
        if feed and not rows and feed not in {f.name for f in c.config.feeds} \
                and not feed_stored(s, feed):
            raise c.unknown("feeds", "feed", feed)
    out = [_item_json(item_dict(i, name)) for i, name in rows]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for r in out:
        mark = "*" if r["relevant"] else " "
        ms = f" [{', '.join(r['milestones'])}]" if r["milestones"] else ""
        click.echo(f"{mark} {r['published'] or r['first_seen']}  {r['feed']}: {r['title']}{ms}")


@click.command("milestones")
@click.option("--json", "as_json", is_flag=True)
@click.option("--watchlist", help="Only this watchlist.")
@click.option("--show", "show_id", help="One milestone with its sources.")
@pass_ctx
@handle_errors
def milestones_cmd(c: Ctx, as_json: bool, watchlist: str | None, show_id: str | None) -> None:
    """Detected milestones, newest first."""
    from monitor.alerts.outbox import milestone_alert
    from monitor.store.db import sessions
    from monitor.store.milestones import milestone_dict, milestone_listing

    engine = prepared_engine(c, read_only=True)
    with sessions(engine)() as s:
        out = [_milestone_json(milestone_dict(m), milestone_alert(s, m))
               for m in milestone_listing(s, watchlist=watchlist, id_prefix=show_id)]
    if show_id and not out:
        raise MonitorError(f"no milestone with id {show_id!r}")
    if watchlist and not out and watchlist not in c.classifier().watchlist_names:
        raise c.unknown("watchlists", "watchlist", watchlist)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for d in out:
        flag = "" if d["alerted"] else " (stale, not alerted)" if d["stale"] else " (not alerted)"
        if d["withdrawn_at"]:
            flag = " (withdrawn)"
        click.echo(f"{d['event_at']}  {d['id'][:10]}  {d['type']:22} {d['status']:10} "
                   f"{d['sources']:>2} src  {d['title']}{flag}")
        if show_id:
            click.echo(f"  evidence: {_marked(d['evidence'], d['highlights'])}")
            click.echo(f"  rule: {d['rule']}  confidence: {d['confidence']:.2f}"
                       + _why(d["reason"]))
            if d["withdrawn_at"]:
                click.echo(f"  withdrawn {d['withdrawn_at']}: {d['withdrawn_reason']}")
            for i in d["items"]:
                click.echo(f"  - {i['published']}  {i['feed']}: {i['title']}  {i['url']}")


def _item_json(item: dict[str, Any]) -> dict[str, Any]:
    """An item of ``items --json``: the API's item (same keys, same order), but with ISO times
    and its milestones by type only."""
    return {**item, "published": iso(item["published"]), "first_seen": iso(item["first_seen"]),
            "milestones": [m.get("type") for m in item["milestones"]]}


# ``milestones --json``: its keys, in its order (scripts read it), which differ from the API's
_MILESTONE_KEYS = ("id", "type", "type_title", "watchlist", "title", "status", "severity",
                   "event_at", "first_seen", "sources", "alerted", "stale", "evidence",
                   "highlights", "evidence_at", "reason", "withdrawn_at", "withdrawn_reason",
                   "confidence", "rule", "items")


def _milestone_json(ms: dict[str, Any], alert: MilestoneAlert) -> dict[str, Any]:
    """A milestone of ``milestones --json``: the API's milestone ``ms`` gives the values they
    share; times are ISO strings, and the evidence span, reason, rule and sources are the
    alert's (what a webhook receiver is sent)."""
    own = {"event_at": iso(ms["event_at"]), "first_seen": iso(ms["first_seen"]),
           "withdrawn_at": iso(ms["withdrawn_at"]),
           "evidence_at": ({"item_id": alert.item_id, **alert.evidence_at.to_json()}
                           if alert.evidence_at else None),
           "reason": alert.reason.to_json() if alert.reason else None, "rule": alert.rule,
           "items": [{"title": i.title, "url": i.url, "feed": i.feed,
                      "published": iso(i.published)} for i in alert.items]}
    return {k: own[k] if k in own else ms[k] for k in _MILESTONE_KEYS}


def _marked(text: str, spans: list[list[int]]) -> str:
    """``text`` with the trigger words (character offsets) between ** and **."""
    out, pos = [], 0
    for a, b in sorted(spans):
        if a < pos or not 0 <= a < b <= len(text):
            continue
        out += [text[pos:a], "**", text[a:b], "**"]
        pos = b
    return "".join(out) + text[pos:]


def _why(reason: dict[str, Any] | None) -> str:
    if not reason:
        return ""
    anchor = reason.get("anchor")
    dated = f", dated \"{anchor['text']}\" ({anchor['relation']})" if anchor else ""
    basis = "" if reason["basis"] == "lead" else f" ({reason['basis']})"
    return f"  read in the {reason['zone']}{basis}{dated}"
