"""Placement: a resend waits out the last send's expTime in *exchange* time, whoever recorded the
send; a success-shaped answer without an ordId never counts as placed."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from okx_sim import SimConfig, running_simulator
from okx_wire import placement
from okx_wire.client import OkxClient
from okx_wire.errors import AmbiguousReply
from okx_wire.journal import Journal
from okx_wire.models import OrderAck
from okx_wire.orders import OrderRequest


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
