"""FaultProxy against a real simulator and the project's client: what each wire fault looks like
from the client, and what the exchange did meanwhile."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.client import OkxClient
from okx_wire.errors import ConnectionFailed, NetworkError, RequestTimeout
from okx_wire.orders import OrderRequest
from tests.support.fault_proxy import FaultProxy, read_message

ORDER = "/api/v5/trade/order"


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=11)) as handle:
        yield handle


@pytest.fixture
def proxy(sim: SimulatorHandle) -> Iterator[FaultProxy]:
    with FaultProxy(sim.base_url) as p:
        yield p


def _client(sim: SimulatorHandle, proxy: FaultProxy, read_timeout: float = 1.0) -> OkxClient:
    return OkxClient(sim.credentials, base_url=proxy.url, read_timeout=read_timeout, rate_limit=False)


def _buy(cl_ord_id: str) -> OrderRequest:
    return OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="market", sz=Decimal("100"), cl_ord_id=cl_ord_id)


def _on_exchange(sim: SimulatorHandle, cl_ord_id: str) -> list[dict[str, Any]]:
    """The simulator's own record, asked directly (not through the proxy)."""
    r = requests.get(f"{sim.base_url}/__sim__/orders", params={"clOrdId": cl_ord_id}, timeout=5)
    return list(r.json()["data"])


def _wait_for_order(sim: SimulatorHandle, cl_ord_id: str, within: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while not (orders := _on_exchange(sim, cl_ord_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return orders


def test_delayed_order_times_out_in_the_client_yet_is_placed_after_the_delay(
        sim: SimulatorHandle, proxy: FaultProxy) -> None:
    proxy.delay_request("POST", ORDER, seconds=3, times=1)
    client = _client(sim, proxy)
    sent = time.monotonic()
    with pytest.raises(RequestTimeout):
        client.place_order(_buy("late1"))
    assert _on_exchange(sim, "late1") == []  # the client gave up; the request is still on the wire
    orders = _wait_for_order(sim, "late1", within=10)
    assert len(orders) == 1 and orders[0]["state"] == "filled"
    assert time.monotonic() - sent >= 3
    assert proxy.requests_seen[("POST", ORDER)] == proxy.forwarded[("POST", ORDER)] == 1
    # Used up: the next order goes straight through.
    assert client.place_order(_buy("ontime1")).ord_id
    assert len(_on_exchange(sim, "ontime1")) == 1


def test_dropped_reply_leaves_the_order_placed(sim: SimulatorHandle, proxy: FaultProxy) -> None:
    proxy.drop_reply("POST", ORDER, times=1)
    client = _client(sim, proxy, read_timeout=5)
    with pytest.raises(NetworkError) as caught:
        client.place_order(_buy("lost1"))
    assert caught.value.outcome_unknown and not isinstance(caught.value, ConnectionFailed)
    assert [o["state"] for o in _on_exchange(sim, "lost1")] == ["filled"]  # applied before the drop
    assert client.order("BTC-USDT", cl_ord_id="lost1").state == "filled"  # how a caller finds out
    assert proxy.requests_seen[("POST", ORDER)] == 1


def test_blackhole_makes_the_client_time_out_until_lifted(sim: SimulatorHandle, proxy: FaultProxy) -> None:
    client = _client(sim, proxy, read_timeout=0.5)
    proxy.blackhole(True)
    for attempt in ("dark1", "dark2"):
        with pytest.raises(RequestTimeout):
            client.place_order(_buy(attempt))
    with pytest.raises(RequestTimeout):
        client.server_time()
    # Every request was taken (the client may also have asked the time first), none went on.
    assert sum(proxy.requests_seen.values()) >= 3 and not proxy.forwarded
    time.sleep(0.3)
    assert _on_exchange(sim, "dark1") == [] and _on_exchange(sim, "dark2") == []  # swallowed, not stuck
    proxy.blackhole(False)
    assert client.place_order(_buy("light1")).ord_id


def test_each_request_on_a_kept_alive_connection_is_handled_on_its_own(
        sim: SimulatorHandle, proxy: FaultProxy) -> None:
    proxy.drop_reply("GET", "/api/v5/market/ticker", times=1)
    port = int(proxy.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, sock.makefile("rb") as reader:
        for _ in range(3):
            sock.sendall(b"GET /api/v5/public/time HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = read_message(reader, is_request=False)
            assert reply is not None and reply.first_line.startswith("HTTP/1.1 200")
            assert b'"code":"0"' in reply.raw
        sock.sendall(b"GET /api/v5/market/ticker?instId=BTC-USDT HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_message(reader, is_request=False) is None  # dropped: closed without a reply
    assert proxy.requests_seen[("GET", "/api/v5/public/time")] == 3
    assert proxy.forwarded[("GET", "/api/v5/market/ticker")] == 1


def test_upstream_down_closes_the_client_connection(sim: SimulatorHandle) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: refused
        with FaultProxy(dead) as proxy, pytest.raises(NetworkError):
            OkxClient(base_url=proxy.url, rate_limit=False, read_timeout=5).server_time()
