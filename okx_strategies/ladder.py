"""Ladder: post-only orders stepping away from mid, left resting on the book.

``plan.plan_ladder`` prices each level on the tick (never crossing), the orders go out in one
batch, and the run reports each one's state and leaves them resting: they fill as the market
comes to them. Each run replaces the previous one: before planning, settling earlier runs
cancels the spec's orders still resting (found through the journal and, across every page of
resting orders, by the spec's order tag), so a scheduled ladder never piles up frozen funds and
plans with the funds they held.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from okx_strategies.base import Market, Risk, Run, Strategy, StrategySpec, Venue
from okx_strategies.fields import Amount, Bps, InstId, Side, Whole, int_range, problem, show
from okx_strategies.plan import Plan, RiskLimits, plan_ladder
from okx_strategies.single import single_instrument_plan
from okx_wire.models import Order
from okx_wire.placement import Placement


class Ladder(StrategySpec):
    kind: Literal["ladder"]
    inst_id: InstId
    side: Side
    levels: Annotated[Whole, int_range(1, 100, "levels")]
    step_bps: Bps
    total_quote: Amount

    @model_validator(mode="after")
    def _prices_positive(self) -> Ladder:
        if self.side == "buy" and self.levels * self.step_bps >= 10000:
            raise problem(f"{self.levels} levels of {show(self.step_bps)} bps reach a price of 0 or less -- use "
                          f"fewer levels or a smaller step", "step_bps")
        return self

    def risk_problem(self, risk: Risk) -> PydanticCustomError | None:
        if risk.max_run_notional is not None and self.total_quote > risk.max_run_notional:
            return problem(f"{show(self.total_quote)} is above risk.max_run_notional {show(risk.max_run_notional)} "
                           f"-- lower it or raise the limit", "strategy.total_quote")
        per_level = self.total_quote / self.levels
        if risk.max_order_notional is not None and per_level > risk.max_order_notional:
            return problem(f"{show(self.total_quote)} over {self.levels} levels is {show(per_level)} per order, "
                           f"above risk.max_order_notional {show(risk.max_order_notional)} -- add levels, lower "
                           f"total_quote or raise the limit", "strategy.total_quote")
        return None


def plan(strategy: Ladder, risk: RiskLimits, market: Market) -> Plan:
    view, book, instrument = single_instrument_plan(strategy, market, "post_only")
    if book is None or instrument is None:
        return view
    found = plan_ladder(book=book, instrument=instrument, side=strategy.side, levels=strategy.levels,
                        step_bps=strategy.step_bps, total_quote=strategy.total_quote, risk=risk)
    view.orders += found.orders
    view.skipped += found.skipped
    return view


def execute(run: Run) -> None:
    if run.dry or not run.plan.orders:
        return
    result = run.result
    replaced = len(run.settlement.cancelled)
    if replaced:
        result.notes.append(f"replaced {replaced} order(s) still resting from an earlier ladder run")
    result.placements = run.place(run.plan.orders, label=run.spec_name)
    result.orders = _look_up(run.venue, run.strategy.inst_id, result.placements)
    run.record(result.orders)
    resting = [o for o in result.orders if not o.is_final]
    run.log.info("%d of %d ladder order(s) resting on the book", len(resting), len(result.orders))
    result.notes.append(f"{len(resting)} post-only order(s) left resting: "
                        + ", ".join(f"{o.side} {o.sz} @ {o.px}" for o in resting))
    result.fills = run.fills(result.orders)


def _look_up(venue: Venue, inst_id: str, placements: list[Placement]) -> list[Order]:
    """Each placed order's state now: one pending-orders read, single reads for the rest."""
    pending = {o.ord_id: o for o in venue.pending(inst_id)}
    return [pending.get(p.ord_id) or venue.order(p.inst_id, p.ord_id)
            for p in placements if p.ok and p.ord_id]


STRATEGY = Strategy(kind="ladder", spec=Ladder, plan=plan, execute=execute, position=40,
                    summary="rest post-only orders stepping away from mid, replaced each run")
