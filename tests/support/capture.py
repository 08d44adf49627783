"""A real HTTP server that records every request's raw bytes and answers from a script.

Used to check byte for byte what the client puts on the wire, without a mock library between
the client and the socket; and, standing in for Slack or Telegram, to receive what Prefect's
notification blocks send (each request keeps the wall-clock time it arrived, ``at``, so a test
can measure how long a message took).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Captured:
    method: str
    target: str  # the raw request-target: path and query exactly as sent
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # when it arrived (epoch seconds)


Reply = tuple[int, Any]  # (HTTP status, JSON-able body or raw bytes)
Responder = Callable[[Captured], Reply | None]


@dataclass
class CaptureServer:
    base_url: str = ""
    requests: list[Captured] = field(default_factory=list)
    replies: deque[Reply | Responder] = field(default_factory=deque)
    default: Responder | None = None
    #: Answer ``GET /api/v5/public/time`` with the real time, outside the script and outside
    #: ``requests`` (a client syncs its clock before its first private call), when True.
    serve_time: bool = False
    time_requests: int = 0

    def reply(self, status: int, body: Any) -> None:
        """Queue the answer to the next request."""
        self.replies.append((status, body))

    def answer(self, request: Captured) -> Reply:
        while self.replies:
            item = self.replies.popleft()
            result = item(request) if callable(item) else item
            if result is not None:
                return result
        if self.default is not None:
            result = self.default(request)
            if result is not None:
                return result
        return 200, {"code": "0", "msg": "", "data": []}


@contextmanager
def capture_server() -> Iterator[CaptureServer]:
    state = CaptureServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            captured = Captured(self.command, self.path, dict(self.headers.items()), body)
            if state.serve_time and self.command == "GET" and self.path == "/api/v5/public/time":
                state.time_requests += 1
                status, payload = 200, {"code": "0", "msg": "", "data": [{"ts": str(int(time.time() * 1000))}]}
            else:
                state.requests.append(captured)
                status, payload = state.answer(captured)
            if payload == "DROP":
                self.close_connection = True
                self.connection.close()
                return
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
