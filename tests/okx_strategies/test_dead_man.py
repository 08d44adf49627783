"""The dead-man heartbeat of long runs: armed at the start, re-armed on time while the run
waits, disarmed at the end, also when the run fails."""

from __future__ import annotations

import pytest

from okx_strategies.dead_man import DeadMan


class Venue:
    def __init__(self) -> None:
        self.calls: list[tuple[float, int, str]] = []
        self.now = 0.0

    def cancel_all_after(self, timeout_s: int, tag: str) -> None:
        self.calls.append((self.now, timeout_s, tag))


def test_it_beats_every_third_of_the_timeout_while_waiting() -> None:
    venue = Venue()

    def sleep(seconds: float) -> None:
        venue.now += seconds

    with DeadMan(venue, "spec1", 30, clock=lambda: venue.now, sleep=sleep) as dm:  # type: ignore[arg-type]
        dm.sleep(95)
        dm.beat()  # just re-armed by the wait: not sent again
    assert [c[1:] for c in venue.calls] == [(30, "spec1")] * 10 + [(0, "spec1")]
    arms = [t for t, timeout, _ in venue.calls if timeout]
    assert arms[0] == 0 and all(b - a <= 10 for a, b in zip(arms, arms[1:], strict=False))
    assert venue.now - arms[-1] < 30  # never long enough for the venue to fire


def test_a_failing_run_disarms_it_too() -> None:
    venue = Venue()
    with pytest.raises(RuntimeError), DeadMan(venue, "t", 20):  # type: ignore[arg-type]
        raise RuntimeError("boom")
    assert [c[1] for c in venue.calls] == [20, 0]
