"""``monitor web`` (the dashboard on its own) and ``monitor demo`` (the whole product,
offline)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import click

from monitor.cli.common import Ctx, handle_errors, pass_ctx


def _port_free(host: str, port: int) -> bool:
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.bind((host, port))
        return True
    except OSError:
        return False


@click.command("web")
@click.option("--listen", help="HOST:PORT to serve on (default: http.listen of the config).")
@pass_ctx
@handle_errors
def web(c: Ctx, listen: str | None) -> None:
    """Serve the web dashboard and JSON API on their own (no polling)."""
    from monitor.app import open_database
    from monitor.config import HttpConfig
    from monitor.dashboard import build_web_app, check_access_config
    from monitor.web import make_server

    config = c.config
    if listen:
        try:
            http = HttpConfig.model_validate({**config.http.model_dump(), "listen": listen})
        except ValueError as exc:
            raise click.BadParameter(str(exc).splitlines()[-1], param_hint="--listen") from None
        config = config.model_copy(update={"http": http})
    check_access_config(config)
    # like `run` and `poll`: an empty or old SQLite file is upgraded; PostgreSQL is checked
    engine = open_database(config)
    try:
        app = build_web_app(engine, config)
        host, _, port = config.http.listen.rpartition(":")
        click.echo(f"dashboard: http://{host}:{port}/", err=True)
        make_server(app, config.http.listen, own_signals=True).run()
    finally:
        engine.dispose()


@click.command("demo")
@click.option("--listen", default="127.0.0.1:8080", show_default=True,
              help="Where the dashboard is served (a free port is picked when it is taken).")
@click.option("--watchlist", "watchlist_path", type=click.Path(dir_okay=False, exists=True),
              help="Watchlist file (default: config/watchlists/belarus-us.yaml).")
@click.option("--database", help="SQLAlchemy URL to keep the demo's data (default: a temp file).")
@click.option("--exit-after", type=float, default=None, hidden=True,
              help="Stop after this many seconds (for smoke tests).")
@handle_errors
def demo(listen: str, watchlist_path: str | None, database: str | None,
         exit_after: float | None) -> None:
    """Run the whole product offline: sample feeds, alerts on the console, the dashboard.
    (It builds its own config: it needs no config file.)"""
    import tempfile

    from monitor.app import build_classifier, open_database
    from monitor.dashboard.demo import DemoFeedServer, demo_config, find_watchlist
    from monitor.log import setup_logging
    from monitor.scheduler import Daemon

    setup_logging("warning", "auto")  # the demo's output is its alerts, not the daemon's log
    watchlist = Path(watchlist_path) if watchlist_path else find_watchlist()
    host, _, port = listen.rpartition(":")
    if not port.isdigit() or not host:
        raise click.BadParameter("write it as HOST:PORT", param_hint="--listen")
    if not _port_free(host.strip("[]"), int(port)):
        with socket.socket() as s:
            s.bind((host.strip("[]"), 0))
            port = str(s.getsockname()[1])
        click.echo(f"port {listen.rpartition(':')[2]} is taken; using {port}", err=True)
    feeds = DemoFeedServer()
    feeds.start()
    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'demo.db'}"
        config = demo_config(feeds.base, url, watchlist, f"{host}:{port}")
        classifier = build_classifier(config)
        engine = open_database(config, upgrade=True)
        try:
            daemon = Daemon(config, engine, classifier, config_path=None, serve_http=True,
                            echo=click.echo)
            click.echo(f"monitor demo: sample feeds at {feeds.base}/ ; alerts print below.")
            click.echo(f"dashboard: http://{host}:{port}/   (Ctrl-C to stop)")
            asyncio.run(_run(daemon, exit_after))
        finally:
            engine.dispose()
            feeds.stop()


async def _run(daemon: Any, exit_after: float | None) -> None:
    if exit_after is not None:
        asyncio.get_running_loop().call_later(exit_after, daemon.stop)
    await daemon.run()
