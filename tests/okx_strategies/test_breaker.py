"""The circuit breaker's reading: the high-water mark, the day's start, and what breaches."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from okx_strategies.base import Risk
from okx_strategies.breaker import BreakerLimits, breach, day_start_ms, read
from okx_wire.ledger import LedgerRow

D = Decimal
NOON = int(datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


def row(ended_ms: int, before: str, after: str, quote: str = "USDT") -> LedgerRow:
    return LedgerRow(run_id=f"r{ended_ms}", spec="s", account="a", kind="rebalance", quote_ccy=quote,
                     status="completed", started_ms=ended_ms - 1000, ended_ms=ended_ms, equity_before=D(before),
                     equity_after=D(after), value_before=D(before), value_after=D(after), traded_notional=D(0),
                     fees=D(0), shortfall_bps=None, drift_before=None, drift_after=None, intended=0, placed=0,
                     filled=0)


def test_drawdown_is_measured_from_the_highest_nav_any_run_saw() -> None:
    history = [row(NOON - 30 * HOUR, "1000", "1200"), row(NOON - 20 * HOUR, "1150", "1100")]
    reading = read(history, D(900), "USDT", NOON)
    assert reading.high_water == D(1200)
    assert reading.drawdown == D(300) / D(1200)
    assert breach(reading, BreakerLimits(max_drawdown=D("0.25"))) is None  # exactly 25 %: not beyond
    reason = breach(reading, BreakerLimits(max_drawdown=D("0.2")))
    assert reason is not None and "drawdown 25 %" in reason and "1200 USDT" in reason and "\n" not in reason


def test_the_day_starts_at_the_last_value_before_midnight() -> None:
    yesterday = row(day_start_ms(NOON) - HOUR, "1000", "1000")
    today = row(NOON - HOUR, "990", "950")
    reading = read([yesterday, today], D(890), "USDT", NOON)
    assert reading.day_start == D(1000) and reading.daily_loss == D(110)
    assert breach(reading, BreakerLimits(max_daily_loss=D(110))) is None
    reason = breach(reading, BreakerLimits(max_daily_loss=D(100)))
    assert reason is not None and "today's loss 110 USDT" in reason
    # No run before today: the day starts where today's first run did.
    assert read([today], D(890), "USDT", NOON).day_start == D(990)
    # No run at all: nothing lost yet, whatever the NAV.
    fresh = read([], D(5), "USDT", NOON)
    assert fresh.daily_loss == 0 and fresh.drawdown == 0


def test_a_reset_starts_a_new_high_water_mark_and_day() -> None:
    history = [row(NOON - 3 * HOUR, "1000", "2000"), row(NOON - HOUR, "1000", "1000")]
    limits = BreakerLimits(max_drawdown=D("0.1"), max_daily_loss=D(50))
    assert breach(read(history, D(1000), "USDT", NOON), limits) is not None
    after_reset = read(history, D(1000), "USDT", NOON, reset_ms=NOON - 2 * HOUR)
    assert after_reset.high_water == D(1000) and after_reset.day_start == D(1000)
    assert breach(after_reset, limits) is None


def test_runs_in_another_quote_currency_do_not_count() -> None:
    reading = read([row(NOON - HOUR, "5000", "5000", quote="USDC")], D(100), "USDT", NOON)
    assert reading.high_water == D(100) and reading.runs == 0


def test_the_spec_refuses_limits_that_mean_nothing() -> None:
    assert Risk(max_drawdown="0.2", max_daily_loss=100).breaker().armed
    assert not Risk().breaker().armed
    for bad in ({"max_drawdown": 0}, {"max_drawdown": 1}, {"max_daily_loss": -5}, {"approve_above": 0},
                {"approval_timeout_seconds": 1}):
        with pytest.raises(ValueError):
            Risk(**bad)
