"""A real HTTP server on 127.0.0.1 for tests: serves feeds and records webhook POSTs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Reply]


class FeedServer:
    """Routes are exact paths; a route is a Reply, a list of Replies (served in turn, the last
    one repeating) or a function of the request."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | list[Reply] | Handler] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.posted = threading.Condition(self.lock)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Reply | list[Reply] | Handler) -> str:
        self.routes[path] = route
        return self.url(path)

    def feed(self, path: str, body: bytes | str, content_type: str = "application/rss+xml",
             **headers: str) -> str:
        data = body.encode() if isinstance(body, str) else body
        return self.add(path, Reply(200, data, {"Content-Type": content_type, **headers}))

    def posts(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"
                    and (path is None or r.path == path)]

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.path == path)

    def start(self) -> None:
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, self.path, {k.lower(): v for k, v in
                                                         self.headers.items()}, body)
                with server.posted:
                    server.requests.append(req)
                    route = server.routes.get(self.path,
                                              server.routes.get(self.path.split("?")[0]))
                    if isinstance(route, list):
                        reply = route.pop(0) if len(route) > 1 else route[0]
                    elif callable(route):
                        reply = None
                    else:
                        reply = route
                    server.posted.notify_all()
                if callable(route) and not isinstance(route, list | Reply):
                    reply = route(req)
                if reply is None:
                    reply = Reply(404, b"not found")
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD" and reply.status not in (204, 304):
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_HEAD = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def wait_posts(self, n: int, path: str | None = None, timeout: float = 10.0) -> list[Request]:
        """Block until ``n`` POSTs (to ``path``) arrived, or the timeout; returns them."""
        with self.posted:
            self.posted.wait_for(lambda: len([r for r in self.requests if r.method == "POST"
                                              and (path is None or r.path == path)]) >= n,
                                 timeout=timeout)
        return self.posts(path)

    def wait_hits(self, path: str, n: int = 1, timeout: float = 20.0) -> int:
        """Block until ``path`` was requested ``n`` times, or the timeout; returns the count."""
        with self.posted:
            self.posted.wait_for(lambda: sum(1 for r in self.requests
                                             if r.path == path) >= n, timeout=timeout)
        return self.hits(path)

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
