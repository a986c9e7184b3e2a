"""The command line. Builds the config once and passes it down; maps errors to exit codes.

0 success, 1 a runtime failure, 2 a usage or configuration error (CONTRACT.md).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.config import Config, load_config, parse_duration, redact
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.log import get_logger, setup_logging
from monitor.store.db import Engine

F = TypeVar("F", bound=Callable[..., Any])
log = get_logger("monitor.cli")


class Ctx:
    def __init__(self, config_path: str | None, log_format: str | None,
                 log_level: str | None) -> None:
        self.config_path = config_path
        self.log_format = log_format
        self.log_level = log_level
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            setup_logging(self.log_level or self._config.log.level,
                          self.log_format or self._config.log.format)
        return self._config

    def engine(self, *, read_only: bool = False) -> Engine:
        """The database without a schema check (``db upgrade`` makes the schema)."""
        from monitor.app import open_database

        return open_database(self.config, read_only=read_only, check=False)

    def classifier(self) -> Any:
        from monitor.app import build_classifier

        return build_classifier(self.config)


def handle_errors(fn: F) -> F:
    """Turn our exceptions into a message on stderr and the contract's exit status."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"config error: {exc}", err=True)
            sys.exit(2)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)
        except OSError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:  # the database layer and others: a runtime failure
            from monitor.store.db import database_error

            msg = database_error(exc)
            if msg is None:
                raise
            click.echo(f"error: database: {msg}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Config file (default: $MONITOR_CONFIG, else config/monitor.yaml).")
@click.option("--log-format", type=click.Choice(["auto", "json", "console"]), default=None,
              help="Log format (default: JSON when stderr is not a terminal).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default=None)
@click.version_option(package_name="monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_format: str | None,
        log_level: str | None) -> None:
    """monitor: news feeds in, diplomatic milestone alerts out."""
    ctx.obj = Ctx(config_path, log_format, log_level)
    setup_logging(log_level or "info", log_format or "auto")


pass_ctx = click.make_pass_decorator(Ctx)


def _prepared_engine(c: Ctx, *, auto: bool, read_only: bool = False) -> Engine:
    from monitor.app import open_database

    return open_database(c.config, upgrade=auto and not read_only, read_only=read_only)


# -- config and database ---------------------------------------------------------------------


@cli.command("check-config")
@click.option("--show", is_flag=True, help="Print the whole config, secrets hidden.")
@pass_ctx
@handle_errors
def check_config(c: Ctx, show: bool) -> None:
    """Validate the config and every watchlist, and print a summary."""
    from monitor.dashboard import check_access_config

    config = c.config
    check_access_config(config)
    clf = c.classifier()
    click.echo(f"config {config.source}: ok")
    click.echo(f"  database: {redact(config)['database']['url']}")
    enabled = sum(1 for f in config.feeds if f.enabled)
    click.echo(f"  feeds: {len(config.feeds)} ({enabled} enabled)")
    for wl in clf.watchlist_objects:
        click.echo(f"  watchlist {wl.name} v{wl.version}: {len(wl.actors)} actors, "
                   f"{len(wl.milestones)} milestone types")
    if not clf.watchlist_objects:
        click.echo("  watchlists: (none)")
    chans = ", ".join(f"{ch.name} ({ch.type}, {ch.mode})" for ch in config.alerts.channels)
    click.echo(f"  alert channels: {chans or '(none)'}")
    click.echo(f"  http: {config.http.listen}")
    if show:
        import yaml

        click.echo(yaml.safe_dump(redact(config), sort_keys=False, allow_unicode=True))


@cli.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
@handle_errors
def db_upgrade(c: Ctx, revision: str) -> None:
    """Bring the database schema to the newest Alembic revision."""
    from monitor.store.db import current_revision, upgrade

    engine = c.engine()
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    click.echo(f"database schema: {before or 'empty'} -> {after}")


# -- the daemon and one-shot polls -----------------------------------------------------------


@cli.command("run")
@click.option("--no-http", is_flag=True, help="Do not serve /healthz, /metrics and the dashboard.")
@pass_ctx
@handle_errors
def run(c: Ctx, no_http: bool) -> None:
    """The daemon: poll every feed on its interval until SIGTERM or SIGINT."""
    from monitor.scheduler import Daemon
    from monitor.store.db import SingleProcessLock

    config = c.config
    if not no_http:
        from monitor.dashboard import check_access_config

        check_access_config(config)  # beyond loopback only with credentials
    classifier = c.classifier()
    engine = _prepared_engine(c, auto=engine_is_sqlite(c))
    lock = SingleProcessLock(engine)
    lock.acquire()
    try:
        daemon = Daemon(config, engine, classifier, config_path=c.config_path,
                        serve_http=not no_http, echo=click.echo)
        asyncio.run(daemon.run())
    finally:
        lock.release()
        engine.dispose()


def engine_is_sqlite(c: Ctx) -> bool:
    return c.config.database.url.startswith("sqlite")


@cli.command("poll")
@click.option("--once", is_flag=True, required=True, help="Poll every enabled feed now and exit.")
@click.option("--feed", "feeds", multiple=True, help="Only this feed (repeatable).")
@click.option("--no-deliver", is_flag=True, help="Queue alerts but do not send them.")
@pass_ctx
@handle_errors
def poll(c: Ctx, once: bool, feeds: tuple[str, ...], no_deliver: bool) -> None:
    """Poll every enabled feed now (intervals ignored), detect, deliver pending alerts, exit."""
    from monitor.app import build_pipeline
    from monitor.runtime import settle_gc

    config = c.config
    known = {f.name for f in config.feeds}
    for name in feeds:
        if name not in known:
            raise ConfigError(config.source, "feeds", f"no feed named {name!r}")
    classifier = c.classifier()
    engine = _prepared_engine(c, auto=engine_is_sqlite(c))

    async def go() -> tuple[Any, Any]:
        pipe = build_pipeline(config, engine, classifier, echo=click.echo)
        try:
            await asyncio.to_thread(pipe.sync_feeds)
            await asyncio.to_thread(pipe.classify_pending)
            settle_gc()
            summary = await pipe.poll_due(names=list(feeds) or None, ignore_schedule=True)
            stats = None if no_deliver else await pipe.deliver()
            return summary, stats
        finally:
            await pipe.aclose()

    try:
        summary, stats = asyncio.run(go())
    finally:
        engine.dispose()
    click.echo(f"polled {summary.feeds} feeds: {summary.ok} new content, "
               f"{summary.unchanged} unchanged, {summary.not_modified} not modified, "
               f"{summary.failed} failed; {summary.items_new} new items, {summary.relevant} "
               f"relevant, {summary.milestones_new} new milestones, {summary.alerts_queued} "
               f"alerts queued", err=True)
    if stats is not None and (stats.delivered or stats.retried or stats.dead):
        click.echo(f"alerts: {stats.delivered} delivered, {stats.retried} to retry, "
                   f"{stats.dead} dead", err=True)
    for err in summary.errors[:20]:
        click.echo(f"  failed: {err}", err=True)


# -- listings --------------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def _ago(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "-"
    secs = (now - dt).total_seconds()
    sign = "" if secs >= 0 else "in "
    secs = abs(secs)
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= n:
            return f"{sign}{int(secs // n)}{unit}" + (" ago" if not sign else "")
    return f"{sign}{int(secs)}s" + (" ago" if not sign else "")


@cli.command("feeds")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
@handle_errors
def feeds_cmd(c: Ctx, as_json: bool) -> None:
    """Each feed's health: last success, last error, failures, next poll, items."""
    from monitor.store.db import sessions
    from monitor.store.feeds import feeds_with_counts

    engine = _prepared_engine(c, auto=False, read_only=True)
    now = datetime.now(UTC)
    with sessions(engine)() as s:
        listed = feeds_with_counts(s)
    rows = [r for r, _n in listed]
    counts = {r.id: n for r, n in listed}
    out: list[dict[str, Any]] = [{"name": r.name, "url": r.current_url or r.url,
                                  "enabled": r.enabled,
            "in_config": r.in_config, "disabled_reason": r.disabled_reason,
            "healthy": not r.unhealthy, "failures": r.failures, "polls": r.polls,
            "last_success": _iso(r.last_success_at), "last_error": r.last_error,
            "last_error_at": _iso(r.last_error_at), "last_status": r.last_status,
            "next_poll": _iso(r.next_check_at), "items": counts.get(r.id, 0)} for r in rows]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if not out:
        click.echo("no feeds yet (they appear after the first `monitor poll --once` or `run`)")
        return
    w = max(len(r["name"]) for r in out)
    click.echo(f"{'feed':{w}}  {'state':9} {'fail':>4} {'items':>6}  {'last ok':>9}  "
               f"{'next poll':>9}  last error")
    for r, row in zip(out, rows, strict=True):
        state = ("disabled" if not r["enabled"] else "unhealthy" if not r["healthy"] else "ok")
        err = (r["last_error"] or "")[:70] if r["failures"] or state != "ok" else ""
        click.echo(f"{r['name']:{w}}  {state:9} {r['failures']:>4} {r['items']:>6}  "
                   f"{_ago(row.last_success_at, now):>9}  {_ago(row.next_check_at, now):>9}  "
                   f"{err}")


def parse_since(value: str | None) -> datetime | None:
    """``--since``: an ISO date or datetime, or a duration back from now (``3d``)."""
    if not value:
        return None
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a date (2024-05-01), a datetime "
                                 "(2024-05-01T10:00Z) or a duration (3d)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@cli.command("items")
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
    from monitor.store.items import item_listing

    when = parse_since(since)
    engine = _prepared_engine(c, auto=False, read_only=True)
    with sessions(engine)() as s:
        rows = item_listing(s, since=when, feed=feed, relevant=relevant, limit=limit)
    out: list[dict[str, Any]] = [{"id": i.id, "feed": name, "title": i.title,
                                  "url": i.url or i.link,
            "published": _iso(i.published), "first_seen": _iso(i.first_seen_at),
            "summary": i.summary, "language": i.language, "relevant": i.relevant,
            "score": i.score, "watchlists": i.watchlists, "actors": i.actors,
            "milestones": [m.get("type") for m in (i.milestones or [])],
            "story_id": i.story_id} for i, name in rows]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for r in out:
        mark = "*" if r["relevant"] else " "
        ms = f" [{', '.join(r['milestones'])}]" if r["milestones"] else ""
        click.echo(f"{mark} {r['published'] or r['first_seen']}  {r['feed']}: {r['title']}{ms}")


@cli.command("milestones")
@click.option("--json", "as_json", is_flag=True)
@click.option("--watchlist", help="Only this watchlist.")
@click.option("--show", "show_id", help="One milestone with its sources.")
@pass_ctx
@handle_errors
def milestones_cmd(c: Ctx, as_json: bool, watchlist: str | None, show_id: str | None) -> None:
    """Detected milestones, newest first."""
    from monitor.alerts.outbox import milestone_alert
    from monitor.store.db import sessions
    from monitor.store.milestones import milestone_listing

    engine = _prepared_engine(c, auto=False, read_only=True)
    out: list[dict[str, Any]] = []
    with sessions(engine)() as s:
        for m in milestone_listing(s, watchlist=watchlist, id_prefix=show_id):
            a = milestone_alert(s, m)
            out.append({"id": m.id, "type": m.type, "type_title": m.type_title,
                        "watchlist": m.watchlist, "title": m.title, "status": m.status,
                        "severity": m.severity, "event_at": _iso(m.event_at),
                        "first_seen": _iso(m.first_seen_at), "sources": m.sources,
                        "alerted": m.alerted, "stale": m.stale, "evidence": m.evidence,
                        "highlights": [list(h) for h in a.highlights],
                        "evidence_at": ({"item_id": a.item_id, **a.evidence_at.to_json()}
                                        if a.evidence_at else None),
                        "reason": a.reason.to_json() if a.reason else None,
                        "withdrawn_at": _iso(m.withdrawn_at) if m.withdrawn_at else None,
                        "withdrawn_reason": m.withdrawn_reason,
                        "confidence": m.confidence, "rule": m.rule,
                        "items": [{"title": i.title, "url": i.url, "feed": i.feed,
                                   "published": _iso(i.published)} for i in a.items]})
    if show_id and not out:
        raise MonitorError(f"no milestone with id {show_id!r}")
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


# -- classification --------------------------------------------------------------------------


def _item_from_json(d: dict[str, Any]) -> Any:
    from monitor.model import ItemText
    from monitor.parse.text import TAG_LIKE, html_to_text

    pub = d.get("published")
    published = None
    if isinstance(pub, str) and pub:
        try:
            published = datetime.fromisoformat(pub)
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
        except ValueError:
            published = None

    def text(key: str) -> str:
        v = d.get(key)
        if not isinstance(v, str):
            return ""
        # HTML (a feed's content:encoded) is read as the pipeline stores it: plain text,
        # one line per block; plain text is read as given, so offsets point into it
        return html_to_text(v) if TAG_LIKE.search(v) else v

    return ItemText(id=str(d["id"]), title=text("title"), summary=text("summary"),
                    content=text("content"), published=published,
                    language=d.get("language") if isinstance(d.get("language"), str) else None,
                    url=d.get("url") if isinstance(d.get("url"), str) else None)


@cli.command("classify")
@click.option("--watchlist", help="Only this watchlist.")
@click.option("--explain", is_flag=True,
              help="Also list, under \"rejected\", each rule whose words were found but that "
                   "did not fire, and the guard that stopped it.")
@pass_ctx
@handle_errors
def classify_cmd(c: Ctx, watchlist: str | None, explain: bool) -> None:
    """Read JSON Lines on stdin, write one classification line per input line."""
    clf = c.classifier()
    if watchlist and watchlist not in clf.watchlists:
        raise ConfigError(c.config.source, "watchlists", f"no watchlist named {watchlist!r}")
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        rid: Any = None
        try:
            d = json.loads(line)
            if not isinstance(d, dict):
                raise ValueError("a JSON object is needed")  # noqa: TRY004 - the line's error
            rid = d.get("id")
            if rid is None or "title" not in d:
                raise ValueError("missing " + ("id" if rid is None else "title"))
            if not isinstance(d["title"], str):
                raise ValueError("title must be a string")  # noqa: TRY004 - the line's error
            result = clf.classify(_item_from_json(d), watchlist=watchlist,
                                  explain=explain).to_json()
            result["id"] = rid
        except Exception as exc:  # noqa: BLE001 - one bad line must not stop the run
            result = {"id": rid if isinstance(rid, str | int) else None,
                      "error": str(exc) if isinstance(exc, ValueError) else
                      f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()


@cli.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--errors/--no-errors", default=True, show_default=True,
              help="List the lines it gets wrong.")
@pass_ctx
@handle_errors
def eval_cmd(c: Ctx, file: str, errors: bool) -> None:
    """Score the current watchlists against a labelled JSON Lines file."""
    from monitor.evaluate import evaluate, format_report

    clf = c.classifier()
    gold = []
    for n, line in enumerate(Path(file).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                gold.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(file, f"line {n}", f"not JSON: {exc}") from None
    preds = [clf.classify(_item_from_json(g)) for g in gold]
    report = evaluate(gold, preds)
    click.echo(format_report(report, show_errors=errors))


@cli.command("reclassify")
@click.option("--since", help="Only items since this date or duration (3d).")
@pass_ctx
@handle_errors
def reclassify_cmd(c: Ctx, since: str | None) -> None:
    """Rerun the current watchlists over stored items: milestones found do not alert, and
    milestones no stored item supports any more are withdrawn (recorded, never alerted)."""
    from monitor.app import build_pipeline

    when = parse_since(since)
    engine = _prepared_engine(c, auto=engine_is_sqlite(c))
    pipe = build_pipeline(c.config, engine, c.classifier())
    n, created, withdrawn = pipe.reclassify(since=when)
    asyncio.run(pipe.aclose())
    click.echo(f"reclassified {n} items; {created} new milestones (not alerted); "
               f"{withdrawn} withdrawn")


# -- alerts ----------------------------------------------------------------------------------


@cli.group("alerts")
def alerts_group() -> None:
    """The alert outbox: list, retry, test."""


@alerts_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--state", type=click.Choice(["pending", "delivered", "dead"]))
@click.option("--limit", type=int, default=50, show_default=True)
@pass_ctx
@handle_errors
def alerts_list(c: Ctx, as_json: bool, state: str | None, limit: int) -> None:
    """Alerts, newest first, with their delivery state."""
    from monitor.store.db import sessions
    from monitor.store.outbox import alert_listing

    engine = _prepared_engine(c, auto=False, read_only=True)
    with sessions(engine)() as s:
        rows = alert_listing(s, state=state, limit=limit)
    out = [{"id": r.id, "delivery_id": r.delivery_id, "channel": r.channel, "event": r.event,
            "milestone_id": r.milestone_id, "state": r.state, "attempts": r.attempts,
            "created": _iso(r.created_at), "delivered": _iso(r.delivered_at),
            "next_attempt": _iso(r.next_attempt_at) if r.state == "pending" else None,
            "last_error": r.last_error} for r in rows]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for r in out:
        click.echo(f"{r['id']:>5}  {r['created']}  {r['channel']:12} {r['event']:12} "
                   f"{r['state']:9} tries {r['attempts']}  {r['last_error'] or ''}")


@alerts_group.command("retry")
@click.argument("alert_id", type=int)
@pass_ctx
@handle_errors
def alerts_retry(c: Ctx, alert_id: int) -> None:
    """Put a dead alert back in the queue (same delivery id) and try it now."""
    from monitor.store.db import sessions
    from monitor.store.outbox import retry_alert

    engine = _prepared_engine(c, auto=False)
    with sessions(engine).begin() as s:
        if not retry_alert(s, alert_id, datetime.now(UTC)):
            raise MonitorError(f"alert {alert_id} does not exist or was already delivered")
    stats = _deliver_now(c, engine, [alert_id])
    click.echo(f"alert {alert_id}: {_outcome(stats)}")
    if not stats.delivered:
        sys.exit(1)


@alerts_group.command("test")
@click.argument("channel")
@pass_ctx
@handle_errors
def alerts_test(c: Ctx, channel: str) -> None:
    """Send a test alert to one channel now."""
    from monitor.alerts.outbox import enqueue_test
    from monitor.store.db import sessions

    if channel not in {ch.name for ch in c.config.alerts.channels}:
        raise ConfigError(c.config.source, "alerts.channels", f"no channel named {channel!r}")
    engine = _prepared_engine(c, auto=engine_is_sqlite(c))
    with sessions(engine).begin() as s:
        alert_id = enqueue_test(s, channel, datetime.now(UTC))
    stats = _deliver_now(c, engine, [alert_id])
    click.echo(f"test alert to {channel}: {_outcome(stats)}")
    if not stats.delivered:
        sys.exit(1)


def _deliver_now(c: Ctx, engine: Engine, ids: list[int]) -> Any:
    from monitor.app import build_deliverer

    async def go() -> Any:
        async with build_deliverer(c.config, engine, owner="cli", echo=click.echo) as d:
            return await d.deliver_due(ids=ids)

    return asyncio.run(go())


def _outcome(stats: Any) -> str:
    if stats.delivered:
        return "delivered"
    if stats.dead:
        return "failed permanently (dead); see `monitor alerts list`"
    if stats.retried:
        return "failed, will be retried; see `monitor alerts list`"
    return "nothing sent"


def main() -> None:
    try:
        cli.main(prog_name="monitor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _register_dashboard() -> None:
    from monitor.dashboard.cli import demo, web

    cli.add_command(web)
    cli.add_command(demo)


_register_dashboard()
