"""Ledger history for circuit-breaker tests: an earlier run that saw the spec richer than now."""

from __future__ import annotations

import dataclasses

from okx_wire.ledger import open_ledger


def raise_the_high_water_mark(spec: str, factor: int, journal_url: str | None = None) -> None:
    """Record an earlier run of ``spec`` that valued it ``factor`` times its last run's value (as
    if the market had fallen since): the high-water mark, and the day's start, the breaker reads."""
    ledger = open_ledger(journal_url)
    last = ledger.history(spec)[-1]
    peak = dataclasses.replace(last, run_id=f"earlier-peak-{last.run_id}", started_ms=last.started_ms - 2000,
                               ended_ms=last.ended_ms - 1000, value_before=last.value_after * factor,
                               value_after=last.value_after * factor)
    ledger.record_run(peak, [], None)
