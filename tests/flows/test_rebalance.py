"""The rebalance flow end to end against an in-process simulator."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.rebalance import rebalance
from okx_sim import SimConfig
from okx_strategies import pipeline
from okx_wire.journal import Journal

# Overweight BTC and USDT, underweight ETH, no SOL: the plan needs sells AND buys.
BALANCES = {"USDT": Decimal("50000"), "BTC": Decimal("2"), "ETH": Decimal("10")}
ROOMY_RISK = {"risk": {"max_order_notional": 50000, "max_run_notional": 250000}}


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    return SimConfig(state_path=tmp_path / "sim.sqlite3", balances=BALANCES)


def test_rebalance_moves_weights_into_band_sells_first_and_publishes_artifacts(sim, spec_file):
    path = spec_file("rebalance", **ROOMY_RISK)
    result = rebalance(spec_path=str(path))

    plan = result.plan
    assert plan.needs_trading and plan.sells and plan.buys
    assert all(p.ok and not p.adopted for p in result.placements)
    assert len(result.placements) == len(plan.orders)
    assert all(o.state.value == "filled" for o in result.orders)
    assert result.fills
    for order in result.orders:  # every fill of every order, across instruments, and no other
        assert sum(f.fill_sz for f in result.fills if f.ord_id == order.ord_id) == order.filled
    assert {f.ord_id for f in result.fills} == {o.ord_id for o in result.orders}

    # Sells reach the exchange before any buy.
    sides = [o["side"] for o in sim.exchange.all_orders()]
    assert sides == sorted(sides, key=lambda side: side != "sell")

    band = plan.drift_band
    for ccy, target in plan.targets.items():
        before = abs(result.weights_before[ccy] - target)
        after = abs(result.weights_after[ccy] - target)
        assert after <= before
        assert after <= band, f"{ccy} still {after} away from {target}"

    # Every order carries the run's deterministic clOrdId.
    from okx_wire.orders import client_order_id

    expected = {client_order_id(result.flow_run_id, "core-rebalance", o.leg) for o in plan.orders}
    assert {p.cl_ord_id for p in result.placements} == expected

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[result.flow_run_id])))
    keys = {a.key for a in artifacts}
    assert {"core-rebalance-report", "core-rebalance-fills"} <= keys
    assert any(k.startswith("okx-account-") for k in keys)
    # Created in the flow run itself: no task run exists only to publish an artifact.
    assert all(a.task_run_id is None for a in artifacts if a.key)
    report = next(a for a in artifacts if a.key == "core-rebalance-report")
    assert "> **COMPLETED**" in str(report.data)
    # The plan counted the account's own fee (the simulator's default tier: OKX's Lv1 spot rates).
    assert set(plan.fee_rates.values()) == {Decimal("0.001")}
    assert "at 0.1% (the account's SPOT fee tier Lv1)" in str(report.data)
    assert result.status == "completed" and result.figures["Account value"].endswith(" this run)")


def test_the_plan_counts_the_fee_tier_the_account_reports(sim, spec_file):
    from okx_sim.config import FeeTier

    sim.exchange.fee_tier = FeeTier(level="Lv5", maker=Decimal("-0.0004"), taker=Decimal("-0.0006"))
    result = rebalance(spec_path=str(spec_file("rebalance", **ROOMY_RISK)), dry_run=True)
    assert set(result.plan.fee_rates.values()) == {Decimal("0.0006")}
    assert result.plan.fee_source == "the account's SPOT fee tier Lv5"


def test_the_report_tells_scaled_legs_from_skipped_ones():
    from flows.report import skipped_lines
    from okx_strategies.plan import Plan, SkippedLeg

    plan = Plan(kind="rebalance", skipped=[SkippedLeg("ETH", "ETH-USDT", "ETH-USDT: buy scaled down ...", scaled=True),
                                           SkippedLeg("SOL", "SOL-USDT", "SOL-USDT: not in the allowed instruments")])
    assert skipped_lines(plan) == ["scaled ETH: ETH-USDT: buy scaled down ...",
                                   "not traded SOL: SOL-USDT: not in the allowed instruments"]


def test_dry_run_places_nothing(sim, spec_file):
    result = rebalance(spec_path=str(spec_file("rebalance", **ROOMY_RISK)), dry_run=True)
    assert result.dry_run and result.plan.orders
    assert result.placements == [] and result.orders == []
    assert sim.exchange.all_orders() == []
    # "after" is projected (every order filled at its limit), under the dry run's own keys
    assert result.status == "dry run" and result.balances_after != result.balances_before
    for ccy, target in result.plan.targets.items():
        assert abs(result.weights_after[ccy] - target) <= abs(result.weights_before[ccy] - target)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[result.flow_run_id])))
    keys = {a.key for a in artifacts}
    assert "core-rebalance-dry-run-report" in keys and "core-rebalance-report" not in keys
    report = next(a for a in artifacts if a.key == "core-rebalance-dry-run-report")
    assert "**DRY RUN**" in str(report.data) and "projected" in str(report.data)


def test_spec_dry_run_flag_and_its_override(sim, spec_file):
    path = spec_file("rebalance", dry_run=True, **ROOMY_RISK)
    assert rebalance(spec_path=str(path)).dry_run
    assert sim.exchange.all_orders() == []
    assert not rebalance(spec_path=str(path), dry_run=False).dry_run
    assert sim.exchange.all_orders()


def test_rerun_of_the_same_flow_run_places_nothing_twice(sim, spec_file, monkeypatch):
    """The same flow logic run twice in ONE flow run (as a flow retry would) with the same plan:
    the second pass finds every clOrdId on the exchange and adopts it."""
    first_plan = {}
    real_make_plan = pipeline.plan

    def same_plan(*args, **kwargs):
        if "plan" not in first_plan:
            first_plan["plan"] = real_make_plan(*args, **kwargs)
        else:
            # As if the rerun came later: the first sends' expTime has passed (no 5 s wait).
            monkeypatch.setattr(Journal, "last_send_ms", lambda self, cl_ord_id: 0 if real_last(self, cl_ord_id)
                                else None)
        return first_plan["plan"]

    real_last = Journal.last_send_ms
    monkeypatch.setattr(pipeline, "plan", same_plan)
    path = str(spec_file("rebalance", **ROOMY_RISK))

    @flow
    def twice():
        return rebalance.fn(spec_path=path), rebalance.fn(spec_path=path)

    first, second = twice()
    assert first.flow_run_id == second.flow_run_id
    assert first.placements and all(not p.adopted for p in first.placements)
    assert [p.cl_ord_id for p in second.placements] == [p.cl_ord_id for p in first.placements]
    assert all(p.adopted for p in second.placements)
    for placed in first.placements:
        assert len(sim.exchange.orders_by_client_id(placed.cl_ord_id)) == 1
    assert len(sim.exchange.all_orders()) == len(first.placements)


def test_unknown_instrument_is_refused_before_anything_is_sent(sim, spec_file):
    from flows.spec import SpecError

    path = spec_file("rebalance", strategy={"targets": {"BTC": 0.4, "ETH": 0.3, "SOL": None, "SOLX": 0.1, "USDT": 0.2}},
                     risk={"allowed_instruments": ["BTC-USDT", "ETH-USDT", "SOLX-USDT"], **ROOMY_RISK["risk"]})
    with pytest.raises(SpecError, match="SOLX-USDT"):
        rebalance(spec_path=str(path))
    assert sim.exchange.all_orders() == []
