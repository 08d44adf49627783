"""docs/adding-a-strategy.md, followed: a strategy written into a temporary directory (its
module in ``okx_strategies/``, its flow in ``flows/``, an example spec) is validated, planned
and dry-run by ``okx-flows`` without a change to any file of the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STRATEGY = '''
from decimal import Decimal
from typing import Literal

from okx_strategies.base import Market, Run, Strategy, StrategySpec
from okx_strategies.fields import Amount, InstId, Side
from okx_strategies.plan import Plan, PlannedOrder, RiskLimits, SkippedLeg
from okx_strategies.single import single_instrument_plan
from okx_wire.precision import round_size


class Bid(StrategySpec):
    kind: Literal["bid"]
    inst_id: InstId
    side: Side
    size: Amount


def plan(strategy: Bid, risk: RiskLimits, market: Market) -> Plan:
    view, book, instrument = single_instrument_plan(strategy, market)
    if book is None or instrument is None:
        return view
    px = book.best_bid if strategy.side == "buy" else book.best_ask
    sz = round_size(strategy.size, instrument.lot_sz)
    if px is None or sz < instrument.min_sz:
        view.skipped.append(SkippedLeg("b1", strategy.inst_id, f"{strategy.inst_id}: nothing to bid"))
        return view
    view.orders.append(PlannedOrder(leg="b1", inst_id=strategy.inst_id, side=strategy.side, ord_type="post_only",
                                    sz=sz, px=px, notional=sz * px, reason=f"best {strategy.side} price"))
    return view


def execute(run: Run) -> None:
    if run.dry or not run.plan.orders:
        return
    run.result.placements = run.place(run.plan.orders, label=run.spec_name)
    run.result.orders = run.settle(run.result.placements, cancel_rest=False)
    run.result.fills = run.fills(run.result.orders)


STRATEGY = Strategy(kind="bid", spec=Bid, plan=plan, execute=execute,
                    summary="one post-only order at the best price")
'''

FLOW = '''
from prefect import flow

from flows import common


@flow(name="bid", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def bid(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Place the spec's order (parameters hold no secret)."""
    return common.run_strategy("bid", spec_path, dry_run, confirm_live)
'''

SPEC = """\
name: btc-bid
venue: sim
strategy:
  kind: bid
  inst_id: BTC-USDT
  side: buy
  size: 0.001
"""


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    """The three files the guide asks for (the deployment entry is prefect.yaml's business)."""
    (tmp_path / "okx_strategies").mkdir()
    (tmp_path / "flows").mkdir()
    (tmp_path / "okx_strategies" / "bid.py").write_text(textwrap.dedent(STRATEGY))
    (tmp_path / "flows" / "bid.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / "btc-bid.yaml").write_text(SPEC)
    return tmp_path


def _okx_flows(plugin: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OKX_") or k == "OKX_FLOWS_JOURNAL_URL"}
    base.update(PYTHONPATH=os.pathsep.join([str(plugin), str(ROOT)]), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                **env)
    return subprocess.run([sys.executable, "-m", "okx_cli.main", *argv], cwd=plugin, env=base,
                          capture_output=True, text=True, timeout=180)


def test_a_new_strategy_validates_plans_and_dry_runs(plugin: Path, prefect_db: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    state = str(plugin / "sim.sqlite3")
    done = _okx_flows(plugin, "validate", "btc-bid.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok: btc-bid.yaml (kind bid, name btc-bid, venue sim)\n"

    (plugin / "typo.yaml").write_text(SPEC.replace("size:", "sise:"))
    done = _okx_flows(plugin, "validate", "typo.yaml")
    assert done.returncode == 1
    assert "strategy.sise: unknown key 'sise'; allowed: kind, inst_id, side, size -- did you mean 'size'?" \
        in done.stderr

    (plugin / "unknown.yaml").write_text(SPEC.replace("kind: bid", "kind: bids"))
    done = _okx_flows(plugin, "validate", "unknown.yaml")
    assert "allowed: rebalance, dca, twap, ladder, signal, bid -- did you mean 'bid'?" in done.stderr

    done = _okx_flows(plugin, "plan", "btc-bid.yaml", "--sim-state", state)
    assert done.returncode == 0, done.stderr
    assert "btc-bid (bid) on embedded simulator" in done.stdout and "plan only, nothing sent" in done.stdout
    assert "Plan: 1 order(s)" in done.stdout and "BTC-USDT" in done.stdout

    done = _okx_flows(plugin, "run", "btc-bid.yaml", "--dry-run", "--sim-state", state,
                      PREFECT_API_URL=str(PREFECT_API_URL.value()))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "btc-bid (bid) on embedded simulator" in done.stdout and "DRY RUN: nothing was sent" in done.stdout
    assert "Plan: 1 order(s)" in done.stdout and "Traceback" not in done.stderr


def test_without_the_module_the_kind_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "btc-bid.yaml").write_text(SPEC)
    done = _okx_flows(tmp_path, "validate", "btc-bid.yaml")
    assert done.returncode == 1 and "unknown kind 'bid'" in done.stderr
