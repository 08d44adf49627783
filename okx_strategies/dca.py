"""DCA: buy a fixed quote amount each run, never above the spec's price ceiling.

One marketable limit buy (``plan.plan_dca``: bounded by max slippage and ``max_price``), waited
on and its unfilled rest cancelled.

One buy per schedule slot: the order's clOrdId is derived from the spec name and the slot (the
run's scheduled start rounded down to ``slot_seconds``, default one UTC day), and it is looked up
before it is sent. A retry, a rerun of the flow run, or a new run for the same slot therefore
finds the slot's order and adopts it, whatever its state, instead of buying again. A slot whose
buy was refused, or never reached the exchange, has no order to find, so its rerun buys.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from pydantic_core import PydanticCustomError

from okx_strategies import protection
from okx_strategies.base import Market, Risk, Run, Strategy, StrategySpec
from okx_strategies.fields import Amount, InstId, Whole, int_range, problem, show
from okx_strategies.plan import Plan, RiskLimits, SkippedLeg, plan_dca
from okx_strategies.protection import Protect
from okx_strategies.single import single_instrument_plan


class Dca(StrategySpec):
    kind: Literal["dca"]
    inst_id: InstId
    quote_amount: Amount
    max_price: Amount | None = None
    #: One buy per slot of this many seconds (UTC, from the epoch): the slot is part of the
    #: order's identity, so a rerun for the same slot adopts its order instead of buying again.
    #: Match it to the schedule (daily cron: 86400).
    slot_seconds: Annotated[Whole, int_range(60, 31_622_400, "slot_seconds")] = 86_400
    #: Take-profit / stop-loss the venue arms on each buy once it fills (``okx_strategies.protection``).
    protect: Protect | None = None

    def risk_problem(self, risk: Risk) -> PydanticCustomError | None:
        limits = ((risk.max_order_notional, "max_order_notional"), (risk.max_run_notional, "max_run_notional"))
        for limit, name in limits:
            if limit is not None and self.quote_amount > limit:
                return problem(f"{show(self.quote_amount)} is above risk.{name} {show(limit)} -- lower it or "
                               f"raise the limit", "strategy.quote_amount")
        return None


def plan(strategy: Dca, risk: RiskLimits, market: Market) -> Plan:
    view, book, instrument = single_instrument_plan(strategy, market)
    if book is None or instrument is None:
        return view
    found = plan_dca(book=book, instrument=instrument, quote_amount=strategy.quote_amount,
                     max_price=strategy.max_price, risk=risk)
    if isinstance(found, SkippedLeg):
        view.skipped.append(found)
        return view
    if strategy.protect is not None and found.px is not None:
        legs = strategy.protect.legs("buy", found.px, instrument.tick_sz)
        found = replace(found, tp_sl=legs, reason=f"{found.reason}; {strategy.protect.describe(legs)}")
    view.orders.append(found)
    return view


def execute(run: Run) -> None:
    if run.dry or not run.plan.orders:
        return
    run.result.placements = run.place(run.plan.orders, label=run.spec_name)
    run.result.orders = run.settle(run.result.placements)
    protection.verify(run, run.plan.orders, run.result.placements, run.result.orders)
    run.result.fills = run.fills(run.result.orders)


STRATEGY = Strategy(kind="dca", spec=Dca, plan=plan, execute=execute, identity="slot", position=20,
                    summary="buy a fixed quote amount once per schedule slot, below a price ceiling")
