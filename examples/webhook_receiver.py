"""A minimal receiver for monitor's webhook alerts (standard library only).

    MONITOR_WEBHOOK_SECRET=s3cret python examples/webhook_receiver.py --port 9000

It checks, in this order:
1. ``X-Monitor-Signature`` is ``sha256=`` + HMAC-SHA256 of the raw body with the shared secret,
   compared in constant time (``hmac.compare_digest``). Anything else: 401.
2. ``sent_at`` (inside the signed body) is within 5 minutes of the local clock, so a captured
   request cannot be replayed later. Too old or too far ahead: 400 (monitor does not retry it;
   its own retries are re-signed with a fresh ``sent_at``).
3. ``X-Monitor-Delivery`` has not been seen in the last 5 minutes; a retry of a delivery that
   already arrived gets 200 again and is not processed twice. Older ids need not be kept:
   step 2 rejects their bodies anyway.
Then it prints the milestone (or the event) and answers 204. Unknown events are accepted and
ignored, as the contract asks.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

MAX_SKEW = 300.0  # seconds
MAX_BODY = 1024 * 1024


def signature_ok(body: bytes, secret: str, header: str | None) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())


def parse_time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class Deliveries:
    """Delivery ids seen in the replay window (thread-safe)."""

    def __init__(self, window: float = MAX_SKEW) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, delivery_id: str, now: float) -> bool:
        with self._lock:
            # Twice the window: ids stay remembered as long as a body may still be accepted.
            cutoff = now - 2 * self.window
            for old in [k for k, t in self._seen.items() if t < cutoff]:
                del self._seen[old]
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = now
            return True


def describe(payload: dict[str, Any]) -> str:
    event = payload.get("event")
    if event == "milestone":
        m = payload.get("milestone", {})
        sources = ", ".join(i.get("url") or i.get("title", "?") for i in m.get("items", []))
        return (f"[{m.get('watchlist')}] {m.get('type')} ({m.get('status')}): "
                f"{m.get('title')} — first seen {m.get('first_seen')} — {sources}")
    if event in ("feed_unhealthy", "feed_recovered"):
        f = payload.get("feed", {})
        return f"{event}: {f.get('name')} — {f.get('reason')}"
    return f"ignored event {event!r}"


def make_handler(secret: str, deliveries: Deliveries, out: TextIO = sys.stdout,
                 clock: Callable[[], float] = time.time) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._reply(413, "too large")
            body = self.rfile.read(length)
            if not signature_ok(body, secret, self.headers.get("X-Monitor-Signature")):
                return self._reply(401, "bad signature")
            try:
                payload = json.loads(body)
            except ValueError:
                return self._reply(400, "not JSON")
            now = clock()
            sent = parse_time(payload.get("sent_at"))
            if sent is None or abs(now - sent) > MAX_SKEW:
                return self._reply(400, "stale or missing sent_at (replay?)")
            delivery = self.headers.get("X-Monitor-Delivery") or ""
            if not delivery:
                return self._reply(400, "missing X-Monitor-Delivery")
            if not deliveries.first_time(delivery, now):
                return self._reply(200, "duplicate delivery, already processed")
            print(describe(payload), file=out, flush=True)
            self._reply(204, "")

        def _reply(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if status != 204:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep stdout for the alerts themselves

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    secret = os.environ.get("MONITOR_WEBHOOK_SECRET")
    if not secret:
        print("set MONITOR_WEBHOOK_SECRET to the channel's secret", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secret, Deliveries()))
    print(f"listening on http://{args.host}:{server.server_port}/", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
