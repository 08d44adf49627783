"""DCA flow: buy a fixed quote amount each run, never above the spec's price ceiling.

One marketable limit buy (``plan_dca``: bounded by max slippage and ``max_price``), waited on and
its unfilled rest cancelled.

One buy per schedule slot: the order's clOrdId is derived from the spec name and the slot (the
run's scheduled start rounded down to ``strategy.slot_seconds``, default one UTC day), and it is
looked up before it is sent. A retry, a rerun of the flow run, or a new run for the same slot
(a manual rerun after a lost answer, a second terminal) therefore finds the slot's order and
adopts it, whatever its state, instead of buying again. A slot whose buy was refused, or never
reached the exchange, has no order to find, so its rerun buys.
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
            run.result.orders = run.settle(run.result.placements)
            run.result.fills = common.fills_of(run.credentials, run.result.orders)
    return run.result
