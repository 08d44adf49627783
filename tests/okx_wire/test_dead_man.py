"""cancel-all-after, OKX's dead-man switch: armed, kept alive by re-arming, and when the heartbeat
stops the venue cancels the account's pending orders (or only those of the timer's tag)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from okx_sim import SimConfig, running_simulator
from okx_sim.dead_man import MAX_TAG_TIMERS, DeadManSwitch
from okx_sim.embedded import SimulatorHandle
from okx_wire import errors
from okx_wire.client import OkxClient
from okx_wire.orders import OrderRequest


@pytest.fixture()
def venue() -> Iterator[tuple[SimulatorHandle, OkxClient]]:
    with running_simulator(SimConfig(rate_limits=False)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as client:
        yield sim, client


def rest(client: OkxClient, cl: str, tag: str = "") -> None:
    ack = client.place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"),
                                          px=Decimal("1000"), cl_ord_id=cl, tag=tag))
    assert ack.ok, ack


def pending(client: OkxClient) -> set[str]:
    return {o.cl_ord_id for o in client.pending_orders()}


def test_a_timer_that_runs_out_cancels_every_pending_order(venue: tuple[SimulatorHandle, OkxClient]) -> None:
    sim, client = venue
    rest(client, "a1")
    rest(client, "a2")
    now = sim.app.clock()
    timer = client.cancel_all_after(10)
    assert now // 1000 + 10 <= timer.trigger_time <= now // 1000 + 11  # seconds, as OKX's example
    assert timer.tag == "" and abs(timer.ts - now // 1000) <= 1
    assert sim.app.fire_dead_man(now + 9_000) == 0 and pending(client) == {"a1", "a2"}  # not yet
    assert sim.app.fire_dead_man(now + 10_500) == 2
    assert pending(client) == set()
    assert {o.state for o in client.order_history()} == {"canceled"}
    assert sim.app.fire_dead_man(now + 60_000) == 0  # it fired once and is gone


def test_the_heartbeat_keeps_the_orders_and_zero_disarms(venue: tuple[SimulatorHandle, OkxClient]) -> None:
    sim, client = venue
    rest(client, "b1")
    first = client.cancel_all_after(10)
    time.sleep(1.1)
    again = client.cancel_all_after(10)  # the heartbeat: the deadline moves on
    assert again.trigger_time > first.trigger_time
    assert sim.app.fire_dead_man(first.trigger_time * 1000 + 500) == 0 and pending(client) == {"b1"}
    off = client.cancel_all_after(0)
    assert off.trigger_time == 0
    assert sim.app.fire_dead_man(again.trigger_time * 1000 + 60_000) == 0 and pending(client) == {"b1"}


def test_a_tag_timer_cancels_only_its_tag(venue: tuple[SimulatorHandle, OkxClient]) -> None:
    sim, client = venue
    rest(client, "t1", tag="ladder")
    rest(client, "t2", tag="other")
    rest(client, "t3")
    timer = client.cancel_all_after(10, tag="ladder")
    assert timer.tag == "ladder"
    assert sim.app.fire_dead_man(timer.trigger_time * 1000 + 1000) == 1
    assert pending(client) == {"t2", "t3"}


def test_the_servers_own_tick_fires_it(venue: tuple[SimulatorHandle, OkxClient]) -> None:
    """No request needed: the simulator's clock running past the deadline is enough."""
    sim, client = venue
    rest(client, "c1")
    client.cancel_all_after(10)
    real = sim.app.clock
    sim.app.clock = lambda: real() + 11_000  # type: ignore[method-assign]
    deadline = time.monotonic() + 10
    while sim.app.dead_man.timers and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.app.clock = real  # type: ignore[method-assign]
    assert pending(client) == set()


def test_out_of_range_timeouts_are_refused(venue: tuple[SimulatorHandle, OkxClient]) -> None:
    sim, client = venue
    for bad in (5, 121, -1):
        with pytest.raises(errors.ConfigurationError, match="0 \\(off\\) or 10..120"):
            client.cancel_all_after(bad)
    for body in ({"timeOut": "9"}, {"timeOut": "abc"}, {"timeOut": True}, {"timeOut": "30", "tag": "bad tag!"}):
        with pytest.raises(errors.InvalidRequest, match="Parameter (timeOut|tag)"):
            client.request("POST", "/api/v5/trade/cancel-all-after", payload=body)
    with pytest.raises(errors.OkxError) as missing:
        client.request("POST", "/api/v5/trade/cancel-all-after", payload={})
    assert missing.value.code == "50014"
    # ccxt sends the seconds as a JSON number: accepted.
    [armed] = client.request("POST", "/api/v5/trade/cancel-all-after", payload={"timeOut": 10})
    assert int(armed["triggerTime"]) > 0


def test_it_is_a_signed_request(venue: tuple[SimulatorHandle, OkxClient]) -> None:
    sim, _ = venue
    reply = requests.post(sim.base_url + "/api/v5/trade/cancel-all-after", json={"timeOut": "10"}, timeout=5)
    assert reply.json()["code"] == "50103"  # unsigned: refused before anything else


def test_at_most_twenty_tag_timers() -> None:
    switch = DeadManSwitch()
    for i in range(MAX_TAG_TIMERS):
        assert switch.arm(f"tag{i}", 30, 0) == 30_000
    assert switch.arm("one-more", 30, 0) is None
    assert switch.arm("tag3", 60, 0) == 60_000  # re-arming an existing one is not one more
    assert switch.arm("", 30, 0) == 30_000  # nor is the account-wide timer
    assert sorted(switch.due(45_000)) == sorted(["", *(f"tag{i}" for i in range(MAX_TAG_TIMERS) if i != 3)])
