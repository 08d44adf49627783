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
from flows.planning import make_plan, needs
from flows.venue import resolve_venue
from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials
from okx_tasks.models import Order
from okx_tasks.placement import Placement


@flow(name="ladder", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def ladder(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Place the spec's post-only ladder and leave it resting (parameters hold no secret)."""
    spec, dry = common.load_and_check(spec_path, dry_run)
    log = common.logger()
    with resolve_venue(spec, confirm_live=confirm_live) as venue:
        creds = venue.credentials
        log.info("%s: ladder on %s%s", spec.name, venue.label, " (dry run)" if dry else "")
        instruments = common.venue_instruments(creds, spec, spec_path)
        balances, books = common.snapshot(creds, spec)
        plan = make_plan(spec, balances, books, instruments)
        key = common.run_key()
        ids = common.with_ids(plan, spec, key)
        common.log_plan(plan)
        result = common.new_result(spec, venue.label, key, dry, plan, balances)
        if not dry and plan.orders:
            replaced = _cancel_previous(creds, spec.strategy.inst_id, common.order_tag(spec), set(ids.values()))
            if replaced:
                result.notes.append(f"replaced {replaced} order(s) still resting from an earlier ladder run")
            result.placements = common.place(creds, plan.orders, ids, instruments, label=spec.name,
                                             tag=common.order_tag(spec))
            result.orders = _look_up(creds, spec.strategy.inst_id, result.placements)
            resting = [o for o in result.orders if not o.is_final]
            log.info("%d of %d ladder order(s) resting on the book", len(resting), len(result.orders))
            result.notes.append(f"{len(resting)} post-only order(s) left resting: "
                                + ", ".join(f"{o.side} {o.sz} @ {o.px}" for o in resting))
            result.fills = common.fills_of(creds, result.orders)
        common.after_weights(result, creds, needs(spec).ccys)
        common.publish(spec, result, ids)
        return result


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
