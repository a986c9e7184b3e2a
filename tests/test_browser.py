"""The dashboard in a real browser: headless Chromium from Debian, driven by Playwright.

Chromium is Debian's package (``apt-get install chromium``, installed by ``.ci/run``); Playwright
only drives it (``executable_path``), we never download a browser (tests/browser.py). Without
/usr/bin/chromium the tests skip, unless ``CI=true``, when they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, chromium_missing, new_page, serve_dashboard, write_screenshot
from tests.conftest import need
from tests.test_dashboard import EVIL, NOISE

TOKEN = "browser-secret"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = chromium_missing()
    if why:
        need(why)
    with chromium() as b:
        yield b


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start the dashboard on a seeded SQLite database (tests.browser.serve_dashboard); returns
    its URL."""
    with ExitStack() as servers:
        started: list[str] = []

        def start(*, showcase: bool = False, **http: Any) -> str:
            database = tmp_path / f"db{len(started)}.sqlite"
            started.append(servers.enter_context(
                serve_dashboard(database, showcase=showcase, **http)))
            return started[-1]

        yield start


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with new_page(browser) as pg:
        yield pg


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


def test_screenshot_for_readme(browser: Any, tmp_path: Path) -> None:
    """The README's picture as scripts/screenshot writes it, here into tmp_path."""
    out = tmp_path / "timeline.png"
    assert write_screenshot(browser, out) == [
        "Belarus frees 14 political prisoners", "US eases sanctions on Belarusian potash",
        "US names an ambassador to Belarus"]
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1000, 760)
    assert len(png) > 10_000          # a rendered page: a blank one compresses to far less
