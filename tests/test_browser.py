"""The dashboard in a real browser: headless Chromium from Debian, driven by Playwright.

Chromium is Debian's package (``apt-get install chromium``, installed by ``.ci/run``); Playwright
only drives it (``executable_path``), we never download a browser. Without /usr/bin/chromium the
tests skip, unless ``CI=true``, when they fail. ``MONITOR_SCREENSHOT=1`` also writes the README's
``docs/screenshot-timeline.png``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.dashboard import build_web_app
from monitor.store.db import make_engine, upgrade
from tests.conftest import REPO, need
from tests.test_dashboard import EVIL, NOISE, make_config, seed

CHROMIUM = os.environ.get("MONITOR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "browser-secret"
# read at import: the autouse fixture in conftest clears MONITOR_* before each test
SCREENSHOT = os.environ.get("MONITOR_SCREENSHOT") == "1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        need(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("playwright is not installed: pip install playwright (never `playwright install`)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start the dashboard with uvicorn in a thread on a seeded SQLite database; returns its URL."""
    import uvicorn

    servers: list[tuple[uvicorn.Server, threading.Thread, Any]] = []

    def start(*, showcase: bool = False, **http: Any) -> str:
        engine = make_engine(f"sqlite:///{tmp_path / f'db{len(servers)}.sqlite'}")
        upgrade(engine)
        seed(engine, showcase=showcase)
        port = _free_port()
        app = build_web_app(engine, make_config(f"127.0.0.1:{port}", **http))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_config=None, access_log=False,
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread, engine))
        for _ in range(500):
            if server.started:
                break
            thread.join(0.01)
        assert server.started, "uvicorn did not start"
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for server, thread, engine in servers:
            server.should_exit = True
            thread.join(10)
            engine.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1100, "height": 900}, timezone_id="Europe/Minsk")
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()


def test_timeline_in_order_and_script_inert(serve: Any, page: Any) -> None:
    base = serve()
    page.goto(f"{base}/watchlists/belarus-us")
    titles = page.locator(".milestone .m-title").all_inner_texts()
    assert titles == [EVIL, "US eases sanctions on Belarusian potash",
                      "US names an ambassador to Belarus"]
    # the <script> title is text on the page and never ran
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("script").count() == 1  # ours: /static/dashboard.js
    # dashboard.js rewrote the UTC times into the viewer's zone (so it ran under the CSP)
    first = page.locator(".milestone time").first
    assert first.get_attribute("datetime").endswith("Z")
    assert not first.inner_text().endswith("UTC")
    page.goto(f"{base}/milestones/m-pris")
    assert page.locator("h1").inner_text() == EVIL
    assert page.locator(".sources mark").first.inner_text().startswith("Minsk pardoned")
    assert page.evaluate("window.__pwned === undefined")


def test_filter_narrows_items(serve: Any, page: Any) -> None:
    base = serve()
    page.goto(f"{base}/items")
    assert page.locator("li.item").count() == 3 + NOISE
    page.select_option("select[name=feed]", "wire")
    with page.expect_navigation():
        page.click("form.filters button")
    assert "feed=wire" in page.url
    assert page.locator("li.item").count() == 2
    page.check("input[name=relevant]")
    page.fill("input[name=q]", "nominate")
    with page.expect_navigation():
        page.click("form.filters button")
    assert page.locator("li.item .i-title").all_inner_texts() == [
        "White House to nominate ambassador to Belarus"]


def test_refused_without_token(serve: Any, page: Any) -> None:
    base = serve(token=TOKEN)
    response = page.goto(f"{base}/watchlists/belarus-us")
    assert response is not None and response.status == 401
    assert "US names an ambassador" not in page.content()
    response = page.goto(f"{base}/watchlists/belarus-us?token={TOKEN}")
    assert response is not None and response.status == 200
    assert page.locator(".milestone").count() == 3
    page.click("nav a[href='/items']")  # the session cookie carries the token on
    assert page.locator("li.item").count() == 3 + NOISE


def test_screenshot_for_readme(serve: Any, page: Any, tmp_path: Path) -> None:
    """The README's screenshot renders; ``MONITOR_SCREENSHOT=1`` writes it into docs/."""
    base = serve(showcase=True)
    page.set_viewport_size({"width": 1000, "height": 760})
    page.goto(f"{base}/watchlists/belarus-us")
    page.locator("details").first.evaluate("d => d.open = true")
    assert page.locator(".milestone").count() >= 3
    out = REPO / "docs" / "screenshot-timeline.png" if SCREENSHOT else tmp_path / "shot.png"
    out.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(out))
    assert out.stat().st_size > 10_000
