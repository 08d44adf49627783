"""The market-history tasks: named and retried as every read, typed answers, inside a real flow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect import flow

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_tasks import market_data, tasks
from okx_tasks.blocks import OkxCredentials, drop_cached_clients
from okx_wire.market_data import Candle, Trade
from tests.okx_tasks.test_tasks import capture_block
from tests.support.capture import CaptureServer

pytestmark = pytest.mark.usefixtures("prefect_db")
HOUR = 3_600_000
TASKS = (market_data.get_candles, market_data.get_candles_between, market_data.get_trades,
         market_data.get_history_trades, market_data.get_system_status)


@pytest.fixture(autouse=True)
def _fresh_clients() -> None:
    drop_cached_clients()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=9)) as handle:
        yield handle


def test_tasks_follow_the_read_conventions() -> None:
    for task in TASKS:
        assert task.name.startswith("okx-") and task.retries == tasks.get_ticker.retries
        assert task.retry_condition_fn is tasks.get_ticker.retry_condition_fn
        assert task.persist_result is False and task.cache_policy == tasks.get_ticker.cache_policy
    assert {t.name for t in TASKS} == {"okx-candles", "okx-candles-between", "okx-trades", "okx-history-trades",
                                       "okx-system-status"}


def test_market_history_in_a_flow(sim: SimulatorHandle) -> None:
    block = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)

    @flow
    def history(block: OkxCredentials) -> tuple[list[Candle], list[Candle], list[Trade], list[Trade], int]:
        now = block.get_client().now_ms()
        hour = now - now % HOUR
        latest = market_data.get_candles(block, "BTC-USDT", "1H", limit=5)
        between = market_data.get_candles_between(block, "BTC-USDT", "1H", hour - 400 * HOUR, hour)
        trades = market_data.get_trades(block, "BTC-USDT", limit=20)
        older = market_data.get_history_trades(block, "BTC-USDT", after=trades[-1].trade_id, limit=5)
        return latest, between, trades, older, len(market_data.get_system_status(block))

    latest, between, trades, older, notices = history(block)
    assert len(latest) == 5 and not latest[0].confirmed
    assert len(between) == 400 and between[-1].ts == latest[1].ts and between == sorted(between, key=lambda c: c.ts)
    assert len(trades) == 20 and len(older) == 5 and int(older[0].trade_id) < int(trades[-1].trade_id)
    assert notices == 0


def test_a_busy_answer_is_retried(capture: CaptureServer) -> None:
    capture.reply(503, {"code": "50001", "msg": "Service temporarily unavailable", "data": []})
    capture.reply(200, {"code": "0", "msg": "", "data": [["1706637600000", "1", "2", "0.5", "1.5", "10", "15",
                                                          "15", "1"]]})

    @flow
    def one(block: OkxCredentials) -> list[Candle]:
        return market_data.get_candles.with_options(retry_delay_seconds=0)(block, "BTC-USDT", "1H", limit=1)

    [candle] = one(capture_block(capture))
    assert candle.confirmed and candle.ts == 1706637600000 and len(capture.requests) == 2
