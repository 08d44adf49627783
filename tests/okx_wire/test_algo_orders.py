"""The client's algo orders: request models refuse before sending, bytes on the wire, typed
answers, and placement that never places an algo twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.algo_orders import (
    PROCESS_ALGO_SENDS,
    AlgoAmend,
    AlgoOrder,
    AlgoOrderRequest,
    AlgoRef,
    AlgoState,
    place_algo_once,
)
from okx_wire.client import OkxClient
from okx_wire.errors import ConfigurationError, DuplicateClientOrderId, InvalidOrder, NetworkError
from okx_wire.orders import MARKET_PX, OrderRequest, TpSl

SAMPLES = Path(__file__).parent / "samples"
D = Decimal


def test_an_order_without_protection_sends_exactly_what_it_sent_before() -> None:
    order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=D("0.01"), px=D("100"), cl_ord_id="a1")
    assert json.dumps(order.payload()) == ('{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": '
                                           '"limit", "sz": "0.01", "px": "100", "clOrdId": "a1"}')


def test_protection_is_sent_as_attach_algo_ords() -> None:
    order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=D("0.01"), px=D("100"),
                         tp_sl=TpSl(tp_trigger_px=D("120"), sl_trigger_px=D("90"), sl_ord_px=D("89"),
                                    attach_algo_cl_ord_id="p1"))
    assert order.payload()["attachAlgoOrds"] == [{"attachAlgoClOrdId": "p1", "tpTriggerPx": "120", "tpOrdPx": "-1",
                                                  "tpTriggerPxType": "last", "slTriggerPx": "90", "slOrdPx": "89",
                                                  "slTriggerPxType": "last"}]


@pytest.mark.parametrize("kwargs", [
    dict(side="buy", px=D("100"), tp_sl=TpSl(sl_trigger_px=D("110"))),       # SL above a buy
    dict(side="sell", px=D("100"), tp_sl=TpSl(tp_trigger_px=D("110"))),      # TP above a sell
    dict(side="buy", ord_type="market", tgt_ccy="base_ccy", tp_sl=TpSl(sl_trigger_px=D("90"))),
])
def test_protection_on_the_wrong_side_is_refused_before_sending(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OrderRequest(**{"inst_id": "BTC-USDT", "ord_type": "limit", "sz": D("0.01"), **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [
    dict(ord_type="conditional"),                                                        # no legs
    dict(ord_type="conditional", tp_sl=TpSl(tp_trigger_px=D("120"), sl_trigger_px=D("90"))),  # both: OKX drops TP
    dict(ord_type="oco", tp_sl=TpSl(sl_trigger_px=D("90"))),
    dict(ord_type="trigger"),
    dict(ord_type="trigger", trigger_px=D("90"), tgt_ccy="base_ccy"),
    dict(ord_type="trigger", trigger_px=D("90"), advance_ord_type="ioc"),
    dict(ord_type="move_order_stop"),
    dict(ord_type="move_order_stop", callback_ratio=D("5")),
    dict(ord_type="move_order_stop", callback_ratio=D("0.05"), callback_spread=D("10")),
    dict(ord_type="conditional", tp_sl=TpSl(sl_trigger_px=D("90")), trigger_px=D("1")),
    dict(ord_type="conditional", tp_sl=TpSl(sl_trigger_px=D("90"), attach_algo_cl_ord_id="x")),
    dict(ord_type="trigger", trigger_px=D("90"), algo_cl_ord_id="no-dashes"),
])
def test_algo_requests_are_refused_before_sending(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AlgoOrderRequest(**{"inst_id": "BTC-USDT", "side": "sell", "sz": D("0.01"), **kwargs})  # type: ignore[arg-type]


def test_algo_payloads() -> None:
    oco = AlgoOrderRequest(inst_id="BTC-USDT", side="sell", ord_type="oco", sz=D("0.01"), algo_cl_ord_id="o1",
                           tp_sl=TpSl(tp_trigger_px=D("120"), sl_trigger_px=D("90")))
    assert oco.payload("cross") == {"instId": "BTC-USDT", "tdMode": "cross", "side": "sell", "ordType": "oco",
                                    "sz": "0.01", "algoClOrdId": "o1", "tpTriggerPx": "120", "tpOrdPx": "-1",
                                    "tpTriggerPxType": "last", "slTriggerPx": "90", "slOrdPx": "-1",
                                    "slTriggerPxType": "last"}
    trig = AlgoOrderRequest(inst_id="BTC-USDT", side="buy", ord_type="trigger", sz=D("0.01"), trigger_px=D("90"))
    assert (trig.payload()["orderPx"], trig.payload()["triggerPx"]) == ("-1", "90")
    amend = AlgoAmend(inst_id="BTC-USDT", algo_id="1", delete_tp=True, new_sl_trigger_px=D("80"),
                      new_sl_ord_px=MARKET_PX)
    assert amend.payload() == {"instId": "BTC-USDT", "algoId": "1", "newSlTriggerPx": "80", "newSlOrdPx": "-1",
                               "newTpTriggerPx": "0", "newTpOrdPx": "0"}
    with pytest.raises(ValidationError):
        AlgoAmend(inst_id="BTC-USDT", algo_id="1", new_trigger_px=D("80"))


@pytest.mark.parametrize("name", ["trade_orders_algo_pending_conditional.json",
                                  "trade_orders_algo_history_oco_effective_docs_example.json",
                                  "trade_order_algo_details_spot_conditional_docs_example.json"])
def test_the_models_read_okx_records(name: str) -> None:
    record = json.loads((SAMPLES / name).read_text())["response"]["data"][0]
    algo = AlgoOrder.model_validate(record)
    assert algo.algo_id == record["algoId"] and algo.state.value == record["state"]
    if algo.state is AlgoState.EFFECTIVE:
        assert algo.ord_id_list == [algo.ord_id] and algo.trigger_time is not None and not algo.is_pending


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=21)) as handle:
        yield handle


@pytest.fixture
def client(sim: SimulatorHandle) -> OkxClient:
    return OkxClient(sim.credentials, base_url=sim.base_url)


def _px(client: OkxClient, factor: str) -> Decimal:
    return (client.ticker("BTC-USDT").last * D(factor)).quantize(D("0.1"))  # type: ignore[operator]


def test_the_client_round_trip(client: OkxClient) -> None:
    request = AlgoOrderRequest(inst_id="BTC-USDT", side="sell", ord_type="oco", sz=D("0.01"), algo_cl_ord_id="rt1",
                               tp_sl=TpSl(tp_trigger_px=_px(client, "1.2"), sl_trigger_px=_px(client, "0.8")))
    ack = client.place_algo_order(request)
    assert ack.ok and ack.algo_cl_ord_id == "rt1"
    algo = client.algo_order(algo_id=ack.algo_id)
    assert (algo.ord_type, algo.state, algo.td_mode) == ("oco", AlgoState.LIVE, "cash")
    assert [a.algo_id for a in client.pending_algo_orders(["conditional", "oco"])] == [ack.algo_id]
    new_sl = _px(client, "0.7")
    client.amend_algo_order(AlgoAmend(inst_id="BTC-USDT", algo_id=ack.algo_id, new_sl_trigger_px=new_sl,
                                      new_sl_ord_px=MARKET_PX))
    assert client.algo_order(algo_cl_ord_id="rt1").sl_trigger_px == new_sl
    [cancelled] = client.cancel_algo_orders([AlgoRef(inst_id="BTC-USDT", algo_id=ack.algo_id)])
    assert cancelled.ok
    assert [a.algo_id for a in client.algo_order_history(["oco"], state="canceled")] == [ack.algo_id]
    assert client.find_algo_order("never1") is None
    with pytest.raises(ConfigurationError):
        client.pending_algo_orders(["trigger", "oco"])
    with pytest.raises(ConfigurationError):
        client.cancel_algo_orders([])


def test_refusals_raise_okx_classes(client: OkxClient) -> None:
    wrong = AlgoOrderRequest(inst_id="BTC-USDT", side="sell", ord_type="conditional", sz=D("0.01"),
                             tp_sl=TpSl(sl_trigger_px=_px(client, "1.1")))  # an SL above the last price
    with pytest.raises(InvalidOrder) as info:
        client.place_algo_order(wrong)
    assert info.value.code == "51280"
    first = AlgoOrderRequest(inst_id="BTC-USDT", side="sell", ord_type="trigger", sz=D("0.01"),
                             trigger_px=_px(client, "0.8"), algo_cl_ord_id="dup9")
    client.place_algo_order(first)
    with pytest.raises(DuplicateClientOrderId):
        client.place_algo_order(first)


def test_protection_on_an_ordinary_order_through_the_client(client: OkxClient, sim: SimulatorHandle) -> None:
    order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=D("0.01"), px=_px(client, "1.01"),
                         cl_ord_id="prot1", tp_sl=TpSl(sl_trigger_px=_px(client, "0.9"), attach_algo_cl_ord_id="g1"))
    client.place_order(order)
    algo = client.algo_order(algo_cl_ord_id="g1")
    assert (algo.ord_type, algo.side, algo.sz) == ("conditional", "sell", D("0.01"))


def test_place_algo_once_adopts_instead_of_placing_twice(client: OkxClient, sim: SimulatorHandle) -> None:
    request = AlgoOrderRequest(inst_id="BTC-USDT", side="sell", ord_type="trigger", sz=D("0.01"),
                               trigger_px=_px(client, "0.8"), algo_cl_ord_id="once1")
    first = place_algo_once(client, request, resend=False)
    again = place_algo_once(client, request, resend=True)
    assert not first.adopted and again.adopted and again.algo_id == first.algo_id
    assert PROCESS_ALGO_SENDS.sent("once1")
    assert sum(1 for a in sim.exchange.algos.all_algos() if a["algoClOrdId"] == "once1") == 1
    with pytest.raises(ConfigurationError):
        place_algo_once(client, request.model_copy(update={"algo_cl_ord_id": None}), resend=False)


def test_place_algo_once_survives_a_lost_answer(client: OkxClient, sim: SimulatorHandle) -> None:
    request = AlgoOrderRequest(inst_id="BTC-USDT", side="sell", ord_type="trigger", sz=D("0.01"),
                               trigger_px=_px(client, "0.8"), algo_cl_ord_id="lost1", td_mode="cash")
    sim.faults.drop_rate = 1.0  # applied, then the connection is closed with no reply (the lookup too)
    with pytest.raises(NetworkError):
        place_algo_once(client, request, resend=False)
    sim.faults.drop_rate = 0.0
    placed = place_algo_once(client, request, resend=False)  # the send log says it went out: look first
    assert placed.adopted
    assert sum(1 for a in sim.exchange.algos.all_algos() if a["algoClOrdId"] == "lost1") == 1
