"""Shared pieces of the reliability tests: a client-side fault counter (the simulator does not
report its injected faults over HTTP), and the OKX_* variables of the simulator processes' key."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from okx_wire.client import OkxClient
from okx_wire.errors import NetworkError, RequestTimeout
from tests.reliability.simproc import key_env


class FaultCounter:
    """Counts what every OkxClient in this process saw: requests, dropped replies, 5xx, 429s."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, what: str) -> None:
        with self._lock:
            self.seen[what] += 1

    def __getitem__(self, what: str) -> int:
        return self.seen[what]


@pytest.fixture
def faults_seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultCounter]:
    counter = FaultCounter()
    original = OkxClient._send

    def counting_send(self: OkxClient, method: str, request_path: str, body: str, private: bool, *args: Any,
                      **kwargs: Any) -> Any:
        counter.add("requests")
        if private:
            counter.add("private_requests")
        try:
            envelope, status = original(self, method, request_path, body, private, *args, **kwargs)
        except (NetworkError, RequestTimeout):
            counter.add("dropped")
            raise
        code = str(envelope.get("code", ""))
        if status >= 500 and code in ("50001", "50026"):
            counter.add("server_errors")
        elif code == "50011":
            counter.add("rate_limited")
        return envelope, status

    monkeypatch.setattr(OkxClient, "_send", counting_send)
    yield counter


@pytest.fixture
def okx_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The simulator processes' key in OKX_* (as a user's shell holds it); no OKX_BASE_URL."""
    env = key_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("OKX_BASE_URL", "OKX_DEMO", "OKX_RATE_LIMIT_URL"):
        monkeypatch.delenv(name, raising=False)
    return env


#: Tasks the flows call through ``okx_tasks.tasks`` (so a module attribute swap reaches them).
READ_TASKS = ("get_instruments", "get_balance", "get_order_book", "get_order_states", "cancel_order", "get_fills")
TRADE_TASKS = ("place_order", "place_batch_orders")
ATTEMPTS = 9


@pytest.fixture
def more_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """More attempts (same first delays) for a network far worse than the defaults are made for.

    With 30% dropped + 10% failed replies on EVERY private request, one read task fails all of
    its 4 default attempts with p = 0.4**4 = 2.6%, and a flow makes 6-10 of them: measured, about
    one run in five fails with the defaults (RELIABILITY_DEFAULT_RETRIES=1 runs them as shipped).
    """
    if os.environ.get("RELIABILITY_DEFAULT_RETRIES"):
        return
    from okx_tasks import tasks

    for name in READ_TASKS:
        monkeypatch.setattr(tasks, name, getattr(tasks, name).with_options(
            retries=ATTEMPTS - 1, retry_delay_seconds=[1.0, 2.0, 2.0]))
    for name in TRADE_TASKS:
        monkeypatch.setattr(tasks, name, getattr(tasks, name).with_options(
            retries=ATTEMPTS - 1, retry_delay_seconds=[2.0, 4.0, 4.0]))
