"""``monitor classify``, ``monitor eval`` and ``monitor reclassify``."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor.cli.common import (
    Ctx,
    handle_errors,
    parse_since,
    pass_ctx,
    prepared_engine,
)
from monitor.errors import ConfigError


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


@click.command("classify")
@click.option("--watchlist", help="Only this watchlist.")
@click.option("--explain", is_flag=True,
              help="Also list, under \"rejected\", each rule whose words were found but that "
                   "did not fire, and the guard that stopped it.")
@pass_ctx
@handle_errors
def classify_cmd(c: Ctx, watchlist: str | None, explain: bool) -> None:
    """Read JSON Lines on stdin, write one classification line per input line."""
    clf = c.classifier()
    if watchlist and watchlist not in clf.watchlist_names:
        raise c.unknown("watchlists", "watchlist", watchlist)
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


@click.command("eval")
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


@click.command("reclassify")
@click.option("--since", help="Only items since this date or duration (3d).")
@pass_ctx
@handle_errors
def reclassify_cmd(c: Ctx, since: str | None) -> None:
    """Rerun the current watchlists over stored items: milestones found do not alert, and
    milestones no stored item supports any more are withdrawn (recorded, never alerted)."""
    from monitor.app import build_pipeline

    when = parse_since(since)
    engine = prepared_engine(c)
    pipe = build_pipeline(c.config, engine, c.classifier())
    try:
        n, created, withdrawn = pipe.reclassify(since=when)
    finally:
        asyncio.run(pipe.aclose())
        engine.dispose()
    click.echo(f"reclassified {n} items; {created} new milestones (not alerted); "
               f"{withdrawn} withdrawn")
