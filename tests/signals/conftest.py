"""A simulator per test, a served signal spec against it, and the session's Prefect test server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from flows.signals.auth import sign
from flows.signals.receiver import running_receiver
from flows.signals.service import signal_service
from tests.support.flow_env import prefect_for_every_test, sim, sim_config, spec_file

__all__ = ["prefect_for_every_test", "sim", "sim_config", "spec_file"]

HMAC_SECRET = "hmac-Secret-do-not-leak-5501"
TOKEN = "tv-Token-do-not-leak-8802"


@pytest.fixture(autouse=True)
def signal_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKX_FLOWS_SIGNAL_HMAC", HMAC_SECRET)
    monkeypatch.setenv("OKX_FLOWS_SIGNAL_TOKEN", TOKEN)


class Receiver:
    """A served spec: ``post(body)`` signs it (or not) and returns the response."""

    def __init__(self, url: str, name: str, app: Any) -> None:
        self.url, self.name, self.app = url, name, app
        self.session = requests.Session()

    def signal(self, **fields: Any) -> dict[str, Any]:
        body = {"id": f"s{time.monotonic_ns()}", "time": int(time.time() * 1000), "action": "buy",
                "instrument": "BTC-USDT"}
        body.update(fields)
        return {k: v for k, v in body.items() if v is not None}

    def post(self, body: Any, *, signed: bool = True, secret: str = HMAC_SECRET, raw: bytes | None = None,
             signature: str | None = None) -> requests.Response:
        data = raw if raw is not None else json.dumps(body).encode()
        headers = {"content-type": "application/json"}
        if signature is not None:
            headers["x-signature"] = signature
        elif signed:
            headers["x-signature"] = sign(secret.encode(), data)
        return self.session.post(f"{self.url}/signals/{self.name}", data=data, headers=headers, timeout=10)

    @property
    def store(self) -> Any:
        return self.app.served[self.name].store


@pytest.fixture
def serve(spec_file: Callable[..., Path]) -> Iterator[Callable[..., Receiver]]:
    """``serve(**changes)``: specs/signal.yaml aimed at the test's simulator, served; the
    receiver and its executors stop at the end of the test (or at ``.stop()``)."""
    with ExitStack() as stack:
        def start(path: Path | None = None, **changes: Any) -> Receiver:
            path = path or spec_file("signal", **changes)
            app = stack.enter_context(signal_service([path]))
            url = stack.enter_context(running_receiver(app))
            return Receiver(url, next(iter(app.served)), app)

        yield start
