"""Run the simulator inside the current process, on an ephemeral port, for tests.

Every call builds its own engine, state store and app, so two simulators in one process share
nothing. The server thread owns its event loop; stopping flushes and closes the state file.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from okx_sim.config import ApiKeySpec, SimConfig
from okx_sim.faults import Faults
from okx_sim.matching import Exchange
from okx_sim.server import SimApp
from okx_sim.state import StateStore
from okx_tasks.auth import ApiCredentials


@dataclass
class Simulator:
    """Engine + app for one config, not yet bound to a socket (the CLI and the embedded runner share it)."""

    config: SimConfig
    faults: Faults
    exchange: Exchange
    app: SimApp

    @classmethod
    def build(cls, config: SimConfig) -> Simulator:
        faults = Faults(latency_ms=config.latency_ms, error_rate=config.error_rate, drop_rate=config.drop_rate,
                        clock_skew=config.clock_skew, seed=config.seed)

        def clock() -> int:
            return int(time.time() * 1000 + faults.clock_skew * 1000)

        exchange = Exchange(config, StateStore(config.state_path, reset=config.reset), clock)
        return cls(config, faults, exchange, SimApp(config, exchange, faults, clock))

    def uvicorn_config(self, **kwargs: Any) -> uvicorn.Config:
        return uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                              timeout_keep_alive=30, **kwargs)


@dataclass
class SimulatorHandle:
    base_url: str
    credentials: ApiCredentials
    exchange: Exchange
    faults: Faults
    config: SimConfig
    app: SimApp

    @property
    def read_only_credentials(self) -> ApiCredentials:
        key = self.config.read_only_key()
        if key is None:
            raise LookupError("this simulator has no read-only key")
        return key.credentials()

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
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    server = uvicorn.Server(sim.uvicorn_config())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"okx-sim:{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("okx-sim did not start")
            time.sleep(0.005)
        yield SimulatorHandle(f"http://{config.host}:{port}", config.trade_key().credentials(), sim.exchange,
                              sim.faults, config, sim.app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        sim.exchange.close()
