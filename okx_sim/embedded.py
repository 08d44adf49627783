"""Run the simulator inside the current process, on an ephemeral port, for tests.

Every call builds its own engine, state store and app, so two simulators in one process share
nothing. The server thread owns its event loop; stopping flushes and closes the state file.

``Simulator.server`` is the one place that binds the app to uvicorn, for the CLI and for this
runner alike, and bounds what a connection flood can do: the open-file soft limit is raised
towards the hard one, requests beyond ``max_connections`` open connections get an OKX-style
503 at once, uvicorn's own ``limit_concurrency`` answers its plain 503 before descriptors run
out, and silent connections are closed after ``idle_timeout_s`` even before their first request.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from okx_sim.config import ApiKeySpec, SimConfig
from okx_sim.faults import Faults
from okx_sim.matching import MatchingEngine
from okx_sim.server import SimApp
from okx_sim.state import StateStore
from okx_wire.auth import ApiCredentials

#: Descriptors kept for what is not a client connection: the state database with its WAL,
#: shared-memory and lock files, the listening socket, the event loop's own, stdio and logs.
RESERVED_FDS = 64
#: Soft open-file limit asked for when the hard limit allows it (or is unlimited).
WANTED_FDS = 65536


def raise_fd_limit(wanted: int = WANTED_FDS) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards the hard limit; return the soft limit now.

    Each connection costs a descriptor, and the usual soft default (1024) is what made the
    server stop accepting at about a thousand connections while the hard limit allowed far
    more. Never lowers the limit; where the system refuses (macOS caps at OPEN_MAX), keeps it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


class SimHttpProtocol(H11Protocol):
    """uvicorn's h11 protocol, except that a connection that never sends a request is closed too.

    uvicorn arms its keep-alive timer only after a response, so a socket that connects and stays
    silent keeps a descriptor and a connection slot for ever; enough of them make every later
    request wait or be refused. Arming the same timer on connect closes them after
    ``timeout_keep_alive``; the first byte received cancels it, as between kept-alive requests.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                            self.timeout_keep_alive_handler)


@dataclass
class Simulator:
    """Engine + app for one config, not yet bound to a socket (the CLI and the embedded runner share it)."""

    config: SimConfig
    faults: Faults
    exchange: MatchingEngine
    app: SimApp

    @classmethod
    def build(cls, config: SimConfig) -> Simulator:
        faults = Faults(latency_ms=config.latency_ms, error_rate=config.error_rate, drop_rate=config.drop_rate,
                        clock_skew=config.clock_skew, seed=config.seed)

        def clock() -> int:
            return int(time.time() * 1000 + faults.clock_skew * 1000)

        store = StateStore(config.state_path, reset=config.reset)  # raises StateInUse
        try:
            exchange = MatchingEngine(config, store, clock)
        except BaseException:
            store.close()  # give the file back: this simulator will never serve it
            raise
        return cls(config, faults, exchange, SimApp(config, exchange, faults, clock))

    def server(self) -> uvicorn.Server:
        """uvicorn serving this app, with connections bounded by the descriptors it may open.

        uvicorn's ``limit_concurrency`` sits at the descriptor budget (its plain-text 503 is
        the last answer before accept() would fail); the app's own OKX-style limit sits
        ``RESERVED_FDS`` below it, so a client normally sees 503/50001 JSON.
        """
        budget = max(2, raise_fd_limit() - RESERVED_FDS)
        self.app.max_connections = max(1, min(self.config.max_connections, budget - RESERVED_FDS))
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                http=SimHttpProtocol, limit_concurrency=budget, backlog=self.config.backlog,
                                timeout_keep_alive=self.config.idle_timeout_s,  # type: ignore[arg-type]
                                ssl_certfile=self.config.tls_certfile, ssl_keyfile=self.config.tls_keyfile)
        server = uvicorn.Server(config)
        connections = server.server_state.connections
        self.app.open_connections = lambda: len(connections)
        return server


@dataclass
class SimulatorHandle:
    #: ``http://host:port`` (``https://`` with TLS); the WebSocket URLs are ``ws_url(kind)``.
    base_url: str
    credentials: ApiCredentials
    exchange: MatchingEngine
    faults: Faults
    config: SimConfig
    app: SimApp

    @property
    def read_only_credentials(self) -> ApiCredentials:
        key = self.config.read_only_key()
        if key is None:
            raise LookupError("this simulator has no read-only key")
        return key.credentials()

    def ws_url(self, kind: str = "public") -> str:
        """``ws://host:port/ws/v5/<kind>`` (``wss://`` with TLS): public, private or business."""
        return self.base_url.replace("http", "ws", 1) + f"/ws/v5/{kind}"

    def key(self, label: str) -> ApiKeySpec:
        return next(k for k in self.config.keys if k.label == label)

    @property
    def rate_limits(self) -> bool:
        return self.app.rate_limits

    @rate_limits.setter
    def rate_limits(self, on: bool) -> None:
        self.app.rate_limits = on


@contextmanager
def running_simulator(config: SimConfig | None = None, **overrides: Any) -> Iterator[SimulatorHandle]:
    """Serve a fresh simulator on 127.0.0.1:<ephemeral> in a background thread until the block exits."""
    base = config or SimConfig()
    config = base.model_copy(update=overrides) if overrides else base
    config = SimConfig.model_validate(config.model_dump())
    sim = Simulator.build(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host, 0))
        sock.listen(config.backlog)
    except BaseException:
        sock.close()
        sim.exchange.close()  # releases the state file
        raise
    port = sock.getsockname()[1]
    server = sim.server()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"okx-sim:{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("okx-sim did not start")
            time.sleep(0.005)
        scheme = "https" if config.tls_certfile is not None else "http"
        yield SimulatorHandle(f"{scheme}://{config.host}:{port}", config.trade_key().credentials(), sim.exchange,
                              sim.faults, config, sim.app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        sim.exchange.close()
