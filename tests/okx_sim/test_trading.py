"""Matching, balances, fees and the clOrdId rules."""

from __future__ import annotations

import time
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_sim.market import Market

from .conftest import Client


def test_duplicate_clordid_refused_while_pending_accepted_after(sim: SimulatorHandle, client: Client) -> None:
    bid, _ = client.best()
    low = str(Decimal(bid) - 5000)
    assert client.order(px=low, clOrdId="same1")[1]["code"] == "0"
    _, dup = client.order(px=low, clOrdId="same1")
    assert dup["data"][0]["sCode"] == "51016"
    first = sim.exchange.orders_by_client_id("same1")[0]["ordId"]
    _, cancel = client.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "clOrdId": "same1"})
    assert cancel["data"][0]["sCode"] == "0"
    # Once final, the same clOrdId is accepted again (as real OKX): a blind re-send trades twice.
    assert client.order(ordType="market", sz="100", clOrdId="same1")[1]["code"] == "0"
    assert client.order(ordType="market", sz="100", clOrdId="same1")[1]["code"] == "0"
    orders = sim.exchange.orders_by_client_id("same1")
    assert [o["state"] for o in orders] == ["canceled", "filled", "filled"]
    _, latest = client.get("/api/v5/trade/order?instId=BTC-USDT&clOrdId=same1")
    assert latest["data"][0]["ordId"] == orders[-1]["ordId"] != first
    _, via_sim = client.get("/__sim__/orders?clOrdId=same1", signed=False)
    assert len(via_sim["data"]) == 3


def test_market_buy_walks_the_book_with_taker_fees(sim: SimulatorHandle, client: Client) -> None:
    _, body = client.order(ordType="market", sz="0.5", tgtCcy="base_ccy", clOrdId="mkt1")
    assert body["code"] == "0"
    ord_id = body["data"][0]["ordId"]
    assert ord_id.isdigit() and 18 <= len(ord_id) <= 19
    _, order = client.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={ord_id}")
    o = order["data"][0]
    assert o["state"] == "filled" and o["accFillSz"] == "0.5" and o["feeCcy"] == "BTC"
    assert Decimal(o["fee"]) == Decimal("-0.0005")
    _, fills = client.get(f"/api/v5/trade/fills?instId=BTC-USDT&ordId={ord_id}")
    rows = fills["data"]
    assert all(f["execType"] == "T" and f["feeRate"] == "-0.001" for f in rows)
    notional = sum(Decimal(f["fillPx"]) * Decimal(f["fillSz"]) for f in rows)
    assert Decimal(o["avgPx"]) == notional / Decimal("0.5")
    assert sum(Decimal(f["fillSz"]) for f in rows) == Decimal("0.5")
    btc = sim.exchange.balance_of("BTC")
    assert btc.cash == Decimal("1.4995")


def test_limit_sell_freezes_and_cancel_releases(sim: SimulatorHandle, client: Client) -> None:
    _, ask = client.best()
    high = str(Decimal(ask) + 5000)
    assert client.order(side="sell", px=high, sz="0.4", clOrdId="s1")[1]["code"] == "0"
    _, bal = client.get("/api/v5/account/balance?ccy=BTC")
    detail = bal["data"][0]["details"][0]
    assert (detail["frozenBal"], detail["availBal"], detail["cashBal"]) == ("0.4", "0.6", "1")
    _, pending = client.get("/api/v5/trade/orders-pending?instType=SPOT")
    assert [p["clOrdId"] for p in pending["data"]] == ["s1"]
    client.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "clOrdId": "s1"})
    assert sim.exchange.balance_of("BTC").frozen == 0
    _, hist = client.get("/api/v5/trade/orders-history?instType=SPOT")
    assert hist["data"][0]["state"] == "canceled"


def test_post_only_crossing_is_canceled_and_fok_all_or_nothing() -> None:
    with running_simulator(SimConfig(rate_limits=False, volatility=0)) as sim:
        _types_on_a_still_market(sim, Client(sim.base_url, sim.credentials))


def _types_on_a_still_market(sim: SimulatorHandle, client: Client) -> None:
    _, ask = client.best()
    _, body = client.order(ordType="post_only", px=ask, clOrdId="po1")
    assert body["code"] == "0"
    assert sim.exchange.orders_by_client_id("po1")[0]["state"] == "canceled"
    assert sim.exchange.orders_by_client_id("po1")[0]["cancelSource"] == "31"
    _, fok = client.order(ordType="fok", px=ask, sz="1", clOrdId="fok1")  # more than the top level holds
    assert sim.exchange.orders_by_client_id("fok1")[0]["state"] == "canceled"
    assert sim.exchange.orders_by_client_id("fok1")[0]["accFillSz"] == "0"
    _, ioc = client.order(ordType="ioc", px=ask, sz="1", clOrdId="ioc1")
    o = sim.exchange.orders_by_client_id("ioc1")[0]
    assert o["state"] in ("filled", "canceled") and Decimal(o["accFillSz"]) > 0


def test_amend_then_resting_order_fills_as_maker() -> None:
    with running_simulator(SimConfig(rate_limits=False, step_ms=100, volatility=0.003, seed=11)) as sim:
        client = Client(sim.base_url, sim.credentials)
        bid, _ = client.best()
        client.order(px=str(Decimal(bid) - 2000), sz="0.01", clOrdId="mk1")
        # The walk is seeded, so pick a price the book does not reach for the next 25 steps
        # (2.5 s, ample for the amend) but does reach later: the fill must be a maker fill.
        live, inst = sim.exchange.market, sim.exchange.catalogue.get("BTC-USDT")
        # A twin of the seeded walk: scanning ahead on the live one would advance it.
        market = Market(live.catalogue, seed=live.seed, step_ms=live.step_ms, volatility=live.volatility,
                        start_step=live._start_step, anchor_ms=live._anchor_ms)
        now = market.step_at(int(time.time() * 1000))
        near = min(market.book(inst, s).best_ask for s in range(now, now + 25))
        later = next(ask for ask in (market.book(inst, s).best_ask for s in range(now + 25, now + 400)) if ask < near)
        price = str(later)
        _, amend = client.post("/api/v5/trade/amend-order", {"instId": "BTC-USDT", "clOrdId": "mk1", "newPx": price})
        assert amend["data"][0]["sCode"] == "0"
        deadline = time.monotonic() + 45
        while sim.exchange.orders_by_client_id("mk1")[0]["state"] != "filled":
            assert time.monotonic() < deadline, "the walk never crossed"
            time.sleep(0.05)
        _, fills = client.get("/api/v5/trade/fills-history?instType=SPOT")
        maker = [f for f in fills["data"] if f["clOrdId"] == "mk1"]
        assert maker and maker[0]["execType"] == "M" and Decimal(maker[0]["fillPx"]) == Decimal(price)
        assert maker[0]["feeRate"] == "-0.0008"


def _conserved(sim: SimulatorHandle) -> None:
    for ccy, (initial, now) in sim.exchange.conservation().items():
        assert initial == now, ccy
    for ccy, bal in sim.exchange.balances.items():
        assert bal.cash >= 0 and 0 <= bal.frozen <= bal.cash, ccy


_order = st.fixed_dictionaries({
    "instId": st.sampled_from(["BTC-USDT", "ETH-USDT", "ETH-BTC"]),
    "side": st.sampled_from(["buy", "sell"]),
    "ordType": st.sampled_from(["market", "limit", "ioc", "fok", "post_only"]),
    "offset": st.integers(-30, 30),
    "units": st.integers(1, 400),
})


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(orders=st.lists(_order, min_size=1, max_size=12), cancel_all=st.booleans())
def test_balances_are_conserved(orders: list[dict], cancel_all: bool) -> None:
    sim, client = _SHARED
    lots = {"BTC-USDT": ("0.001", "0.1"), "ETH-USDT": ("0.01", "0.01"), "ETH-BTC": ("0.01", "0.00001")}
    for spec in orders:
        lot, tick = lots[spec["instId"]]
        bid, ask = client.best(spec["instId"])
        ref = Decimal(ask if spec["side"] == "buy" else bid)
        body = {"instId": spec["instId"], "tdMode": "cash", "side": spec["side"], "ordType": spec["ordType"],
                "sz": str(Decimal(lot) * spec["units"])}
        if spec["ordType"] == "market":
            body["tgtCcy"] = "base_ccy"
        else:
            body["px"] = str(ref + Decimal(tick) * spec["offset"])
        status, reply = client.post("/api/v5/trade/order", body)
        assert status == 200 and reply["code"] in ("0", "1")
        _conserved(sim)
    if cancel_all:
        for order in client.get("/api/v5/trade/orders-pending")[1]["data"]:
            client.post("/api/v5/trade/cancel-order", {"instId": order["instId"], "ordId": order["ordId"]})
        assert all(b.frozen == 0 for b in sim.exchange.balances.values())
    _conserved(sim)


_SHARED: tuple[SimulatorHandle, Client]


def setup_module() -> None:
    global _SHARED, _CTX
    _CTX = running_simulator(SimConfig(rate_limits=False, balances={"USDT": Decimal(5000), "BTC": Decimal("0.2"),
                                                                    "ETH": Decimal(3)}))
    sim = _CTX.__enter__()
    _SHARED = (sim, Client(sim.base_url, sim.credentials))


def teardown_module() -> None:
    _CTX.__exit__(None, None, None)


def test_python_okx_style_body_with_empty_values(client: Client) -> None:
    body = '{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "100", ' \
           '"ccy": "", "clOrdId": "", "tag": "", "posSide": "", "px": "", "reduceOnly": "", "tgtCcy": "", ' \
           '"attachAlgoOrds": null}'
    _, reply = client.post("/api/v5/trade/order", raw_body=body)
    assert reply["code"] == "0", reply


def test_batch_of_more_than_20_is_refused(client: Client) -> None:
    one = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "10"}
    status, reply = client.post("/api/v5/trade/batch-orders", [one] * 21)
    assert (status, reply["code"]) == (400, "51000")


def test_market_data_shapes(client: Client) -> None:
    _, inst = client.get("/api/v5/public/instruments?instType=SPOT", signed=False)
    assert len(inst["data"]) >= 20 and inst["data"][0]["instId"] == "BTC-USDT"
    assert client.get("/api/v5/public/instruments?instType=SWAP", signed=False)[1]["data"] == []
    _, book = client.get("/api/v5/market/books?instId=ETH-USDT&sz=400", signed=False)
    asks, bids = book["data"][0]["asks"], book["data"][0]["bids"]
    assert len(asks) == 400 and isinstance(book["data"][0]["seqId"], int)
    assert [Decimal(a[0]) for a in asks] == sorted(Decimal(a[0]) for a in asks)
    assert [Decimal(b[0]) for b in bids] == sorted((Decimal(b[0]) for b in bids), reverse=True)
    assert Decimal(bids[0][0]) < Decimal(asks[0][0])
    _, tickers = client.get("/api/v5/market/tickers?instType=SPOT", signed=False)
    assert {t["instId"] for t in tickers["data"]} >= {"BTC-USDT", "ETH-USDT"}


def test_same_seed_same_walk() -> None:
    from okx_sim.instruments import Catalogue
    from okx_sim.market import Market

    def mids(seed: int) -> list[Decimal]:
        market = Market(Catalogue(), seed=seed, step_ms=1000, volatility=0.001, start_step=0, anchor_ms=0)
        inst = market.catalogue.instruments[0]
        return [market.mid(inst, step) for step in range(50)]

    assert mids(5) == mids(5) != mids(6)


def test_scale_catalogue_lists_250_instruments() -> None:
    with running_simulator(SimConfig(instruments=250, rate_limits=False)) as sim:
        _, inst = Client(sim.base_url, sim.credentials).get("/api/v5/public/instruments?instType=SPOT", signed=False)
        assert len(inst["data"]) == 250 and len({i["instId"] for i in inst["data"]}) == 250


def test_every_ticker_range_contains_its_last_price() -> None:
    from okx_sim import SimConfig, running_simulator
    from okx_wire.client import OkxClient

    with running_simulator(SimConfig(rate_limits=False, instruments=60)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as client:
        tickers = client.tickers("SPOT")
    assert tickers
    for t in tickers:
        assert t.low24h is not None and t.high24h is not None and t.last is not None
        assert t.low24h <= t.last <= t.high24h, t.inst_id
