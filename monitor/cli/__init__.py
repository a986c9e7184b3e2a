"""The command line: one module per command group; ``main`` maps errors to exit codes
(0 success, 1 a runtime failure, 2 a usage or configuration error: CONTRACT.md)."""

from __future__ import annotations

import sys

import click

from monitor.cli import alerts, classify, config, daemon, listings, web
from monitor.cli.common import Ctx
from monitor.log import setup_logging


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


for command in (config.check_config, config.db_group, daemon.run, daemon.poll,
                listings.feeds_cmd, listings.items_cmd, listings.milestones_cmd,
                classify.classify_cmd, classify.eval_cmd, classify.reclassify_cmd,
                alerts.alerts_group, web.web, web.demo):
    cli.add_command(command)


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
