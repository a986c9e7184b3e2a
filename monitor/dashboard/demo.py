"""``monitor demo``'s parts: a local feed server for the bundled sample feeds, and its config.

The sample feeds in ``monitor/demo/`` are fictional, written for this project. Their dates are
written ``{{ago:26h}}`` and filled in when served, relative to now, so the items are fresh
enough to alert (``alerting.max_item_age``) whenever the demo runs.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

from monitor.config import Config, parse_duration
from monitor.errors import ConfigError

_AGO = re.compile(r"\{\{ago:([0-9.]+[smhd])\}\}")
# name, file, language, outlet
DEMO_FEEDS = [
    ("demo-wire", "wire-en.xml", "en", "Demo Wire"),
    ("demo-embassy", "embassy-en.xml", "en", "Demo Embassy Press Office"),
    ("demo-vesti", "vesti-ru.xml", "ru", "Demo Vesti"),
]


def render_feed(text: str, now: datetime) -> str:
    """Replace every ``{{ago:DURATION}}`` with an RFC 822 date that long before ``now``."""
    return _AGO.sub(lambda m: format_datetime(now - timedelta(seconds=parse_duration(m[1])),
                                              usegmt=True), text)


def demo_dir() -> Path:
    return Path(str(files("monitor") / "demo"))


def find_watchlist() -> Path:
    """The Belarus–US watchlist, from the working directory or the source checkout."""
    candidates = [Path("config/watchlists/belarus-us.yaml"),
                  Path(__file__).resolve().parents[2] / "config/watchlists/belarus-us.yaml"]
    for p in candidates:
        if p.is_file():
            return p
    raise ConfigError(None, "watchlists", "config/watchlists/belarus-us.yaml not found: run the "
                      "demo from the repository folder or pass --watchlist PATH")


class DemoFeedServer:
    """Serves the sample feeds on 127.0.0.1 on a free port, in a daemon thread."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or demo_dir()
        self.hits: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        folder, hits = self.folder, self.hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: the demo prints alerts
                return

            def do_GET(self) -> None:
                name = self.path.lstrip("/").split("?", 1)[0]
                path = folder / name
                if "/" in name or not name.endswith(".xml") or not path.is_file():
                    self.send_error(404)
                    return
                hits[name] = hits.get(name, 0) + 1
                body = render_feed(path.read_text(encoding="utf-8"),
                                   datetime.now(UTC)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="demo-feeds",
                         daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def demo_config(feeds_base: str, database_url: str, watchlist: Path, listen: str) -> Config:
    """The demo's config, built in code: the sample feeds, a console channel, the dashboard."""
    return Config.model_validate({
        "database": {"url": database_url},
        "feeds": [{"name": name, "url": f"{feeds_base}/{file}", "language": lang,
                   "outlet": outlet, "interval": "2m"} for name, file, lang, outlet in DEMO_FEEDS],
        "watchlists": [str(watchlist.resolve())],
        "fetch": {"allow_private_networks": True, "per_host_min_gap": 0},
        "schedule": {"tick": "2s"},
        "alerts": {"channels": [{"name": "console", "type": "console"}]},
        "http": {"listen": listen},
        "log": {"level": "warning"},
    })
