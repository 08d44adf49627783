"""Lot-size, tick-size and minimum-size rules, in Decimal.

Shared by the client (to round and refuse before anything is sent) and the simulator (to refuse
what OKX refuses), so both apply exactly the same arithmetic.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from okx_wire.errors import InvalidOrder

Side = Literal["buy", "sell"]


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step > 0 and value % step == 0


def round_to_step(value: Decimal, step: Decimal, *, up: bool = False) -> Decimal:
    """The nearest multiple of ``step`` below (or above) ``value``, with ``step``'s exponent."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    units = (value / step).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (units * step).quantize(step) if step.as_tuple().exponent < 0 else units * step  # type: ignore[operator]


def round_size(size: Decimal, lot_size: Decimal) -> Decimal:
    """Round a size down to the lot size: never more than the caller asked or owns."""
    return round_to_step(size, lot_size)


def round_price(price: Decimal, tick_size: Decimal, side: Side) -> Decimal:
    """Round a limit price to the tick in the direction that never worsens it: buys down, sells up."""
    return round_to_step(price, tick_size, up=(side == "sell"))


def check_order_size(size: Decimal, *, lot_size: Decimal, min_size: Decimal, inst_id: str) -> None:
    """Refuse a size OKX would refuse (non-positive, under minSz, off lotSz) before it is sent."""
    # format_decimal: plain digits, never "1E-8" (Decimal's str of a small lot size).
    f = format_decimal
    if size <= 0:
        raise InvalidOrder(f"{inst_id}: order size must be positive, got {f(size)}")
    if size < min_size:
        raise InvalidOrder(f"{inst_id}: order size {f(size)} is under the minimum size {f(min_size)}; "
                           f"raise the size to at least {f(min_size)}", code="51020")
    if not is_multiple(size, lot_size):
        raise InvalidOrder(f"{inst_id}: order size {f(size)} is not a multiple of the lot size {f(lot_size)}; "
                           f"use {f(round_size(size, lot_size))}", code="51121")


def check_price(price: Decimal, *, tick_size: Decimal, inst_id: str) -> None:
    """Refuse a price that is not positive or not on the tick."""
    f = format_decimal
    if price <= 0:
        raise InvalidOrder(f"{inst_id}: price must be positive, got {f(price)}")
    if not is_multiple(price, tick_size):
        raise InvalidOrder(f"{inst_id}: price {f(price)} is not a multiple of the tick size {f(tick_size)}; "
                           f"use {f(round_to_step(price, tick_size))} or "
                           f"{f(round_to_step(price, tick_size, up=True))}", code="51000")


def format_decimal(value: Decimal) -> str:
    """OKX's number form: plain notation, no exponent, no trailing zeros ("2", "0.1")."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
