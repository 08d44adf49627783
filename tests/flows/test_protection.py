"""Take-profit / stop-loss on DCA buys and TWAP slices (``strategy.protect``): the orders carry
OKX's attachment, the venue arms it on the fill, the run says what protects each fill, and the
venue closes the position when the price gets there, with no run watching."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from flows.dca import dca
from flows.spec import SpecError, load_spec
from flows.twap import twap
from okx_sim import SimConfig
from okx_strategies.protection import Protect, attachment_id
from okx_wire.ledger import open_ledger
from okx_wire.orders import TpSl


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    # A fast, lively walk: a trigger 0.3 % away is reached in seconds.
    return SimConfig(state_path=tmp_path / "sim.sqlite3", step_ms=50, volatility=0.002, seed=11)


def test_triggers_are_on_the_right_side_and_on_the_tick() -> None:
    protect = Protect(take_profit_pct=Decimal(10), stop_loss_pct=Decimal(5))
    assert protect.legs("buy", Decimal("100.03"), Decimal("0.1")) == TpSl(tp_trigger_px=Decimal("110.1"),
                                                                          sl_trigger_px=Decimal("95.0"))
    assert protect.legs("sell", Decimal("100.03"), Decimal("0.1")) == TpSl(tp_trigger_px=Decimal("90.0"),
                                                                           sl_trigger_px=Decimal("105.1"))
    tiny = Protect(stop_loss_pct=Decimal("0.001")).legs("buy", Decimal("100.0"), Decimal("0.1"))
    assert tiny.sl_trigger_px == Decimal("99.9")  # never rounded onto the price itself
    assert attachment_id("abc") == attachment_id("abc") != attachment_id("abd")


def test_a_protect_section_needs_a_leg_and_sane_percentages(spec_file) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="protect needs take_profit_pct, stop_loss_pct or both"):
        load_spec(spec_file("dca", strategy={"protect": {}}))
    with pytest.raises(SpecError, match="outside 0..100"):
        load_spec(spec_file("dca", strategy={"protect": {"stop_loss_pct": 100}}))
    with pytest.raises(SpecError, match="stop_los"):
        load_spec(spec_file("dca", strategy={"protect": {"stop_los_pct": 5}}))


def test_a_protected_dca_buy_is_closed_by_the_venue_after_the_run(sim, spec_file) -> None:  # type: ignore[no-untyped-def]
    result = dca(spec_path=str(spec_file("dca", strategy={
        "protect": {"take_profit_pct": "0.3", "stop_loss_pct": "0.3"}})))
    [order] = result.orders
    assert order.state.value == "filled"
    assert "take profit at" in result.plan.orders[0].reason and "stop loss at" in result.plan.orders[0].reason
    [note] = [n for n in result.notes if "protected by" in n]
    assert "oco algo" in note and ("(live)" in note or "(effective)" in note)  # the walk is fast here
    [parent] = [o for o in sim.exchange.all_orders() if o["clOrdId"] == order.cl_ord_id]
    [attached] = parent["attachAlgoOrds"]
    assert attached["attachAlgoClOrdId"] == attachment_id(order.cl_ord_id)
    # No run is watching now: the venue closes the position when a trigger is reached.
    deadline = time.monotonic() + 60
    children: list[dict[str, str]] = []
    while not children and time.monotonic() < deadline:
        time.sleep(0.2)
        children = [o for o in sim.exchange.all_orders() if o["source"] == "7"]
    [child] = children
    assert child["side"] == "sell" and child["state"] == "filled"
    assert child["algoClOrdId"] == attachment_id(order.cl_ord_id)
    sold = Decimal(child["accFillSz"])
    assert Decimal(0) < sold <= order.filled  # the fee was taken in BTC: never more than the account got
    # The venue's sale belongs to the spec's sleeve: the next run (the same slot: it buys
    # nothing more) finds the triggered protection and books its fills.
    ledger = open_ledger()
    account = ledger.history("btc-dca")[-1].account
    [before] = [s for s in ledger.sleeves(account) if s.spec == "btc-dca"]
    again = dca(spec_path=str(spec_file("dca", strategy={
        "protect": {"take_profit_pct": "0.3", "stop_loss_pct": "0.3"}})))
    assert again.orders[0].ord_id == order.ord_id  # adopted: nothing bought twice
    [after] = [s for s in ledger.sleeves(account) if s.spec == "btc-dca"]
    assert after.holdings["BTC"] == before.holdings["BTC"] - sold
    assert after.holdings["USDT"] > before.holdings["USDT"]
    assert ledger.open_protections("btc-dca", account) == []
    dca(spec_path=str(spec_file("dca", strategy={"protect": {"stop_loss_pct": "0.3"}})))
    [third] = [s for s in ledger.sleeves(account) if s.spec == "btc-dca"]
    assert third.holdings == after.holdings  # booked once


def test_each_protected_twap_slice_gets_its_own_protection(sim, spec_file) -> None:  # type: ignore[no-untyped-def]
    result = twap(spec_path=str(spec_file("twap", strategy={
        "window_seconds": 1, "side": "buy", "protect": {"stop_loss_pct": 20}})))
    assert len(result.orders) == 5 and all(o.state.value == "filled" for o in result.orders)
    notes = [n for n in result.notes if "protected by" in n]
    assert len(notes) == 5 and all("conditional algo" in n and "stop loss" in n for n in notes)
    ids = {o["attachAlgoOrds"][0]["attachAlgoClOrdId"] for o in sim.exchange.all_orders() if o["attachAlgoOrds"]}
    assert ids == {attachment_id(o.cl_ord_id) for o in result.orders}


def test_an_unarmed_protection_is_said_not_assumed(sim, spec_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from okx_strategies import protection
    from okx_tasks.venue import PrefectVenue

    monkeypatch.setattr(protection, "ARMING_GRACE_S", 0.0)
    monkeypatch.setattr(PrefectVenue, "protection", lambda self, algo_cl_ord_id: None)
    result = dca(spec_path=str(spec_file("dca", strategy={"protect": {"stop_loss_pct": 5}})))
    assert any("NO take-profit/stop-loss" in n and "unprotected" in n for n in result.notes)
