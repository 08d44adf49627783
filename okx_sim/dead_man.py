"""``trade/cancel-all-after``: OKX's dead-man switch, as the simulator keeps it.

A client arms it with a timeout (10-120 s) and re-arms it as a heartbeat; if the heartbeat stops,
the exchange cancels every pending order of the account (or only those carrying the timer's
``tag``) when the timeout runs out. ``timeOut`` 0 disarms. OKX keeps one account-wide timer and at
most 20 tag-level ones (51071 beyond). The timers live in memory: a simulator restart, like an
exchange failover, forgets them, so a heartbeat must keep re-arming (which it does anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Tag-level timers OKX allows at once.
MAX_TAG_TIMERS = 20


@dataclass
class DeadManSwitch:
    #: tag ("" for the account-wide timer) -> exchange ms at which it fires.
    timers: dict[str, int] = field(default_factory=dict)

    def arm(self, tag: str, timeout_s: int, now_ms: int) -> int | None:
        """Arm, re-arm or (``timeout_s`` 0) disarm. Returns the trigger time in ms, 0 when
        disarmed, or None when one more tag-level timer is over OKX's limit."""
        if timeout_s == 0:
            self.timers.pop(tag, None)
            return 0
        if tag and tag not in self.timers and sum(1 for t in self.timers if t) >= MAX_TAG_TIMERS:
            return None
        self.timers[tag] = now_ms + timeout_s * 1000
        return self.timers[tag]

    def due(self, now_ms: int) -> list[str]:
        """The tags whose timers ran out (each fires once and is gone)."""
        fired = [tag for tag, at in self.timers.items() if at <= now_ms]
        for tag in fired:
            del self.timers[tag]
        return fired
