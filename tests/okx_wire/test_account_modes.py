"""Account modes: a spot order carries the tdMode its account needs (cash in Spot and Futures
mode, cross in Multi-currency and Portfolio margin), as OKX refuses the other with 51000."""

from __future__ import annotations

from decimal import Decimal

import pytest

from okx_sim import SimConfig, running_simulator
from okx_wire.client import OkxClient
from okx_wire.orders import OrderRequest, spot_td_mode


def order(cl: str, td_mode: str | None = None) -> OrderRequest:
    return OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"), px=Decimal("1000"),
                        cl_ord_id=cl, td_mode=td_mode)  # type: ignore[arg-type]


def test_the_mode_sets_the_spot_td_mode() -> None:
    assert [spot_td_mode(lv) for lv in ("1", "2", "3", "4", None, "")] == ["cash", "cash", "cross", "cross",
                                                                          "cash", "cash"]
    assert order("a").payload()["tdMode"] == "cash"
    assert order("a").payload("cross")["tdMode"] == "cross"
    assert order("a", "cash").payload("cross")["tdMode"] == "cash"  # an order that names one keeps it


@pytest.mark.parametrize(("acct_lv", "wanted"), [("1", "cash"), ("2", "cash"), ("3", "cross"), ("4", "cross")])
def test_the_client_sends_what_the_account_needs_and_the_simulator_refuses_the_other(acct_lv: str,
                                                                                      wanted: str) -> None:
    with running_simulator(SimConfig(acct_lv=acct_lv, rate_limits=False)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as client:
        assert client.account_config().acct_lv == acct_lv
        ack = client.place_order(order("auto1"))
        assert ack.ok
        placed = client.order("BTC-USDT", ord_id=ack.ord_id)
        assert placed.td_mode == wanted
        [batch] = client.place_batch_orders([order("auto2")])
        assert batch.ok
        other = "cross" if wanted == "cash" else "cash"
        [refused] = client.place_batch_orders([order("wrong1", other)])
        assert not refused.ok
        if wanted == "cross":  # OKX's own answer to a cash spot order on a margin account
            assert (refused.s_code, refused.s_msg) == ("51000", "Parameter tdMode  error ")
        else:
            assert refused.s_code == "51010"


def test_the_mode_is_read_once_per_client() -> None:
    with running_simulator(SimConfig(acct_lv="3", rate_limits=False)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as client:
        calls = []
        real = client.account_config
        client.account_config = lambda: calls.append(1) or real()  # type: ignore[method-assign]
        for i in range(3):
            assert client.place_order(order(f"once{i}")).ok
        assert calls == [1]
