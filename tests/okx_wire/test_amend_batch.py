"""amend-batch-orders: up to 20 absolute amendments in one request, each item answered alone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from okx_sim import SimConfig, running_simulator
from okx_wire.client import OkxClient
from okx_wire.errors import ConfigurationError
from okx_wire.orders import Amend, OrderRequest


def test_amendments_in_one_request_and_a_refusal_of_its_own() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as client:
        acks = client.place_batch_orders([
            OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"), px=Decimal("1000"),
                         cl_ord_id=f"am{i}") for i in range(3)])
        assert all(a.ok for a in acks)
        out = client.amend_batch_orders([
            Amend(inst_id="BTC-USDT", ord_id=acks[0].ord_id, new_px=Decimal("1001"), req_id="r0"),
            Amend(inst_id="BTC-USDT", cl_ord_id="am1", new_sz=Decimal("0.002")),
            Amend(inst_id="BTC-USDT", ord_id="999999999", new_px=Decimal("1002")),
        ])
        assert [a.ok for a in out] == [True, True, False]
        assert out[0].req_id == "r0"
        assert out[2].s_code == "51503"  # "the order does not exist": that item alone is refused
        assert client.order("BTC-USDT", ord_id=acks[0].ord_id).px == Decimal("1001")
        assert client.order("BTC-USDT", cl_ord_id="am1").sz == Decimal("0.002")
        with pytest.raises(ConfigurationError):
            client.amend_batch_orders([])


def test_an_amendment_is_checked_before_it_is_sent() -> None:
    with pytest.raises(ValidationError):
        Amend(inst_id="BTC-USDT", new_px=Decimal(1))  # names no order
    with pytest.raises(ValidationError):
        Amend(inst_id="BTC-USDT", ord_id="1")  # changes nothing
    with pytest.raises(ValidationError):
        Amend(inst_id="BTC-USDT", ord_id="1", new_sz=Decimal(-1))
    assert Amend(inst_id="BTC-USDT", cl_ord_id="c", new_sz=Decimal("0.50"), cancel_on_fail=True).payload() == {
        "instId": "BTC-USDT", "clOrdId": "c", "newSz": "0.5", "cxlOnFail": True}
