"""The resident executor over WebSocket: signals priced from the ``tickers`` stream and entered
over the order stream's socket, their fills taken from the final ``orders`` push; a connection
lost with the order on the way never places it twice; ``OKX_FLOWS_WEBSOCKET=0`` is the REST path."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from tests.signals.test_signals import SPEC, settled
from tests.support.flow_env import fresh_settings
from tests.support.rest_count import count_rest
from tests.support.ws_faults import executed_then_answer_lost, gateway_does, lost_before_the_venue


@pytest.fixture
def rest(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    return count_rest(monkeypatch)


def _venue_order(sim: Any, cl_ord_id: str) -> dict[str, Any]:
    [order] = sim.exchange.orders_by_client_id(cl_ord_id)
    return order


def test_signals_are_priced_from_the_stream_entered_over_websocket_and_settled_on_pushes(sim, serve, rest):
    rx = serve()
    first = rx.post(rx.signal(id="ws-1"))
    assert first.status_code == 200, first.text
    assert first.json()["entry"] == "ws"
    settled(rx)
    rest.clear()
    second = rx.post(rx.signal(id="ws-2"))
    assert second.status_code == 200, second.text
    assert second.json()["entry"] == "ws"
    settled(rx)
    assert rest["POST /api/v5/trade/order"] == 0, rest
    assert rest["GET /api/v5/market/ticker"] == 0, rest  # priced from the stream's ticker
    assert rest["GET /api/v5/trade/order"] == 0, rest  # the fill came with the final push
    for signal_id, answer in (("ws-1", first), ("ws-2", second)):
        venue = _venue_order(sim, answer.json()["cl_ord_id"])
        row = rx.store.get(SPEC, signal_id)
        assert row.ord_id == venue["ordId"] and row.filled == Decimal(venue["accFillSz"]) > 0


def test_an_answer_lost_with_the_connection_is_adopted_not_sent_again(sim, serve, rest, monkeypatch):
    rx = serve()
    gateway_does(monkeypatch, executed_then_answer_lost)
    body = rx.signal(id="ws-lost")
    answer = rx.post(body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["adopted"] is True and answer.json()["entry"] == "ws"
    assert rest["POST /api/v5/trade/order"] == 0
    assert rest["GET /api/v5/trade/order"] >= 1  # looked up by clOrdId
    _venue_order(sim, answer.json()["cl_ord_id"])  # exactly one
    assert rx.post(body).status_code == 401
    assert len(sim.exchange.all_orders()) == 1
    after = rx.post(rx.signal(id="ws-after"))  # the stream reconnected: the next one goes over it
    assert after.status_code == 200 and after.json()["entry"] == "ws", after.text
    assert len(sim.exchange.all_orders()) == 2


def test_an_order_lost_before_the_venue_is_504_and_the_redelivery_places_it_once(sim, serve, monkeypatch):
    rx = serve()
    gateway_does(monkeypatch, lost_before_the_venue)
    body = rx.signal(id="ws-never")
    answer = rx.post(body)
    assert answer.status_code == 504 and answer.json()["status"] == "unknown", answer.text
    assert sim.exchange.all_orders() == []
    # The redelivery waits out the first send's expTime (5 s), looks, then sends: the receiver
    # answers 202 "still executing" after 2.5 s and the signals table gets the outcome.
    again = rx.post(body)
    assert again.status_code in (200, 202), again.text
    deadline = time.monotonic() + 15
    while (row := rx.store.get(SPEC, "ws-never")).state != "placed":
        assert time.monotonic() < deadline, row
        time.sleep(0.05)
    assert row.reason == ""  # sent, not adopted: the venue never had it
    assert _venue_order(sim, answer.json()["cl_ord_id"])["ordId"] == row.ord_id
    assert len(sim.exchange.all_orders()) == 1


def test_with_websocket_off_signals_go_over_rest(sim, serve, rest, monkeypatch):
    monkeypatch.setenv("OKX_FLOWS_WEBSOCKET", "0")
    fresh_settings()
    rx = serve()
    answer = rx.post(rx.signal(id="rest-1"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"] == "rest"
    settled(rx)
    assert rest["POST /api/v5/trade/order"] == 1 and rest["GET /api/v5/market/ticker"] == 1, rest
    assert rx.store.get(SPEC, "rest-1").filled == Decimal(_venue_order(sim, answer.json()["cl_ord_id"])["accFillSz"])
