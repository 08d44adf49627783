"""Which failures Prefect may retry, and how long it waits.

A Prefect retry re-runs the whole task body (``shared/prefect/FACTS.md`` section 2), so this is
what keeps money safe: only failures that can improve and that the task can repeat safely are
retried. Order placement is safe to repeat because the placement code looks the order up by its
clOrdId before sending it again (see ``okx_wire.placement``).
"""

from __future__ import annotations

from typing import Any, Final

from okx_strategies.direct import is_transient

#: Waits between attempts (seconds); Prefect adds jitter on top.
READ_RETRY_DELAYS: Final = [1.0, 2.0, 4.0, 8.0, 15.0]  # reads are always safe: ride out ~30 s
TRADE_RETRY_DELAYS: Final = [2.0, 4.0, 8.0, 16.0]
JITTER: Final = 0.5


def is_retriable(exc: BaseException) -> bool:
    """Network errors, timeouts, 5xx, rate limits and busy answers: yes. Everything else: no."""
    return is_transient(exc)


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` for every OKX task: retry only what ``is_retriable`` accepts."""
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - the state re-raises whatever the task raised
        return is_retriable(exc)
    return False
