"""The landing report reads as a trader reads it: status first, money with units, charts inline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal as D

from okx_reports.run_report import (
    AccountView,
    History,
    HoldingView,
    LegView,
    RunView,
    Weights,
    figures,
    render,
    render_account,
    status_line,
)


def view(**changes: object) -> RunView:
    base = RunView(spec="core", kind="rebalance", venue="simulator", flow_run="f1", status="completed", quote="USDT",
                   headline="5 of 5 order(s) placed, 5 filled", account_equity=D("202672.3749"),
                   account_equity_before=D("202693.1"), value_before=D("202693.1"), value_after=D("202672.37"),
                   traded_notional=D("19901.77123"), fees=D("19.9017"), shortfall_bps=D("0.43"),
                   fee_rate="0.1% (the account's SPOT fee tier Lv1)", drift_before=D("0.1952"),
                   drift_after=D("0.097"), band=D("0.02"), intended=5, placed=5, filled=5,
                   weights=Weights(["BTC", "USDT"], [D("0.3"), D("0.7")], [D("0.4"), D("0.6")], [D("0.4"), D("0.6")]),
                   legs=[LegView("BTC", "BTC-USDT", "buy", D("0.06663965"), D("68013.6"), D("4532.4012"), D("0.1"),
                                 D("0.00000001"), filled_sz=D("0.06663965"), avg_px=D("67675.4"), fee=D("4.5086"),
                                 state="filled")])
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_status_line_leads_and_a_failure_carries_its_error() -> None:
    assert status_line(view()) == "> **COMPLETED** · 5 of 5 order(s) placed, 5 filled"
    failed = status_line(view(status="failed", error="50120: the key has no Trade permission"))
    assert "**FAILED**" in failed and failed.endswith("50120: the key has no Trade permission")
    assert "**DRY RUN**" in status_line(view(status="dry run"))
    text = render(view(status="failed", error="boom"))
    assert text.splitlines()[2].startswith("> **FAILED**")  # right under the title


def test_money_to_the_cent_with_units_and_separators() -> None:
    rows = dict(figures(view()))
    assert rows["Account value"] == "202,672.37 USDT (-20.73 USDT this run)"
    assert rows["Traded this run"] == "19,901.77 USDT"
    assert rows["Fees this run"].startswith("19.90 USDT at 0.1%")
    assert rows["Shortfall vs. plan mid"].startswith("+0.4 bps")
    assert rows["Largest drift from target"] == "19.52 % → 9.70 %, band 2.00 %"
    text = render(view())
    assert not re.search(r"\d\.\d{9,}", text), "no unrounded numbers"
    row = "| BTC | filled | buy 0.06663965 BTC @ 68,013.6 | 0.06663965 @ 67,675.4 | 4,532.40 USDT | 4.51 USDT |"
    assert row in text


def test_charts_are_embedded_png_and_history_adds_pnl() -> None:
    t0, t1 = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
    text = render(view(history=History([t0, t1], [D(1000), D(1010)], [D(1000), D(1004)], D("1.5"), D(300), 1)))
    assert text.count("](data:image/png;base64,") == 2  # weights, NAV over time
    rows = dict(figures(view(history=History([t0, t1], [D(1000), D(1010)], [D(1000), D(1004)], D("1.5"), D(300), 1))))
    assert rows["P&L since start"].startswith("+10.00 USDT over 1 run(s)")
    assert rows["vs. holding the start"] == "+6.00 USDT"


def test_a_dry_run_is_marked_and_its_after_is_projected() -> None:
    text = render(view(status="dry run", projected=True))
    assert "**Dry run: nothing was sent.**" in text and "projected" in text
    assert "this run)" not in dict(figures(view(status="dry run", projected=True)))["Account value"]


def test_account_report_adds_up() -> None:
    account = AccountView(account="abc", venue="sim", quote="USDT", equity=D(1500), frozen=D(100),
                          holdings=[HoldingView("USDT", D("900.123456789"), D(100), D(1), D("1000.123456789")),
                                    HoldingView("ZZZ", D(1), D(0), None, None)],
                          sleeves=[("core", D(1200)), ("(not in a sleeve)", D(300))], unpriced=["ZZZ"])
    text = render_account(account)
    assert "**1,500.00 USDT** equity" in text and "100.00 USDT frozen" in text
    assert "| USDT | 900.12345679 | 100 | 1 | 1,000.12 USDT |" in text
    assert "Not counted (no price on this venue): ZZZ." in text
    assert "| core | 1,200.00 USDT | 80.00 % |" in text
    assert "add up to 1,500.00 USDT" in text
