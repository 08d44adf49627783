"""OKX's documented rate budgets and the sliding-window counter that enforces them.

The same table and the same counter serve both sides: the client waits until a request fits
its budget, the simulator refuses one that does not (HTTP 429, code 50011). Budgets are keyed as
OKX keys them: public endpoints per IP, private ones per user, trade endpoints per user and
instrument, batch endpoints counted in orders (``shared/okx/API-FACTS.md`` section 3). The
budgets themselves are a column of the endpoint table, ``okx_wire.endpoints``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Final

from okx_wire.endpoints import ENDPOINTS, MAX_BATCH_ORDERS, WINDOW, Budget, Scope

__all__ = ["BUDGETS", "MAX_BATCH_ORDERS", "SINGLE_ORDER_EQUIVALENT", "WINDOW", "Budget", "Demand", "Limiter",
           "Scope", "SlidingWindowLimiter", "demands"]

#: (METHOD, path) -> budget, read from the endpoint table (``okx_wire.endpoints``). Paths without
#: the query string.
BUDGETS: Final[dict[tuple[str, str], Budget]] = {row.key: row.budget for row in ENDPOINTS if row.budget is not None}

#: A batch of one order counts against the single-order budget, not the batch one.
SINGLE_ORDER_EQUIVALENT: Final[dict[str, tuple[str, str]]] = {
    row.path: ("POST", row.single) for row in ENDPOINTS if row.single is not None
}

#: One unit of demand: (bucket key, budget, units).
Demand = tuple[str, Budget, int]


def demands(
    method: str,
    path: str,
    *,
    ip: str = "",
    user: str = "",
    inst_type: str = "",
    inst_ids: Sequence[str] = (),
) -> list[Demand]:
    """The buckets one request draws from and how much, keyed as OKX keys them.

    ``inst_ids`` lists the instrument of every order in a batch (repeats count), or the one
    instrument of a single trade request. An endpoint without a budget (its row in
    ``okx_wire.endpoints`` says why) or outside the table draws nothing.
    """
    if path in SINGLE_ORDER_EQUIVALENT and len(inst_ids) == 1:
        method, path = SINGLE_ORDER_EQUIVALENT[path]
    budget = BUDGETS.get((method, path))
    if budget is None:
        return []
    if budget.scope is Scope.IP:
        return [(f"{budget.name}|{ip}", budget, 1)]
    if budget.scope is Scope.IP_INST_TYPE:
        return [(f"{budget.name}|{ip}|{inst_type}", budget, 1)]
    if budget.scope is Scope.USER:
        return [(f"{budget.name}|{user}", budget, 1)]
    counts: dict[str, int] = {}
    for inst_id in inst_ids or ("",):
        counts[inst_id] = counts.get(inst_id, 0) + 1
    if budget.counts_orders:
        return [(f"{budget.name}|{user}|{inst}", budget, n) for inst, n in counts.items()]
    return [(f"{budget.name}|{user}|{inst}", budget, 1) for inst in counts]


class Limiter:
    """What every limiter offers: ``reserve`` (take now or say how long to wait), ``hold`` (a
    context around one request) and, built on ``reserve``, a blocking ``acquire``."""

    _sleep: Callable[[float], None]

    def reserve(self, wanted: Iterable[Demand]) -> float:
        raise NotImplementedError

    def hold(self, wanted: Iterable[Demand]) -> AbstractContextManager[None]:
        raise NotImplementedError

    def acquire(self, wanted: Iterable[Demand]) -> float:
        """Block until the request fits, then take it. Returns the seconds spent waiting."""
        wanted = list(wanted)
        waited = 0.0
        while True:
            wait = self.reserve(wanted)
            if wait <= 0:
                return waited
            self._sleep(wait)
            waited += wait


class SlidingWindowLimiter(Limiter):
    """Counts units per key over a sliding window; thread-safe.

    ``reserve`` is all-or-nothing over several buckets (a batch spanning instruments either fits
    every bucket or takes from none), so a refused request leaves no trace. A server (the
    simulator) stamps each request with its arrival time and refuses what does not fit.

    A client cannot know when the server saw its request, only that it was after the send and
    before the answer. So ``hold`` counts a request as in flight (never expiring) until its answer
    is in, then stamps it with that moment: a later request that waits out the window from there
    provably arrives a full window after this one did, whatever the network delays were, and no
    safety margin has to be added to every window. ``slack`` still widens the window where
    stamps are taken at send time (``acquire`` used on its own).
    """

    _IN_FLIGHT: Final = math.inf
    _POLL: Final = 0.005

    def __init__(self, *, slack: float = 0.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._events: dict[str, deque[list[float]]] = {}
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()
        self._slack = slack
        self._clock = clock
        self._sleep = sleep
        #: Requests refused (``reserve`` returned a wait) and, per budget, the highest share of
        #: it ever in use at once: what a simulator reports, and what a benchmark calls "budget used".
        self.refusals = 0
        self.peak_use: dict[str, float] = {}

    def _trim(self, key: str, now: float, window: float) -> int:
        events = self._events.get(key)
        if not events:
            return 0
        horizon = now - window
        used = self._used[key]
        # Stamps are in order except where an in-flight event was stamped late; such an event
        # only delays the trimming behind it, which errs on the safe side.
        while events and events[0][0] <= horizon:
            used -= int(events.popleft()[1])
        self._used[key] = used
        return used

    def _take(self, wanted: list[Demand], stamp: float | None) -> tuple[float, list[list[float]]]:
        with self._lock:
            now = self._clock()
            wait = 0.0
            for key, budget, units in wanted:
                window = budget.window + self._slack
                used = self._trim(key, now, window)
                if used + units <= budget.limit:
                    continue
                if units > budget.limit:
                    raise ValueError(f"{units} units can never fit {budget.name}'s budget of {budget.limit}")
                # Free enough of the oldest units for this demand to fit.
                need = used + units - budget.limit
                for event_stamp, amount in self._events[key]:
                    need -= int(amount)
                    if need <= 0:
                        in_flight = event_stamp == self._IN_FLIGHT
                        wait = max(wait, self._POLL if in_flight else event_stamp + window - now)
                        break
            if wait > 0:
                self.refusals += 1
                return wait, []
            taken = []
            for key, budget, units in wanted:
                event = [now if stamp is None else stamp, float(units)]
                self._events.setdefault(key, deque()).append(event)
                taken.append(event)
                used = self._used[key] = self._used.get(key, 0) + units
                if used > self.peak_use.get(budget.name, 0) * budget.limit:
                    self.peak_use[budget.name] = used / budget.limit
            return 0.0, taken

    def reserve(self, wanted: Iterable[Demand]) -> float:
        """Take the units now if every bucket has room and return 0, else take nothing and
        return the seconds to wait before trying again."""
        return self._take(list(wanted), None)[0]

    @contextmanager
    def hold(self, wanted: Iterable[Demand]) -> Iterator[None]:
        """Block until the request fits; count it as in flight while the body runs (the request
        is sent and answered there), then stamp it with the time the answer came back."""
        wanted = list(wanted)
        while True:
            wait, taken = self._take(wanted, self._IN_FLIGHT)
            if not wait:
                break
            self._sleep(wait)
        try:
            yield
        finally:
            with self._lock:
                done = self._clock()
                for event in taken:
                    event[0] = done
