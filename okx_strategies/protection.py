"""Take-profit and stop-loss for a strategy's orders (``strategy.protect`` in a spec).

A protected order carries OKX's TP/SL attachment (``attachAlgoOrds``): once it fills, the venue
itself places an oco (both legs) or conditional (one leg) algo order on the other side, sized by
what filled, which closes the position when the last price reaches a trigger. The venue watches
the price, so the protection holds between runs and if the run, the worker or Prefect is gone.

Triggers are a percentage away from the order's own limit price: a buy's take-profit above it
and its stop-loss below, a sell's the reverse. They are rounded to the tick away from the price
(a take-profit up for a buy, a stop-loss down), so a trigger can never land on the wrong side.
The legs close at market (OKX's ``-1``): a stop must close, whatever the book.

A run checks, after the fill, that the venue armed the protection; one it did not arm is said in
the run's notes, never assumed (``Run.protections``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from okx_strategies.fields import Number, problem, show
from okx_wire.models import Order
from okx_wire.orders import TpSl, client_order_id
from okx_wire.placement import Placement
from okx_wire.precision import format_decimal

if TYPE_CHECKING:
    from okx_strategies.base import Run
    from okx_strategies.plan import PlannedOrder

HUNDRED = Decimal(100)
#: How long a run waits, once, for the venue to show an attachment it has not armed yet.
ARMING_GRACE_S = 0.5


def _pct(value: Decimal) -> Decimal:
    if value <= 0 or value >= HUNDRED:
        raise problem(f"{show(value)} % is outside 0..100 (exclusive) -- use e.g. 5 for 5 %")
    return value


Pct = Annotated[Number, AfterValidator(_pct)]


class Protect(BaseModel):
    """``protect: {take_profit_pct: 10, stop_loss_pct: 5}``: either leg or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    take_profit_pct: Pct | None = None
    stop_loss_pct: Pct | None = None

    @model_validator(mode="after")
    def _a_leg(self) -> Protect:
        if self.take_profit_pct is None and self.stop_loss_pct is None:
            raise problem("protect needs take_profit_pct, stop_loss_pct or both -- or remove protect")
        return self

    def legs(self, side: str, px: Decimal, tick: Decimal) -> TpSl:
        """The trigger prices for an order at ``px`` (without the attachment's id)."""
        up, down = (ROUND_CEILING, ROUND_FLOOR) if side == "buy" else (ROUND_FLOOR, ROUND_CEILING)
        sign = 1 if side == "buy" else -1
        tp = sl = None
        if self.take_profit_pct is not None:
            tp = _to_tick(px * (1 + sign * self.take_profit_pct / HUNDRED), tick, up)
        if self.stop_loss_pct is not None:
            sl = _to_tick(px * (1 - sign * self.stop_loss_pct / HUNDRED), tick, down)
        return TpSl(tp_trigger_px=tp, sl_trigger_px=sl)

    def describe(self, legs: TpSl) -> str:
        parts = []
        if legs.tp_trigger_px is not None:
            parts.append(f"take profit at {format_decimal(legs.tp_trigger_px)}")
        if legs.sl_trigger_px is not None:
            parts.append(f"stop loss at {format_decimal(legs.sl_trigger_px)}")
        return ", ".join(parts)


def attachment_id(cl_ord_id: str) -> str:
    """The algoClOrdId of an order's protection: derived from the order's clOrdId, so a retry or
    rerun attaches the same id and a later run can find the algo order OKX made of it."""
    return client_order_id("protect", cl_ord_id, "tpsl")


def _to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    ticks = (value / tick).to_integral_value(rounding=rounding)
    return max(ticks, Decimal(1)) * tick


def verify(run: Run, legs: Sequence[PlannedOrder], placements: Sequence[Placement], orders: Sequence[Order]) -> None:
    """After the fills: look up the algo order the venue made of each filled leg's protection
    and say in the run's notes what protects it, or loudly that nothing does."""
    filled = {o.cl_ord_id: o for o in orders if o.filled > 0}
    for leg, placed in zip(legs, placements, strict=True):
        order = filled.get(placed.cl_ord_id)
        if leg.tp_sl is None or order is None:
            continue
        wanted = attachment_id(placed.cl_ord_id)
        algo = run.venue.protection(wanted)
        if algo is None:  # OKX arms it as the order fills; give it a moment once
            time.sleep(ARMING_GRACE_S)
            algo = run.venue.protection(wanted)
        if algo is None:
            text = (f"{leg.leg}: {format_decimal(order.filled)} {leg.inst_id} filled but the venue shows NO "
                    f"take-profit/stop-loss for it (algoClOrdId {wanted}): the position is unprotected")
            run.log.warning(text)
        else:
            legs_text = ", ".join(part for part in (
                f"take profit {format_decimal(algo.tp_trigger_px)}" if algo.tp_trigger_px else "",
                f"stop loss {format_decimal(algo.sl_trigger_px)}" if algo.sl_trigger_px else "") if part)
            text = (f"{leg.leg}: protected by {algo.ord_type} algo {algo.algo_id} ({algo.state.value}) for "
                    f"{format_decimal(algo.sz)} {leg.inst_id.split('-')[0]}: {legs_text}")
            run.log.info(text)
        run.result.notes.append(text)
