"""One OKX WebSocket connection that heals itself: keep-alive, reconnect, login, resubscribe.

OKX drops a connection that is silent for 30 s and does not answer protocol-level pings
reliably, so the keep-alive is OKX's own: after ``ping_interval`` seconds with nothing
received, the text ``ping`` is sent, and a connection that stays silent for another interval is
taken for dead. Any close (a drop, OKX's 4004, a service upgrade) is followed by a reconnect
after a backoff that doubles from ``backoff`` up to ``max_backoff`` (with jitter, so many
clients do not come back at once) and resets once a connection is up again; on the new
connection the client logs in again (private/business) and resubscribes every channel it had.

Pushes sent while the connection was down are lost: ``on_reconnect`` tells the owner, which
must reconcile (a book takes a fresh snapshot, an order stream asks REST). A login refused with
an authentication code (60004-60009, 60024...) is final: retrying would only be refused again,
so ``run`` stops and ``failure`` holds the error.

A first connection that the server refuses for good (no WebSocket there: an HTTP status other
than 403 or 429 on the handshake, a connection refused, not HTTP at all) makes
``wait_connected`` raise at once instead of waiting out its timeout, so an owner that can do
without the stream (settling by REST polling) does not wait for one that cannot come.

Subscriptions are acknowledged by OKX (``event: subscribe``); ``wait_subscribed`` blocks until
one is, so a caller can know that nothing pushed from then on is missed.

Requests (login, order ops) are correlated by ``id``; an op whose answer does not come back
before the connection drops or ``timeout`` ends raises an error with ``outcome_unknown`` (the
order may or may not exist): the caller looks it up by clOrdId, as over REST.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import ssl
from collections.abc import Callable
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from okx_wire.auth import Signer
from okx_wire.errors import AuthenticationError, ConnectionFailed, NetworkError, OkxError, RequestTimeout, from_code
from okx_wire.ws.protocol import IDLE_S, PING, PONG

log = logging.getLogger("okx_wire.ws")

Push = Callable[[dict[str, Any]], None]


class WsConnection:
    """One URL's connection. Create and ``run`` it on an event loop; everything else is
    called on that loop.

    Args:
        url: ``wss://.../ws/v5/public`` (or private, business).
        on_push: called with every channel push (``{"arg", "data", ...}``).
        signer: logs in with this key after every connect (private and business URLs).
        on_reconnect: called after every connect but the first, once resubscribed.
        ping_interval: seconds of silence before the text ``ping`` (OKX: under 30).
        backoff, max_backoff: the reconnect delay, doubling from the first to the second.
        timeout: seconds to wait for a login or an op's answer.
        ssl_context: for ``wss`` URLs (default: the system's trust store).
    """

    def __init__(self, url: str, *, on_push: Push, signer: Signer | None = None,
                 on_reconnect: Callable[[], None] | None = None, ping_interval: float = IDLE_S * 2 / 3,
                 backoff: float = 0.25, max_backoff: float = 15.0, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = url
        self._on_push = on_push
        self._signer = signer
        self._on_reconnect = on_reconnect
        self.ping_interval = ping_interval
        self._backoff, self._max_backoff = backoff, max_backoff
        self.timeout = timeout
        self._ssl = ssl_context
        #: The channels to (re)subscribe, by their arg as JSON text, in subscription order.
        self._subs: dict[bytes, dict[str, Any]] = {}
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._up = asyncio.Event()
        self._closing = False
        #: How many times a connection was made (1 after the first).
        self.connects = 0
        #: The error that stopped ``run`` for good (a refused login), if any.
        self.failure: OkxError | None = None
        #: ``event: error`` messages OKX sent that answered no request (a refused subscribe...).
        self.errors: list[dict[str, Any]] = []
        #: Why the first connection could not be made, when the server refused it for good.
        self.unreachable: NetworkError | None = None
        #: The subscriptions OKX acknowledged on the current connection (by ``_sub_id``).
        self._acked: set[tuple[str, str, str, str]] = set()

    def __repr__(self) -> str:
        return f"WsConnection({self.url!r}, connects={self.connects})"

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once connected (and logged in); raise what stopped it, or a timeout."""
        deadline = asyncio.get_running_loop().time() + (timeout if timeout is not None else self.timeout)
        while not self._up.is_set():
            if self.failure is not None:
                raise self.failure
            if self.unreachable is not None and self.connects == 0:
                raise self.unreachable
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise NetworkError(f"no WebSocket connection to {self.url}")
            try:
                await asyncio.wait_for(self._up.wait(), min(left, 0.05))
            except TimeoutError:
                pass

    # -- the connection loop -----------------------------------------------------------------
    async def run(self) -> None:
        """Connect and read until ``close``; reconnect after every loss."""
        delay = self._backoff
        while not self._closing:
            try:
                async with websockets.connect(self.url, ping_interval=None, open_timeout=self.timeout,
                                              max_size=None, ssl=self._ssl if self.url.startswith("wss") else None
                                              ) as ws:
                    await self._start(ws)
                    delay = self._backoff
                    await self._read(ws)
            except AuthenticationError as exc:
                self.failure = exc
                log.error("okx-ws: %s: login refused: %s", self.url, exc)
                return
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                if self.connects == 0 and _refused_for_good(exc):
                    self.unreachable = NetworkError(f"no WebSocket at {self.url}: {type(exc).__name__}: {exc}")
                log.info("okx-ws: %s: connection lost (%s: %s)", self.url, type(exc).__name__, exc)
            finally:
                self._down()
            if self._closing:
                return
            await asyncio.sleep(delay * (1 + random.random() / 2))
            delay = min(delay * 2, self._max_backoff)

    async def _start(self, ws: ClientConnection) -> None:
        self._ws = ws
        if self._signer is not None:
            await ws.send(orjson.dumps({"op": "login", "args": [self._signer.ws_login()]}).decode())
            reply = await self._until_login(ws)
            if reply.get("code") != "0":
                code = str(reply.get("code", ""))
                raise from_code(code, str(reply.get("msg", "")), request="WebSocket login")
        if self._subs:
            await ws.send(orjson.dumps({"op": "subscribe", "args": list(self._subs.values())}).decode())
        self.connects += 1
        self._up.set()
        if self.connects > 1 and self._on_reconnect is not None:
            self._on_reconnect()

    async def _until_login(self, ws: ClientConnection) -> dict[str, Any]:
        """The login's answer (OKX sends it first; anything else is read past)."""
        while True:
            text = await asyncio.wait_for(ws.recv(), self.timeout)
            if text == PONG:
                continue
            message = orjson.loads(text)
            if message.get("event") in ("login", "error"):
                return dict(message)

    async def _read(self, ws: ClientConnection) -> None:
        waited = False
        while True:
            try:
                text = await asyncio.wait_for(ws.recv(), self.ping_interval)
            except TimeoutError:
                if waited:
                    raise TimeoutError(f"no answer to ping within {self.ping_interval} s") from None
                waited = True
                await ws.send(PING)
                continue
            waited = False
            if text != PONG:
                self._dispatch(orjson.loads(text))

    def _dispatch(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        if "arg" in message and "data" in message:
            try:
                self._on_push(message)
            except Exception:  # a bug in the owner must not kill the connection
                log.exception("okx-ws: a push handler failed")
        elif isinstance(request_id, str) and request_id in self._pending and (
                "op" in message or message.get("event") == "error"):
            future = self._pending.pop(request_id)
            if not future.done():
                future.set_result(message)
        elif message.get("event") == "subscribe" and isinstance(message.get("arg"), dict):
            self._acked.add(_sub_id(message["arg"]))
        elif message.get("event") == "error":
            log.warning("okx-ws: %s: %s %s", self.url, message.get("code"), message.get("msg"))
            self.errors.append(message)

    def _down(self) -> None:
        self._ws = None
        self._up.clear()
        self._acked.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NetworkError("the WebSocket connection was lost before the answer; "
                                                  "the request may or may not have been applied"))
        self._pending.clear()

    async def close(self) -> None:
        """Stop for good: close the socket (OKX's close handshake if logged in and subscribed;
        a connection still in its login, or one whose close is not answered, is cut)."""
        self._closing = True
        ws = self._ws
        if ws is None:
            return
        if not self._up.is_set():
            ws.transport.abort()
            return
        try:
            await asyncio.wait_for(ws.close(), 2.0)
        except TimeoutError:
            ws.transport.abort()

    # -- subscriptions and requests ------------------------------------------------------------
    async def subscribe(self, *args: dict[str, Any]) -> None:
        """Subscribe now if connected, and on every reconnect."""
        fresh = [arg for arg in args if self._key(arg) not in self._subs]
        for arg in fresh:
            self._subs[self._key(arg)] = arg
        if fresh and self._ws is not None:
            await self._ws.send(orjson.dumps({"op": "subscribe", "args": fresh}).decode())

    async def wait_subscribed(self, arg: dict[str, Any], timeout: float | None = None) -> None:
        """Return once OKX acknowledged ``arg`` on the current connection (pushes from then on
        reach this client); raise what stopped the connection, or ``NetworkError`` on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if timeout is not None else self.timeout)
        wanted = _sub_id(arg)
        while wanted not in self._acked or not self._up.is_set():
            if self.failure is not None:
                raise self.failure
            if self.unreachable is not None and self.connects == 0:
                raise self.unreachable
            if loop.time() >= deadline:
                raise NetworkError(f"{arg.get('channel')} was not acknowledged on {self.url}")
            await asyncio.sleep(0.005)

    async def unsubscribe(self, *args: dict[str, Any]) -> None:
        for arg in args:
            self._subs.pop(self._key(arg), None)
        if self._ws is not None:
            await self._ws.send(orjson.dumps({"op": "unsubscribe", "args": list(args)}).decode())

    async def resubscribe(self, arg: dict[str, Any]) -> None:
        """Unsubscribe and subscribe again: OKX answers a subscribe with a fresh snapshot."""
        if self._ws is not None:
            await self._ws.send(orjson.dumps({"op": "unsubscribe", "args": [arg]}).decode())
            await self._ws.send(orjson.dumps({"op": "subscribe", "args": [arg]}).decode())

    async def request(self, op: str, args: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        """Send an op and return its answer (any ``code``: the caller reads it).

        Raises:
            ConnectionFailed: not connected within ``timeout``: nothing was sent (resending,
                over this socket or REST, is safe).
            NetworkError: the connection dropped while sending or before the answer
                (``outcome_unknown``: it may have been applied).
            RequestTimeout: no answer within ``timeout`` (may have been applied).
        """
        try:
            await self.wait_connected()
        except NetworkError as exc:
            if exc.outcome_unknown:
                raise ConnectionFailed(f"{exc.message}; {op} was not sent", request=f"WebSocket {op}") from None
            raise
        ws = self._ws
        if ws is None:
            raise ConnectionFailed(f"no WebSocket connection to {self.url}; {op} was not sent",
                                   request=f"WebSocket {op}")
        request_id = f"{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send(orjson.dumps({"id": request_id, "op": op, "args": args, **fields}).decode())
        except websockets.exceptions.ConnectionClosed as exc:
            self._pending.pop(request_id, None)
            raise NetworkError(f"the WebSocket connection closed while {op} was being sent ({exc}); it may or may "
                               "not have been applied", request=f"WebSocket {op}") from None
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise RequestTimeout(f"no answer to {op} within {self.timeout} s; it may or may not have been applied",
                                 request=f"WebSocket {op}") from None
        finally:
            self._pending.pop(request_id, None)

    @staticmethod
    def _key(arg: dict[str, Any]) -> bytes:
        return orjson.dumps(arg, option=orjson.OPT_SORT_KEYS)


def _sub_id(arg: dict[str, Any]) -> tuple[str, str, str, str]:
    """A subscription's identity, as OKX echoes it in the acknowledgement."""
    return (str(arg.get("channel", "")), str(arg.get("instId", "")), str(arg.get("instType", "")),
            str(arg.get("ccy", "")))


def _refused_for_good(exc: BaseException) -> bool:
    """Whether a failed handshake says the server has no WebSocket to offer: an HTTP answer
    other than 403/429 (OKX's handshake throttle) and 5xx, a connection refused, or an answer
    that is not HTTP. Timeouts and resets may pass; these will not."""
    if isinstance(exc, websockets.exceptions.InvalidStatus):
        status = exc.response.status_code
        return status not in (403, 429) and status < 500
    return isinstance(exc, (ConnectionRefusedError, websockets.exceptions.InvalidMessage,
                            websockets.exceptions.InvalidHandshake))
