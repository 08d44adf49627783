"""The simulator's HTTP face: a lean raw-ASGI app (no framework routing) served by uvicorn.

Raw ASGI because the signature must be checked against ``scope["raw_path"]`` and
``scope["query_string"]`` exactly as received, and because market-data reads must sustain
>= 1,000 req/s on two cores; a framework's request objects and routing cost more than the work.

Order of checks per request (okx_sim/README.md, "Order of checks", lists the codes):

1. load: more open connections than ``max_connections`` answers 503/50001 at once;
2. route (404, 50115), then Content-Type of a POST (50006). The OKX routes are the rows of
   ``okx_wire.endpoints`` the simulator serves, each handled by the method of the row's name;
   the inspection routes under ``/__sim__/`` are the simulator's own;
3. private routes: every header check that needs no body (presence, timestamp format and
   window, key, passphrase), so an unauthenticated client cannot make us read its body;
4. the body, at most ``max_body_bytes`` (Content-Length first, then counted while reading);
   then UTF-8 (50002);
5. private routes: signature, environment, IP whitelist, permission;
6. body content (50000, 50002), rate limit, injected faults, then the engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from okx_sim.auth import Authenticator
from okx_sim.config import ApiKeySpec, SimConfig
from okx_sim.dead_man import DeadManSwitch
from okx_sim.faults import Faults
from okx_sim.matching import MatchingEngine, param
from okx_sim.protocol import SimError
from okx_sim.routes.account import AccountRoutes
from okx_sim.routes.algo import AlgoRoutes
from okx_sim.routes.base import Handler, Request, ok
from okx_sim.routes.public import PublicRoutes
from okx_sim.routes.trade import TradeRoutes
from okx_sim.ws import WsGateway
from okx_wire.endpoints import ENDPOINTS, MAX_BATCH_ORDERS
from okx_wire.limits import SlidingWindowLimiter, demands

log = logging.getLogger("okx_sim")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

TOO_MANY = b'{"msg":"Too Many Requests","code":"50011"}'
#: What ``Authenticator.verify`` refuses from the headers alone, before the signature (50113),
#: its first check that needs the body.
HEADER_CODES = frozenset({"50103", "50106", "50107", "50104", "50112", "50102", "50111", "50105"})
#: OKX's own answer to an unknown path (a real capture: samples/error_http404_unknown_path.json),
#: whose ``code`` is a number and ``data`` an object, unlike every other envelope.
NOT_FOUND = (b'{"code":404,"data":{},"detailMsg":"","error_code":"404","error_message":"Not Found",'
             b'"msg":"Not Found"}')
#: The simulator's own read-only routes, outside OKX's namespace (path -> handler name).
INSPECTION_ROUTES = {"/__sim__/orders": "sim_orders", "/__sim__/state": "sim_state"}
_JSON_HEADERS = [(b"content-type", b"application/json")]
_CLOSE_HEADERS = [*_JSON_HEADERS, (b"connection", b"close")]




@dataclass(frozen=True)
class Route:
    """How the app serves one (path, method): the handler, and what the request must prove."""

    handler: Handler
    private: bool = False
    trade: bool = False


class SimApp(PublicRoutes, AccountRoutes, TradeRoutes, AlgoRoutes):
    """ASGI callable. ``clock`` is the simulator's clock (wall clock + the configured skew)."""

    def __init__(self, config: SimConfig, exchange: MatchingEngine, faults: Faults, clock: Callable[[], int]) -> None:
        self.config = config
        self.exchange = exchange
        self.faults = faults
        self.clock = clock
        self.auth = Authenticator(config)
        self.limiter = SlidingWindowLimiter(slack=0.0)
        self.dead_man = DeadManSwitch()
        self.rate_limits = config.rate_limits
        #: Open connections beyond which requests are refused with 503/50001; the server that
        #: binds the app lowers it to fit the descriptor limit and sets ``open_connections``.
        self.max_connections = config.max_connections
        self.open_connections: Callable[[], int] = lambda: 0
        self._ticker: asyncio.Task[None] | None = None
        #: path -> method -> route: the endpoint table's rows the simulator serves, then its own.
        self.routes: dict[str, dict[str, Route]] = {}
        for row in ENDPOINTS:
            handler = getattr(self, row.name, None) if row.sim else None
            # A row with no handler is left unrouted (404); tests/okx_wire/test_endpoints.py
            # fails on any row the simulator should serve and does not.
            if handler is not None:
                self.routes.setdefault(row.path, {})[row.method] = Route(handler, row.private, row.trade)
        for path, handler in INSPECTION_ROUTES.items():
            self.routes[path] = {"GET": Route(getattr(self, handler))}
        #: ``/ws/v5/public``, ``/private`` and ``/business`` (``okx_sim.ws``), on the same port.
        self.ws = WsGateway(self)

    # -- ASGI plumbing -----------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self.ws(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Draw every ticker once before serving: the first draw of each instrument's path
                # builds its cached coarse levels (about 1 s for 250 instruments), which would
                # otherwise stall the first tickers request and every request queued behind it.
                market = self.exchange.market
                step = market.step_at(self.clock())
                for inst in self.exchange.catalogue.instruments:
                    market.ticker(inst, step)
                self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._ticker is not None:
                    self._ticker.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _tick_loop(self) -> None:
        """Let resting orders meet the walk on every step even when no request comes in."""
        interval = max(0.05, self.config.step_ms / 1000)
        while True:
            await asyncio.sleep(interval)
            try:
                now = self.clock()
                self.exchange.tick(now)
                if self.dead_man.timers:
                    self.fire_dead_man(now)
            except Exception:  # pragma: no cover - a bug; keep serving and say so
                log.exception("okx-sim: tick failed")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        in_time_us = time.time_ns() // 1000
        if self.open_connections() > self.max_connections:
            # Shed load before any work, and close: the slot this connection holds is the problem.
            await _respond_error(send, SimError("50001"), close=True)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        # A refusal sent before an announced body is read closes the connection: otherwise the
        # server goes on receiving (and discarding) that body, however large, just to reach the
        # next request.
        unread = _announces_body(headers)
        path: str = scope["path"]
        methods = self.routes.get(path)
        if methods is None:
            await _respond(send, 404, NOT_FOUND, close=unread)
            return
        method: str = scope["method"]
        route = methods.get(method)
        if route is None:
            await _respond_error(send, SimError("50115"), close=unread)
            return
        raw_path: bytes = scope.get("raw_path") or path.encode()
        query_bytes: bytes = scope["query_string"]
        target = raw_path.decode("latin-1") + ("?" + query_bytes.decode("latin-1") if query_bytes else "")
        client = scope.get("client")
        req = Request(method, path, target, dict(parse_qsl(query_bytes.decode("utf-8", "replace"))), headers,
                      "", client[0] if client else "", self.clock(), in_time_us)
        try:
            result = await self._process(route, req, receive, send)
        except SimError as err:
            await _respond_error(send, err, close=unread and not req.extra.get("body_read", False))
            return
        if result is _DROPPED:
            return
        if result is _TOO_MANY_RESULT:
            await _respond(send, 429, TOO_MANY)
            return
        if isinstance(result, bytes):
            await _respond(send, 200, result)
        else:
            status, payload = result
            await _respond(send, status, orjson.dumps(payload))

    async def _process(self, route: Route, req: Request, receive: Receive, send: Send) -> Any:
        if req.method == "POST":
            content_type = req.headers.get("content-type")
            if content_type is not None and not content_type.lower().startswith("application/json"):
                raise SimError("50006")
        signed_empty = self._check_headers(req, route) if route.private else None
        body = await self._read_body(req, receive)
        req.extra["body_read"] = True
        try:
            req.body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SimError("50002") from None
        if route.private:
            if signed_empty is not None and not req.body:
                req.key = signed_empty  # already verified over this very (empty) body
            else:
                req.key = self.auth.verify(req.headers, req.method, req.target, req.body,
                                           client_ip=req.client_ip, now_ms=req.now_ms, needs_trade=route.trade)
        if req.method == "POST":
            if not req.body.strip():
                raise SimError("50000")
            try:
                req.json = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise SimError("50002") from None
        if self.rate_limits and not self._admit(req):
            return _TOO_MANY_RESULT
        if route.private:
            if self.faults.latency_ms > 0:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            injected = self.faults.before()
            if injected is not None:
                code, status = injected
                raise SimError(code, http_status=status)
            req.now_ms = self.clock()
        result = route.handler(req)
        if route.private and self.faults.drop_after():
            await _drop(send)
            return _DROPPED
        return result

    def _check_headers(self, req: Request, route: Route) -> ApiKeySpec | None:
        """Refuse now what the headers alone refuse, so no body is read for such a request.

        ``Authenticator.verify`` checks in OKX's order and the signature is the first of its
        checks that needs the body. Running it over an empty body therefore either fails on a
        header check (``HEADER_CODES``: answered now, unread) or gets as far as the signature;
        whatever it says from there on is decided again, over the real body, once it is read.

        Returns:
            The key if the request verified completely as signed over an empty body (a GET),
            so it need not be verified twice; else None.
        """
        try:
            return self.auth.verify(req.headers, req.method, req.target, "", client_ip=req.client_ip,
                                    now_ms=req.now_ms, needs_trade=route.trade)
        except SimError as err:
            if err.code in HEADER_CODES:
                raise
            return None

    async def _read_body(self, req: Request, receive: Receive) -> bytes:
        """The whole body, or ``BodyTooLarge`` as soon as it is known to exceed the cap.

        Content-Length is looked at first, so an announced oversize body is not read at all; a
        chunked one is counted while it arrives and reading stops at the first byte past the cap
        (uvicorn pauses the socket while more than 64 KiB wait unread, so memory stays bounded).
        """
        cap = self.config.max_body_bytes
        declared = req.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise BodyTooLarge(cap)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise BodyTooLarge(cap)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _admit(self, req: Request) -> bool:
        inst_ids: list[str] = []
        if req.method == "POST":
            items = req.json if isinstance(req.json, list) else [req.json]
            inst_ids = [str(i.get("instId", "")) for i in items if isinstance(i, dict)][:MAX_BATCH_ORDERS]
        elif "instId" in req.query:
            inst_ids = [req.query["instId"]]
        wanted = demands(req.method, req.path, ip=req.client_ip, user=self.exchange.uid,
                         inst_type=req.query.get("instType", ""), inst_ids=inst_ids)
        return self.limiter.reserve(wanted) == 0 if wanted else True

    # -- test inspection (outside OKX's namespace) -------------------------------------------
    def sim_orders(self, req: Request) -> tuple[int, dict[str, Any]]:
        cl = param(req.query, "clOrdId")
        rows = self.exchange.orders_by_client_id(cl) if cl else self.exchange.all_orders()
        return ok(rows)

    def sim_state(self, req: Request) -> tuple[int, dict[str, Any]]:
        balances = {c: {"cash": str(b.cash), "frozen": str(b.frozen)} for c, b in self.exchange.balances.items()}
        conservation = {c: [str(a), str(b)] for c, (a, b) in self.exchange.conservation().items()}
        return ok([{"uid": self.exchange.uid, "balances": balances, "conservation": conservation,
                     "step": self.exchange.market.step_at(req.now_ms),
                     "rateLimitRefusals": self.limiter.refusals,
                     "peakBudgetUse": {name: round(use, 4) for name, use in sorted(self.limiter.peak_use.items())}}])


class BodyTooLarge(SimError):
    """A body over ``max_body_bytes``: refused, unread past the cap, and the connection closed.

    OKX documents no code for an oversize body. 51000 "Parameter {0} error" with HTTP 400 is
    OKX's own answer for a request parameter it will not take, so clients already map it to a
    non-retriable invalid request, which is right: the same body will never fit. 50000/50002
    would misreport the body as empty or as bad JSON.
    """

    def __init__(self, cap: int) -> None:
        super().__init__("51000", "body ")  # OKX's wording: "Parameter body  error"
        self.cap = cap


_DROPPED = object()
_TOO_MANY_RESULT = object()


def _announces_body(headers: dict[str, str]) -> bool:
    """Whether the request says a body follows (Content-Length > 0, or any Transfer-Encoding)."""
    length = headers.get("content-length", "").strip()
    return "transfer-encoding" in headers or (length.isdigit() and int(length) > 0)


async def _respond(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    """Send one JSON reply; ``close`` makes uvicorn end the connection after it."""
    headers = _CLOSE_HEADERS if close else _JSON_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _respond_error(send: Send, err: SimError, *, close: bool = False) -> None:
    await _respond(send, err.http_status, orjson.dumps({"msg": err.msg, "code": err.code, "data": []}), close=close)


async def _drop(send: Send) -> None:
    """Close the connection with no reply, after the request was applied.

    uvicorn passes the RequestResponseCycle's bound ``send``; its ``transport`` is the client's
    socket in both the h11 and httptools implementations. ``abort()`` marks the transport lost at
    once, so uvicorn's fallback 500 cannot be written; yielding lets ``connection_lost`` run, which
    flags the cycle as disconnected so uvicorn does not even try.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:  # pragma: no cover - another server; fall back to an error reply
        raise SimError("50026")
    transport.abort()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
