"""The feed farm: N static RSS files and an nginx serving them on 127.0.0.1 (ETag on).

Each feed holds ``items`` items of about 800 bytes (≈ 25 KB a feed): mostly generated wire
copy in English and Russian, with one item in ten taken from the labelled dev set, so the
classifier sees a realistic mix of relevant and irrelevant text.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

DEV = Path(os.environ.get("MONITOR_DEV_SET",
                         str(Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl")))

_EN = ("the council minister said on monday that talks on trade and energy would resume "  # noqa: SIM905
       "after "
       "a pause of several months while officials in the capital reviewed budget plans for "
       "schools roads hospitals and the port authority which reported record cargo volumes "
       "as farmers complained about fuel prices and a storm damaged power lines across the "
       "north where repair crews worked through the night").split()
_RU = ("правительство заявило в понедельник что переговоры о торговле и энергетике "  # noqa: SIM905
       "возобновятся после паузы в несколько месяцев пока чиновники в столице изучали планы "
       "бюджета для школ дорог больниц и порта который сообщил о рекордных объемах грузов").split()


def _sentence(rng: random.Random, words: list[str], n: int) -> str:
    s = " ".join(rng.choice(words) for _ in range(n))
    return s[:1].upper() + s[1:] + "."


def _dev_items() -> list[tuple[str, str]]:
    if not DEV.exists():
        return []
    out = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        out.append((d["title"], d.get("summary", "")))
    return out


@dataclass
class Item:
    guid: str
    title: str
    link: str
    description: str
    published: datetime


class Farm:
    """Writes and rewrites the feed files; ``url(i)`` is where nginx serves feed ``i``."""

    def __init__(self, root: Path, n_feeds: int, items: int = 30, seed: int = 1) -> None:
        self.root = root
        self.n_feeds = n_feeds
        self.items_per_feed = items
        self.rng = random.Random(seed)
        self.dev = _dev_items()
        self.port = 0
        self.feeds: list[list[Item]] = []
        self._serial = 0

    def path(self, i: int) -> Path:
        return self.root / "feeds" / f"f{i:05d}.xml"

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.port}/f{i:05d}.xml"

    def new_item(self, i: int, when: datetime, text: tuple[str, str] | None = None) -> Item:
        self._serial += 1
        n = self._serial
        rng = self.rng
        if text is None and self.dev and rng.random() < 0.1:
            text = rng.choice(self.dev)
        if text is not None:
            title, summary = text
            body = f"<p>{escape(summary)}</p>"
        else:
            words = _RU if rng.random() < 0.3 else _EN
            title = _sentence(rng, words, 9)[:-1]
            paras = [_sentence(rng, words, 18) + " " + _sentence(rng, words, 14)
                     for _ in range(3)]
            body = "".join(f"<p>{escape(p)}</p>" for p in paras)
        return Item(guid=f"urn:farm:{i}:{n}", title=title,
                    link=f"https://news{i % 97}.example.org/{when:%Y/%m/%d}/story-{n}?utm_source=rss",
                    description=body, published=when)

    def build(self) -> None:
        """Write every feed with ``items`` items published over the last day."""
        feeds_dir = self.root / "feeds"
        if feeds_dir.exists():
            shutil.rmtree(feeds_dir)
        feeds_dir.mkdir(parents=True)
        now = datetime.now(UTC)
        self.feeds = []
        for i in range(self.n_feeds):
            items = [self.new_item(i, now - timedelta(minutes=45 * k))
                     for k in range(self.items_per_feed)]
            self.feeds.append(items)
            self.write(i)

    def add(self, i: int, item: Item) -> None:
        """Put a new item on top of feed ``i`` (the oldest one drops off), atomically."""
        self.feeds[i] = [item, *self.feeds[i][:self.items_per_feed - 1]]
        self.write(i)

    def touch_all(self) -> None:
        """New mtime, same bytes: nginx sends a new ETag, so every feed is re-downloaded."""
        t = time.time() + 1
        for i in range(self.n_feeds):
            os.utime(self.path(i), (t, t))

    def write(self, i: int) -> None:
        items = self.feeds[i]
        parts = [(f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
                  f"<title>Farm feed {i}</title><link>https://news{i % 97}.example.org/</link>"
                  f"<description>Synthetic feed {i}</description><language>en</language>")]
        for it in items:
            parts.append(
                f"<item><title>{escape(it.title)}</title><link>{escape(it.link)}</link>"
                f'<guid isPermaLink="false">{it.guid}</guid>'
                f"<pubDate>{format_datetime(it.published)}</pubDate>"
                f"<description>{escape(it.description)}</description></item>")
        parts.append("</channel></rss>\n")
        path = self.path(i)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(parts), encoding="utf-8")
        os.replace(tmp, path)


_NGINX_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    etag on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    open_file_cache off;
    default_type application/rss+xml;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Nginx:
    """nginx as our own child process (``daemon off``), with a generated config."""

    def __init__(self, farm: Farm, binary: str = "/usr/sbin/nginx") -> None:
        self.farm = farm
        self.binary = shutil.which("nginx") or binary
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        prefix = self.farm.root / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = prefix / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(prefix=prefix, port=port, user=user,
                                           root=self.farm.root / "feeds"))
        self.proc = subprocess.Popen([self.binary, "-c", str(conf), "-p", str(prefix),
                                      "-g", "daemon off;"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"nginx did not start; see {prefix / 'error.log'}")
        self.farm.port = port

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
