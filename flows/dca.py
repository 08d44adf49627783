"""DCA flow: buy a fixed quote amount each run, never above the spec's price ceiling.

One marketable limit buy (``plan_dca``: bounded by max slippage and ``max_price``), waited on and
its unfilled rest cancelled. Scheduled runs each get their own flow run id, so each buys once;
a rerun of the same flow run adopts the order it already placed.
"""

from __future__ import annotations

from prefect import flow

from flows import common


@flow(name="dca", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def dca(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Buy ``strategy.quote_amount`` of ``strategy.inst_id`` once (parameters hold no secret)."""
    with common.strategy_run(spec_path, dry_run, confirm_live, "dca") as run:
        if not run.dry and run.plan.orders:
            run.result.placements = run.place(run.plan.orders, label=run.spec.name)
            run.result.orders = common.settle(run.credentials, run.result.placements)
            run.result.fills = common.fills_of(run.credentials, run.result.orders)
    return run.result
