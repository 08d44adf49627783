"""The HTTP receiver: ``POST /signals/<spec name>`` with a TradingView-style JSON body.

A small ASGI app (no framework: the raw body must be signed exactly as received) served by
uvicorn, the ASGI server the simulator already uses. Per request, in order, each refusal one line
and recorded without any secret (``okx_wire.signals``: before authentication in the refusals
table, after it in the signals table):

1. the spec is one this receiver serves (404), the body at most ``MAX_BODY`` bytes (413);
2. authentication: the ``X-Signature`` HMAC of the raw body, or the body's token (401);
3. the body is a signal (``okx_strategies.signal.parse_signal``; 400, one line);
4. freshness: its time within the spec's ``max_age_seconds`` (401);
5. resident path: the spec's executor (``flows.signals.executor``) claims the id (a replay: 401)
   and executes it as a Prefect task run; the answer is the outcome (200 placed, 422 refused with
   the reason, 409 in progress, 504 outcome unknown), or 202 if it takes longer than ``WAIT_S``;
   durable path: the id is claimed here, and the Prefect event ``okx-flows.signal.received``
   (the signal, never a secret, in its payload) is emitted for the deployment trigger of
   ``prefect.yaml`` to start a run of ``flows/signal.py``; the answer is 202.

The event loop never blocks on the database or the venue: those run on threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import uvicorn

from flows.signals.auth import SIGNATURE_HEADER, Secrets, Unauthenticated, check_fresh, check_signature, check_token
from flows.signals.executor import Executor, Outcome
from flows.spec import Spec
from okx_strategies.signal import Signal, SignalError, SignalSpec, parse_signal
from okx_wire.signals import SignalStore

LOG = logging.getLogger("flows.signals.receiver")
MAX_BODY: Final = 16 * 1024
#: How long a request waits for its order's answer before it is answered 202 (TradingView gives
#: a webhook about 3 s).
WAIT_S: Final = 2.5
#: The event the durable path emits; ``prefect.yaml``'s signal deployment is triggered by it.
SIGNAL_EVENT: Final = "okx-flows.signal.received"
SPEC_RESOURCE_PREFIX: Final = "okx-flows.spec."

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class Served:
    """One spec this receiver serves: its secrets, its signals table, and how it executes."""

    spec: Spec
    secrets: Secrets
    store: SignalStore
    #: The resident executor; None: the durable path (events).
    executor: Executor | None = None

    @property
    def strategy(self) -> SignalSpec:
        assert isinstance(self.spec.strategy, SignalSpec)
        return self.spec.strategy


def emit_signal_event(signal: Signal) -> None:
    """The durable path's hand-off: the deployment trigger turns it into a flow run."""
    from prefect.events import emit_event

    emit_event(SIGNAL_EVENT, resource={"prefect.resource.id": SPEC_RESOURCE_PREFIX + signal.spec,
                                       "prefect.resource.name": signal.spec},
               payload={"signal": signal.model_dump(mode="json")})


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class SignalReceiver:
    """The ASGI app."""

    def __init__(self, served: list[Served], *, emit: Callable[[Signal], None] = emit_signal_event,
                 clock: Callable[[], float] = time.time) -> None:
        self.served = {s.spec.name: s for s in served}
        self.emit = emit
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path, method = scope.get("path", ""), scope.get("method", "")
        if path == "/health" and method == "GET":
            await _answer(send, 200, {"ok": True, "specs": sorted(self.served)})
            return
        name = path[len("/signals/"):] if path.startswith("/signals/") else None
        if name is None or method != "POST":
            await _answer(send, 404, {"ok": False, "error": "POST a signal to /signals/<spec name>"})
            return
        remote = (scope.get("client") or ("", 0))[0]
        served = self.served.get(name)
        if served is None:
            LOG.warning("signal for unknown spec %r from %s: 404", name[:64], remote)
            await _answer(send, 404, {"ok": False, "error": f"no signal spec named {name[:64]!r} is served here"})
            return
        try:
            raw = await _body(receive)
            outcome = await self._handle(served, raw, _header(scope, SIGNATURE_HEADER))
        except Rejected as exc:
            LOG.warning("%s: %d %s (from %s)", name, exc.status, exc.reason, remote)
            await asyncio.to_thread(served.store.refusal, name, exc.status, exc.reason, remote)
            await _answer(send, exc.status, {"ok": False, "error": exc.reason})
            return
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback to the sender
            LOG.exception("%s: the signal could not be handled", name)
            await _answer(send, 500, {"ok": False, "error": f"internal error: {type(exc).__name__}"})
            return
        if not outcome.ok:
            LOG.warning("%s: %d %s", name, outcome.status, outcome.reason)
        await _answer(send, outcome.status, outcome.body())

    async def _handle(self, served: Served, raw: bytes | None, signature: str | None) -> Outcome:
        if raw is None:
            raise Rejected(413, f"the body is over {MAX_BODY} bytes -- a signal is a short JSON object")
        try:
            signed = check_signature(served.secrets, raw, signature)
        except Unauthenticated as exc:
            raise Rejected(401, str(exc)) from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", 1)
            raise Rejected(400, f"the body is not JSON (line {line}: {getattr(exc, 'msg', 'undecodable')}) -- "
                                "send one JSON object") from None
        if not signed:
            token = body.get("token") if isinstance(body, dict) else None
            try:
                check_token(served.secrets, token if isinstance(token, str) else None)
            except Unauthenticated as exc:
                raise Rejected(401, str(exc)) from None
        try:
            signal, _token = parse_signal(body, served.strategy, served.spec.name)
        except SignalError as exc:
            raise Rejected(400, str(exc)) from None
        try:
            check_fresh(signal.time_ms, int(self.clock() * 1000), served.strategy.max_age_seconds)
        except Unauthenticated as exc:
            raise Rejected(401, str(exc)) from None
        if served.executor is None:
            return await asyncio.to_thread(self._durable, served, signal)
        future = served.executor.submit(signal)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), WAIT_S)
        except TimeoutError:
            return Outcome(status=202, state="executing", spec=signal.spec, signal_id=signal.signal_id,
                           reason=f"accepted; still executing after {WAIT_S} s (the signals table has the outcome)")

    def _durable(self, served: Served, signal: Signal) -> Outcome:
        new, row = served.store.claim(spec=signal.spec, signal_id=signal.signal_id, signal_ms=signal.time_ms,
                                      action=signal.action, inst_id=signal.inst_id,
                                      price=None if signal.price is None else str(signal.price), path="durable")
        if not new and row.final:
            raise Rejected(401, f"replayed: signal {signal.signal_id} was already received ({row.state})")
        self.emit(signal)
        LOG.info("%s: signal %s (%s %s) handed to the deployment path", signal.spec, signal.signal_id, signal.action,
                 signal.inst_id)
        return Outcome(status=202, state="accepted", spec=signal.spec, signal_id=signal.signal_id,
                       inst_id=signal.inst_id, path="durable",
                       reason="a deployment run of the signal flow places it")


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


async def _body(receive: Receive) -> bytes | None:
    """The whole body, or None once it is over ``MAX_BODY`` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def server(app: SignalReceiver, host: str, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                         lifespan="on", timeout_keep_alive=30))


@contextmanager
def running_receiver(app: SignalReceiver, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on ``host``:<ephemeral> in a background thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    srv = server(app, host, port)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, name=f"signals:{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not srv.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the signal receiver did not start")
            time.sleep(0.005)
        yield f"http://{host}:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()
