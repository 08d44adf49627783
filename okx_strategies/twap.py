"""TWAP: trade a total size in equal slices spread over a time window.

``plan.twap_slices`` sizes the slices on the lot (fewer, larger slices when equal ones would be
under the minimum size); slice i (leg ``s<i>``) is sent at ``i * window / slices`` seconds,
priced then against the current book as a marketable limit bounded by max slippage (and
``limit_price``), waited on briefly, and its unfilled rest cancelled before the next slice.
Progress goes to the log and to the run's progress report.

An execution that stopped part-way is never silently restarted: the run refuses, or resumes it
with the same order ids (``--resume``), or starts over (``--restart``).
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Annotated, Literal

from okx_strategies import protection
from okx_strategies.base import BOOK_DEPTH, Market, Run, Strategy, StrategySpec
from okx_strategies.dead_man import DeadMan
from okx_strategies.fields import Amount, InstId, Seconds, Side, Whole, int_range
from okx_strategies.pipeline import SETTLE_TIMEOUT_S, order_tag
from okx_strategies.plan import Plan, PlannedOrder, RiskLimits, SkippedLeg, limit_price, order_notional, twap_slices
from okx_strategies.protection import Protect
from okx_strategies.single import single_instrument_plan
from okx_wire.models import Instrument, OrderBook
from okx_wire.precision import format_decimal, round_price


class Twap(StrategySpec):
    kind: Literal["twap"]
    inst_id: InstId
    side: Side
    total_size: Amount
    slices: Annotated[Whole, int_range(1, 1000, "slices")]
    window_seconds: Seconds
    limit_price: Amount | None = None
    #: Arm OKX's dead-man switch (cancel-all-after, scoped to the spec's order tag) for this
    #: many seconds while the run works: if the run dies, the venue cancels its resting slice.
    #: At least 20 s: a slice settles for up to 10 s between heartbeats.
    dead_man_seconds: Annotated[Whole, int_range(20, 120, "dead_man_seconds")] | None = None
    #: Take-profit / stop-loss the venue arms on each slice once it fills (``okx_strategies.protection``).
    protect: Protect | None = None


def plan(strategy: Twap, risk: RiskLimits, market: Market) -> Plan:
    view, book, instrument = single_instrument_plan(strategy, market)
    if book is None or instrument is None:
        return view
    sizes = twap_slices(strategy.total_size, strategy.slices, instrument)
    if not sizes:
        view.skipped.append(SkippedLeg(leg="s1", inst_id=strategy.inst_id, reason=(
            f"{strategy.inst_id}: total_size {format_decimal(strategy.total_size)} is under the minimum size "
            f"{format_decimal(instrument.min_sz)}; nothing to slice")))
        return view
    interval = strategy.window_seconds / len(sizes)
    view.interval_s = interval
    if len(sizes) < strategy.slices:
        view.skipped.append(SkippedLeg(leg="-", inst_id=strategy.inst_id, reason=(
            f"{strategy.inst_id}: {strategy.slices} slices would be under the minimum size "
            f"{format_decimal(instrument.min_sz)}; using {len(sizes)} larger slices")))
    run_left = risk.max_run_notional
    for i, sz in enumerate(sizes):
        found = twap_slice(strategy, risk, book, instrument, f"s{i + 1}", sz, run_left, at_s=interval * i)
        if isinstance(found, SkippedLeg):
            view.skipped.append(found)
        else:
            view.orders.append(found)
            run_left = None if run_left is None else run_left - found.notional
    return view


def twap_slice(strategy: Twap, risk: RiskLimits, book: OrderBook, instrument: Instrument, leg: str, sz: Decimal,
               run_left: Decimal | None, at_s: Decimal | None = None) -> PlannedOrder | SkippedLeg:
    """One TWAP slice priced against ``book`` now: a marketable limit bounded by max slippage
    (and by the spec's ``limit_price``), within the order and run notional limits."""
    inst_id, side = strategy.inst_id, strategy.side
    mid = book.mid
    if mid is None or mid <= 0:
        return SkippedLeg(leg=leg, inst_id=inst_id, reason=f"{inst_id}: the order book has no bids or no asks")
    px = limit_price(mid, side, risk.slippage, instrument.tick_sz)
    if px is None:
        return SkippedLeg(leg=leg, inst_id=inst_id, reason=f"{inst_id}: the limit price rounds to 0")
    if strategy.limit_price is not None:
        bound = round_price(strategy.limit_price, instrument.tick_sz, side)
        px = min(px, bound) if side == "buy" else max(px, bound)
        reachable = book.best_ask if side == "buy" else book.best_bid
        if reachable is not None and ((side == "buy" and reachable > px) or (side == "sell" and reachable < px)):
            return SkippedLeg(leg=leg, inst_id=inst_id, reason=(
                f"{inst_id}: best {'ask' if side == 'buy' else 'bid'} {format_decimal(reachable)} is beyond the "
                f"limit price {format_decimal(strategy.limit_price)}; slice {leg} not sent"))
    notional = order_notional(sz, px, mid, "limit")
    limits = ((risk.max_order_notional, "max_order_notional"), (run_left, "what is left of max_run_notional"))
    for limit, name in limits:
        if limit is not None and notional > limit:
            return SkippedLeg(leg=leg, inst_id=inst_id, reason=(
                f"{inst_id}: slice {leg} worth up to {format_decimal(notional.quantize(Decimal('0.01')))} is over "
                f"{name} {format_decimal(limit)}"))
    reason = f"TWAP slice {leg}: {side} {format_decimal(sz)} at a limit of {format_decimal(px)}"
    tp_sl = None
    if strategy.protect is not None:
        tp_sl = strategy.protect.legs(side, px, instrument.tick_sz)
        reason += f"; {strategy.protect.describe(tp_sl)}"
    return PlannedOrder(leg=leg, inst_id=inst_id, side=side, ord_type="limit", sz=sz, px=px, notional=notional,
                        reason=reason, at_s=at_s, tp_sl=tp_sl)


def execute(run: Run) -> None:
    strategy: Twap = run.strategy
    result = run.result
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
    if run.dry or not slices:
        return
    interval = float(run.plan.interval_s or 0)
    run.progress(0.0, f"{run.spec_name}: TWAP slices done")
    guard: AbstractContextManager[DeadMan | None] = nullcontext()
    if strategy.dead_man_seconds is not None:
        guard = DeadMan(run.venue, order_tag(run.spec_name), strategy.dead_man_seconds)
    with guard as dead_man:
        _work_slices(run, legs, slices, interval, dead_man)
    result.fills = run.fills(result.orders)


def _work_slices(run: Run, legs: list[str], slices: list[Decimal], interval: float, dead_man: DeadMan | None) -> None:
    strategy: Twap = run.strategy
    result, log = run.result, run.log
    base = strategy.inst_id.split("-", 1)[0]
    instrument = run.instruments[strategy.inst_id]
    start = time.monotonic()
    run_left = run.risk.max_run_notional
    done = Decimal(0)
    for i, (leg, sz) in enumerate(zip(legs, slices, strict=True)):
        wait = start + i * interval - time.monotonic()
        if dead_man is not None:
            dead_man.sleep(max(wait, 0.0))
            dead_man.beat()
        elif wait > 0:
            time.sleep(wait)
        book = run.venue.live_book(strategy.inst_id, BOOK_DEPTH)
        if book.mid is not None:
            result.marks.append((book.ts or int(time.time() * 1000), strategy.inst_id, book.mid))
        found = twap_slice(strategy, run.risk.limits(), book, instrument, leg, sz, run_left)
        if isinstance(found, SkippedLeg):
            log.warning("slice %d/%d skipped: %s", i + 1, len(slices), found.reason)
            result.notes.append(f"slice {leg} skipped: {found.reason}")
        else:
            run.leg_id(leg)
            placements = run.place([found], label=leg)
            orders = run.settle(placements, timeout_s=min(max(interval * 0.8, 0.5), SETTLE_TIMEOUT_S))
            result.placements += placements
            result.orders += orders
            protection.verify(run, [found], placements, orders)
            filled = sum((o.filled for o in orders), Decimal(0))
            done += filled
            if run_left is not None:
                run_left -= filled * (found.px or Decimal(0))  # counted at the limit, as the risk limits are
            log.info("slice %d/%d: %s %s of %s %s (limit %s); %s of %s done", i + 1, len(slices),
                     strategy.side, format_decimal(filled), format_decimal(sz), strategy.inst_id,
                     format_decimal(found.px or Decimal(0)), format_decimal(done), format_decimal(strategy.total_size))
            for placement in placements:
                if not placement.ok:
                    result.notes.append(f"slice {leg} refused: {placement.error}")
        verb = "sold" if strategy.side == "sell" else "bought"
        run.progress(100.0 * (i + 1) / len(slices), f"{run.spec_name}: {i + 1} of {len(slices)} slices, "
                     f"{format_decimal(done)} of {format_decimal(strategy.total_size)} {base} {verb}")


STRATEGY = Strategy(kind="twap", spec=Twap, plan=plan, execute=execute, identity="resumable", position=30,
                    summary="trade a total size in equal slices over a time window")
