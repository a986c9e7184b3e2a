"""``monitor check-config`` and ``monitor db upgrade``."""

from __future__ import annotations

import click

from monitor.cli.common import Ctx, handle_errors, pass_ctx
from monitor.config import redact
from monitor.errors import RevisionError


@click.command("check-config")
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
    for wl in clf.watchlists:
        click.echo(f"  watchlist {wl.name} v{wl.version}: {len(wl.actors)} actors, "
                   f"{len(wl.milestones)} milestone types")
    if not clf.watchlists:
        click.echo("  watchlists: (none)")
    chans = ", ".join(f"{ch.name} ({ch.type}, {ch.mode})" for ch in config.alerts.channels)
    click.echo(f"  alert channels: {chans or '(none)'}")
    click.echo(f"  http: {config.http.listen}")
    if show:
        import yaml

        click.echo(yaml.safe_dump(redact(config), sort_keys=False, allow_unicode=True))


@click.group("db")
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
    try:
        upgrade(engine, revision)
    except RevisionError as exc:
        raise click.BadParameter(str(exc), param_hint="--revision") from None
    after = current_revision(engine)
    click.echo(f"database schema: {before or 'empty'} -> {after}")
