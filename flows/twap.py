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
from flows.planning import PlannedLeg, Skipped, twap_slice
from flows.spec import Twap
from okx_tasks import tasks
from okx_tasks.artifacts import artifact_key
from okx_strategies.plan import twap_slices
from okx_wire.precision import format_decimal


@flow(name="twap", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def twap(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False, resume: bool = False,
         restart: bool = False) -> common.FlowResult:
    """Work the spec's TWAP order over ``strategy.window_seconds`` (parameters hold no secret)."""
    with common.strategy_run(spec_path, dry_run, confirm_live, "twap", resume=resume, restart=restart) as run:
        spec, creds, result = run.spec, run.credentials, run.result
        strategy = spec.strategy
        assert isinstance(strategy, Twap)
        log = common.logger()
        instrument = run.instruments[strategy.inst_id]
        # Every slice is priced when its time comes (one the first look skipped may trade later).
        legs = [f"s{i + 1}" for i in range(strategy.slices)]
        total = strategy.total_size
        if run.resumed is not None:
            legs = [leg for leg in legs if leg not in run.resumed.legs]
            total = max(strategy.total_size - run.resumed.done, Decimal(0))
            result.notes.append(f"resumed run {run.resumed.root}: {format_decimal(run.resumed.done)} already done; "
                                f"{format_decimal(total)} left over {len(legs)} slice(s)")
        slices = twap_slices(total, len(legs), instrument) if run.plan.interval_s and legs and total > 0 else []
        legs = legs[:len(slices)] if len(slices) < len(legs) else legs
        if not run.dry and slices:
            interval = float(run.plan.interval_s or 0)
            progress = create_progress_artifact(0.0, key=artifact_key(spec.name, "progress"),
                                                description=f"{spec.name}: TWAP slices done")
            start = time.monotonic()
            run_left = spec.risk.max_run_notional
            done = Decimal(0)
            for i, (leg, sz) in enumerate(zip(legs, slices)):
                wait = start + i * interval - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                book = tasks.get_order_book(creds, strategy.inst_id, 5)
                found = twap_slice(spec, book, instrument, leg, sz, run_left)
                if isinstance(found, Skipped):
                    log.warning("slice %d/%d skipped: %s", i + 1, len(slices), found.reason)
                    result.notes.append(f"slice {leg} skipped: {found.reason}")
                else:
                    run.leg_id(leg)
                    placements = run.place([found], label=leg)
                    orders = run.settle(placements, timeout_s=min(max(interval * 0.8, 0.5), common.SETTLE_TIMEOUT_S))
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
    return run.result


def _moved(leg: PlannedLeg, filled: Decimal) -> Decimal:
    """Quote value a slice moved, counted at its limit price (the bound the risk limits use)."""
    return filled * (leg.px or Decimal(0))
