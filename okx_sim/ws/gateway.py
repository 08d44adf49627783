"""The ASGI ``websocket`` entry: ``/ws/v5/public``, ``/ws/v5/private`` and ``/ws/v5/business``.

Served by the same uvicorn, on the same port, as the REST API (uvicorn's own WebSocket
protocol does the handshake, framing and protocol-level pings). Per message, in this order:

1. the text ``ping``: answered ``pong`` (OKX's keep-alive; protocol pings are answered too);
2. JSON with an ``op``: else 60012 ``Invalid request: <the text>``;
3. ``login`` (private and business), ``subscribe``/``unsubscribe``, an order op
   (``okx_sim.ws.ops``); any other op: 60019.

Subscribe checks each arg: a channel with a name (60012), one OKX has (60018), on this URL
(a candle channel on /public: 64001; any other misplaced channel: 60018), logged in if private
(60011), with its key argument (60013) naming a listed instrument (60018). Each good arg is
acknowledged (``event: subscribe`` with the arg and ``connId``) and then fed: tickers, books
and candles push what they show at once, ``account`` its snapshot; trades and orders push what
happens from then on. With rate limits on, a 4th new connection from one IP within a second is
refused at the handshake (HTTP 403), as OKX allows 3 per second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from okx_sim.ws.hub import Hub
from okx_sim.ws.ops import handle_op
from okx_sim.ws.private import LoginRefused, verify_login
from okx_sim.ws.session import Session, Subscription, sub_key
from okx_wire.errors import okx_message
from okx_wire.ws.protocol import CONNECT_BUDGET, OPS, ORDER_INST_TYPES, PING, PONG, Url, channel, url_kind

if TYPE_CHECKING:
    from okx_sim.server import Receive, Scope, Send, SimApp

log = logging.getLogger("okx_sim")


class WsGateway:
    def __init__(self, app: SimApp) -> None:
        self.app = app
        self.hub = Hub(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        kind = url_kind(scope["path"])
        client = scope.get("client")
        ip = client[0] if client else ""
        if kind is None or (self.app.rate_limits and
                            self.app.limiter.reserve([(f"{CONNECT_BUDGET.name}|{ip}", CONNECT_BUDGET, 1)]) > 0):
            await send({"type": "websocket.close", "code": 1008})  # uvicorn answers the handshake 403
            return
        await send({"type": "websocket.accept"})
        session = Session(kind, ip, self.app.faults)
        self.hub.add(session)
        sender = asyncio.get_running_loop().create_task(session.run_sender(send))
        try:
            while not session.closed:
                receiving = asyncio.ensure_future(receive())
                done, _ = await asyncio.wait({receiving, sender}, return_when=asyncio.FIRST_COMPLETED)
                if receiving not in done:
                    receiving.cancel()
                    break
                message = receiving.result()
                if message["type"] != "websocket.receive":
                    break
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                session.last_active = time.monotonic()
                self.handle(session, text)
        finally:
            session.closed = True
            self.hub.remove(session)
            if not sender.done():
                sender.cancel()

    # -- one message ---------------------------------------------------------------------------
    def handle(self, session: Session, text: str) -> None:
        if text == PING:
            session.send(PONG)
            return
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            session.error("60012", okx_message("60012", text))
            return
        op, request_id = message["op"], message.get("id")
        if op == "login":
            self.login(session, message, request_id)
        elif op in ("subscribe", "unsubscribe"):
            args = message.get("args")
            if not isinstance(args, list) or not args:
                session.error("60012", okx_message("60012", text), request_id)
                return
            for arg in args:
                if op == "subscribe":
                    self.subscribe(session, arg, request_id, text)
                else:
                    self.unsubscribe(session, arg, request_id, text)
        elif op in OPS:
            handle_op(self.app, session, message, OPS[op])
        else:
            session.error("60019", okx_message("60019", op), request_id)

    def login(self, session: Session, message: dict[str, Any], request_id: Any) -> None:
        args = message.get("args")
        if session.url is Url.PUBLIC:
            # OKX's public URL serves no private channel; its login answers as any failed one.
            session.error("60009", okx_message("60009"), request_id)
            return
        try:
            if not isinstance(args, list) or not args:
                raise LoginRefused("60009")
            session.key = verify_login(self.app.auth, args[0], now_ms=self.app.clock(), client_ip=session.client_ip,
                                       current=session.key)
        except LoginRefused as refused:
            session.error(refused.code, okx_message(refused.code), request_id)
            return
        reply: dict[str, Any] = {"event": "login", "code": "0", "msg": "", "connId": session.conn_id}
        session.send({"id": request_id, **reply} if request_id is not None else reply)

    def subscribe(self, session: Session, arg: Any, request_id: Any, text: str) -> None:
        if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str):
            session.error("60012", okx_message("60012", text), request_id)
            return
        name, inst_id = arg["channel"], str(arg.get("instId", ""))
        found = channel(name)
        if found is None:
            session.error("60018", okx_message("60018", name, inst_id), request_id)
            return
        if found.url is not session.url:
            if found.url is Url.BUSINESS and session.url is Url.PUBLIC:
                session.error("64001", okx_message("64001"), request_id)
            else:
                session.error("60018", okx_message("60018", name, inst_id), request_id)
            return
        if found.login and session.key is None:
            session.error("60011", okx_message("60011"), request_id)
            return
        inst = None
        if found.key == "instId":
            if not inst_id:
                session.error("60013", okx_message("60013"), request_id)
                return
            inst = self.app.exchange.catalogue.get(inst_id)
            if inst is None:
                session.error("60018", okx_message("60018", name, inst_id), request_id)
                return
        elif found.key == "instType" and arg.get("instType") not in ORDER_INST_TYPES:
            session.error("60013", okx_message("60013"), request_id)
            return
        clean = {k: v for k, v in arg.items() if isinstance(v, str)}
        push_arg = {**clean, "uid": self.app.exchange.uid} if found.login else clean
        sub = Subscription(clean, push_arg, inst)
        session.subs[sub_key(clean)] = sub
        ack: dict[str, Any] = {"event": "subscribe", "arg": clean, "connId": session.conn_id}
        session.send({"id": request_id, **ack} if request_id is not None else ack)
        if found.login:
            self.hub.listen_to_engine()
            if name == "account":
                self.hub.account_snapshot(session, sub)
            return
        now = self.app.clock()
        self.hub.feed(session, sub, now, self.app.exchange.market.step_at(now), first=True)

    def unsubscribe(self, session: Session, arg: Any, request_id: Any, text: str) -> None:
        if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str):
            session.error("60012", okx_message("60012", text), request_id)
            return
        clean = {k: v for k, v in arg.items() if isinstance(v, str)}
        session.subs.pop(sub_key(clean), None)
        ack: dict[str, Any] = {"event": "unsubscribe", "arg": clean, "connId": session.conn_id}
        session.send({"id": request_id, **ack} if request_id is not None else ack)
