"""Ladder flow: post-only orders stepping away from mid, left resting on the book.

``plan_ladder`` prices each level on the tick (never crossing), the orders go out in one batch,
and the run reports each one's state and leaves them resting: they fill as the market comes to
them. Each run replaces the previous one: before placing, it cancels the spec's orders still
resting from earlier runs (found by the spec's order tag), so a scheduled ladder never piles up
frozen funds.
"""

from __future__ import annotations

from prefect import flow

from flows import common
from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials
from okx_tasks.models import Order
from okx_tasks.placement import Placement


@flow(name="ladder", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def ladder(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Place the spec's post-only ladder and leave it resting (parameters hold no secret)."""
    with common.strategy_run(spec_path, dry_run, confirm_live, "ladder") as run:
        if not run.dry and run.plan.orders:
            inst_id = run.spec.strategy.inst_id
            replaced = _cancel_previous(run.credentials, inst_id, run.tag, set(run.ids.values()))
            if replaced:
                run.result.notes.append(f"replaced {replaced} order(s) still resting from an earlier ladder run")
            run.result.placements = run.place(run.plan.orders, label=run.spec.name)
            run.result.orders = _look_up(run.credentials, inst_id, run.result.placements)
            resting = [o for o in run.result.orders if not o.is_final]
            common.logger().info("%d of %d ladder order(s) resting on the book", len(resting), len(run.result.orders))
            run.result.notes.append(f"{len(resting)} post-only order(s) left resting: "
                                    + ", ".join(f"{o.side} {o.sz} @ {o.px}" for o in resting))
            run.result.fills = common.fills_of(run.credentials, run.result.orders)
    return run.result


def _cancel_previous(creds: OkxCredentials, inst_id: str, tag: str, this_run: set[str]) -> int:
    """Cancel the spec's resting orders from earlier runs (a rerun of this run keeps its own)."""
    stale = [o for o in tasks.get_pending_orders(creds, inst_id) if o.tag == tag and o.cl_ord_id not in this_run]
    for order in stale:
        tasks.cancel_order(creds, inst_id, ord_id=order.ord_id)
    if stale:
        common.logger().info("cancelled %d resting order(s) of an earlier ladder run", len(stale))
    return len(stale)


def _look_up(creds: OkxCredentials, inst_id: str, placements: list[Placement]) -> list[Order]:
    """Each placed order's state now: one pending-orders read, single reads for the rest."""
    pending = {o.ord_id: o for o in tasks.get_pending_orders(creds, inst_id)}
    return [pending.get(p.ord_id) or tasks.get_order(creds, p.inst_id, ord_id=p.ord_id)
            for p in placements if p.ok and p.ord_id]
