"""The dashboard in a real browser: served by uvicorn on seeded rows, rendered by headless
Chromium from Debian (``apt-get install chromium``), driven by Playwright.

Playwright only drives /usr/bin/chromium (``executable_path``); it never downloads a browser.
tests/test_browser.py uses these parts; scripts/screenshot runs this module to write the
README's docs/screenshot-timeline.png (``python -m tests.browser [OUT]``).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.dashboard import build_web_app
from monitor.store.db import make_engine, upgrade
from tests.test_dashboard import make_config, seed

CHROMIUM = os.environ.get("MONITOR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshot-timeline.png"
SCREENSHOT_SIZE = {"width": 1000, "height": 760}


def chromium_missing() -> str | None:
    """Why Chromium cannot be driven here, or None when it can."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install playwright (never `playwright install`)"
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, launched through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Any) -> Iterator[Any]:
    """A page in a context of its own, in Minsk's time zone (dashboard.js shows local times)."""
    context = browser.new_context(viewport={"width": 1100, "height": 900},
                                  timezone_id="Europe/Minsk")
    try:
        yield context.new_page()
    finally:
        context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_dashboard(database: Path, *, showcase: bool = False, **http: Any) -> Iterator[str]:
    """The dashboard on a SQLite file at ``database`` seeded with tests.test_dashboard's rows,
    served by uvicorn in a thread on a free port of 127.0.0.1; yields its URL."""
    import uvicorn

    engine = make_engine(f"sqlite:///{database}")
    try:
        upgrade(engine)
        seed(engine, showcase=showcase)
        port = _free_port()
        app = build_web_app(engine, make_config(f"127.0.0.1:{port}", **http))
        tried = threading.Event()

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                try:
                    await super().startup(sockets=sockets)   # sets started when listening
                finally:
                    tried.set()                              # also when it could not listen

        server = Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                       access_log=False, lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            if not (tried.wait(5) and server.started):
                raise RuntimeError("uvicorn did not start")
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)
    finally:
        engine.dispose()


def write_screenshot(browser: Any, out: Path) -> list[str]:
    """The README's picture: the showcase rows' belarus-us timeline at 1000×760, the first
    milestone's details open, written to ``out`` as PNG. Returns the milestone titles shown."""
    with tempfile.TemporaryDirectory() as tmp, \
            serve_dashboard(Path(tmp) / "monitor.db", showcase=True) as base, \
            new_page(browser) as page:
        page.set_viewport_size(SCREENSHOT_SIZE)
        page.goto(f"{base}/watchlists/belarus-us")
        page.locator("details").first.evaluate("d => d.open = true")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        titles: list[str] = page.locator(".milestone .m-title").all_inner_texts()
        return titles


def main(argv: list[str]) -> int:
    """scripts/screenshot: write docs/screenshot-timeline.png (or the path given)."""
    out = Path(argv[0]) if argv else SCREENSHOT
    why = chromium_missing()
    if why:
        print(f"screenshot: {why}", file=sys.stderr)
        return 1
    with chromium() as browser:
        titles = write_screenshot(browser, out)
    print(f"wrote {out}: {len(titles)} milestones")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
