"""Losing WebSocket order ops at the simulator's gateway on purpose: the answer lost with the
connection after the venue executed the op, or the op lost before the venue saw it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from okx_sim.ws import gateway

#: ``what(real_handler, app, session, message, op)``: stands in for the gateway's op handler.
OpFault = Callable[[Callable[..., None], Any, Any, Any, Any], None]


def gateway_does(monkeypatch: pytest.MonkeyPatch, what: OpFault, times: int = 1) -> None:
    """The next ``times`` ops at the simulator's gateway go through ``what`` instead of the real
    handler; later ones are handled as usual."""
    real = gateway.handle_op
    left = [times]

    def handle(app: Any, session: Any, message: Any, op: Any) -> None:
        if left[0] <= 0:
            return real(app, session, message, op)
        left[0] -= 1
        return what(real, app, session, message, op)

    monkeypatch.setattr(gateway, "handle_op", handle)


def executed_then_answer_lost(real: Callable[..., None], app: Any, session: Any, message: Any, op: Any) -> None:
    """The venue executes the op; its answer (and the pushes it caused) are lost as the
    connection drops."""
    sent = session.send
    session.send = lambda *a, **k: None
    try:
        real(app, session, message, op)
    finally:
        session.send = sent
    session.drop()


def lost_before_the_venue(real: Callable[..., None], app: Any, session: Any, message: Any, op: Any) -> None:
    """The connection drops with the op on the way: the venue never executes it."""
    session.drop()
