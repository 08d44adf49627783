"""Ladder flow: post-only orders stepping away from mid, left resting on the book.

``plan_ladder`` prices each level on the tick (never crossing), the orders go out in one batch,
and the run reports each one's state and leaves them resting: they fill as the market comes to
them. Each run replaces the previous one: before planning, settling earlier runs cancels the
spec's orders still resting (found through the journal and, across every page of resting
orders, by the spec's order tag), so a scheduled ladder never piles up frozen funds and plans
with the funds they held.
"""

from __future__ import annotations

from prefect import flow

from flows import common
from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials
from okx_wire.models import Order
from okx_wire.placement import Placement


@flow(name="ladder", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def ladder(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Place the spec's post-only ladder and leave it resting (parameters hold no secret)."""
    with common.strategy_run(spec_path, dry_run, confirm_live, "ladder") as run:
        if not run.dry and run.plan.orders:
            inst_id = run.spec.strategy.inst_id
            replaced = len(run.settlement.cancelled)
            if replaced:
                run.result.notes.append(f"replaced {replaced} order(s) still resting from an earlier ladder run")
            run.result.placements = run.place(run.plan.orders, label=run.spec.name)
            run.result.orders = _look_up(run.credentials, inst_id, run.result.placements)
            run.record(run.result.orders)
            resting = [o for o in run.result.orders if not o.is_final]
            common.logger().info("%d of %d ladder order(s) resting on the book", len(resting), len(run.result.orders))
            run.result.notes.append(f"{len(resting)} post-only order(s) left resting: "
                                    + ", ".join(f"{o.side} {o.sz} @ {o.px}" for o in resting))
            run.result.fills = common.fills_of(run.credentials, run.result.orders)
    return run.result



def _look_up(creds: OkxCredentials, inst_id: str, placements: list[Placement]) -> list[Order]:
    """Each placed order's state now: one pending-orders read, single reads for the rest."""
    pending = {o.ord_id: o for o in tasks.get_all_pending_orders(creds, inst_id)}
    return [pending.get(p.ord_id) or tasks.get_order(creds, p.inst_id, ord_id=p.ord_id)
            for p in placements if p.ok and p.ord_id]
