"""Fixtures: a fresh in-process simulator per test (ephemeral port) and a signing client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.auth import ApiCredentials, format_timestamp, sign, system_clock


class Client:
    """A minimal OKX client: signs exactly the bytes it sends, and lets a test tamper with any of them."""

    def __init__(self, base_url: str, credentials: ApiCredentials, *, demo: bool | None = None) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.session = requests.Session()
        self.demo = demo

    def headers(self, method: str, target: str, body: str = "", *, ts: str | None = None) -> dict[str, str]:
        ts = ts or format_timestamp(system_clock())
        headers = {
            "OK-ACCESS-KEY": self.credentials.api_key,
            "OK-ACCESS-SIGN": sign(self.credentials.secret_key.get_secret_value(), ts, method, target, body),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": self.credentials.passphrase.get_secret_value(),
            "Content-Type": "application/json",
        }
        if self.demo is not None:
            headers["x-simulated-trading"] = "1" if self.demo else "0"
        return headers

    def request(self, method: str, target: str, body: Any = None, *, headers: dict[str, str] | None = None,
                signed: bool = True, raw_body: str | None = None) -> requests.Response:
        text = raw_body if raw_body is not None else ("" if body is None else json.dumps(body))
        sent = self.headers(method, target, text) if signed else {}
        sent.update(headers or {})
        return self.session.request(method, self.base_url + target, data=text.encode() if text else None,
                                    headers=sent, timeout=10)

    def get(self, target: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        r = self.request("GET", target, **kw)
        return r.status_code, r.json()

    def post(self, target: str, body: Any = None, **kw: Any) -> tuple[int, dict[str, Any]]:
        r = self.request("POST", target, body, **kw)
        return r.status_code, r.json()

    def order(self, **fields: str) -> tuple[int, dict[str, Any]]:
        body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01"} | fields
        return self.post("/api/v5/trade/order", body)

    def best(self, inst_id: str = "BTC-USDT") -> tuple[str, str]:
        """(best bid, best ask) now."""
        _, book = self.get(f"/api/v5/market/books?instId={inst_id}", signed=False)
        data = book["data"][0]
        return data["bids"][0][0], data["asks"][0][0]


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=7)) as handle:
        yield handle


@pytest.fixture
def client(sim: SimulatorHandle) -> Client:
    return Client(sim.base_url, sim.credentials)
