"""Placement: an order is placed at most once whatever the retries; a resend waits out the last
send's expTime in *exchange* time, whoever recorded the send; a success-shaped answer without an
ordId never counts as placed; a refusal is raised as it is."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from okx_sim import SimConfig, running_simulator
from okx_wire import placement
from okx_wire.client import OkxClient
from okx_wire.errors import AmbiguousReply, ConfigurationError, InsufficientBalance
from okx_wire.journal import Journal
from okx_wire.models import OrderAck
from okx_wire.orders import OrderRequest
from okx_wire.runtime import RUNTIME


def _buy(cl_ord_id: str) -> OrderRequest:
    return OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"), px=Decimal("1000"),
                        cl_ord_id=cl_ord_id)


def test_resend_waits_in_exchange_time_for_a_send_another_process_recorded(tmp_path: Path) -> None:
    """The client's clock runs 20 s ahead of the exchange (inside OKX's 30 s window). A send
    recorded elsewhere expires 3 s from now in exchange time: the resend must wait ~3 s, not
    conclude from its own clock that the expTime passed 17 s ago."""
    skew_s = -20.0
    with running_simulator(SimConfig(clock_skew=skew_s, rate_limits=False)) as sim:
        journal = Journal(f"sqlite:///{tmp_path / 'j.sqlite3'}")
        exchange_now = int(time.time() * 1000 + skew_s * 1000)
        journal.record_sends("other-process-run", [_buy("elsewhere1")], exp_ms=exchange_now + 3_000)
        slept: list[float] = []
        client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        found = placement.lookup(client, _buy("elsewhere1"), sends=journal.bind("this-run"), sleep=slept.append)
        assert found is None
        assert len(slept) == 1 and 2.0 < slept[0] < 4.0, slept


def test_success_without_ord_id_is_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        real_place = OkxClient.place_order

        def placed_but_no_id(self: OkxClient, order: OrderRequest, **kw: object) -> OrderAck:
            ack = real_place(self, order, **kw)
            return ack.model_copy(update={"ord_id": ""})

        monkeypatch.setattr(OkxClient, "place_order", placed_but_no_id)
        result = placement.place_once(client, _buy("noIdButThere"), resend=False, sends=placement.ProcessSendLog())
        assert result.ok and result.adopted and result.ord_id

        def nothing_but_success(self: OkxClient, order: OrderRequest, **kw: object) -> OrderAck:
            return OrderAck(cl_ord_id=order.cl_ord_id or "", s_code="0")

        monkeypatch.setattr(OkxClient, "place_order", nothing_but_success)
        with pytest.raises(AmbiguousReply):
            placement.place_once(client, _buy("noIdNotThere"), resend=False, sends=placement.ProcessSendLog())
        assert sim.exchange.orders_by_client_id("noIdNotThere") == []


def test_batch_item_without_ord_id_is_unknown_not_placed(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)

        def acks_without_ids(self: OkxClient, orders: list[OrderRequest], **kw: object) -> list[OrderAck]:
            return [OrderAck(cl_ord_id=o.cl_ord_id or "", s_code="0") for o in orders]

        monkeypatch.setattr(OkxClient, "place_batch_orders", acks_without_ids)
        results = placement.place_batch_once(client, [_buy("batchA"), _buy("batchB")], resend=False,
                                             sends=placement.ProcessSendLog())
        assert [r.ok for r in results] == [False, False]
        assert all(r.outcome_unknown for r in results)


def test_a_retry_adopts_the_order_instead_of_placing_it_twice() -> None:
    """The first attempt placed the order but its caller never learned it: the retry finds it by
    clOrdId, after the first send's expTime, and adopts it."""
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        sends = placement.ProcessSendLog()
        slept: list[float] = []
        first = placement.place_once(client, _buy("retryOnce1"), resend=False, sends=sends, sleep=slept.append)
        assert first.ok and not first.adopted and slept == []
        again = placement.place_once(client, _buy("retryOnce1"), resend=True, sends=sends, sleep=slept.append,
                                     exp_window_ms=placement.DEFAULT_EXP_WINDOW_MS)
        assert again.adopted and again.ord_id == first.ord_id
        assert len(slept) == 1 and 0 < slept[0] <= placement.DEFAULT_EXP_WINDOW_MS / 1000 + 1
        assert len(sim.exchange.orders_by_client_id("retryOnce1")) == 1


def test_a_refusal_is_raised_and_recorded_as_settled() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        refused: list[str] = []

        class Log(placement.ProcessSendLog):
            def record_refusal(self, orders, error):  # type: ignore[no-untyped-def]
                refused.extend(o.cl_ord_id or "" for o in orders)

        too_big = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("1000"),
                               px=Decimal("1000"), cl_ord_id="tooBig1")
        with pytest.raises(InsufficientBalance):
            placement.place_once(client, too_big, resend=False, sends=Log())
        assert refused == ["tooBig1"]
        assert sim.exchange.orders_by_client_id("tooBig1") == []


def test_more_than_a_batch_goes_out_in_batches_of_twenty_each_placed_once() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        orders = [_buy(f"many{n}") for n in range(25)]
        sends = placement.ProcessSendLog()
        results = placement.place_batch_once(client, orders, resend=False, sends=sends)
        assert [r.cl_ord_id for r in results] == [o.cl_ord_id for o in orders]
        assert all(r.ok and not r.adopted for r in results)
        again = placement.place_batch_once(client, orders, resend=True, sends=sends, sleep=lambda s: None)
        assert [r.ord_id for r in again] == [r.ord_id for r in results] and all(r.adopted for r in again)
        assert all(len(sim.exchange.orders_by_client_id(o.cl_ord_id or "")) == 1 for o in orders)


def test_the_process_send_log_is_emptied_by_the_runtime_reset() -> None:
    placement.PROCESS_SENDS.record_sends([_buy("resetMe1")], 123)
    assert placement.PROCESS_SENDS.last_send_ms("resetMe1") == 123
    RUNTIME.reset()
    assert placement.PROCESS_SENDS.last_send_ms("resetMe1") is None


def test_an_order_without_a_client_order_id_is_refused_before_sending() -> None:
    client = OkxClient(base_url="http://127.0.0.1:9", rate_limit=False)
    no_id = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("1"), px=Decimal("1"))
    with pytest.raises(ConfigurationError, match="clOrdId"):
        placement.place_once(client, no_id, resend=False)
