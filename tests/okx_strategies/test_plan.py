"""Properties and worked examples of the pure order planners in ``okx_strategies.plan``."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from okx_strategies.plan import (
    PlannedOrder,
    RebalancePlan,
    RiskLimits,
    SkippedLeg,
    plan_dca,
    plan_ladder,
    plan_rebalance,
    simulate_fills,
    twap_slices,
)
from okx_wire.models import Instrument, OrderBook
from okx_wire.precision import is_multiple

FEE = D("0.001")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def instrument(inst_id: str, tick: str, lot: str, min_sz: str, state: str = "live") -> Instrument:
    base, quote = inst_id.split("-")
    return Instrument(inst_type="SPOT", inst_id=inst_id, base_ccy=base, quote_ccy=quote, tick_sz=D(tick),
                      lot_sz=D(lot), min_sz=D(min_sz), state=state)


def book(bid: str | D, ask: str | D, inst_id: str = "") -> OrderBook:
    return OrderBook(inst_id=inst_id, asks=[[str(ask), "5", "0", "1"]], bids=[[str(bid), "5", "0", "1"]], ts=1)


BTC = instrument("BTC-USDT", "0.1", "0.00000001", "0.00001")
ETH = instrument("ETH-USDT", "0.01", "0.000001", "0.0001")
SOL = instrument("SOL-USDT", "0.01", "0.000001", "0.001")
INSTRUMENTS = {i.inst_id: i for i in (BTC, ETH, SOL)}
BOOKS = {"BTC-USDT": book("89999.9", "90000.1"), "ETH-USDT": book("2999.99", "3000.01"),
         "SOL-USDT": book("149.99", "150.01")}
SIM_ACCOUNT = {"USDT": D(100000), "BTC": D(1), "ETH": D(10)}
TARGETS = {"BTC": D("0.4"), "ETH": D("0.3"), "SOL": D("0.1"), "USDT": D("0.2")}


NO_LIMITS = RiskLimits()


def rebalance(balances: dict[str, D] = SIM_ACCOUNT, targets: dict[str, D] = TARGETS, risk: RiskLimits = NO_LIMITS,
              books: dict[str, OrderBook] = BOOKS, drift_band: D = D("0.02"),
              min_trade_quote: D = D(10)) -> RebalancePlan:
    return plan_rebalance(balances=balances, books=books, instruments=INSTRUMENTS, targets=targets, quote_ccy="USDT",
                          drift_band=drift_band, min_trade_quote=min_trade_quote, risk=risk, fee_rate=FEE)


# ---------------------------------------------------------------------------------------------
# Worked examples


def test_rebalance_of_the_simulator_account_without_limits() -> None:
    plan = rebalance()
    assert plan.total_value == D(220000)
    assert plan.needs_trading
    assert plan.drift["ETH"] == D(30000) / D(220000) - D("0.3")
    assert [(o.leg, o.side, o.sz, o.px) for o in plan.orders] == [
        ("BTC", "sell", D("0.02222222"), D("89550.0")),   # 2000 USDT over target at mid 90000
        ("ETH", "buy", D("12.000000"), D("3015.00")),     # 36000 USDT under target
        ("SOL", "buy", D("146.666666"), D("150.75")),     # 22000 USDT under target
    ]
    assert plan.orders[1].notional == D("36180.00000000")
    assert plan.skipped == ()


def test_rebalance_splits_large_orders_and_scales_every_leg_to_the_run_limit() -> None:
    # Unconstrained: sell 2000 of BTC, buy 36180 of ETH and 22110 of SOL (60290 at the bound).
    # The 20000 cap keeps the same share of each, 33.17% (20000 / 60290), where it used to give
    # all of it to the sell and the largest buy and drop SOL ("only 0 USDT of max_run_notional left").
    plan = rebalance(risk=RiskLimits(max_order_notional=D(5000), max_run_notional=D(20000)))
    assert [o.leg for o in plan.orders] == ["BTC", "ETH", "ETH2", "ETH3", "SOL", "SOL2"]
    assert [o.sz for o in plan.orders] == [D("0.00737177"), D("1.326920"), D("1.326920"), D("1.326919"),
                                           D("24.326865"), D("24.326864")]
    assert plan.scale == D("0.331729973456")
    assert sum(o.notional for o in plan.orders) <= 20000
    assert [(s.leg, s.scaled, s.reason) for s in plan.skipped] == [
        ("BTC", True, "BTC-USDT: sell scaled down from 0.02222222 to 0.00737177 BTC (33.17% of the trade) to stay "
                      "within max_run_notional 20000"),
        ("ETH", True, "ETH-USDT: buy scaled down from 12 to 3.980759 ETH (33.17% of the trade) to stay within "
                      "max_run_notional 20000"),
        ("SOL", True, "SOL-USDT: buy scaled down from 146.666666 to 48.653729 SOL (33.17% of the trade) to stay "
                      "within max_run_notional 20000"),
    ]


def test_a_capped_rebalance_moves_every_currency_toward_its_target() -> None:
    plan = rebalance(risk=RiskLimits(max_run_notional=D(20000)))
    assert {o.inst_id.split("-")[0] for o in plan.orders} == {"BTC", "ETH", "SOL"}
    after = plan.weights_after_fill()
    for ccy in ("BTC", "ETH", "SOL"):
        assert abs(after[ccy] - plan.targets[ccy]) < abs(plan.weights_before[ccy] - plan.targets[ccy])
    # The same share of each leg's trade: sizes in proportion to the unconstrained plan's.
    free = {o.inst_id: o.sz for o in rebalance().orders}
    shares = [o.sz / free[o.inst_id] for o in plan.orders]
    assert max(shares) - min(shares) < D("0.0001")


def test_a_leg_scaled_under_the_minimum_is_not_traded_and_the_note_says_scaled() -> None:
    # 33.17% of the 2000 USDT BTC sell is 663 USDT, under a minimum trade of 1000.
    plan = rebalance(risk=RiskLimits(max_run_notional=D(20000)), min_trade_quote=D(1000))
    assert [o.inst_id for o in plan.orders] == ["ETH-USDT", "SOL-USDT"]
    btc = next(s for s in plan.skipped if s.leg == "BTC")
    assert not btc.scaled
    assert btc.reason == ("BTC-USDT: sell of 0.02222222 BTC scaled down to 33.17% of the trade to stay within "
                          "max_run_notional 20000 is worth 663.46 USDT, under the minimum trade of 1000 USDT; "
                          "not traded")
    assert all(s.scaled for s in plan.skipped if s.leg != "BTC")


def test_buys_share_the_cash_pro_rata() -> None:
    # BTC may not be traded, so nothing funds the 22750 + 22750 USDT of buys but 1000 USDT: each
    # buy gets the same share of it (it used to go to one buy, the other dropped).
    plan = rebalance(balances={"USDT": D(1000), "BTC": D(1)}, targets={"BTC": D("0.5"), "ETH": D("0.25"),
                                                                      "SOL": D("0.25")},
                     risk=RiskLimits(allowed_instruments=frozenset({"ETH-USDT", "SOL-USDT"})))
    buys = {o.inst_id: o for o in plan.orders}
    assert sorted(buys) == ["ETH-USDT", "SOL-USDT"]
    assert sum(o.sz * o.px for o in buys.values()) <= 1000
    assert abs(buys["ETH-USDT"].sz * buys["ETH-USDT"].px - buys["SOL-USDT"].sz * buys["SOL-USDT"].px) < 1
    notes = {s.leg: s for s in plan.skipped}
    assert notes["ETH"].scaled and "available after the sells" in notes["ETH"].reason
    assert notes["SOL"].scaled and "available after the sells" in notes["SOL"].reason


def test_rebalance_reports_instruments_outside_the_allowed_list() -> None:
    plan = rebalance(risk=RiskLimits(allowed_instruments=frozenset({"BTC-USDT", "ETH-USDT"})))
    assert [o.inst_id for o in plan.orders] == ["BTC-USDT", "ETH-USDT"]
    assert plan.skipped == (SkippedLeg("SOL", "SOL-USDT",
                                       "SOL-USDT: not in the allowed instruments (BTC-USDT, ETH-USDT)"),)


def test_rebalance_inside_the_band_plans_nothing() -> None:
    balances = {"USDT": D(20000), "BTC": D("0.41"), "ETH": D("9.9"), "SOL": D("67")}
    plan = rebalance(balances=balances)
    assert not plan.needs_trading
    assert plan.orders == () and plan.skipped == ()


def test_rebalance_skips_small_legs_with_a_sentence() -> None:
    # 90000 (BTC) + 9000 (ETH) + 1 = 99001 USDT; half of it is 49500.5, so 40499.5 of BTC to sell.
    balances = {"USDT": D(1), "BTC": D(1), "ETH": D(3)}
    targets = {"BTC": D("0.5"), "ETH": D("0.5")}
    plan = rebalance(balances=balances, targets=targets, min_trade_quote=D(50000))
    assert plan.orders == ()
    assert plan.skipped[0].reason == ("BTC-USDT: 40499.5 USDT to sell is under the minimum trade of 50000 USDT")


def test_rebalance_buys_are_limited_to_the_cash_the_sells_bring() -> None:
    plan = rebalance(balances={"USDT": D(0), "BTC": D(1)}, targets={"BTC": D("0.5"), "ETH": D("0.5")})
    sell, buy = plan.orders
    assert (sell.side, sell.sz, sell.px) == ("sell", D("0.50000000"), D("89550.0"))
    assert buy.side == "buy" and buy.sz * buy.px <= sell.sz * sell.px * (1 - FEE)
    assert "available after the sells" in plan.skipped[0].reason


def test_rebalance_without_a_book_plans_nothing_and_says_why() -> None:
    books = {k: v for k, v in BOOKS.items() if k != "SOL-USDT"}
    plan = rebalance(books=books)
    assert plan.orders == ()
    assert plan.skipped[0].reason.startswith("SOL-USDT: no order book with both bids and asks")


def test_rebalance_refuses_targets_that_do_not_sum_to_one() -> None:
    with pytest.raises(ValueError, match="sum to exactly 1"):
        rebalance(targets={"BTC": D("0.5")})


def test_dca_worked_example() -> None:
    order = plan_dca(book=BOOKS["BTC-USDT"], instrument=BTC, quote_amount=D(100), max_price=None, risk=RiskLimits())
    assert order == PlannedOrder(leg="dca", inst_id="BTC-USDT", side="buy", ord_type="limit", sz=D("0.00110558"),
                                 px=D("90450.0"), notional=D("0.00110558") * D("90450.0"), reason=order.reason)
    assert order.sz * order.px <= 100


def test_dca_caps_the_price_at_max_price_and_skips_above_it() -> None:
    capped = plan_dca(book=BOOKS["BTC-USDT"], instrument=BTC, quote_amount=D(100), max_price=D("90100"),
                      risk=RiskLimits())
    assert isinstance(capped, PlannedOrder) and capped.px == D("90100.0")
    skipped = plan_dca(book=BOOKS["BTC-USDT"], instrument=BTC, quote_amount=D(100), max_price=D(80000),
                       risk=RiskLimits())
    assert skipped == SkippedLeg("dca", "BTC-USDT", "BTC-USDT: best ask 90000.1 is above the maximum price 80000; "
                                                    "no buy this time")


def test_dca_skips_what_it_cannot_do() -> None:
    too_small = plan_dca(book=BOOKS["BTC-USDT"], instrument=BTC, quote_amount=D("0.5"), max_price=None,
                         risk=RiskLimits())
    assert isinstance(too_small, SkippedLeg) and "under the minimum size 0.00001" in too_small.reason
    too_big = plan_dca(book=BOOKS["BTC-USDT"], instrument=BTC, quote_amount=D(1000), max_price=None,
                       risk=RiskLimits(max_order_notional=D(500)))
    assert isinstance(too_big, SkippedLeg) and "max_order_notional 500" in too_big.reason
    halted = plan_dca(book=BOOKS["BTC-USDT"], instrument=instrument("BTC-USDT", "0.1", "0.00000001", "0.00001",
                                                                    "suspend"),
                      quote_amount=D(100), max_price=None, risk=RiskLimits())
    assert halted == SkippedLeg("dca", "BTC-USDT", "BTC-USDT: instrument is suspend, not live")


def test_twap_worked_examples() -> None:
    assert twap_slices(D("0.05"), 5, BTC) == [D("0.01")] * 5
    assert twap_slices(D("0.05"), 3, BTC) == [D("0.01666667"), D("0.01666667"), D("0.01666666")]
    assert twap_slices(D("0.00003"), 5, BTC) == [D("0.00001")] * 3  # fewer slices, each at minSz
    assert twap_slices(D("0.000005"), 5, BTC) == []
    with pytest.raises(ValueError):
        twap_slices(D(1), 0, BTC)


def test_ladder_worked_example() -> None:
    plan = plan_ladder(book=BOOKS["ETH-USDT"], instrument=ETH, side="buy", levels=5, step_bps=D(50),
                       total_quote=D(1000), risk=RiskLimits())
    assert [(o.leg, o.px, o.sz, o.ord_type) for o in plan] == [
        ("L1", D("2985.00"), D("0.067001"), "post_only"),
        ("L2", D("2970.00"), D("0.067340"), "post_only"),
        ("L3", D("2955.00"), D("0.067681"), "post_only"),
        ("L4", D("2940.00"), D("0.068027"), "post_only"),
        ("L5", D("2925.00"), D("0.068376"), "post_only"),
    ]
    sells = plan_ladder(book=BOOKS["ETH-USDT"], instrument=ETH, side="sell", levels=2, step_bps=D(100),
                        total_quote=D(1000), risk=RiskLimits())
    assert [o.px for o in sells] == [D("3030.00"), D("3060.00")]


def test_ladder_drops_levels_under_min_size_and_over_the_run_limit() -> None:
    plan = plan_ladder(book=BOOKS["BTC-USDT"], instrument=BTC, side="buy", levels=4, step_bps=D(10),
                       total_quote=D(2), risk=RiskLimits())
    assert len(plan) == 0 and len(plan.skipped) == 4
    limited = plan_ladder(book=BOOKS["ETH-USDT"], instrument=ETH, side="buy", levels=5, step_bps=D(50),
                          total_quote=D(1000), risk=RiskLimits(max_run_notional=D(450)))
    assert [o.leg for o in limited] == ["L1", "L2"]
    assert [s.leg for s in limited.skipped] == ["L3", "L4", "L5"]


# ---------------------------------------------------------------------------------------------
# Properties

POOL = {
    "BTC": (BTC, 20000, 150000),
    "ETH": (ETH, 100, 9000),
    "SOL": (SOL, 1, 900),
}


@st.composite
def markets(draw: st.DrawFn) -> dict[str, object]:
    ccys = draw(st.lists(st.sampled_from(sorted(POOL)), min_size=1, max_size=3, unique=True))
    books, instruments, balances = {}, {}, {"USDT": D(draw(st.integers(0, 10**6))) / 100}
    for ccy in ccys:
        inst, low, high = POOL[ccy]
        ticks = draw(st.integers(int(low / inst.tick_sz), int(high / inst.tick_sz)))
        bid = ticks * inst.tick_sz
        ask = bid + draw(st.integers(1, 20)) * inst.tick_sz
        books[inst.inst_id] = book(bid, ask)
        instruments[inst.inst_id] = inst
        balances[ccy] = draw(st.integers(0, 10**9)) * inst.lot_sz * draw(st.sampled_from([1, 10, 1000]))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(ccys), max_size=len(ccys))))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    targets = {ccy: D(p) / 100 for ccy, p in zip([*ccys, "USDT"], parts, strict=True)}
    allowed = draw(st.one_of(st.none(), st.sets(st.sampled_from(sorted(instruments)))))
    risk = RiskLimits(
        max_order_notional=draw(st.one_of(st.none(), st.integers(5, 50000).map(D))),
        max_run_notional=draw(st.one_of(st.none(), st.integers(10, 200000).map(D))),
        allowed_instruments=frozenset(allowed) if allowed is not None else None,
        max_slippage_bps=D(draw(st.integers(0, 300))),
    )
    return dict(balances=balances, books=books, instruments=instruments, targets=targets, quote_ccy="USDT",
                drift_band=D(draw(st.integers(0, 10))) / 100, min_trade_quote=D(draw(st.integers(0, 100))), risk=risk,
                fee_rate=D(draw(st.integers(0, 30))) / 10000)


def _mid(market: dict[str, object], inst_id: str) -> D:
    return market["books"][inst_id].mid  # type: ignore[index, no-any-return]


@PROPERTY
@given(markets())
def test_orders_respect_exchange_rules(market: dict[str, object]) -> None:
    plan = plan_rebalance(**market)  # type: ignore[arg-type]
    for order in plan.orders:
        inst = market["instruments"][order.inst_id]  # type: ignore[index]
        assert order.sz >= inst.min_sz and is_multiple(order.sz, inst.lot_sz)
        assert order.px is not None and order.px > 0 and is_multiple(order.px, inst.tick_sz)
        assert order.leg.isalnum() and order.leg.isascii()
    assert len({o.leg for o in plan.orders}) == len(plan.orders)


@PROPERTY
@given(markets())
def test_orders_respect_risk_limits(market: dict[str, object]) -> None:
    plan = plan_rebalance(**market)  # type: ignore[arg-type]
    risk: RiskLimits = market["risk"]  # type: ignore[assignment]
    for order in plan.orders:
        mid = _mid(market, order.inst_id)
        assert order.notional == order.sz * max(order.px, mid)  # type: ignore[type-var, operator]
        if risk.max_order_notional is not None:
            assert order.notional <= risk.max_order_notional
        if risk.allowed_instruments is not None:
            assert order.inst_id in risk.allowed_instruments
        if order.side == "buy":
            assert order.px <= mid * (1 + risk.slippage)  # type: ignore[operator]
        else:
            assert order.px >= mid * (1 - risk.slippage)  # type: ignore[operator]
    if risk.max_run_notional is not None:
        assert sum(o.notional for o in plan.orders) <= risk.max_run_notional


@PROPERTY
@given(markets())
def test_sells_come_first_and_buys_are_funded(market: dict[str, object]) -> None:
    plan = plan_rebalance(**market)  # type: ignore[arg-type]
    sides = [o.side for o in plan.orders]
    assert sides == sorted(sides, key=lambda side: side == "buy")
    balances: dict[str, D] = market["balances"]  # type: ignore[assignment]
    fee: D = market["fee_rate"]  # type: ignore[assignment]
    proceeds = sum(o.sz * o.px * (1 - fee) for o in plan.orders if o.side == "sell")  # type: ignore[operator]
    spent = sum(o.sz * o.px for o in plan.orders if o.side == "buy")  # type: ignore[operator]
    assert spent <= balances["USDT"] + proceeds
    after = simulate_fills(balances, plan.orders, fee_rate=fee)
    assert all(amount >= 0 for amount in after.values())


@PROPERTY
@given(markets())
def test_no_trade_inside_the_drift_band(market: dict[str, object]) -> None:
    plan = plan_rebalance(**market)  # type: ignore[arg-type]
    inside = all(abs(d) <= market["drift_band"] for d in plan.drift.values())  # type: ignore[operator]
    assert plan.needs_trading == (not inside and plan.total_value > 0)
    if inside:
        assert plan.orders == ()


@PROPERTY
@given(markets())
def test_fills_move_traded_currencies_toward_their_targets(market: dict[str, object]) -> None:
    plan = plan_rebalance(**market)  # type: ignore[arg-type]
    after = plan.weights_after_fill()
    for ccy in {o.inst_id.split("-")[0] for o in plan.orders}:
        target = plan.targets[ccy]
        assert abs(after[ccy] - target) <= abs(plan.weights_before[ccy] - target)


@PROPERTY
@given(markets())
def test_a_run_cap_scales_every_leg_by_one_share(market: dict[str, object]) -> None:
    risk: RiskLimits = market["risk"]  # type: ignore[assignment]
    assume(risk.max_run_notional is not None)
    plan = plan_rebalance(**market)  # type: ignore[arg-type]
    free = plan_rebalance(**{**market, "risk": RiskLimits(  # type: ignore[arg-type]
        allowed_instruments=risk.allowed_instruments, max_slippage_bps=risk.max_slippage_bps)})
    wanted: dict[str, D] = {}
    for order in free.orders:
        wanted[order.inst_id] = wanted.get(order.inst_id, D(0)) + order.sz
    planned: dict[str, D] = {}
    for order in plan.orders:
        planned[order.inst_id] = planned.get(order.inst_id, D(0)) + order.sz
    sells = {o.inst_id for o in free.orders if o.side == "sell"}
    for inst_id, sz in planned.items():  # never more than asked; a sell no more than the run's share
        share = plan.scale if inst_id in sells else D(1)
        assert sz <= wanted[inst_id] * share + market["instruments"][inst_id].lot_sz  # type: ignore[index]
    for inst_id in wanted:  # no leg is given up for another: each is traded, or was scaled to nothing
        notes = [n for n in plan.skipped if n.inst_id == inst_id]
        assert inst_id in planned or any("scaled down" in n.reason and not n.scaled for n in notes) or any(
            "max_order_notional" in n.reason for n in notes)
    for note in plan.skipped:  # "scaled" marks exactly the legs still traded
        if note.scaled:
            assert note.inst_id in planned


@PROPERTY
@given(total=st.integers(0, 10**9), slices=st.integers(1, 50), lot_exp=st.integers(0, 8), min_lots=st.integers(1, 500))
def test_twap_slices_sum_exactly_and_meet_minimums(total: int, slices: int, lot_exp: int, min_lots: int) -> None:
    lot = D(1).scaleb(-lot_exp)
    inst = instrument("BTC-USDT", "0.1", str(lot), str(lot * min_lots))
    total_sz = D(total).scaleb(-8)
    sizes = twap_slices(total_sz, slices, inst)
    rounded = (total_sz / lot).to_integral_value(rounding="ROUND_FLOOR") * lot
    if rounded < inst.min_sz:
        assert sizes == []
        return
    assert sum(sizes) == rounded
    assert 1 <= len(sizes) <= slices
    assert all(s >= inst.min_sz and is_multiple(s, lot) for s in sizes)
    assert max(sizes) - min(sizes) <= lot
    if rounded >= inst.min_sz * slices:
        assert len(sizes) == slices


@PROPERTY
@given(ticks=st.integers(10**4, 10**6), spread=st.integers(1, 20), side=st.sampled_from(["buy", "sell"]),
       levels=st.integers(1, 10), step=st.integers(1, 900), total=st.integers(1, 100000),
       max_order=st.one_of(st.none(), st.integers(1, 5000)), max_run=st.one_of(st.none(), st.integers(1, 50000)))
def test_ladder_orders_rest_on_their_side_within_limits(ticks: int, spread: int, side: str, levels: int, step: int,
                                                        total: int, max_order: int | None, max_run: int | None) -> None:
    assume(side == "sell" or levels * step < 10000)
    bid = ticks * ETH.tick_sz
    ob = book(bid, bid + spread * ETH.tick_sz)
    risk = RiskLimits(max_order_notional=None if max_order is None else D(max_order),
                      max_run_notional=None if max_run is None else D(max_run))
    plan = plan_ladder(book=ob, instrument=ETH, side=side, levels=levels, step_bps=D(step),  # type: ignore[arg-type]
                       total_quote=D(total), risk=risk)
    assert len(plan) + len(plan.skipped) == levels
    for order in plan:
        assert order.ord_type == "post_only" and order.side == side
        assert order.sz >= ETH.min_sz and is_multiple(order.sz, ETH.lot_sz) and is_multiple(order.px, ETH.tick_sz)
        assert (order.px < ob.best_ask) if side == "buy" else (order.px > ob.best_bid)  # type: ignore[operator]
        assert order.notional == order.sz * order.px <= D(total) / levels  # type: ignore[operator]
        if max_order is not None:
            assert order.notional <= max_order
    if max_run is not None:
        assert sum(o.notional for o in plan) <= max_run


@PROPERTY
@given(ticks=st.integers(10**5, 2 * 10**6), quote=st.integers(1, 10**5), slip=st.integers(0, 300))
def test_dca_never_spends_more_than_asked(ticks: int, quote: int, slip: int) -> None:
    bid = ticks * BTC.tick_sz
    ob = book(bid, bid + BTC.tick_sz)
    result = plan_dca(book=ob, instrument=BTC, quote_amount=D(quote), max_price=None,
                      risk=RiskLimits(max_slippage_bps=D(slip)))
    if isinstance(result, PlannedOrder):
        assert result.sz * result.px <= quote  # type: ignore[operator]
        assert result.px <= ob.mid * (1 + D(slip) / 10000)  # type: ignore[operator]
        assert result.sz >= BTC.min_sz and is_multiple(result.sz, BTC.lot_sz)
    else:
        assert "minimum size" in result.reason
