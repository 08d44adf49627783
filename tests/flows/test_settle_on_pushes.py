"""Runs settle on the account's ``orders`` pushes through the Prefect binding: one
``okx-wait-orders`` task run on the process's warm order stream, then the same REST read of every
order as polling, so the run's fills are the venue's; ``OKX_FLOWS_WEBSOCKET=0`` polls; a dropped
connection mid-run and late pushes lose nothing; TWAP slices price from the public stream."""

from __future__ import annotations

import functools
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flows.rebalance import rebalance
from flows.twap import twap
from okx_sim import SimConfig
from okx_tasks import blocks, tasks
from okx_wire.client import OkxClient
from tests.support.flow_env import fresh_settings
from tests.support.rest_count import count_rest

BALANCES = {"USDT": Decimal("50000"), "BTC": Decimal("2"), "ETH": Decimal("10")}
ROOMY = {"risk": {"max_order_notional": 50000, "max_run_notional": 250000}}


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    return SimConfig(state_path=tmp_path / "sim.sqlite3", balances=BALANCES)


@pytest.fixture
def gets(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every REST request the process's clients send, by "METHOD /path"."""
    return count_rest(monkeypatch)


def _switch(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    monkeypatch.setenv("OKX_FLOWS_WEBSOCKET", "1" if on else "0")
    fresh_settings()


def _counted_waits(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The result of every okx-wait-orders task run."""
    waits: list[Any] = []
    real = tasks.wait_orders.fn

    @functools.wraps(real)
    def wait(*args: Any, **kwargs: Any) -> Any:
        waits.append(real(*args, **kwargs))
        return waits[-1]

    monkeypatch.setattr(tasks.wait_orders, "fn", wait)
    return waits


def _venue_fills(sim: Any, result: Any) -> list[tuple[str, str, Decimal, Decimal]]:
    """What the venue itself says was filled for the run's orders."""
    with OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False) as client:
        wanted = {o.ord_id for o in result.orders}
        return sorted((f.ord_id, f.trade_id, f.fill_px, f.fill_sz) for f in client.fills_since(0) if f.ord_id in wanted)


def _run_fills(result: Any) -> list[tuple[str, str, Decimal, Decimal]]:
    return sorted((f.ord_id, f.trade_id, f.fill_px, f.fill_sz) for f in result.fills)


def _check_against_the_venue(sim: Any, result: Any) -> None:
    with OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False) as client:
        for order in result.orders:
            assert order == client.order(order.inst_id, ord_id=order.ord_id)
    assert _run_fills(result) == _venue_fills(sim, result) and result.fills


def test_a_rebalance_settles_on_pushes_with_the_venues_fills(sim, spec_file, monkeypatch, gets):
    _switch(monkeypatch, True)
    waits = _counted_waits(monkeypatch)
    result = rebalance(spec_path=str(spec_file("rebalance", **ROOMY)))
    order_reads = gets["GET /api/v5/trade/order"] + gets["GET /api/v5/trade/orders-history"]
    assert result.status == "completed" and all(o.state.value == "filled" for o in result.orders)
    assert len(waits) == 2 and all(w.final == w.orders for w in waits)  # the sells, then the buys
    assert sum(w.orders for w in waits) == len(result.orders)
    assert len(blocks._ORDER_STREAMS) == 1  # noqa: SLF001 - the process's one warm stream for the key
    _check_against_the_venue(sim, result)
    # Each wait is followed by one read of its orders (the history holds them all, or one read
    # each for fewer than ten): never a poll more.
    assert 0 < order_reads <= len(result.orders), gets


def test_the_switch_off_settles_by_polling(sim, spec_file, monkeypatch):
    _switch(monkeypatch, False)
    waits = _counted_waits(monkeypatch)
    result = rebalance(spec_path=str(spec_file("rebalance", **ROOMY)))
    assert result.status == "completed" and waits == [] and not blocks._ORDER_STREAMS  # noqa: SLF001
    _check_against_the_venue(sim, result)


def _before_the_first_placement(monkeypatch: pytest.MonkeyPatch, act: Any) -> None:
    """Call ``act()`` just before the run's first order leaves (its stream is open by then)."""
    done: list[bool] = []
    for name in ("place_order", "place_batch_orders"):
        task = getattr(tasks, name)
        real = task.fn

        def placing(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if not done:
                done.append(True)
                act()
            return _real(*args, **kwargs)

        monkeypatch.setattr(task, "fn", functools.wraps(real)(placing))


def test_a_connection_dropped_mid_run_loses_nothing(sim, spec_file, monkeypatch):
    """The gateway cuts the private connection instead of sending the first push about the run's
    orders: that push and those queued behind it are lost. The wait reads REST after the
    reconnect; the run's orders and fills are exactly the venue's."""
    _switch(monkeypatch, True)
    waits = _counted_waits(monkeypatch)

    def drop() -> None:
        sim.faults.ws_drop_next = 1

    _before_the_first_placement(monkeypatch, drop)
    result = rebalance(spec_path=str(spec_file("rebalance", **ROOMY)))
    assert sim.faults.ws_drops_injected >= 1
    assert waits and waits[0].reconnects >= 1 and waits[0].rest_reads >= 1
    assert result.status == "completed" and all(o.state.value == "filled" for o in result.orders)
    _check_against_the_venue(sim, result)


def test_late_pushes_are_reconciled_over_rest(sim, spec_file, monkeypatch):
    """Every push 5 s late: the orders no push settled are read over REST ``POLL_AFTER_S`` into
    the wait, long before the pushes come."""
    from okx_strategies.pushes import POLL_AFTER_S

    _switch(monkeypatch, True)
    waits = _counted_waits(monkeypatch)
    _before_the_first_placement(monkeypatch, lambda: setattr(sim.faults, "ws_delay_ms", 5000))
    result = rebalance(spec_path=str(spec_file("rebalance", **ROOMY)))
    sim.faults.ws_delay_ms = 0
    assert waits and all(w.final == w.orders and w.rest_reads >= 1 for w in waits)
    assert all(w.seconds < POLL_AFTER_S + 1.5 for w in waits)
    _check_against_the_venue(sim, result)


def test_a_venue_without_websocket_settles_by_polling_and_says_so(sim, spec_file, monkeypatch, caplog):
    _switch(monkeypatch, True)

    def no_stream(self: blocks.OkxCredentials) -> Any:
        raise blocks.NetworkError("no WebSocket at ws://example/ws/v5/private: InvalidStatus: HTTP 404")

    monkeypatch.setattr(blocks.OkxCredentials, "get_order_stream", no_stream)
    waits = _counted_waits(monkeypatch)
    with caplog.at_level("WARNING"):
        result = rebalance(spec_path=str(spec_file("rebalance", **ROOMY)))
    assert waits == [] and result.status == "completed"
    said = [r.getMessage() for r in caplog.records if "settling orders by polling REST" in r.getMessage()]
    assert len(said) == 1 and "no WebSocket" in said[0]
    _check_against_the_venue(sim, result)


def test_twap_slices_price_from_the_live_book(sim, spec_file, monkeypatch, gets):
    _switch(monkeypatch, True)
    result = twap(spec_path=str(spec_file("twap", strategy={"window_seconds": 1, "slices": 3})))
    assert result.status == "completed" and len(result.orders) == 3
    assert gets["GET /api/v5/market/books"] == 0  # no REST book read per slice
    assert len(blocks._MARKET_STREAMS) == 1  # noqa: SLF001
    _check_against_the_venue(sim, result)
