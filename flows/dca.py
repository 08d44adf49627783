"""DCA flow: buy a fixed quote amount each run, never above the spec's price ceiling.

One marketable limit buy (``plan_dca``: bounded by max slippage and ``max_price``), waited on and
its unfilled rest cancelled. Scheduled runs each get their own flow run id, so each buys once;
a rerun of the same flow run adopts the order it already placed.
"""

from __future__ import annotations

from prefect import flow

from flows import common
from flows.planning import make_plan, needs
from flows.venue import resolve_venue


@flow(name="dca", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def dca(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Buy ``strategy.quote_amount`` of ``strategy.inst_id`` once (parameters hold no secret)."""
    spec, dry = common.load_and_check(spec_path, dry_run)
    log = common.logger()
    with resolve_venue(spec, confirm_live=confirm_live) as venue:
        creds = venue.credentials
        log.info("%s: DCA on %s%s", spec.name, venue.label, " (dry run)" if dry else "")
        instruments = common.venue_instruments(creds, spec, spec_path)
        balances, books = common.snapshot(creds, spec)
        plan = make_plan(spec, balances, books, instruments)
        key = common.run_key()
        ids = common.with_ids(plan, spec, key)
        common.log_plan(plan)
        result = common.new_result(spec, venue.label, key, dry, plan, balances)
        if not dry and plan.orders:
            result.placements = common.place(creds, plan.orders, ids, instruments, label=spec.name,
                                               tag=common.order_tag(spec))
            result.orders = common.settle(creds, result.placements)
            result.fills = common.fills_of(creds, result.orders)
        common.after_weights(result, creds, needs(spec).ccys)
        common.publish(spec, result, ids)
        return result
