"""One WebSocket connection: what it is logged in as, what it subscribed to, and its outbox.

Everything the server sends goes through the outbox, in order, from one sender task: replies,
pushes and ``pong`` alike, so a reply never overtakes a push queued before it. The WebSocket
faults act there: ``ws_delay_ms`` holds each message back, ``ws_drop_rate`` cuts the connection
instead of sending (by aborting the socket: no close frame, the client sees 1006, as when a
gateway drops it).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from okx_sim.config import ApiKeySpec
from okx_sim.faults import Faults
from okx_sim.instruments import SimInstrument
from okx_sim.market import Book
from okx_wire.ws.protocol import Url

log = logging.getLogger("okx_sim")

Send = Callable[[dict[str, Any]], Awaitable[None]]
#: A subscription's identity on its connection: the channel and its arguments, in a fixed order.
SubKey = tuple[str, str, str, str]


def sub_key(arg: dict[str, Any]) -> SubKey:
    return (str(arg.get("channel", "")), str(arg.get("instId", "")), str(arg.get("instType", "")),
            str(arg.get("ccy", "")))


@dataclass
class Subscription:
    """One channel subscription and what its feed last sent (so the next push can follow on)."""

    arg: dict[str, Any]
    #: ``arg`` plus what OKX adds to a private push's ``arg`` (``uid``).
    push_arg: dict[str, Any]
    inst: SimInstrument | None = None
    last_book: Book | None = None
    last_step: int = -1
    last_trade_id: int = 0
    last_candle_open: int | None = None
    last_candle_ms: int = 0


@dataclass(eq=False)
class Session:
    url: Url
    client_ip: str
    faults: Faults
    conn_id: str = field(default_factory=lambda: secrets.token_hex(4))
    key: ApiKeySpec | None = None
    subs: dict[SubKey, Subscription] = field(default_factory=dict)
    #: ``time.monotonic()`` of the last message either way (the idle rule).
    last_active: float = field(default_factory=time.monotonic)
    _outbox: asyncio.Queue[str | int] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def send(self, message: dict[str, Any] | str) -> None:
        """Queue a message (a dict is sent as JSON text). Call on the server's event loop."""
        if not self.closed:
            self._outbox.put_nowait(message if isinstance(message, str) else orjson.dumps(message).decode())

    def close(self, code: int) -> None:
        """Close the connection with ``code`` after what is already queued."""
        if not self.closed:
            self._outbox.put_nowait(code)

    def drop(self) -> None:
        """Cut the connection (no close frame) after what is already queued."""
        if not self.closed:
            self._outbox.put_nowait(_DROP)

    def error(self, code: str, msg: str, request_id: Any = None) -> None:
        """An ``event: error`` message, echoing the request's ``id`` when it had one."""
        message: dict[str, Any] = {"event": "error", "code": code, "msg": msg, "connId": self.conn_id}
        if request_id is not None:
            message = {"id": request_id, **message}
        self.send(message)

    async def run_sender(self, send: Send) -> None:
        while True:
            item = await self._outbox.get()
            if item == _DROP:
                self.closed = True
                _abort(send)
                return
            if isinstance(item, int):
                self.closed = True
                await send({"type": "websocket.close", "code": item})
                return
            if self.faults.ws_delay_ms > 0:
                await asyncio.sleep(self.faults.ws_delay_ms / 1000)
            if self.faults.ws_drop():
                self.closed = True
                _abort(send)
                return
            self.last_active = time.monotonic()
            await send({"type": "websocket.send", "text": item})


#: The outbox item that cuts the connection instead of closing it.
_DROP = 0


def _abort(send: Send) -> None:
    """Cut the socket under the connection with no close frame (uvicorn's bound ``send`` holds
    its protocol, whose ``transport`` is the client's socket)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
    else:  # pragma: no cover - another server
        log.warning("okx-sim: cannot abort this WebSocket transport")
