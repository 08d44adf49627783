"""order-algo, its queries, cancel-algos and amend-algos against the simulator: OKX's shapes, the
walk triggering what it reaches, refusals with OKX's codes, restarts, and ccxt/python-okx."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest

from okx_sim import SimConfig, running_simulator
from okx_sim.algos import ATTACH_FIELDS
from okx_sim.embedded import SimulatorHandle
from okx_sim.matching import MatchingEngine
from okx_sim.protocol import ALGO_ERROR_CODES
from okx_sim.state import StateStore
from okx_wire.errors import ERROR_CODES
from okx_wire.precision import format_decimal

from .conftest import Client

SAMPLES = Path(__file__).resolve().parents[1] / "okx_wire" / "samples"
ALGO = "/api/v5/trade/order-algo"
T0 = 1_700_000_000_000
Result = tuple[int, dict[str, Any]]
#: The fields OKX shows for each attachAlgoOrds item of an order (API-FACTS-2.md 10.4).
ATTACH_KEYS = {"attachAlgoId", "attachAlgoClOrdId", "tpOrdKind", "tpTriggerPx", "tpTriggerRatio", "tpTriggerPxType",
               "tpOrdPx", "slTriggerPx", "slTriggerRatio", "slTriggerPxType", "slOrdPx", "sz", "amendPxOnTriggerType",
               "callbackRatio", "callbackSpread", "activePx", "failCode", "failReason"}
assert set(ATTACH_FIELDS) == ATTACH_KEYS


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


# -- an engine on a clock the test drives -----------------------------------------------------------


class Driven:
    """A MatchingEngine whose clock only moves when the test says (``step``)."""

    def __init__(self, store: StateStore | None = None, **config: Any) -> None:
        self.now = T0
        self.config = SimConfig(rate_limits=False, **config)
        self.engine = MatchingEngine(self.config, store or StateStore(None), lambda: self.now)

    def last(self, inst_id: str = "BTC-USDT") -> Decimal:
        inst = self.engine.catalogue.get(inst_id)
        assert inst is not None
        return Decimal(self.engine.market.ticker(inst, self.engine.market.step_at(self.now))["last"])

    def px(self, factor: str, inst_id: str = "BTC-USDT") -> str:
        return format_decimal((self.last(inst_id) * Decimal(factor)).quantize(Decimal("0.1")))

    def algo(self, **fields: Any) -> dict[str, Any]:
        body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "ordType": "conditional", "sz": "0.01"}
        return self.engine.algos.place(body | fields, self.now)

    def step_until(self, done: Callable[[], bool], steps: int = 5000) -> int:
        for n in range(1, steps + 1):
            self.now += self.config.step_ms
            self.engine.tick(self.now)
            if done():
                return n
        raise AssertionError(f"not reached in {steps} steps")

    def get(self, algo_id: str) -> dict[str, Any]:
        found = self.engine.algos.get(algo_id, None, self.now)
        assert found is not None
        return found

    def order(self, ord_id: str) -> dict[str, Any]:
        return next(o for o in self.engine.all_orders() if o["ordId"] == ord_id)


@pytest.fixture
def driven() -> Driven:
    # A seed whose walk both rises and falls a few per cent within the first 600 steps, so that
    # triggers on either side are reached (the walk is seeded: the same seed, the same path).
    return Driven(seed=7, volatility=0.003)


def conserved(engine: MatchingEngine) -> bool:
    return all(a == b for a, b in engine.conservation().values())


# -- shapes -------------------------------------------------------------------------------------------


def test_the_ack_is_shaped_as_okx_answers_order_algo(client: Client) -> None:
    _, ticker = client.get("/api/v5/market/ticker?instId=BTC-USDT", signed=False)
    sl = str((Decimal(ticker["data"][0]["last"]) * Decimal("0.9")).quantize(Decimal("0.1")))
    status, body = client.post(ALGO, {"instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "ordType": "conditional",
                                      "sz": "0.01", "slTriggerPx": sl, "slOrdPx": "-1", "algoClOrdId": "shape1",
                                      "tag": "t1"})
    real = sample("trade_order_algo_trigger_ack.json")["response"]
    assert status == 200 and set(body) == set(real) and set(body["data"][0]) == set(real["data"][0])
    item = body["data"][0]
    assert (body["code"], body["msg"], item["sCode"], item["sMsg"]) == ("0", "", "0", "")
    assert (item["algoClOrdId"], item["clOrdId"], item["tag"]) == ("shape1", "shape1", "t1")
    record_keys = set(sample("trade_orders_algo_pending_conditional.json")["response"]["data"][0])
    assert len(record_keys) == 54
    _, pending = client.get("/api/v5/trade/orders-algo-pending?ordType=conditional")
    _, one = client.get(f"/api/v5/trade/order-algo?algoId={item['algoId']}")
    for record in (pending["data"][0], one["data"][0]):
        assert set(record) == record_keys
        assert (record["state"], record["ordId"], record["ordIdList"], record["actualSz"]) == ("live", "", [], "0")
        assert (Decimal(record["slTriggerPx"]), record["slOrdPx"], record["slTriggerPxType"]) == (Decimal(sl), "-1",
                                                                                                   "last")
        assert record["failCode"] == "0" and Decimal(record["last"]) > 0


def test_a_refusal_is_shaped_as_okx_answers_it(client: Client) -> None:
    status, body = client.post(ALGO, {"instId": "BTC-USDT", "tdMode": "cross", "side": "sell", "ordType": "trigger",
                                      "sz": "0.01", "triggerPx": "1000", "orderPx": "-1"})
    assert status == 200 and body["code"] == "1" and body["msg"] == "" and "inTime" not in body
    assert body["data"][0] == {"algoClOrdId": "", "algoId": "", "clOrdId": "", "sCode": "51010",
                               "sMsg": ERROR_CODES["51010"].message + " ", "tag": ""}


def test_tdmode_follows_the_account_mode() -> None:
    with running_simulator(SimConfig(rate_limits=False, acct_lv="3")) as sim:
        c = Client(sim.base_url, sim.credentials)
        body = {"instId": "BTC-USDT", "side": "sell", "ordType": "conditional", "sz": "0.01", "slTriggerPx": "1000",
                "slOrdPx": "-1"}
        _, cash = c.post(ALGO, body | {"tdMode": "cash"})
        real = sample("error_order_algo_tdmode_cash_51000.json")["response"]
        assert cash == real
        assert c.post(ALGO, body | {"tdMode": "cross"})[1]["code"] == "0"


@pytest.mark.parametrize(("body", "code", "status"), [
    ({"tdMode": "cash", "side": "sell", "ordType": "conditional", "sz": "1"}, "50014", 400),
    ({"instId": "BTC-USDT", "tdMode": "cash", "side": "up", "ordType": "conditional", "sz": "1"}, "51000", 400),
    ({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "nope", "sz": "1"}, "51000", 400),
    ({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "trigger", "sz": "1"}, "50014", 400),
    ({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "move_order_stop", "sz": "1"}, "50014", 400),
])
def test_malformed_requests_are_refused_whole(client: Client, body: dict[str, Any], code: str, status: int) -> None:
    got_status, got = client.post(ALGO, body)
    assert (got_status, got["code"], got["data"]) == (status, code, [])


@pytest.mark.parametrize("ord_type", ["twap", "iceberg", "smart_iceberg", "chase"])
def test_algo_types_the_simulator_does_not_run_are_refused(client: Client, ord_type: str) -> None:
    _, body = client.post(ALGO, {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": ord_type,
                                 "sz": "1", "szLimit": "1", "pxLimit": "100", "timeInterval": "10"})
    assert (body["code"], body["data"][0]["sCode"], body["data"][0]["sMsg"]) == ("1", "51000",
                                                                                 "Parameter ordType error ")
    assert client.get(f"/api/v5/trade/orders-algo-pending?ordType={ord_type}")[1]["data"] == []


# -- the walk -----------------------------------------------------------------------------------------


def test_a_stop_loss_freezes_then_sells_when_the_price_falls(driven: Driven) -> None:
    engine = driven.engine
    before = engine.balance_of("BTC")
    ack = driven.algo(slTriggerPx=driven.px("0.995"), slOrdPx="-1", algoClOrdId="sl1")
    assert ack["sCode"] == "0", ack
    assert engine.balance_of("BTC").frozen == before.frozen + Decimal("0.01")
    algo_id = ack["algoId"]
    driven.step_until(lambda: driven.get(algo_id)["state"] != "live")
    algo = driven.get(algo_id)
    assert (algo["state"], algo["actualSide"], algo["actualSz"], algo["failCode"]) == ("effective", "sl", "0.01", "0")
    assert algo["ordIdList"] == [algo["ordId"]] and algo["triggerTime"] == str(driven.now)
    child = driven.order(algo["ordId"])
    assert (child["side"], child["ordType"], child["state"], child["sz"]) == ("sell", "market", "filled", "0.01")
    assert (child["algoId"], child["algoClOrdId"], child["source"]) == (algo_id, "sl1", "7")
    assert engine.balance_of("BTC").frozen == before.frozen
    assert conserved(engine)
    history = engine.algos.history({"ordType": "conditional,oco", "state": "effective"}, driven.now)
    assert [h["algoId"] for h in history] == [algo_id]
    assert engine.algos.pending({"ordType": "conditional"}, driven.now) == []


def test_an_oco_takes_profit_or_stops_and_the_other_leg_goes_with_it(driven: Driven) -> None:
    ack = driven.algo(ordType="oco", tpTriggerPx=driven.px("1.004"), tpOrdPx="-1", slTriggerPx=driven.px("0.996"),
                      slOrdPx="-1")
    driven.step_until(lambda: driven.get(ack["algoId"])["state"] == "effective")
    algo = driven.get(ack["algoId"])
    assert algo["actualSide"] in ("tp", "sl")
    assert len([o for o in driven.engine.all_orders() if o["algoId"] == ack["algoId"]]) == 1
    assert driven.order(algo["ordId"])["source"] == "7"


def test_a_quote_sized_buy_stop_freezes_its_quote() -> None:
    driven = Driven(seed=7, volatility=0.003)
    usdt = driven.engine.balance_of("USDT").frozen
    ack = driven.algo(side="buy", sz="500", slTriggerPx=driven.px("1.004"), slOrdPx="-1")
    record = driven.get(ack["algoId"])
    assert record["tgtCcy"] == "quote_ccy" and driven.engine.balance_of("USDT").frozen == usdt + 500
    driven.step_until(lambda: driven.get(ack["algoId"])["state"] == "effective")
    child = driven.order(driven.get(ack["algoId"])["ordId"])
    assert (child["side"], child["tgtCcy"], child["sz"]) == ("buy", "quote_ccy", "500")
    assert driven.engine.balance_of("USDT").frozen == usdt and conserved(driven.engine)


def test_a_trigger_order_freezes_nothing_and_fires_on_crossing(driven: Driven) -> None:
    frozen = driven.engine.balance_of("USDT").frozen
    ack = driven.algo(ordType="trigger", side="buy", triggerPx=driven.px("1.003"), orderPx="-1", sz="0.01")
    assert ack["sCode"] == "0" and driven.engine.balance_of("USDT").frozen == frozen
    driven.step_until(lambda: driven.get(ack["algoId"])["state"] != "live")
    algo = driven.get(ack["algoId"])
    assert (algo["state"], algo["actualSide"]) == ("effective", "buy")
    child = driven.order(algo["ordId"])
    assert (child["source"], child["side"], child["sz"], child["state"]) == ("6", "buy", "0.01", "filled")


def test_a_trigger_order_places_what_the_balance_allows_or_fails() -> None:
    driven = Driven(seed=3, volatility=0.003, balances={"USDT": Decimal(0), "BTC": Decimal("0.004")})
    partial = driven.algo(ordType="trigger", triggerPx=driven.px("0.997"), orderPx="-1", sz="0.01")
    driven.step_until(lambda: driven.get(partial["algoId"])["state"] != "live")
    sold = driven.get(partial["algoId"])
    assert sold["state"] == "effective" and driven.order(sold["ordId"])["sz"] == "0.004"
    broke = Driven(seed=3, volatility=0.003, balances={"USDT": Decimal(0)})
    none = broke.algo(ordType="trigger", side="buy", triggerPx=broke.px("0.997"), orderPx="-1", sz="0.01")
    broke.step_until(lambda: broke.get(none["algoId"])["state"] != "live")
    failed = broke.get(none["algoId"])
    assert (failed["state"], failed["failCode"], failed["ordId"]) == ("order_failed", "51008", "")


def test_a_trailing_stop_follows_the_high_then_sells_at_market(driven: Driven) -> None:
    ack = driven.algo(ordType="move_order_stop", callbackRatio="0.002")
    assert driven.get(ack["algoId"])["moveTriggerPx"] != ""
    driven.step_until(lambda: driven.get(ack["algoId"])["state"] != "live")
    algo = driven.get(ack["algoId"])
    child = driven.order(algo["ordId"])
    assert (algo["state"], child["source"], child["ordType"]) == ("effective", "25", "market")


def test_a_trailing_stop_waits_for_its_activation_price(driven: Driven) -> None:
    active = driven.px("1.003")
    ack = driven.algo(ordType="move_order_stop", callbackSpread="50", activePx=active)
    assert driven.get(ack["algoId"])["moveTriggerPx"] == ""
    driven.step_until(lambda: driven.get(ack["algoId"])["moveTriggerPx"] != "")
    assert driven.last() >= Decimal(active)


# -- cancel, amend, queries ---------------------------------------------------------------------------


def test_cancel_releases_and_a_second_cancel_is_51400(driven: Driven) -> None:
    frozen = driven.engine.balance_of("BTC").frozen
    ack = driven.algo(slTriggerPx=driven.px("0.9"), slOrdPx="-1", algoClOrdId="cx1")
    first = driven.engine.algos.cancel([{"instId": "BTC-USDT", "algoClOrdId": "cx1"}], driven.now)
    again = driven.engine.algos.cancel([{"instId": "BTC-USDT", "algoId": ack["algoId"]}], driven.now)
    assert first == [{"algoClOrdId": "cx1", "algoId": ack["algoId"], "clOrdId": "", "sCode": "0", "sMsg": "",
                      "tag": ""}]
    assert again[0]["sCode"] == "51400" and driven.engine.balance_of("BTC").frozen == frozen
    assert driven.get(ack["algoId"])["state"] == "canceled"
    # The id is free again once its algo is final.
    assert driven.algo(slTriggerPx=driven.px("0.9"), slOrdPx="-1", algoClOrdId="cx1")["sCode"] == "0"


def test_cancel_algos_takes_at_most_ten(client: Client) -> None:
    status, body = client.post("/api/v5/trade/cancel-algos", [{"instId": "BTC-USDT", "algoId": str(i)}
                                                              for i in range(11)])
    assert (status, body["code"]) == (400, "51000")
    _, some = client.post("/api/v5/trade/cancel-algos", [{"instId": "BTC-USDT", "algoId": "1"}])
    assert some["code"] == "1" and some["data"][0]["sCode"] == "51400"


def test_amend_changes_one_leg_deletes_with_zero_and_refreezes(driven: Driven) -> None:
    ack = driven.algo(ordType="oco", tpTriggerPx=driven.px("1.1"), tpOrdPx="-1", slTriggerPx=driven.px("0.9"),
                      slOrdPx="-1")
    tp = driven.get(ack["algoId"])["tpTriggerPx"]
    new_sl = driven.px("0.8")
    out = driven.engine.algos.amend({"instId": "BTC-USDT", "algoId": ack["algoId"], "newSlTriggerPx": new_sl,
                                     "newSlOrdPx": "-1", "newSz": "0.02", "reqId": "r1"}, driven.now)
    assert (out["sCode"], out["reqId"]) == ("0", "r1")
    record = driven.get(ack["algoId"])
    assert (record["slTriggerPx"], record["tpTriggerPx"], record["sz"]) == (new_sl, tp, "0.02")
    assert driven.engine.balance_of("BTC").frozen == Decimal("0.02")
    driven.engine.algos.amend({"instId": "BTC-USDT", "algoId": ack["algoId"], "newTpTriggerPx": "0"}, driven.now)
    record = driven.get(ack["algoId"])
    assert (record["ordType"], record["tpTriggerPx"], record["slTriggerPx"]) == ("conditional", "", new_sl)
    refused = driven.engine.algos.amend({"instId": "BTC-USDT", "algoId": ack["algoId"], "newSlTriggerPx": "0",
                                         "cxlOnFail": True}, driven.now)
    assert refused["sCode"] == "51531" and driven.get(ack["algoId"])["state"] == "canceled"


def test_amend_moves_a_trigger_order(driven: Driven) -> None:
    ack = driven.algo(ordType="trigger", triggerPx=driven.px("0.9"), orderPx="-1")
    new = driven.px("0.8")
    assert driven.engine.algos.amend({"instId": "BTC-USDT", "algoId": ack["algoId"], "newTriggerPx": new,
                                      "newOrdPx": "-1"}, driven.now)["sCode"] == "0"
    assert driven.get(ack["algoId"])["triggerPx"] == new


def test_queries_check_their_arguments_as_okx_does(client: Client) -> None:
    assert client.get("/api/v5/trade/orders-algo-pending")[1]["code"] == "50014"
    assert client.get("/api/v5/trade/orders-algo-pending?ordType=trigger,oco")[1]["code"] == "51000"
    assert client.get("/api/v5/trade/orders-algo-pending?ordType=conditional,oco")[1]["code"] == "0"
    assert client.get("/api/v5/trade/orders-algo-history?ordType=trigger")[1]["code"] == "50014"
    assert client.get("/api/v5/trade/orders-algo-history?ordType=trigger&state=live")[1]["code"] == "51000"
    assert client.get("/api/v5/trade/order-algo")[1]["code"] == "50014"
    assert client.get("/api/v5/trade/order-algo?algoId=1")[1]["code"] == "51603"
    assert client.get("/api/v5/trade/orders-algo-pending?ordType=trigger&instType=SWAP")[1]["data"] == []


def test_a_live_algo_is_not_in_history(driven: Driven) -> None:
    ack = driven.algo(ordType="trigger", triggerPx=driven.px("0.5"), orderPx="-1")
    assert driven.engine.algos.history({"ordType": "trigger", "algoId": ack["algoId"]}, driven.now) == []
    assert [a["algoId"] for a in driven.engine.algos.pending({"ordType": "trigger"}, driven.now)] == [ack["algoId"]]


def test_algos_survive_a_restart_with_their_frozen_funds(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = Driven(StateStore(path), seed=2)
    ack = first.algo(slTriggerPx=first.px("0.9"), slOrdPx="-1", algoClOrdId="keep1")
    trig = first.algo(ordType="trigger", triggerPx=first.px("0.8"), orderPx="-1")
    before = first.get(ack["algoId"])
    first.engine.close()
    second = Driven(StateStore(path), seed=2)
    second.now = first.now
    assert second.get(ack["algoId"]) == before and second.get(trig["algoId"])["state"] == "live"
    assert second.engine.balance_of("BTC").frozen == Decimal("0.01")
    assert second.algo(slTriggerPx=second.px("0.9"), slOrdPx="-1", algoClOrdId="keep1")["sCode"] == "51065"
    assert second.engine.algos.cancel([{"instId": "BTC-USDT", "algoId": ack["algoId"]}], second.now)[0]["sCode"] == "0"
    second.engine.close()


# -- every code the algo side answers ----------------------------------------------------------------


def _last(c: Client, factor: str, inst_id: str = "BTC-USDT") -> str:
    _, ticker = c.get(f"/api/v5/market/ticker?instId={inst_id}", signed=False)
    return format_decimal((Decimal(ticker["data"][0]["last"]) * Decimal(factor)).quantize(Decimal("0.1")))


def _post_algo(c: Client, **fields: Any) -> Result:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "ordType": "conditional", "sz": "0.001"}
    return c.post(ALGO, body | fields)


def _item(result: Result) -> Result:
    status, body = result
    item = body["data"][0]
    return status, {"code": item["sCode"], "msg": item["sMsg"], "top": body["code"]}


def _attached(c: Client, side: str, ord_type: str, px_factor: str | None, **leg: str) -> Result:
    body: dict[str, Any] = {"instId": "BTC-USDT", "tdMode": "cash", "side": side, "ordType": ord_type,
                            "sz": "100" if (ord_type == "market" and side == "buy") else "0.001"}
    if px_factor is not None:
        body["px"] = _last(c, px_factor)
    return _item(c.post("/api/v5/trade/order", body | {"attachAlgoOrds": [leg]}))


def _fill_cap(sim: SimulatorHandle, n: int, **fields: Any) -> None:
    for _ in range(n):
        body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "sz": "0.001"} | fields
        assert sim.exchange.algos.place(body, sim.exchange.clock())["sCode"] == "0"


Scenario = Callable[[SimulatorHandle, Client], Result]

ALGO_SCENARIOS: dict[str, Scenario] = {
    "51046": lambda s, c: _attached(c, "buy", "limit", "0.9", tpTriggerPx=_last(c, "0.85"), tpOrdPx="-1"),
    "51047": lambda s, c: _attached(c, "buy", "limit", "0.9", slTriggerPx=_last(c, "0.95"), slOrdPx="-1"),
    "51048": lambda s, c: _attached(c, "sell", "limit", "1.1", tpTriggerPx=_last(c, "1.2"), tpOrdPx="-1"),
    "51049": lambda s, c: _attached(c, "sell", "limit", "1.1", slTriggerPx=_last(c, "1.05"), slOrdPx="-1"),
    "51050": lambda s, c: _attached(c, "buy", "market", None, tpTriggerPx=_last(c, "0.95"), tpOrdPx="-1"),
    "51051": lambda s, c: _attached(c, "buy", "market", None, slTriggerPx=_last(c, "1.05"), slOrdPx="-1"),
    "51052": lambda s, c: _attached(c, "sell", "market", None, tpTriggerPx=_last(c, "1.05"), tpOrdPx="-1"),
    "51053": lambda s, c: _attached(c, "sell", "market", None, slTriggerPx=_last(c, "0.95"), slOrdPx="-1"),
    "51065": lambda s, c: [_post_algo(c, slTriggerPx=_last(c, "0.9"), slOrdPx="-1", algoClOrdId="dupA")] and _item(
        _post_algo(c, slTriggerPx=_last(c, "0.9"), slOrdPx="-1", algoClOrdId="dupA")),
    "51068": lambda s, c: [_post_algo(c, slTriggerPx=_last(c, "0.9"), slOrdPx="-1", algoClOrdId="dupB")] and _attached(
        c, "buy", "limit", "0.9", attachAlgoClOrdId="dupB", slTriggerPx=_last(c, "0.8"), slOrdPx="-1"),
    "51077": lambda s, c: _item(c.post("/api/v5/trade/order", {
        "instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.002",
        "px": _last(c, "0.9"), "attachAlgoOrds": [{"tpTriggerPx": _last(c, "1.1"), "tpOrdPx": "-1", "sz": "0.001"},
                                                  {"tpTriggerPx": _last(c, "1.2"), "tpOrdPx": "-1", "sz": "0.001"}]})),
    "51094": lambda s, c: _item(_post_algo(c, tpTriggerPx=_last(c, "1.1"), tpOrdPx=_last(c, "1.1"),
                                           tpOrdKind="limit")),
    "51133": lambda s, c: setattr(s.exchange, "acct_lv", "3") or _item(
        _post_algo(c, tdMode="cross", reduceOnly=True, slTriggerPx=_last(c, "0.9"), slOrdPx="-1")),
    "51139": lambda s, c: _item(_post_algo(c, reduceOnly=True, slTriggerPx=_last(c, "0.9"), slOrdPx="-1")),
    "51178": lambda s, c: _attached(c, "buy", "limit", "0.9", attachAlgoClOrdId="emptyLegs"),
    "51258": lambda s, c: _item(_post_algo(c, ordType="move_order_stop", callbackRatio="0.01",
                                           activePx=_last(c, "0.9"))),
    "51259": lambda s, c: _item(_post_algo(c, ordType="move_order_stop", side="buy", callbackRatio="0.01",
                                           activePx=_last(c, "1.1"))),
    "51260": lambda s, c: _fill_cap(s, 50, ordType="move_order_stop", callbackRatio="0.01") or _item(
        _post_algo(c, ordType="move_order_stop", callbackRatio="0.01")),
    "51261": lambda s, c: _fill_cap(s, 100, ordType="conditional", slTriggerPx=_last(c, "0.5"), slOrdPx="-1") or _item(
        _post_algo(c, ordType="oco", slTriggerPx=_last(c, "0.5"), slOrdPx="-1", tpTriggerPx=_last(c, "2"),
                   tpOrdPx="-1")),
    "51277": lambda s, c: _item(_post_algo(c, side="buy", tpTriggerPx=_last(c, "1.1"), tpOrdPx="-1")),
    "51278": lambda s, c: _item(_post_algo(c, side="buy", slTriggerPx=_last(c, "0.9"), slOrdPx="-1")),
    "51279": lambda s, c: _item(_post_algo(c, tpTriggerPx=_last(c, "0.9"), tpOrdPx="-1")),
    "51280": lambda s, c: _item(_post_algo(c, slTriggerPx=_last(c, "1.1"), slOrdPx="-1")),
    "51281": lambda s, c: _item(_post_algo(c, ordType="trigger", triggerPx=_last(c, "0.9"), orderPx="-1",
                                           tgtCcy="quote_ccy")),
    "51299": lambda s, c: _fill_cap(s, 500, ordType="trigger", triggerPx=_last(c, "0.5"), orderPx="-1") or _item(
        _post_algo(c, ordType="trigger", triggerPx=_last(c, "0.5"), orderPx="-1")),
    "51327": lambda s, c: _item(c.post(ALGO, {"instId": "BTC-USDT", "tdMode": "cash", "side": "sell",
                                              "ordType": "conditional", "closeFraction": "1",
                                              "slTriggerPx": _last(c, "0.9"), "slOrdPx": "-1"})),
    "51415": lambda s, c: _item(_post_algo(c, slTriggerPx=_last(c, "0.9"), slOrdPx="-1", slTriggerPxType="index")),
    "51506": lambda s, c: _item(c.post("/api/v5/trade/amend-algos", {
        "instId": "BTC-USDT", "newSz": "0.002", "algoId": _post_algo(c, ordType="move_order_stop",
                                                                      callbackRatio="0.01")[1]["data"][0]["algoId"]})),
    "51531": lambda s, c: _item(c.post("/api/v5/trade/amend-algos", {
        "instId": "BTC-USDT", "newSlTriggerPx": "0", "newSlOrdPx": "0",
        "algoId": _post_algo(c, slTriggerPx=_last(c, "0.9"), slOrdPx="-1")[1]["data"][0]["algoId"]})),
}


def test_every_algo_code_has_a_scenario() -> None:
    assert set(ALGO_SCENARIOS) == set(ALGO_ERROR_CODES)


@pytest.mark.parametrize("code", sorted(ALGO_SCENARIOS))
def test_algo_code_is_reached(code: str, sim: SimulatorHandle, client: Client) -> None:
    status, body = ALGO_SCENARIOS[code](sim, client)
    assert (status, body["code"], body["top"]) == (200, code, "1"), body
    assert body["msg"].startswith(ERROR_CODES[code].message.split("{0}")[0]) and body["msg"].endswith(" ")


# -- ccxt and python-okx, unmodified --------------------------------------------------------------------


@pytest.fixture
def sims() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=9, volatility=0.003, step_ms=50)) as handle:
        yield handle


def _ccxt(sim: SimulatorHandle) -> ccxt.okx:
    ex = ccxt.okx({"apiKey": sim.credentials.api_key, "secret": sim.credentials.secret_key.get_secret_value(),
                   "password": sim.credentials.passphrase.get_secret_value(), "enableRateLimit": False})
    ex.urls["api"]["rest"] = sim.base_url
    return ex


def test_ccxt_stop_loss_and_trigger_orders(sims: SimulatorHandle) -> None:
    ex = _ccxt(sims)
    ex.load_markets()
    last = ex.fetch_ticker("BTC/USDT")["last"]
    stop = ex.create_order("BTC/USDT", "market", "sell", 0.01, None, {"stopLossPrice": round(last * 0.8, 1)})
    trigger = ex.create_order("BTC/USDT", "limit", "buy", 0.01, round(last * 0.7, 1),
                              {"triggerPrice": round(last * 0.75, 1)})
    conditional = ex.fetch_open_orders("BTC/USDT", params={"trigger": True, "ordType": "conditional"})
    triggers = ex.fetch_open_orders("BTC/USDT", params={"trigger": True})
    assert [o["id"] for o in conditional] == [stop["id"]] and [o["id"] for o in triggers] == [trigger["id"]]
    assert conditional[0]["info"]["slTriggerPx"] and triggers[0]["info"]["ordType"] == "trigger"
    ex.cancel_order(stop["id"], "BTC/USDT", {"trigger": True})
    ex.cancel_order(trigger["id"], "BTC/USDT", {"trigger": True})
    assert ex.fetch_open_orders("BTC/USDT", params={"trigger": True}) == []
    state = sims.exchange.algos.get(stop["id"], None, sims.exchange.clock())
    assert state is not None and state["state"] == "canceled" and sims.exchange.balance_of("BTC").frozen == 0


def test_python_okx_algo_endpoints(sims: SimulatorHandle) -> None:
    from okx import Trade

    creds = sims.credentials
    trade = Trade.TradeAPI(creds.api_key, creds.secret_key.get_secret_value(), creds.passphrase.get_secret_value(),
                           False, "1", domain=sims.base_url, debug=False)
    c = Client(sims.base_url, creds)
    placed = trade.place_algo_order(instId="BTC-USDT", tdMode="cash", side="sell", ordType="conditional", sz="0.01",
                                    slTriggerPx=_last(c, "0.8"), slOrdPx="-1", algoClOrdId="pyokx1")
    assert placed["code"] == "0", placed
    algo_id = placed["data"][0]["algoId"]
    assert trade.get_algo_order_details(algoClOrdId="pyokx1")["data"][0]["algoId"] == algo_id
    assert [a["algoId"] for a in trade.order_algos_list(ordType="conditional")["data"]] == [algo_id]
    amended = trade.amend_algo_order(instId="BTC-USDT", algoId=algo_id, newSlTriggerPx=_last(c, "0.7"),
                                     newSlOrdPx="-1")
    assert amended["code"] == "0", amended
    assert trade.cancel_algo_order([{"instId": "BTC-USDT", "algoId": algo_id}])["code"] == "0"
    history = trade.order_algos_history(ordType="conditional", state="canceled")
    assert [a["algoId"] for a in history["data"]] == [algo_id]
