"""The circuit breaker: a strategy that has lost more than its spec allows stops trading.

Two limits, both optional in a spec's ``risk`` section, both measured on the spec's own NAV (its
sleeve, or what no sleeve holds, valued in the quote currency: ``Books.value_before``) and the
ledger of its earlier runs on the same account:

* ``max_drawdown``: a fraction below the high-water mark, the highest NAV any run of the spec
  saw (before or after it) since the breaker was last reset;
* ``max_daily_loss``: quote lost since the UTC day began, from the NAV the day started at (the
  last run that ended before midnight; else the first run of the day, before it traded).

A run checks them before it plans. The check is pure (rows and a NAV in, a reading out), so it
is tested without a venue, and the same reading is what ``okx-flows breaker show`` prints. What
the run does with a breach (place nothing, emit ``okx-flows.breaker.tripped``, fail) lives in
the run frame (``flows.common``). A breach stays a breach on every later run until the NAV
recovers or the breaker is reset (``okx-flows breaker reset``, which starts a new high-water
mark): pausing the deployments is what stops the schedule; this is what stops a run started by
hand.

Moving capital changes the NAV as trading does: lowering a sleeve's capital reads as a drawdown
until the breaker is reset (say so to users; the ledger cannot tell a withdrawal from a loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from okx_wire.ledger import LedgerRow
from okx_wire.precision import format_decimal

ZERO: Final = Decimal(0)


@dataclass(frozen=True)
class BreakerLimits:
    max_drawdown: Decimal | None = None
    max_daily_loss: Decimal | None = None

    @property
    def armed(self) -> bool:
        return self.max_drawdown is not None or self.max_daily_loss is not None


@dataclass(frozen=True)
class Reading:
    """The spec's NAV against its limits, in ``quote``."""

    quote: str
    nav: Decimal
    high_water: Decimal
    day_start: Decimal
    runs: int

    @property
    def drawdown(self) -> Decimal:
        """The fraction of the high-water mark lost (0 at or above it)."""
        if self.high_water <= 0 or self.nav >= self.high_water:
            return ZERO
        return (self.high_water - self.nav) / self.high_water

    @property
    def daily_loss(self) -> Decimal:
        return max(ZERO, self.day_start - self.nav)

    def figures(self) -> dict[str, str]:
        """The reading as text with units (an event's payload, the CLI's output)."""
        return {"nav": _money(self.nav, self.quote), "high_water": _money(self.high_water, self.quote),
                "drawdown": f"{format_decimal(round(self.drawdown * 100, 2))} %",
                "day_start": _money(self.day_start, self.quote), "daily_loss": _money(self.daily_loss, self.quote)}


def _money(value: Decimal, quote: str) -> str:
    return f"{format_decimal(round(value, 2))} {quote}"


def day_start_ms(now_ms: int) -> int:
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    return int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def read(history: Sequence[LedgerRow], nav: Decimal, quote: str, now_ms: int, *,
         reset_ms: int | None = None) -> Reading:
    """The reading of a spec whose NAV is ``nav`` now, from its runs ``history`` (oldest first).

    Only runs valued in the same quote currency count, and only those that ended after the last
    reset (``reset_ms``): a reset starts a new high-water mark and a new day's start.
    """
    rows = [r for r in history if r.quote_ccy == quote and (reset_ms is None or r.ended_ms > reset_ms)]
    high = max([nav, *(max(r.value_before, r.value_after) for r in rows)])
    midnight = day_start_ms(now_ms)
    if reset_ms is not None:
        midnight = max(midnight, reset_ms)
    before = [r for r in rows if r.ended_ms < midnight]
    today = [r for r in rows if r.ended_ms >= midnight]
    if before:
        start = before[-1].value_after
    elif today:
        start = today[0].value_before
    else:
        start = nav
    return Reading(quote=quote, nav=nav, high_water=high, day_start=start, runs=len(rows))


def breach(reading: Reading, limits: BreakerLimits) -> str | None:
    """Why the spec must not trade now (one line), or None."""
    reasons = []
    if limits.max_drawdown is not None and reading.drawdown > limits.max_drawdown:
        reasons.append(f"drawdown {format_decimal(round(reading.drawdown * 100, 2))} % from the high-water mark "
                       f"{_money(reading.high_water, reading.quote)} is beyond risk.max_drawdown "
                       f"{format_decimal(limits.max_drawdown * 100)} %")
    if limits.max_daily_loss is not None and reading.daily_loss > limits.max_daily_loss:
        reasons.append(f"today's loss {_money(reading.daily_loss, reading.quote)} (from "
                       f"{_money(reading.day_start, reading.quote)} at the day's start) is beyond "
                       f"risk.max_daily_loss {format_decimal(limits.max_daily_loss)} {reading.quote}")
    if not reasons:
        return None
    return (f"{'; '.join(reasons)} (NAV now {_money(reading.nav, reading.quote)}) -- nothing placed; raise the "
            "limit or run `okx-flows breaker reset` once you have looked")
