"""Prefect tasks over the client's market history: candles, public trades, the system status.

The conventions of ``okx_tasks.tasks`` hold here too: each task takes the ``OkxCredentials``
block (public data needs no key, but the block names the venue and its budgets), is retried
like a read, caches and persists nothing, and is one client call plus one log line. Paging over
a time range is the client's (``OkxClient.candles_between``), not the task's.
"""

from __future__ import annotations

import logging

from prefect import task
from prefect.logging import get_run_logger

from okx_tasks.blocks import OkxCredentials
from okx_tasks.tasks import READ
from okx_wire.endpoints import HISTORY_TRADES_LIMIT
from okx_wire.market_data import TRADES_BY_ID, Candle, SystemStatus, Trade


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run (task.fn in tests): a plain logger
        return logging.getLogger("okx_tasks.market_data")


@task(name="okx-candles", task_run_name="candles-{inst_id}-{bar}", **READ)
def get_candles(credentials: OkxCredentials, inst_id: str, bar: str = "1m", limit: int = 100) -> list[Candle]:
    """An instrument's latest bars.

    Args:
        credentials: the venue (and key).
        inst_id: the instrument, e.g. ``BTC-USDT``.
        bar: OKX's bar name (``1m``, ``1H``, ``1Dutc``...).
        limit: 1..300 bars.

    Returns:
        The bars, newest first; the first may still be forming (``confirmed`` False).
    """
    candles = credentials.get_client().candles(inst_id, bar, limit=limit)
    _logger().info("%s %s: %d bar(s)", inst_id, bar, len(candles))
    return candles


@task(name="okx-candles-between", task_run_name="candles-{inst_id}-{bar}-range", **READ)
def get_candles_between(credentials: OkxCredentials, inst_id: str, bar: str, start_ms: int,
                        end_ms: int) -> list[Candle]:
    """Every bar opening in ``[start_ms, end_ms)``, from candles or history-candles (three months).

    Args:
        credentials: the venue (and key).
        inst_id: the instrument.
        bar: OKX's bar name (``1s`` included).
        start_ms, end_ms: the range, Unix ms, exchange time.

    Returns:
        The bars, oldest first.
    """
    candles = credentials.get_client().candles_between(inst_id, bar, start_ms, end_ms)
    _logger().info("%s %s: %d bar(s) between %d and %d", inst_id, bar, len(candles), start_ms, end_ms)
    return candles


@task(name="okx-trades", task_run_name="trades-{inst_id}", **READ)
def get_trades(credentials: OkxCredentials, inst_id: str, limit: int = 100) -> list[Trade]:
    """An instrument's latest public trades.

    Args:
        credentials: the venue (and key).
        inst_id: the instrument.
        limit: 1..500 trades.

    Returns:
        The trades, newest first (``side`` is the taker's).
    """
    trades = credentials.get_client().trades(inst_id, limit)
    _logger().info("%s: %d public trade(s)", inst_id, len(trades))
    return trades


@task(name="okx-history-trades", task_run_name="history-trades-{inst_id}", **READ)
def get_history_trades(credentials: OkxCredentials, inst_id: str, after: str | None = None,
                       by: str = TRADES_BY_ID, limit: int = HISTORY_TRADES_LIMIT) -> list[Trade]:
    """One page of an instrument's public trades of the last three months.

    Args:
        credentials: the venue (and key).
        inst_id: the instrument.
        after: only older trades than this tradeId (``by`` "1") or ts in ms (``by`` "2").
        by: "1" pages by tradeId, "2" by ts.
        limit: 1..100 trades.

    Returns:
        The trades, newest first.
    """
    trades = credentials.get_client().history_trades(inst_id, after=after, by=by, limit=limit)
    _logger().info("%s: %d historical trade(s)", inst_id, len(trades))
    return trades


@task(name="okx-system-status", task_run_name="system-status", **READ)
def get_system_status(credentials: OkxCredentials, state: str | None = None) -> list[SystemStatus]:
    """OKX's maintenance notices (scheduled, ongoing and pre-open ones unless ``state`` says).

    Args:
        credentials: the venue (and key).
        state: ``scheduled``, ``ongoing``, ``pre_open``, ``completed`` or ``canceled``.

    Returns:
        The notices; empty when nothing is planned.
    """
    notices = credentials.get_client().system_status(state)
    _logger().info("maintenance: %s", "; ".join(f"{n.title} ({n.state})" for n in notices) or "none")
    return notices
