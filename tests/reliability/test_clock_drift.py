"""Clock drift against the simulator: a skewed exchange clock (+/-45 s) and a frozen client
clock ten minutes behind both succeed after exactly one re-sync; drift that a re-sync cannot
fix ends in one clear error that reports the measured offset."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from okx_sim import SimConfig, running_simulator
from okx_wire import errors
from okx_wire.client import OkxClient


class CountingClient(OkxClient):
    syncs = 0

    def sync_time(self) -> int:
        self.syncs += 1
        return super().sync_time()


@pytest.mark.parametrize("skew", [45.0, -45.0])
def test_skewed_exchange_clock_needs_one_resync(skew: float) -> None:
    with running_simulator(SimConfig(clock_skew=skew, rate_limits=False)) as sim:
        client = CountingClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        assert client.balance().available("USDT") > 0
        assert client.syncs == 1
        assert abs(client.clock_offset_ms - skew * 1000) < 1500
        for _ in range(3):
            client.account_config()
        assert client.syncs == 1  # the learned offset keeps working


def test_frozen_client_clock_ten_minutes_behind() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        behind = datetime.now(UTC) - timedelta(minutes=10)
        # The simulator runs in this process: keep its clock real, freeze only the client's.
        with freeze_time(behind, tick=True, ignore=["okx_sim", "uvicorn", "asyncio"]):
            client = CountingClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
            assert abs(time.time() - behind.timestamp()) < 5  # the client's clock really is behind
            assert client.balance().available("USDT") > 0
            assert client.syncs == 1
            assert 590_000 < client.clock_offset_ms < 610_000


def test_drift_that_keeps_moving_gives_one_clear_error() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        client = CountingClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        client.balance()  # the client's own first sync, before the exchange clock starts moving
        assert client.syncs == 1
        original = client.sync_time

        def sync_then_jump() -> int:
            offset = original()
            sim.faults.clock_skew += 120  # the exchange clock jumps again right after each sync
            return offset

        client.sync_time = sync_then_jump  # type: ignore[method-assign]
        sim.faults.clock_skew = 60
        with pytest.raises(errors.TimestampError) as err:
            client.balance()
        message = str(err.value)
        assert "50102" in message and "measured offset +60" in message and "NTP" in message
        assert "\n" not in message
