"""Rebalance flow: bring a portfolio back to its target weights, sells first.

Steps: resolve the venue, check the spec against the venue's instruments (refusing before
anything is sent), read balances and order books (depth 5), ``plan_rebalance``, then unless
dry-run: place the SELLS (one batch), wait, cancel what rests; then the BUYS likewise; then read
balances again and report weights and drift before/after.
"""

from __future__ import annotations

from prefect import flow

from flows import common
from flows.planning import make_plan, needs
from flows.venue import resolve_venue


@flow(name="rebalance", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def rebalance(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Rebalance the portfolio described by the spec at ``spec_path`` (parameters hold no secret)."""
    spec, dry = common.load_and_check(spec_path, dry_run)
    log = common.logger()
    with resolve_venue(spec, confirm_live=confirm_live) as venue:
        creds = venue.credentials
        log.info("%s: rebalance on %s%s", spec.name, venue.label, " (dry run)" if dry else "")
        instruments = common.venue_instruments(creds, spec, spec_path)
        balances, books = common.snapshot(creds, spec)
        plan = make_plan(spec, balances, books, instruments)
        key = common.run_key()
        ids = common.with_ids(plan, spec, key)
        common.log_plan(plan)
        result = common.new_result(spec, venue.label, key, dry, plan, balances)
        if not plan.needs_trading:
            log.info("every weight is within the %s band: nothing to trade", plan.drift_band)
        if not dry and plan.orders:
            for side, legs in (("sell", plan.sells), ("buy", plan.buys)):
                if not legs:
                    continue
                log.info("placing %d %s order(s)", len(legs), side)
                placements = common.place(creds, legs, ids, instruments, label=f"{spec.name}-{side}s",
                                          tag=common.order_tag(spec))
                result.placements += placements
                result.orders += common.settle(creds, placements)
            result.fills = common.fills_of(creds, result.orders)
        common.after_weights(result, creds, needs(spec).ccys)
        for ccy in sorted(result.weights_after):
            log.info("%s: %.2f%% -> %.2f%% (target %.2f%%)", ccy, result.weights_before.get(ccy, 0) * 100,
                     result.weights_after[ccy] * 100, plan.targets.get(ccy, 0) * 100)
        common.publish(spec, result, ids)
        return result
