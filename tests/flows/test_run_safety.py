"""The money-safety frame of every trading run, in process: honest outcomes, settling what earlier
runs left, DCA slots, TWAP refuse/resume/restart, interruption. The same cases run as real
processes in tests/reliability/test_money_safety.py; these are the fast, exact ones."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import flows.common as common
from flows.common import RunFailed, order_tag
from flows.dca import dca
from flows.rebalance import rebalance
from flows.reconcile import UnfinishedRun
from flows.spec import load_spec
from flows.twap import twap
from okx_strategies import pipeline
from okx_wire.client import OkxClient
from okx_wire.journal import open_journal
from okx_wire.orders import OrderRequest

ROOMY = {"risk": {"max_order_notional": 50000, "max_run_notional": 250000}}


def _client(sim: Any) -> OkxClient:
    return OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)


def _account_runs(spec_name: str) -> list[Any]:
    journal = open_journal()
    import sqlalchemy as sa

    from okx_wire.journal import runs_table

    with journal._engine.connect() as db:  # noqa: SLF001 - the test reads the store it checks
        rows = db.execute(sa.select(runs_table).where(runs_table.c.spec == spec_name)
                          .order_by(runs_table.c.started_ms)).fetchall()
    return list(rows)


def test_a_run_whose_orders_are_all_refused_fails(sim, spec_file, monkeypatch):
    # The planner leaves out what the spec cannot pay for; let this order through so that the
    # exchange is the one refusing it (51008, insufficient balance).
    from okx_strategies import pipeline as planning

    monkeypatch.setattr(planning, "within_funds", lambda plan, balances: plan)
    path = spec_file("dca", capital=None, strategy={"quote_amount": 5_000_000},
                     risk={"max_order_notional": 10_000_000, "max_run_notional": 10_000_000})
    with pytest.raises(RunFailed, match="none placed"):
        dca(spec_path=str(path))
    [run] = _account_runs("btc-dca")
    assert run.status == "failed" and "none placed" in run.detail


def test_a_leg_the_sleeve_cannot_pay_for_is_left_out_not_sent(sim, spec_file):
    path = spec_file("dca", strategy={"quote_amount": 5_000}, risk={"max_order_notional": 10_000,
                                                                   "max_run_notional": 10_000})
    result = dca(spec_path=str(path))  # capital: quote 3000
    assert result.plan.orders == [] and sim.exchange.all_orders() == []
    assert "the spec holds only 3000 USDT" in result.plan.skipped[-1].reason
    assert result.status == "nothing to do"


def test_nothing_to_do_is_a_success(sim, spec_file):
    path = spec_file("dca", strategy={"max_price": 1000})
    result = dca(spec_path=str(path))
    assert result.placements == [] and _account_runs("btc-dca")[0].status == "completed"


def test_orders_an_earlier_run_left_resting_are_cancelled_before_planning(sim, spec_file):
    path = spec_file("rebalance", capital=None, **ROOMY)  # no sleeve: the whole account is the spec's
    spec = load_spec(path)
    orphan = _client(sim).place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit",
                                                   sz=Decimal("0.5"), px=Decimal("1000"), cl_ord_id="orphan1",
                                                   tag=order_tag(spec)))
    dry = rebalance(spec_path=str(path), dry_run=True)
    assert any("still rest; a real run cancels them" in n for n in dry.notes)
    assert _client(sim).order("BTC-USDT", ord_id=orphan.ord_id).state.value == "live"  # a dry run touches nothing
    frozen = _client(sim).balance(["USDT"]).details[0]
    assert frozen.frozen_bal == Decimal("500")
    result = rebalance(spec_path=str(path))
    assert any("cancelled 1 order(s) earlier runs left resting" in n for n in result.notes)
    assert _client(sim).order("BTC-USDT", ord_id=orphan.ord_id).state.value == "canceled"
    # The 500 USDT the orphan froze were part of what the plan valued.
    assert result.balances_before["USDT"] == dry.balances_before["USDT"] + Decimal("500")


def test_dca_buys_once_per_slot(sim, spec_file, monkeypatch):
    path = str(spec_file("dca"))
    first = dca(spec_path=path)
    again = dca(spec_path=path)
    assert first.placements[0].ok and not first.placements[0].adopted
    assert again.placements[0].adopted and again.placements[0].ord_id == first.placements[0].ord_id
    assert len(sim.exchange.all_orders()) == 1
    monkeypatch.setattr(common, "slot_of", lambda seconds: "20990101T000000Z")
    next_slot = dca(spec_path=path)
    assert not next_slot.placements[0].adopted and len(sim.exchange.all_orders()) == 2


def _fail_at(monkeypatch: pytest.MonkeyPatch, leg: str) -> None:
    """The worker dies as slice ``leg`` is about to be sent (the slices before it went out)."""
    real = common.StrategyRun.leg_id

    def leg_id_or_fail(self: Any, this_leg: str) -> str:
        if this_leg == leg:
            raise RuntimeError(f"the worker died at {leg}")
        return real(self, this_leg)

    monkeypatch.setattr(common.StrategyRun, "leg_id", leg_id_or_fail)


def _sold(sim: Any) -> Decimal:
    return sum((Decimal(o["accFillSz"] or 0) for o in sim.exchange.all_orders() if o["side"] == "sell"), Decimal(0))


def test_twap_stopped_part_way_refuses_then_resumes_exactly(sim, spec_file, monkeypatch):
    path = str(spec_file("twap", strategy={"window_seconds": 1}))
    with pytest.MonkeyPatch.context() as patch, pytest.raises(RuntimeError):
        _fail_at(patch, "s3")
        twap(spec_path=path)
    assert _sold(sim) == Decimal("0.02")
    with pytest.raises(UnfinishedRun, match=r"2 of 5 slices sent, 0\.02 of 0\.05 BTC-USDT sold.*--resume.*--restart"):
        twap(spec_path=path)
    assert _sold(sim) == Decimal("0.02")
    resumed = twap(spec_path=path, resume=True)
    assert [p.cl_ord_id[:2] for p in resumed.placements] == ["s3", "s4", "s5"]
    assert _sold(sim) == Decimal("0.05")
    assert [r.status for r in _account_runs("btc-twap-sell")] == ["resumed", "completed"]
    twap(spec_path=path)  # finished: the next run starts a new execution
    assert _sold(sim) == Decimal("0.10")


def test_twap_restart_starts_over(sim, spec_file, monkeypatch):
    path = str(spec_file("twap", strategy={"window_seconds": 1}))
    with pytest.MonkeyPatch.context() as patch, pytest.raises(RuntimeError):
        _fail_at(patch, "s2")
        twap(spec_path=path)
    twap(spec_path=path, restart=True)
    assert _sold(sim) == Decimal("0.06")  # the stopped run's 0.01 plus a whole new 0.05
    assert _account_runs("btc-twap-sell")[0].status == "abandoned"


def test_interrupted_run_cancels_what_it_left_resting(sim, spec_file, monkeypatch):
    from okx_tasks import tasks

    path = spec_file("rebalance", **ROOMY)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    # Orders rest at a price the market never reaches; the run is stopped while it waits.
    monkeypatch.setattr(pipeline, "to_request", _far_from_market(pipeline.to_request))
    monkeypatch.setattr(tasks.get_order_states, "fn", interrupted)
    monkeypatch.setattr(tasks.wait_orders, "fn", interrupted)  # the wait on pushes, where the run has them
    with pytest.raises(KeyboardInterrupt):
        rebalance(spec_path=str(path))
    orders = sim.exchange.all_orders()
    assert orders and all(o["state"] == "canceled" for o in orders)
    assert _account_runs("core-rebalance")[0].status == "interrupted"


def _far_from_market(real: Any) -> Any:
    def request(leg: Any, cl_ord_id: str, tag: str | None = None) -> OrderRequest:
        order = real(leg, cl_ord_id, tag)
        base = order.px or Decimal(1)
        px = base * (Decimal("0.5") if order.side == "buy" else Decimal(2))
        return order.model_copy(update={"px": px.quantize(base)})  # same decimals: still on the tick

    return request


def test_ladder_finds_its_previous_orders_on_any_page(sim, spec_file, monkeypatch, tmp_path):
    """Resting orders are listed 100 a page, newest first: the previous ladder's five sit behind
    110 newer ones on the same instrument. The journal that knew them is elsewhere (another machine), so only the tag,
    followed across every page, finds them."""
    path = str(spec_file("ladder"))
    from flows.ladder import ladder

    first = ladder(spec_path=path)
    client = _client(sim)
    for start in range(0, 110, 20):
        client.place_batch_orders([OrderRequest(inst_id="ETH-USDT", side="sell", ord_type="limit", sz=Decimal("0.001"),
                                                px=Decimal("50000"), cl_ord_id=f"other{n}")
                                   for n in range(start, min(start + 20, 110))])
    monkeypatch.setenv("OKX_FLOWS_JOURNAL_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    second = ladder(spec_path=path)
    assert any("replaced 5 order(s)" in n for n in second.notes)
    assert all(client.order("ETH-USDT", ord_id=o.ord_id).state.value == "canceled" for o in first.orders)
    others = [o for o in tasks_pending(client) if o.cl_ord_id.startswith("other")]
    assert len(others) == 110  # none of them touched


def tasks_pending(client: OkxClient) -> list[Any]:
    from okx_tasks.tasks import all_pending_orders

    return all_pending_orders(client)
