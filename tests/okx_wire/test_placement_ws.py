"""Placement over WebSocket (``place_once(send=OrderStream.place)``) keeps every rule of the REST
path: the send is recorded before it leaves, an answer lost with the connection is looked up by
clOrdId over REST (adopted if the venue has it, raised as unknown if not), a resend waits out the
last expTime and looks first, 51016 adopts the live order. Against the simulator, whose
WebSocket gateway is made to lose answers or requests on purpose."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire import placement
from okx_wire.client import OkxClient
from okx_wire.errors import NetworkError
from okx_wire.orders import OrderRequest
from okx_wire.ws.streams import OrderStream
from tests.support.ws_faults import executed_then_answer_lost, gateway_does, lost_before_the_venue


def _buy(cl_ord_id: str, px: str = "1000") -> OrderRequest:
    return OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"), px=Decimal(px),
                        cl_ord_id=cl_ord_id)


@pytest.fixture
def venue() -> Iterator[tuple[SimulatorHandle, OkxClient, OrderStream]]:
    with running_simulator(SimConfig(rate_limits=False)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False) as client, \
            OrderStream(client, account=False, backoff=0.05) as stream:
        yield sim, client, stream


@pytest.fixture
def no_rest_post(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails the test if an order is sent over REST; returns the clOrdIds REST looked up."""
    looked_up: list[str] = []
    real_find = OkxClient.find_order

    def refuse(self: OkxClient, order: OrderRequest, **kw: object) -> Any:
        raise AssertionError(f"{order.cl_ord_id} was sent over REST")

    def find(self: OkxClient, inst_id: str, cl_ord_id: str) -> Any:
        looked_up.append(cl_ord_id)
        return real_find(self, inst_id, cl_ord_id)

    monkeypatch.setattr(OkxClient, "place_order", refuse)
    monkeypatch.setattr(OkxClient, "find_order", find)
    return looked_up


def test_an_order_entered_over_websocket_is_placed_once_with_no_rest_post(venue, no_rest_post) -> None:
    sim, client, stream = venue
    placed = placement.place_once(client, _buy("wsOnce1"), resend=False, sends=placement.ProcessSendLog(),
                                  send=lambda order, exp: stream.place(order, exp_time_ms=exp))
    assert placed.ok and not placed.adopted
    assert [o["ordId"] for o in sim.exchange.orders_by_client_id("wsOnce1")] == [placed.ord_id]
    assert no_rest_post == []  # a clean send needs no lookup


def test_an_answer_lost_with_the_connection_is_looked_up_and_adopted(venue, no_rest_post, monkeypatch) -> None:
    sim, client, stream = venue
    gateway_does(monkeypatch, executed_then_answer_lost)
    placed = placement.place_once(client, _buy("wsLost1"), resend=False, sends=placement.ProcessSendLog(),
                                  send=lambda order, exp: stream.place(order, exp_time_ms=exp))
    assert placed.ok and placed.adopted
    assert len(sim.exchange.orders_by_client_id("wsLost1")) == 1
    assert no_rest_post == ["wsLost1"]


def test_a_send_the_venue_never_got_is_unknown_then_placed_once_after_its_exp_time(venue, no_rest_post,
                                                                                   monkeypatch) -> None:
    sim, client, stream = venue
    sends = placement.ProcessSendLog()
    gateway_does(monkeypatch, lost_before_the_venue)

    def over_ws(order: OrderRequest, exp: int) -> Any:
        return stream.place(order, exp_time_ms=exp)

    with pytest.raises(NetworkError) as lost:
        placement.place_once(client, _buy("wsNever1"), resend=False, sends=sends, exp_window_ms=1_000, send=over_ws)
    assert lost.value.outcome_unknown
    assert sim.exchange.orders_by_client_id("wsNever1") == []
    exp = sends.last_send_ms("wsNever1")
    assert exp is not None
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    placed = placement.place_once(client, _buy("wsNever1"), resend=True, sends=sends, sleep=sleep, send=over_ws)
    assert placed.ok and not placed.adopted
    assert slept and client.now_ms() > exp  # the retry waited the first send's expTime out...
    assert no_rest_post == ["wsNever1", "wsNever1"]  # ...and looked before it sent again
    assert len(sim.exchange.orders_by_client_id("wsNever1")) == 1


def test_a_live_duplicate_over_websocket_is_adopted(venue, monkeypatch) -> None:
    sim, client, stream = venue
    first = client.place_order(_buy("wsDup1"))  # rests: 1000 is far under the market
    no_log = placement.ProcessSendLog()  # a process that never heard of the first send
    placed = placement.place_once(client, _buy("wsDup1"), resend=False, sends=no_log,
                                  send=lambda order, exp: stream.place(order, exp_time_ms=exp))
    assert placed.adopted and placed.ord_id == first.ord_id
    assert len(sim.exchange.orders_by_client_id("wsDup1")) == 1
