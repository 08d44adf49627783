"""The retry policy (``okx_tasks.retry``): which failures Prefect may retry, and the waits."""

from __future__ import annotations

import pytest
import requests

from okx_tasks import retry, tasks
from okx_wire.errors import (
    AmbiguousReply,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    ExchangeUnavailable,
    InsufficientBalance,
    InvalidRequest,
    OkxError,
    OrderNotFound,
    PermissionDenied,
    RateLimitError,
    RequestTimeout,
)


class _State:
    """A finished task's state as ``retry_condition_fn`` gets it: ``result()`` re-raises."""

    def __init__(self, exc: BaseException | None) -> None:
        self.exc = exc

    def result(self) -> object:
        if self.exc is not None:
            raise self.exc
        return "done"


@pytest.mark.parametrize("exc", [
    ConnectionFailed("refused"), RequestTimeout("slow"), AmbiguousReply("no ordId"), ExchangeUnavailable("503"),
    RateLimitError("50011"), requests.ConnectionError("reset"), requests.Timeout("read"), ConnectionError("x"),
    TimeoutError("x"),
])
def test_transient_failures_are_retried(exc: BaseException) -> None:
    assert retry.is_retriable(exc)
    assert retry.retry_transient(None, None, _State(exc)) is True


@pytest.mark.parametrize("exc", [
    AuthenticationError("50113"), PermissionDenied("50120"), InsufficientBalance("51008"), InvalidRequest("51000"),
    OrderNotFound("51603"), ConfigurationError("bad"), OkxError("plain"), ValueError("bug"), KeyError("bug"),
    KeyboardInterrupt(),
])
def test_everything_else_is_not(exc: BaseException) -> None:
    assert not retry.is_retriable(exc)
    assert retry.retry_transient(None, None, _State(exc)) is False


def test_a_success_is_never_retried() -> None:
    assert retry.retry_transient(None, None, _State(None)) is False


def test_waits_ride_out_half_a_minute_of_reads_and_back_off() -> None:
    for delays in (retry.READ_RETRY_DELAYS, retry.TRADE_RETRY_DELAYS):
        assert delays == sorted(delays) and all(d > 0 for d in delays) and len(delays) <= 50
    assert sum(retry.READ_RETRY_DELAYS) >= 25
    assert 0 < retry.JITTER <= 1


def test_every_okx_task_uses_the_policy() -> None:
    for name in ("get_balance", "get_order_book", "get_instruments", "get_order_states", "cancel_order",
                 "get_fills_since"):
        task = getattr(tasks, name)
        assert task.retry_condition_fn is retry.retry_transient
        assert task.retries == len(retry.READ_RETRY_DELAYS)
    for name in ("place_order", "place_batch_orders"):
        task = getattr(tasks, name)
        assert task.retry_condition_fn is retry.retry_transient
        assert task.retries == len(retry.TRADE_RETRY_DELAYS)
