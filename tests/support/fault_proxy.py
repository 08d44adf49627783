"""A loopback HTTP/1.1 proxy for tests that delays, swallows and loses requests on purpose.

The simulator's own faults act inside the server; these act on the wire between a client and the
server, where real networks fail: a request stuck long enough for the client to give up and still
arriving later, a reply lost after the order was applied, a network that takes everything and
answers nothing.

Contract:

* ``FaultProxy(upstream_url)`` listens on 127.0.0.1 on a free port at once; ``.url`` is its base
  URL. Use it as a context manager (or call ``close()``): closing stops accepting, closes every
  connection and abandons requests still held by a delay (they are never forwarded).
* It parses just enough HTTP/1.1 to tell requests apart on a kept-alive client connection
  (request line, headers, a Content-Length or chunked body). Every request is forwarded unchanged
  over a new upstream connection of its own, and the upstream reply (Content-Length, chunked, or
  read until close) is relayed unchanged. The client connection stays open for the next request
  unless the request or the reply said ``Connection: close``.
* Behaviours match a request by method and path (query string ignored); each is used up after
  ``times`` matches (``None``: never), the first one set wins:

  - ``delay_request(method, path, seconds=, times=)``: hold the request ``seconds`` before
    forwarding it, whatever the client does meanwhile: it still reaches upstream after the delay,
    like a packet stuck in the network. The reply goes to the client if it is still listening.
  - ``drop_reply(method, path, times=, then_refuse=)``: forward the request, wait for upstream's
    reply (so the request was applied), then close the client connection without sending any of
    it; with ``then_refuse``, the network also goes down right then (see ``refuse``).

* ``blackhole(True)``: from now on every request is read and counted, never forwarded and never
  answered; its connection stays open until the client closes it. ``blackhole(False)`` serves
  later requests again (swallowed ones stay lost).
* ``refuse(True)``: the network is down and says so at once: every request is read, counted and
  answered by closing its connection (a reset, not a reply); ``refuse(False)`` serves again.
* ``requests_seen`` counts every request read from a client per ``(method, path)``, whatever
  happened to it; ``forwarded`` counts those sent upstream.
* An upstream that cannot be reached closes the client connection without a reply.
* A WebSocket handshake (``Upgrade: websocket``) is answered ``404`` and never forwarded: the
  proxy carries HTTP only, like many corporate proxies, so a run behind it learns at once that
  there are no streams and settles by polling REST, the path these faults are aimed at. It is
  counted in ``requests_seen``, not in ``forwarded``.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Literal
from urllib.parse import urlsplit

#: Longest request or status line plus headers accepted, in bytes.
MAX_HEAD = 64 * 1024
#: How long to wait for upstream's reply before giving up on it.
UPSTREAM_TIMEOUT = 60.0
#: How often waiting threads look at whether the proxy was closed.
POLL = 0.2
#: The answer to a WebSocket handshake: this proxy carries HTTP only.
NO_WEBSOCKET = (b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n"
                b"Connection: close\r\n\r\nno WebSocket through here")


class ProtocolError(Exception):
    """The bytes on a connection are not HTTP/1.1 this proxy understands; the connection is closed."""


@dataclass
class _Rule:
    kind: Literal["delay", "drop"]
    method: str
    path: str
    times: int | None
    seconds: float = 0.0
    then_refuse: bool = False


@dataclass(frozen=True)
class _Message:
    """One request or reply: its raw bytes and what the proxy needs to know about it."""

    raw: bytes
    first_line: str
    headers: dict[str, str]

    @property
    def closes(self) -> bool:
        return "close" in self.headers.get("connection", "").lower()


class FaultProxy:
    """See the module docstring.

    Example:
        with running_simulator() as sim, FaultProxy(sim.base_url) as proxy:
            proxy.drop_reply("POST", "/api/v5/trade/order")
            OkxClient(sim.credentials, base_url=proxy.url).place_order(order)  # NetworkError
    """

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self.requests_seen: Counter[tuple[str, str]] = Counter()
        self.forwarded: Counter[tuple[str, str]] = Counter()
        self._rules: list[_Rule] = []
        self._blackhole = False
        self._refuse = False
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._clients: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._start(self._accept_loop)

    # -- behaviours ----------------------------------------------------------------------------
    def delay_request(self, method: str, path: str, *, seconds: float, times: int | None = 1) -> None:
        """Hold the next ``times`` matching requests ``seconds`` each, then forward them anyway."""
        with self._lock:
            self._rules.append(_Rule("delay", method.upper(), path, times, seconds))

    def drop_reply(self, method: str, path: str, *, times: int | None = 1, then_refuse: bool = False) -> None:
        """Forward the next ``times`` matching requests, then close the client without their reply;
        ``then_refuse``: and the network goes down at that instant (``refuse(True)``)."""
        with self._lock:
            self._rules.append(_Rule("drop", method.upper(), path, times, then_refuse=then_refuse))

    def blackhole(self, on: bool = True) -> None:
        """Swallow every request from now on (``True``), or serve again (``False``)."""
        with self._lock:
            self._blackhole = on

    def refuse(self, on: bool = True) -> None:
        """Close every connection at its next request (``True``), or serve again (``False``)."""
        with self._lock:
            self._refuse = on

    def clear(self) -> None:
        """Forget every delay and drop still pending and end a blackhole."""
        with self._lock:
            self._rules.clear()
            self._blackhole = False
            self._refuse = False

    # -- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            clients = list(self._clients)
            threads = list(self._threads)
        for client in clients:  # wakes threads blocked reading from their client
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout=5)
        self._listener.close()

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="fault-proxy")  # type: ignore[arg-type]
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self._clients.add(client)
            self._start(self._serve, client)

    # -- one client connection -----------------------------------------------------------------
    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            while not self._closed.is_set():
                request = read_message(reader, is_request=True)
                if request is None:
                    return
                method, target, _ = request.first_line.split(" ", 2)
                key = (method.upper(), target.split("?", 1)[0])
                with self._lock:
                    self.requests_seen[key] += 1
                    blackholed, refused = self._blackhole, self._refuse
                    rule = None if blackholed or refused else self._take_rule(*key)
                if refused:
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return  # closed with SO_LINGER 0: the client sees a reset
                if blackholed:
                    self._swallow(client)
                    return
                if request.headers.get("upgrade", "").lower() == "websocket":
                    client.sendall(NO_WEBSOCKET)
                    return
                if rule is not None and rule.kind == "delay" and self._closed.wait(rule.seconds):
                    return
                reply = self._forward(request, key)
                if rule is not None and rule.kind == "drop":
                    if rule.then_refuse:
                        self.refuse(True)
                    return
                client.sendall(reply.raw)
                if request.closes or reply.closes:
                    return
        except (OSError, ProtocolError, ValueError):
            return  # the client went away, or upstream did: either way this connection is over
        finally:
            reader.close()
            client.close()
            with self._lock:
                self._clients.discard(client)

    def _take_rule(self, method: str, path: str) -> _Rule | None:
        for rule in self._rules:
            if rule.method == method and rule.path == path:
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def _forward(self, request: _Message, key: tuple[str, str]) -> _Message:
        with socket.create_connection(self._upstream, timeout=UPSTREAM_TIMEOUT) as upstream:
            upstream.sendall(request.raw)
            with self._lock:
                self.forwarded[key] += 1
            with upstream.makefile("rb") as reader:
                reply = read_message(reader, is_request=False, request_method=key[0])
        if reply is None:
            raise ProtocolError("upstream closed without a reply")
        return reply

    def _swallow(self, client: socket.socket) -> None:
        """Read and discard whatever the client sends until it, or the proxy, closes."""
        client.settimeout(POLL)
        while not self._closed.is_set():
            try:
                if not client.recv(65536):
                    return
            except TimeoutError:
                continue


# -- HTTP/1.1 framing ------------------------------------------------------------------------------
def read_message(reader: BinaryIO, *, is_request: bool, request_method: str = "GET") -> _Message | None:
    """The next whole request or reply on ``reader``, or None if the peer closed before one began."""
    head = bytearray()
    while True:
        line = reader.readline(MAX_HEAD + 1)
        if not line:
            if head:
                raise ProtocolError("connection closed inside a message head")
            return None
        if not head and line in (b"\r\n", b"\n"):
            continue  # stray empty lines between messages are allowed
        head += line
        if len(head) > MAX_HEAD:
            raise ProtocolError("message head too long")
        if line in (b"\r\n", b"\n"):
            break
    lines = bytes(head).decode("latin-1").split("\n")
    headers: dict[str, str] = {}
    for text in lines[1:]:
        name, sep, value = text.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    first = lines[0].strip()
    status = 0 if is_request else int(first.split(" ", 2)[1])
    no_body = not is_request and (request_method == "HEAD" or status in (204, 304) or 100 <= status < 200)
    body = b"" if no_body else _read_body(reader, headers, until_close=not is_request)
    return _Message(bytes(head) + body, first, headers)


def _read_body(reader: BinaryIO, headers: dict[str, str], *, until_close: bool) -> bytes:
    """The body exactly as framed on the wire (chunk sizes and trailers included)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size_line = reader.readline(MAX_HEAD)
            out += size_line
            try:
                size = int(size_line.split(b";", 1)[0], 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {size_line[:40]!r}") from None
            if size == 0:
                while True:  # trailers, up to the empty line
                    line = reader.readline(MAX_HEAD)
                    out += line
                    if line in (b"\r\n", b"\n", b""):
                        return bytes(out)
            out += _read_exact(reader, size + 2)
    if "content-length" in headers:
        return _read_exact(reader, int(headers["content-length"]))
    return reader.read() if until_close else b""


def _read_exact(reader: BinaryIO, n: int) -> bytes:
    data = reader.read(n)
    if len(data) != n:
        raise ProtocolError(f"connection closed after {len(data)} of {n} body bytes")
    return data
