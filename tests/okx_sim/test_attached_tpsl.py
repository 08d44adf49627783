"""TP/SL attached to ordinary orders (``attachAlgoOrds``): kept on the order, armed when it is
final with something filled, triggered by the walk, and refused (never dropped) when the
simulator does not do what was asked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from okx_sim.embedded import SimulatorHandle
from okx_sim.records import SimOrder

from .conftest import Client
from .test_algo_orders import ATTACH_KEYS, Driven, _ccxt, _last, conserved


def place(driven: Driven, **fields: Any) -> dict[str, Any]:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01"} | fields
    [ack] = driven.engine.place([driven.engine.parse_place(body)], driven.now)
    return ack


@pytest.fixture
def driven() -> Driven:
    return Driven(seed=4, volatility=0.003)


def test_a_protected_buy_sells_when_the_price_falls_below_the_stop(driven: Driven) -> None:
    ack = place(driven, px=driven.px("1.01"), attachAlgoOrds=[
        {"attachAlgoClOrdId": "guard1", "slTriggerPx": driven.px("0.996"), "slOrdPx": "-1"}])
    assert ack["sCode"] == "0", ack
    parent = driven.order(ack["ordId"])
    assert parent["state"] == "filled"
    [item] = parent["attachAlgoOrds"]
    assert set(item) == ATTACH_KEYS and item["attachAlgoClOrdId"] == "guard1" and item["failCode"] == ""
    algo = driven.engine.algos.get(None, "guard1", driven.now)
    assert algo is not None and algo["ordType"] == "conditional" and algo["side"] == "sell"
    assert algo["algoId"] not in (ack["ordId"], item["attachAlgoId"]) and algo["sz"] == "0.01"
    driven.step_until(lambda: driven.get(algo["algoId"])["state"] != "live")
    fired = driven.get(algo["algoId"])
    assert fired["state"] == "effective" and fired["actualSide"] == "sl"
    assert driven.last() <= Decimal(fired["slTriggerPx"])
    child = driven.order(fired["ordId"])
    assert (child["side"], child["algoId"], child["algoClOrdId"], child["source"]) == ("sell", algo["algoId"],
                                                                                       "guard1", "7")
    assert child["state"] == "filled" and conserved(driven.engine)


def test_both_legs_make_one_oco(driven: Driven) -> None:
    ack = place(driven, ordType="market", sz="500", attachAlgoOrds=[
        {"attachAlgoClOrdId": "both1", "tpTriggerPx": driven.px("1.2"), "tpOrdPx": "-1",
         "slTriggerPx": driven.px("0.8"), "slOrdPx": "-1"}])
    algo = driven.engine.algos.get(None, "both1", driven.now)
    assert ack["sCode"] == "0" and algo is not None and algo["ordType"] == "oco"
    assert algo["tpTriggerPx"] and algo["slTriggerPx"] and Decimal(algo["sz"]) > 0


def test_a_resting_order_shows_its_protection_and_arms_nothing_until_it_fills(driven: Driven) -> None:
    ack = place(driven, px=driven.px("0.9"), clOrdId="rest1", attachAlgoOrds=[
        {"attachAlgoClOrdId": "rest1p", "tpTriggerPx": driven.px("1.1"), "tpOrdPx": "-1"}])
    pending = driven.engine.list_orders(pending=True, params={}, now=driven.now)
    assert [o["attachAlgoOrds"][0]["attachAlgoClOrdId"] for o in pending] == ["rest1p"]
    assert pending[0]["attachAlgoOrds"][0]["tpTriggerPx"] == pending[0]["tpTriggerPx"] != ""
    assert driven.engine.algos.get(None, "rest1p", driven.now) is None
    driven.engine.cancel([{"instId": "BTC-USDT", "ordId": ack["ordId"]}], driven.now)
    assert driven.engine.algos.get(None, "rest1p", driven.now) is None  # cancelled before any fill: none


def test_a_partly_filled_order_protects_its_filled_part_once_final(driven: Driven) -> None:
    inst = driven.engine.catalogue.get("BTC-USDT")
    assert inst is not None
    book = driven.engine.market.book(inst, driven.engine.market.step_at(driven.now))
    first = book.asks[0]
    sz = first[1] + book.asks[1][1] + book.asks[2][1] + Decimal("0.1")  # more than the levels up to its price
    ack = place(driven, ordType="ioc", px=str(book.asks[2][0]), sz=str(sz), attachAlgoOrds=[
        {"attachAlgoClOrdId": "part1", "slTriggerPx": driven.px("0.9"), "slOrdPx": "-1"}])
    parent = driven.order(ack["ordId"])
    assert parent["state"] == "canceled" and Decimal(parent["accFillSz"]) > 0
    algo = driven.engine.algos.get(None, "part1", driven.now)
    assert algo is not None and Decimal(algo["sz"]) <= Decimal(parent["accFillSz"])


def test_protection_that_cannot_be_armed_says_why_on_the_order() -> None:
    # A sell's protection is a buy; what the sell brought in cannot pay for it above the price.
    driven = Driven(seed=4, volatility=0.003, balances={"USDT": Decimal(0), "BTC": Decimal(1)})
    ack = place(driven, side="sell", ordType="market", sz="0.01", attachAlgoOrds=[
        {"attachAlgoClOrdId": "tiny1", "slTriggerPx": driven.px("1.1"), "slOrdPx": "-1"}])
    [item] = driven.order(ack["ordId"])["attachAlgoOrds"]
    assert item["failCode"] == "51008" and item["failReason"] == "Order failed. Insufficient USDT balance in account."
    assert driven.engine.algos.get(None, "tiny1", driven.now) is None


@pytest.mark.parametrize("absent", [None, "", []])
def test_empty_attachments_are_absent(driven: Driven, absent: Any) -> None:
    ack = place(driven, px=driven.px("0.9"), attachAlgoOrds=absent)
    assert ack["sCode"] == "0" and driven.order(ack["ordId"])["attachAlgoOrds"] == []


def test_unknown_keys_are_ignored(driven: Driven) -> None:
    ack = place(driven, px=driven.px("0.9"), attachAlgoOrds=[
        {"slTriggerPx": driven.px("0.8"), "slOrdPx": "-1", "someFutureKey": "x"}])
    assert ack["sCode"] == "0"


@pytest.mark.parametrize(("leg", "code", "msg"), [
    ({"tpTriggerPx": "1.1", "tpOrdPx": "1.1", "tpOrdKind": "limit"}, "51094", None),
    ({"tpTriggerPx": "1.1", "tpOrdPx": "-1", "sz": "0.005"}, "51077", None),
    ({"slTriggerPx": "0.8", "slOrdPx": "-1", "amendPxOnTriggerType": "1"}, "51077", None),
    ({"slTriggerPx": "0.8", "slOrdPx": "-1", "slTriggerPxType": "mark"}, "51415", None),
    ({"tpTriggerRatio": "0.1", "tpOrdPx": "-1"}, "51000", "Parameter tpTriggerRatio error "),
    ({"callbackRatio": "0.01"}, "51000", "Parameter callbackRatio error "),
    ({"slTriggerPx": "0.8"}, "51000", "Parameter slOrdPx error "),
    ({"slOrdPx": "-1"}, "51000", "Parameter slTriggerPx error "),
])
def test_what_the_simulator_does_not_do_is_refused_not_dropped(driven: Driven, leg: dict[str, str], code: str,
                                                               msg: str | None) -> None:
    leg = {k: (driven.px(v) if k in ("tpTriggerPx", "tpOrdPx", "slTriggerPx") else v) for k, v in leg.items()}
    before = len(driven.engine.all_orders())
    ack = place(driven, px=driven.px("0.95"), attachAlgoOrds=[leg])
    assert ack["sCode"] == code and (msg is None or ack["sMsg"] == msg), ack
    assert len(driven.engine.all_orders()) == before  # the order was not placed without its protection


def test_market_buy_in_base_units_takes_no_protection(driven: Driven) -> None:
    ack = place(driven, ordType="market", tgtCcy="base_ccy", attachAlgoOrds=[
        {"slTriggerPx": driven.px("0.9"), "slOrdPx": "-1"}])
    assert (ack["sCode"], ack["sMsg"]) == ("51000", "Parameter tgtCcy error ")


def test_protection_survives_a_restart_before_the_fill(tmp_path: Any) -> None:
    from okx_sim.state import StateStore

    path = tmp_path / "s.sqlite3"
    first = Driven(StateStore(path), seed=4)
    ack = place(first, px=first.px("0.9"), attachAlgoOrds=[
        {"attachAlgoClOrdId": "keep2", "slTriggerPx": first.px("0.8"), "slOrdPx": "-1"}])
    first.engine.close()
    second = Driven(StateStore(path), seed=4)
    order: SimOrder = second.engine.orders[ack["ordId"]]
    assert order.attach_algo_ords[0]["attachAlgoClOrdId"] == "keep2" and not order.attach_armed
    second.engine.close()


# -- clients, unmodified ------------------------------------------------------------------------------


def test_ccxt_stop_loss_on_a_limit_buy(sim: SimulatorHandle, client: Client) -> None:
    ex: ccxt.okx = _ccxt(sim)
    ex.load_markets()
    px = float(_last(client, "1.01"))
    order = ex.create_order("BTC/USDT", "limit", "buy", 0.01, px, {"stopLoss": {"triggerPrice": px * 0.9}})
    parent = ex.fetch_order(order["id"], "BTC/USDT")
    [item] = parent["info"]["attachAlgoOrds"]
    assert item["slTriggerPx"] and item["slOrdPx"] == "-1"
    protections = ex.fetch_open_orders("BTC/USDT", params={"trigger": True, "ordType": "conditional"})
    assert len(protections) == 1 and protections[0]["side"] == "sell"


def test_python_okx_place_order_with_attach_algo_ords(sim: SimulatorHandle, client: Client) -> None:
    from okx import Trade

    creds = sim.credentials
    trade = Trade.TradeAPI(creds.api_key, creds.secret_key.get_secret_value(), creds.passphrase.get_secret_value(),
                           False, "1", domain=sim.base_url, debug=False)
    placed = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.01",
                               px=_last(client, "1.01"), attachAlgoOrds=[
                                   {"attachAlgoClOrdId": "pyokxP", "slTriggerPx": _last(client, "0.9"),
                                    "slOrdPx": "-1"}])
    assert placed["code"] == "0", placed
    algo = trade.get_algo_order_details(algoClOrdId="pyokxP")["data"][0]
    assert algo["ordType"] == "conditional" and algo["algoId"] != placed["data"][0]["ordId"]
