"""TWAP flow: trade a total size in equal slices spread over a time window.

``twap_slices`` sizes the slices on the lot (fewer, larger slices when equal ones would be under
the minimum size); slice i (leg ``s<i>``) is sent at ``i * window / slices`` seconds, priced then
against the current book as a marketable limit bounded by max slippage (and ``limit_price``),
waited on briefly, and its unfilled rest cancelled before the next slice. Progress goes to the
log and to a Prefect progress artifact (``<name>-progress``).
"""

from __future__ import annotations

import time
from decimal import Decimal

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from flows import common
from flows.planning import PlannedLeg, Skipped, make_plan, needs, twap_slice
from flows.spec import SpecError, Twap
from flows.venue import resolve_venue
from okx_tasks import tasks
from okx_tasks.artifacts import artifact_key
from okx_tasks.orders import client_order_id
from okx_tasks.plan import twap_slices
from okx_tasks.precision import format_decimal


@flow(name="twap", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def twap(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Work the spec's TWAP order over ``strategy.window_seconds`` (parameters hold no secret)."""
    spec, dry = common.load_and_check(spec_path, dry_run)
    strategy = spec.strategy
    if not isinstance(strategy, Twap):
        raise SpecError([f"{spec_path}: strategy.kind: is {strategy.kind}, not twap -- run it with its own flow"])
    log = common.logger()
    with resolve_venue(spec, confirm_live=confirm_live) as venue:
        creds = venue.credentials
        log.info("%s: TWAP on %s%s", spec.name, venue.label, " (dry run)" if dry else "")
        instruments = common.venue_instruments(creds, spec, spec_path)
        instrument = instruments[strategy.inst_id]
        balances, books = common.snapshot(creds, spec)
        plan = make_plan(spec, balances, books, instruments)
        key = common.run_key()
        ids = common.with_ids(plan, spec, key)
        common.log_plan(plan)
        result = common.new_result(spec, venue.label, key, dry, plan, balances)
        # Every slice is priced when its time comes (one the first look skipped may trade later).
        slices = twap_slices(strategy.total_size, strategy.slices, instrument) if plan.interval_s else []
        if not dry and slices:
            interval = float(plan.interval_s or 0)
            progress = create_progress_artifact(0.0, key=artifact_key(spec.name, "progress"),
                                                description=f"{spec.name}: TWAP slices done")
            start = time.monotonic()
            run_left = spec.risk.max_run_notional
            done = Decimal(0)
            for i, sz in enumerate(slices):
                leg = f"s{i + 1}"
                wait = start + i * interval - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                book = tasks.get_order_book(creds, strategy.inst_id, 5)
                found = twap_slice(spec, book, instrument, leg, sz, run_left)
                if isinstance(found, Skipped):
                    log.warning("slice %d/%d skipped: %s", i + 1, len(slices), found.reason)
                    result.notes.append(f"slice {leg} skipped: {found.reason}")
                else:
                    ids[leg] = client_order_id(key, spec.name, leg)
                    placements = common.place(creds, [found], ids, instruments, label=leg,
                                                 tag=common.order_tag(spec))
                    orders = common.settle(creds, placements, timeout_s=min(max(interval * 0.8, 0.5),
                                                                              common.SETTLE_TIMEOUT_S))
                    result.placements += placements
                    result.orders += orders
                    filled = sum((o.filled for o in orders), Decimal(0))
                    done += filled
                    if run_left is not None:
                        run_left -= _moved(found, filled)
                    log.info("slice %d/%d: %s %s of %s %s (limit %s); %s of %s done", i + 1, len(slices),
                             strategy.side, format_decimal(filled), format_decimal(sz), strategy.inst_id,
                             format_decimal(found.px or 0), format_decimal(done), format_decimal(strategy.total_size))
                    for placement in placements:
                        if not placement.ok:
                            result.notes.append(f"slice {leg} refused: {placement.error}")
                update_progress_artifact(progress, 100.0 * (i + 1) / len(slices),
                                         description=f"{spec.name}: {i + 1} of {len(slices)} slices, "
                                                     f"{format_decimal(done)} {strategy.inst_id} done")
            result.fills = common.fills_of(creds, result.orders)
        common.after_weights(result, creds, needs(spec).ccys)
        common.publish(spec, result, ids)
        return result


def _moved(leg: PlannedLeg, filled: Decimal) -> Decimal:
    """Quote value a slice moved, counted at its limit price (the bound the risk limits use)."""
    return filled * (leg.px or Decimal(0))
