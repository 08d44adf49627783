"""Faults a client must survive: on private REST endpoints, and on WebSocket connections.

REST: latency, injected server errors, replies dropped after the change was committed.
WebSocket (every URL): ``ws_delay_ms`` holds every push back, ``ws_drop_rate`` is the chance a
push is not sent and the connection is cut instead (no close frame: the client sees an abnormal
closure, as when OKX's gateway drops it), ``ws_drop_next`` cuts the connection instead of the
next that many messages whatever the rate (a test's deterministic drop), ``ws_gap_rate`` the
chance a ``books`` increment is silently lost, so the next one's ``prevSeqId`` no longer chains
(a client must resync).

The settings are plain mutable attributes so a test can change them while the simulator runs
(``handle.faults.drop_rate = 0.3``). Decisions come from a seeded RNG so a failing run can be
replayed with the same seed. Faults never corrupt state: an injected error is answered before
anything is applied, a dropped reply is dropped after the change was committed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

Decision = Literal["ok", "error", "drop"]

#: The two server errors an injected failure answers with: (OKX code, HTTP status).
INJECTED_ERRORS: tuple[tuple[str, int], ...] = (("50001", 503), ("50026", 500))


@dataclass
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    #: Seconds added to the simulator's clock (positive: the server runs ahead of the client).
    clock_skew: float = 0.0
    seed: int = 0
    #: WebSocket faults (see the module docstring).
    ws_delay_ms: float = 0.0
    ws_drop_rate: float = 0.0
    ws_drop_next: int = 0
    ws_gap_rate: float = 0.0
    #: How many faults were injected so far (reported by the reliability tests).
    errors_injected: int = 0
    drops_injected: int = 0
    ws_drops_injected: int = 0
    ws_gaps_injected: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults/{self.seed}")

    def before(self) -> tuple[str, int] | None:
        """Whether to fail this request before applying it, and with which (code, status)."""
        if self.error_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() < self.error_rate:
                self.errors_injected += 1
                return self._rng.choice(INJECTED_ERRORS)
        return None

    def drop_after(self) -> bool:
        """Whether to close the connection instead of answering, after the request was applied."""
        if self.drop_rate <= 0:
            return False
        with self._lock:
            if self._rng.random() < self.drop_rate:
                self.drops_injected += 1
                return True
            return False

    def ws_drop(self) -> bool:
        """Whether to cut this WebSocket connection instead of sending the next push."""
        if self.ws_drop_rate <= 0 and self.ws_drop_next <= 0:
            return False
        with self._lock:
            if self.ws_drop_next > 0:
                self.ws_drop_next -= 1
                self.ws_drops_injected += 1
                return True
            if self._rng.random() < self.ws_drop_rate:
                self.ws_drops_injected += 1
                return True
            return False

    def ws_gap(self) -> bool:
        """Whether to lose this ``books`` increment (the stream's sequence then has a gap)."""
        if self.ws_gap_rate <= 0:
            return False
        with self._lock:
            if self._rng.random() < self.ws_gap_rate:
                self.ws_gaps_injected += 1
                return True
            return False
