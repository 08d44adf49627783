"""Sleeves: specs sharing one account each trade their own part, and never more than the account."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from okx_strategies.plan import Plan, PlannedOrder
from okx_strategies.sleeve import Capital, Sleeve, SleeveError, fund, resize, tradeable, unclaimed, within_funds

TOTALS = {"USDT": D(100_000), "BTC": D(1), "ETH": D(10)}


def test_capital_is_exactly_one_of_quote_or_share() -> None:
    assert Capital(quote=D(5000)).text() == "quote=5000"
    assert Capital(share=D("0.25")).text() == "share=0.25"
    for bad in ({}, {"quote": D(1), "share": D("0.5")}, {"quote": D(0)}, {"share": D(0)}, {"share": D(2)}):
        with pytest.raises(ValidationError):
            Capital(**bad)


def test_quote_and_share_sleeves_are_funded_from_what_no_sleeve_holds() -> None:
    free = unclaimed(TOTALS, [{"USDT": D(60_000), "BTC": D("0.6")}])
    assert free == {"USDT": D(40_000), "BTC": D("0.4"), "ETH": D(10)}
    assert fund("alts", Capital(quote=D(20_000)), ["XRP", "USDT"], "USDT", TOTALS, free) == {"USDT": D(20_000)}
    # a share is of the account's total of each of the spec's currencies, in kind
    assert fund("twap", Capital(share=D("0.1")), ["BTC", "USDT"], "USDT", TOTALS, free) == {
        "BTC": D("0.1"), "USDT": D(10_000)}
    with pytest.raises(SleeveError, match="needs 50000 USDT but only 40000 USDT"):
        fund("big", Capital(quote=D(50_000)), ["BTC", "USDT"], "USDT", TOTALS, free)
    with pytest.raises(SleeveError, match="BTC"):
        fund("half", Capital(share=D("0.5")), ["BTC", "USDT"], "USDT", TOTALS, free)


def test_resize_moves_a_quote_sleeve_by_the_difference_and_scales_a_share() -> None:
    free = {"USDT": D(1000), "BTC": D(1)}
    quote = Sleeve("dca", "quote=3000", {"USDT": D(2900), "BTC": D("0.001")})
    assert resize("dca", quote, Capital(quote=D(3500)), "USDT", free) == {"USDT": D(3400), "BTC": D("0.001")}
    with pytest.raises(SleeveError):
        resize("dca", quote, Capital(quote=D(9000)), "USDT", free)
    share = Sleeve("core", "share=0.2", {"USDT": D(100), "BTC": D("0.2")})
    assert resize("core", share, Capital(share=D("0.1")), "USDT", free) == {"USDT": D(50), "BTC": D("0.1")}
    with pytest.raises(SleeveError, match="different kind"):
        resize("core", share, Capital(quote=D(10)), "USDT", free)


def test_a_run_trades_at_most_its_sleeve_and_what_is_available() -> None:
    assert tradeable({"USDT": D(500), "BTC": D(2)}, {"USDT": D(300), "BTC": D(5)}, ["USDT", "BTC", "ETH"]) == {
        "USDT": D(300), "BTC": D(2), "ETH": D(0)}


def order(leg: str, side: str, sz: str, px: str, inst: str = "BTC-USDT") -> PlannedOrder:
    return PlannedOrder(leg=leg, inst_id=inst, side=side, ord_type="limit", sz=D(sz), px=D(px),  # type: ignore[arg-type]
                        notional=D(sz) * D(px), reason="")


def test_within_funds_drops_what_the_sleeve_cannot_pay_for_and_lets_sells_fund_buys() -> None:
    plan = Plan(kind="rebalance", orders=[order("ETH", "buy", "1", "3000", "ETH-USDT"),
                                          order("BTC", "sell", "0.1", "60000")], fee_rates={"BTC-USDT": D("0.001")})
    # 1000 USDT of its own plus the BTC sale's 6000 (less the fee) pays for the 3000 ETH buy
    kept = within_funds(plan, {"USDT": D(1000), "BTC": D("0.1")})
    assert [o.leg for o in kept.orders] == ["ETH", "BTC"]
    # without the BTC, neither the sale nor the buy fits
    short = within_funds(plan, {"USDT": D(1000), "BTC": D("0.05")})
    assert short.orders == []
    assert [s.leg for s in short.skipped] == ["BTC", "ETH"]
    assert "the spec holds only 0.05 BTC" in short.skipped[0].reason
