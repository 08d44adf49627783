"""Rebalance flow: bring a portfolio back to its target weights, sells first.

Steps: resolve the venue, check the spec against the venue's instruments (refusing before
anything is sent), hold the account and settle earlier runs (orders they left resting are
cancelled, so their frozen funds are counted), read balances and order books (depth 5),
``plan_rebalance``, then unless
dry-run: place the SELLS (one batch), wait, cancel what rests; then the BUYS likewise; then read
balances again and report weights and drift before/after.
"""

from __future__ import annotations

from prefect import flow

from flows import common


@flow(name="rebalance", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def rebalance(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Rebalance the portfolio described by the spec at ``spec_path`` (parameters hold no secret)."""
    with common.strategy_run(spec_path, dry_run, confirm_live, "rebalance") as run:
        plan, result = run.plan, run.result
        if not plan.needs_trading:
            common.logger().info("every weight is within the %s band: nothing to trade", plan.drift_band)
        if not run.dry and plan.orders:
            for side, legs in (("sell", plan.sells), ("buy", plan.buys)):
                if not legs:
                    continue
                common.logger().info("placing %d %s order(s)", len(legs), side)
                placements = run.place(legs, label=f"{run.spec.name}-{side}s")
                result.placements += placements
                result.orders += run.settle(placements)
            result.fills = common.fills_of(run.credentials, result.orders)
    return run.result
