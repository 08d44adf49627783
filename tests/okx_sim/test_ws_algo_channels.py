"""The algo channels: ``orders-algo`` (conditional, oco, trigger and the TP/SL a filled order
arms) and ``algo-advance`` (trailing stops), on the business URL after a login there, each push
OKX's algo record in its state after the change; and ``OrderStream(algos=True)`` following them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.algo_orders import AlgoOrderRequest, AlgoRef
from okx_wire.client import OkxClient
from okx_wire.orders import OrderRequest, TpSl
from okx_wire.ws.streams import OrderStream
from tests.okx_sim.conftest import Client
from tests.okx_sim.test_ws_sim import _error, _login_arg, _send, _until

ALGO_ORDER = "/api/v5/trade/order-algo"


@pytest.fixture
def calm() -> Iterator[SimulatorHandle]:
    """A market that does not move: a trigger at the last price fires at the engine's next look."""
    with running_simulator(SimConfig(rate_limits=False, seed=7, step_ms=100, volatility=0)) as handle:
        yield handle


def _business(sim: SimulatorHandle) -> ClientConnection:
    ws = connect(sim.ws_url("business"))
    _send(ws, {"op": "login", "args": [_login_arg(sim)]})
    assert _until(ws, lambda m: m.get("event") in ("login", "error"))["code"] == "0"
    return ws


def _push(ws: ClientConnection, channel: str, timeout: float = 3.0) -> dict[str, Any]:
    return _until(ws, lambda m: m.get("arg", {}).get("channel") == channel and "data" in m, timeout)["data"][0]


def _last(rest: Client, inst_id: str = "BTC-USDT") -> Decimal:
    _, reply = rest.get(f"/api/v5/market/ticker?instId={inst_id}", signed=False)
    return Decimal(reply["data"][0]["last"])


def test_an_algo_order_is_pushed_through_its_life(calm: SimulatorHandle) -> None:
    rest = Client(calm.base_url, calm.credentials)
    with _business(calm) as ws:
        _send(ws, {"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SPOT"},
                                              {"channel": "algo-advance", "instType": "SPOT"}]})
        acks = [_until(ws, lambda m: m.get("event") == "subscribe")["arg"]["channel"] for _ in range(2)]
        assert acks == ["orders-algo", "algo-advance"]
        far = str((_last(rest) * Decimal("1.5")).quantize(Decimal("0.1")))
        _, placed = rest.post(ALGO_ORDER, {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "trigger",
                                           "sz": "0.001", "triggerPx": far, "orderPx": "-1", "algoClOrdId": "trigA"})
        assert placed["code"] == "0", placed
        live = _push(ws, "orders-algo")
        _, rest_view = rest.get("/api/v5/trade/order-algo?algoClOrdId=trigA")
        assert live["state"] == "live" and live["algoClOrdId"] == "trigA" and Decimal(live["triggerPx"]) == Decimal(far)
        assert set(live) - set(rest_view["data"][0]) == {"reqId", "amendResult"}  # the REST record, and the push's own
        higher = str(Decimal(far) + 100)
        _, amended = rest.post("/api/v5/trade/amend-algos", {"instId": "BTC-USDT", "algoClOrdId": "trigA",
                                                             "newTriggerPx": higher, "newOrdPx": "-1"})
        assert amended["code"] == "0", amended
        assert Decimal(_push(ws, "orders-algo")["triggerPx"]) == Decimal(higher)
        _, cancelled = rest.post("/api/v5/trade/cancel-algos", [{"instId": "BTC-USDT", "algoClOrdId": "trigA"}])
        assert cancelled["code"] == "0", cancelled
        assert _push(ws, "orders-algo")["state"] == "canceled"

        # A trigger at the (unmoving) last price fires at the engine's next look: effective, naming its order.
        now = str(_last(rest))
        rest.post(ALGO_ORDER, {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "trigger",
                               "sz": "0.001", "triggerPx": now, "orderPx": "-1", "algoClOrdId": "trigB"})
        pushes = [_push(ws, "orders-algo")]
        while pushes[-1]["state"] == "live":
            pushes.append(_push(ws, "orders-algo", timeout=5.0))
        fired = pushes[-1]
        assert fired["state"] == "effective" and fired["ordIdList"] and fired["triggerTime"], fired
        _, order = rest.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={fired['ordIdList'][0]}")
        assert order["data"][0]["algoClOrdId"] == "trigB"

        # A trailing stop pushes on algo-advance only.
        _, trail = rest.post(ALGO_ORDER, {"instId": "BTC-USDT", "tdMode": "cash", "side": "sell",
                                          "ordType": "move_order_stop", "sz": "0.001", "callbackRatio": "0.05"})
        assert trail["code"] == "0", trail
        advance = _push(ws, "algo-advance")
        assert (advance["ordType"], advance["algoId"]) == ("move_order_stop", trail["data"][0]["algoId"])


def test_algo_subscriptions_filter_by_instrument_and_need_the_business_login(calm: SimulatorHandle) -> None:
    rest = Client(calm.base_url, calm.credentials)
    with connect(calm.ws_url("business")) as anonymous:
        _send(anonymous, {"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SPOT"}]})
        assert _until(anonymous, lambda m: m.get("event") == "error")["code"] == "60011"
    with connect(calm.ws_url("private")) as private:
        _send(private, {"op": "login", "args": [_login_arg(calm)]})
        _until(private, lambda m: m.get("event") == "login")
        _send(private, {"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SPOT"}]})
        assert _until(private, lambda m: m.get("event") == "error")["code"] == "60018"  # wrong URL
    with _business(calm) as ws:
        _send(ws, {"op": "subscribe", "args": [{"channel": "orders-algo"}]})
        assert _until(ws, lambda m: _error(m, "60013") or m.get("event") == "subscribe")["code"] == "60013"
        _send(ws, {"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SPOT", "instId": "ETH-USDT"}]})
        _until(ws, lambda m: m.get("event") == "subscribe")
        far = str((_last(rest) * Decimal("1.5")).quantize(Decimal("0.1")))
        eth_far = str((_last(rest, "ETH-USDT") * 2).quantize(Decimal("0.01")))
        for inst_id, px in (("BTC-USDT", far), ("ETH-USDT", eth_far)):
            _, placed = rest.post(ALGO_ORDER, {"instId": inst_id, "tdMode": "cash", "side": "buy", "ordType": "trigger",
                                               "sz": "0.01", "triggerPx": px, "orderPx": "-1"})
            assert placed["code"] == "0", placed
        assert _push(ws, "orders-algo")["instId"] == "ETH-USDT"  # the BTC algo was not pushed here


def test_order_stream_follows_the_protection_a_fill_arms(calm: SimulatorHandle) -> None:
    with OkxClient(calm.credentials, base_url=calm.base_url) as rest, OrderStream(rest, algos=True) as stream:
        last = rest.ticker("BTC-USDT").last
        stop = (last * Decimal("0.5")).quantize(Decimal("0.1"))
        rest.place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"),
                                      px=(last * Decimal("1.01")).quantize(Decimal("0.1")), cl_ord_id="protected1",
                                      tp_sl=TpSl(sl_trigger_px=stop, attach_algo_cl_ord_id="stop1")))
        armed = stream.wait_algo(algo_cl_ord_id="stop1", states=("live",), timeout=10)
        assert armed.sl_trigger_px == stop and armed.sz == Decimal("0.001")
        rest.cancel_algo_orders([AlgoRef(inst_id="BTC-USDT", algo_cl_ord_id="stop1")])
        assert stream.wait_algo(algo_cl_ord_id="stop1", timeout=10).state == "canceled"

        ack = rest.place_algo_order(AlgoOrderRequest(inst_id="BTC-USDT", side="buy", ord_type="trigger",
                                                     sz=Decimal("0.001"), trigger_px=rest.ticker("BTC-USDT").last,
                                                     algo_cl_ord_id="fires1"))
        fired = stream.wait_algo(algo_id=ack.algo_id, timeout=10)
        assert fired.state == "effective" and fired.ord_id_list
        assert stream.algo(algo_cl_ord_id="fires1") == fired
        assert rest.algo_order(algo_id=ack.algo_id).state == "effective"  # REST agrees


def test_order_stream_without_algos_opens_no_business_connection(calm: SimulatorHandle) -> None:
    from okx_wire.ws.protocol import Url

    with OkxClient(calm.credentials, base_url=calm.base_url) as rest, OrderStream(rest) as stream:
        assert stream.connection(Url.BUSINESS) is None and stream.algo(algo_cl_ord_id="x") is None
