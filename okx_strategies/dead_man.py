"""A dead-man switch for long runs: OKX cancels the run's resting orders if the run dies.

A TWAP rests a slice at a time, for up to most of its interval. If the process running it is
killed (a worker lost, a machine rebooted), that slice would rest on the book with no one to
cancel it, and fill later against a market the run no longer watches. OKX's
``trade/cancel-all-after`` arms a timer on the venue: unless re-armed within ``timeout_s`` it
cancels every pending order carrying the run's tag (the spec's order tag, so no other spec's
orders are touched). The run re-arms it while it waits (``sleep``), and disarms it when done.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from okx_strategies.base import Venue

#: The most often the switch is re-armed: OKX allows 1 request per second per user and tag.
MIN_BEAT_S = 1.0


class DeadMan:
    """Arms on ``__enter__``, beats during ``sleep`` every third of the timeout, disarms on exit
    (even on failure: a run that fails cleanly cancels its own orders; the switch is for the
    run that cannot)."""

    def __init__(self, venue: Venue, tag: str, timeout_s: int, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.venue, self.tag, self.timeout_s = venue, tag, timeout_s
        self.every = max(MIN_BEAT_S, timeout_s / 3)
        self._clock, self._sleep = clock, sleep
        self._last: float | None = None
        self.beats = 0

    def __enter__(self) -> DeadMan:
        self.beat(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.venue.cancel_all_after(0, self.tag)

    def beat(self, *, force: bool = False) -> None:
        now = self._clock()
        if force or self._last is None or now - self._last >= self.every:
            self.venue.cancel_all_after(self.timeout_s, self.tag)
            self._last = now
            self.beats += 1

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, re-arming the switch on time."""
        end = self._clock() + seconds
        while (left := end - self._clock()) > 0:
            self._sleep(min(left, self.every))
            self.beat()
