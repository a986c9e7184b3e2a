"""The architecture, checked: a pure core, and documentation that covers every key and command."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Mapping
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


# -- the layers: which modules may import what, no cycle, no module too long ---------------

MONITOR = REPO / "monitor"
MODULES = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
           for p in MONITOR.rglob("*.py")}
# Where a library may be imported (a module path, or a package with its subpackages)
ALLOWED = {
    "sqlalchemy": ("monitor.store", "monitor.dashboard.queries", "monitor.migrations"),
    "alembic": ("monitor.store", "monitor.migrations"),
    "httpx": ("monitor.fetch", "monitor.alerts.webhook"),
    "aiohttp": ("monitor.fetch", "monitor.alerts.webhook"),
}
MAX_LINES = 500


def _imports(name: str, path: Path, modules: Mapping[str, Path] = MODULES) -> set[str]:
    """Every module ``name`` imports, anywhere in it (at the top or in a function), except
    under ``if TYPE_CHECKING``; relative imports resolved against the package's ``modules``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            out.update(subs if len(subs) == len(node.names) else [base, *subs])
    return out


def _within(module: str, places: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in places)


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_libraries_stay_in_their_layer(library: str) -> None:
    """SQL in the store (and the dashboard's read queries), HTTP clients in the fetcher and
    the webhook sender: the pipeline and the rest orchestrate through them."""
    bad = sorted(name for name, path in MODULES.items()
                 if not _within(name, ALLOWED[library])
                 and any(_within(m, (library,)) for m in _imports(name, path)))
    assert bad == []


def _import_cycles(modules: Mapping[str, Path]) -> list[list[str]]:
    """Each module's first import cycle, if any, as [module, ..., module] (a package's own
    submodules importing it aside: importing a submodule always runs its package first)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for m in _imports(name, path, modules):
            while m and m not in modules:
                m = m.rpartition(".")[0]
            if m and m != name and not name.startswith(m + "."):
                deps.add(m)
        graph[name] = deps
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        for nxt in sorted(graph[node]):
            cycle = visit(nxt, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None
    return [c for name in sorted(graph) if (c := visit(name, []))]


def test_no_import_cycle() -> None:
    """No module of monitor imports, through others, itself."""
    assert _import_cycles(MODULES) == []


def test_no_module_is_too_long() -> None:
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_layer_checks_can_fail() -> None:
    """The checks above see what they look for (a check that cannot fail proves nothing)."""
    assert "sqlalchemy" in _imports("monitor.store.db", MODULES["monitor.store.db"])
    assert "monitor.store.feeds" in _imports("monitor.pipeline", MODULES["monitor.pipeline"])
    assert _within("monitor.store.items", ALLOWED["sqlalchemy"])
    assert not _within("monitor.storefront", ALLOWED["sqlalchemy"])


def test_the_cycle_check_can_fail(tmp_path: Path) -> None:
    """A synthetic package with a cycle through a relative import and an import inside a
    function is caught; a submodule importing its own package is not a cycle."""
    sources = {
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": "import pkg\nfrom . import b\n",
        "pkg/b.py": "def later() -> None:\n    from pkg.c import thing\n",
        "pkg/c.py": "from .a import something\nthing = 1\n",
        "pkg/d.py": "import pkg.a\n",
    }
    modules = {}
    for rel, text in sources.items():
        path = tmp_path / rel
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        modules[rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")] = path
    cycles = _import_cycles(modules)
    assert cycles and all(len(c) == 4 and c[0] == c[-1] for c in cycles), cycles
    assert {frozenset(c) for c in cycles} == {frozenset({"pkg.a", "pkg.b", "pkg.c"})}
    del modules["pkg.b"]
    assert _import_cycles(modules) == []


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


def test_every_command_is_in_the_cli_reference() -> None:
    import click

    from monitor.cli import cli

    reference = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    names = []
    for name, cmd in cli.commands.items():
        if isinstance(cmd, click.Group):
            names += [f"{name} {sub}" for sub in cmd.commands]
        else:
            names.append(name)
    missing = [n for n in names if f"monitor {n}" not in reference]
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
