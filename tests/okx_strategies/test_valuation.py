"""Account value, fill effects and run costs: the figures every report and the ledger share."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from okx_strategies.valuation import (
    apply_fills,
    fee_in_quote,
    max_drift,
    prices_in,
    run_costs,
    value_account,
    value_of,
)
from okx_wire.models import Balance, BalanceDetail, Fill, Ticker


def ticker(inst_id: str, bid: str, ask: str) -> Ticker:
    return Ticker(inst_type="SPOT", inst_id=inst_id, bid_px=D(bid), ask_px=D(ask), last=D(bid), ts=0)


TICKERS = {t.inst_id: t for t in [ticker("BTC-USDT", "60000", "60002"), ticker("ETH-USDT", "3000", "3001"),
                                  ticker("USDT-EUR", "0.9", "0.9"), ticker("ABC-BTC", "0.001", "0.001"),
                                  ticker("ONE-USDT", "0", "1")]}


def test_prices_direct_inverse_and_through_usdt() -> None:
    prices = prices_in("USDT", TICKERS, ["USDT", "BTC", "ETH", "EUR", "ONE", "ZZZ"])
    assert prices["USDT"] == 1
    assert prices["BTC"] == D("60001")
    assert prices["EUR"] == 1 / D("0.9")  # from the inverse pair USDT-EUR
    assert "ONE" not in prices  # a one-sided book has no mid: unpriced, never 0
    assert "ZZZ" not in prices
    in_eur = prices_in("EUR", TICKERS, ["BTC"])
    assert in_eur["BTC"] == D("60001") * D("0.9")  # BTC-USDT then USDT-EUR


def test_equity_counts_every_currency_available_and_frozen() -> None:
    sheet = Balance(details=[
        BalanceDetail(ccy="BTC", cash_bal=D("1.5"), avail_bal=D("1"), frozen_bal=D("0.5")),
        BalanceDetail(ccy="USDT", cash_bal=D("1000"), avail_bal=D("400"), frozen_bal=D("600")),
        BalanceDetail(ccy="ZZZ", cash_bal=D("7"), avail_bal=D("7"), frozen_bal=D("0")),
        BalanceDetail(ccy="ETH", cash_bal=D("0"), avail_bal=D("0"), frozen_bal=D("0")),
    ])
    account = value_account(sheet, TICKERS, "USDT")
    assert [h.ccy for h in account.holdings] == ["BTC", "USDT", "ZZZ"]  # a zero balance is not a holding
    assert account.equity == D("1.5") * D("60001") + 1000
    assert account.frozen == D("0.5") * D("60001") + 600
    assert account.unpriced == ["ZZZ"]


def fill(side: str, px: str, sz: str, fee: str, fee_ccy: str, inst: str = "BTC-USDT", tid: str = "1") -> Fill:
    return Fill(inst_id=inst, trade_id=tid, ord_id="o" + tid, side=side, fill_px=D(px), fill_sz=D(sz),
                fee=D(fee), fee_ccy=fee_ccy, ts=0)


def test_fills_move_holdings_with_fees_in_their_currency() -> None:
    after = apply_fills({"USDT": D(1000)}, [fill("buy", "100", "2", "-0.002", "BTC"),
                                            fill("sell", "110", "1", "-0.11", "USDT", tid="2")])
    assert after == {"USDT": D(1000) - 200 + 110 - D("0.11"), "BTC": D(2) - D("0.002") - 1}


def test_costs_against_the_plan_mid() -> None:
    prices = {"USDT": D(1), "BTC": D(100)}
    fills = [fill("buy", "101", "1", "-0.001", "BTC"), fill("sell", "99", "1", "-0.099", "USDT", tid="2")]
    costs = run_costs(fills, {"BTC": D(100)}, prices)
    assert costs.traded_notional == 200
    assert costs.fees == D("0.001") * 101 + D("0.099")  # the base fee at its fill price
    assert costs.shortfall_bps == D(100)  # bought 1 % above mid, sold 1 % below: both a cost
    assert run_costs([], {"BTC": D(100)}, prices).shortfall_bps is None
    # a maker rebate is a negative cost
    assert fee_in_quote(fill("buy", "100", "1", "0.5", "USDT"), prices) == D("-0.5")


def test_value_and_drift() -> None:
    assert value_of({"BTC": D(2), "USDT": D(5), "ZZZ": D(1)}, {"BTC": D(10), "USDT": D(1)}) == 25
    assert max_drift({"BTC": D("0.5")}, {"BTC": D("0.4"), "USDT": D("0.6")}) == D("0.6")
    assert max_drift({}, {}) is None


@pytest.mark.parametrize("bid,ask", [("0", "1"), ("1", "0")])
def test_one_sided_ticker_has_no_price(bid: str, ask: str) -> None:
    assert prices_in("USDT", {"X-USDT": ticker("X-USDT", bid, ask)}, ["X"]) == {}
