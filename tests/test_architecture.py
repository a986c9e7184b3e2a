"""The architecture, checked: a pure core, and documentation that covers every key and command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from monitor.config import Config

REPO = Path(__file__).resolve().parents[1]
PURE = ["monitor.parse", "monitor.policy", "monitor.milestones", "monitor.model", "monitor.urls",
        "monitor.classify", "monitor.alerts.render", "monitor.alerts.render_email"]
IO = ["httpx", "sqlalchemy", "smtplib", "aiosmtplib", "apscheduler", "psycopg"]


@pytest.mark.parametrize("module", PURE)
def test_core_modules_do_no_io(module: str) -> None:
    code = (f"import sys, {module}; bad = [m for m in {IO!r} if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"{module} imports {out}"


def test_the_daemon_does_not_load_the_parser() -> None:
    """Workers parse; the daemon's process imports no parser (about 8 MB of its memory)
    until it parses itself (``schedule.parse_workers: 0``)."""
    code = ("import sys, monitor.app, monitor.cli, monitor.pipeline, monitor.scheduler, "
            "monitor.web; "
            "print(','.join(m for m in ('monitor.parse', 'feedparser', 'lxml', 'w3lib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"the daemon imports {out}"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        out.append(key)
        ann: Any = field.annotation
        for arg in getattr(ann, "__args__", ()) or ():
            for sub in getattr(arg, "__args__", ()) or (arg,):
                if isinstance(sub, type) and issubclass(sub, BaseModel):
                    out += _keys(sub, f"{prefix}{key}.")
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, f"{prefix}{key}.")
    return out


def test_every_config_key_is_documented() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    from monitor.config import ConsoleChannel, EmailChannel, WebhookChannel

    keys = set(_keys(Config))
    for ch in (WebhookChannel, EmailChannel, ConsoleChannel):
        keys |= set(_keys(ch))
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    import click

    from monitor.cli import cli

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = []
    for name, cmd in cli.commands.items():
        if isinstance(cmd, click.Group):
            names += [f"{name} {sub}" for sub in cmd.commands]
        else:
            names.append(name)
    missing = [n for n in names if f"monitor {n}" not in readme]
    assert missing == []


def test_settle_gc_lets_go_of_what_was_frozen_before() -> None:
    """A reload settles again: the old pipeline, frozen at start, must still be collectable."""
    code = """
import gc, weakref
from monitor.runtime import GC_THRESHOLDS, settle_gc
class Node: pass
old = Node(); old.self = old                  # a cycle: only the collector frees it
ref = weakref.ref(old)
assert settle_gc() > 0 and ref() is not None  # frozen with the rest of start-up
del old
settle_gc()
print(ref() is None, gc.get_threshold() == GC_THRESHOLDS)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True True"
