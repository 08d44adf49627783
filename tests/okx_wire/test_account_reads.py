"""Bills, maximum order sizes, the 3-month order archive and balances per account mode: the
client against the simulator, checked against OKX's real field sets and rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_sim.routes.account import _CCY_BY_MODE, _TOP_BY_MODE
from okx_wire import errors
from okx_wire.client import OkxClient
from okx_wire.orders import OrderRequest

SAMPLES = Path(__file__).resolve().parent / "samples"


def sample(name: str) -> dict[str, object]:
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def traded() -> Iterator[tuple[SimulatorHandle, OkxClient]]:
    """An account that bought BTC, sold some of it and rests one bid and one ask."""
    with running_simulator(SimConfig(rate_limits=False)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as client:
        for cl, side, ord_type, sz, px in (("buy1", "buy", "market", "500", None),
                                           ("sell1", "sell", "market", "0.002", None),
                                           ("eth1", "buy", "market", "300", None),
                                           ("bid1", "buy", "limit", "0.001", "1000"),
                                           ("ask1", "sell", "limit", "0.001", "900000")):
            inst = "ETH-USDT" if cl.startswith("eth") else "BTC-USDT"
            ack = client.place_order(OrderRequest(inst_id=inst, side=side, ord_type=ord_type, sz=Decimal(sz),  # type: ignore[arg-type]
                                                  px=Decimal(px) if px else None, cl_ord_id=cl))
            assert ack.ok, ack
        client.cancel_order("BTC-USDT", cl_ord_id="ask1")
        yield sim, client


# -- bills -----------------------------------------------------------------------------------------


def test_each_fill_is_two_trade_bills_that_add_up_to_the_balances(traded: tuple[SimulatorHandle, OkxClient]) -> None:
    sim, client = traded
    bills = client.bills()
    fills = client.fills()
    assert len(bills) == 2 * len(fills) == 6
    assert [int(b.bill_id) for b in bills] == sorted((int(b.bill_id) for b in bills), reverse=True)  # newest first
    assert {b.type for b in bills} == {"2"}
    initial = {"USDT": Decimal(100000), "BTC": Decimal(1), "ETH": Decimal(10)}
    for ccy in ("USDT", "BTC", "ETH"):
        mine = [b for b in bills if b.ccy == ccy]
        cash = client.balance([ccy]).total(ccy)
        assert mine[0].bal == cash  # the balance after the newest bill is today's
        assert sum((b.bal_chg for b in mine), Decimal(0)) == cash - initial[ccy]
        for newer, older in zip(mine, mine[1:], strict=False):
            assert older.bal == newer.bal - newer.bal_chg  # type: ignore[operator]
    for fill in fills:
        legs = [b for b in bills if b.trade_id == fill.trade_id]
        assert len(legs) == 2
        charged = [b for b in legs if b.fee]
        assert [b.fee for b in charged] == [fill.fee] and charged[0].ccy == fill.fee_ccy  # no separate fee bill
        receives = fill.inst_id.split("-")[0] if fill.side == "buy" else fill.inst_id.split("-")[1]
        assert {b.ccy: b.sub_type for b in legs}[receives] == "1"  # subType follows the currency's direction


def test_bill_fields_are_okxs(traded: tuple[SimulatorHandle, OkxClient]) -> None:
    _, client = traded
    [real] = sample("account_bills_spot_trade.json")["response"]["data"]  # type: ignore[index]
    [ours] = client.request("GET", "/api/v5/account/bills", params={"ccy": "USDT", "limit": 1})
    assert set(real) <= set(ours)
    assert all(isinstance(v, str) for v in ours.values())
    # The newest USDT bill is the USDT leg of the ETH buy: as in the real capture of a buy's
    # USDT leg, subType 2 and no fee (the fee was charged on the ETH leg).
    assert (ours["type"], ours["subType"], ours["mgnMode"], ours["fee"]) == ("2", "2", "cash", "0")
    assert Decimal(ours["balChg"]) < 0 and ours["instId"] == "ETH-USDT"


def test_bill_filters_and_pages(traded: tuple[SimulatorHandle, OkxClient]) -> None:
    _, client = traded
    every = client.bills()
    first, second = client.bills(limit=4), client.bills(limit=4, after=client.bills(limit=4)[-1].bill_id)
    assert [b.bill_id for b in first + second] == [b.bill_id for b in every]
    assert {b.ccy for b in client.bills(ccy="ETH")} == {"ETH"}
    assert {b.inst_id for b in client.bills(inst_id="ETH-USDT")} == {"ETH-USDT"}
    assert client.bills(bill_type="1") == []  # no transfers in this account
    assert client.bills(inst_type="SWAP") == []
    assert [b.bill_id for b in client.bills_archive()] == [b.bill_id for b in every]
    newest = every[0].ts
    assert client.bills(begin_ms=newest) == [b for b in every if b.ts == newest]
    with pytest.raises(errors.InvalidRequest, match="type"):
        client.bills(bill_type="999")
    with pytest.raises(errors.ConfigurationError):
        client.bills(limit=101)


# -- maximum sizes ---------------------------------------------------------------------------------


def test_max_sizes_follow_the_available_balances(traded: tuple[SimulatorHandle, OkxClient]) -> None:
    _, client = traded
    balance = client.balance(["BTC", "USDT"])
    [avail] = client.max_avail_size(["BTC-USDT"])
    assert (avail.avail_buy, avail.avail_sell) == (balance.available("USDT"), balance.available("BTC"))
    assert avail.avail_buy < balance.total("USDT")  # the resting bid freezes quote
    [at_px] = client.max_size(["BTC-USDT"], px=Decimal("50000"))
    assert at_px.max_buy == (balance.available("USDT") / 50000).quantize(Decimal("0.00000001"), rounding="ROUND_DOWN")
    assert at_px.max_sell <= balance.available("BTC") and at_px.ccy == "BTC"
    both = client.max_size(["BTC-USDT", "ETH-USDT"])
    assert [s.inst_id for s in both] == ["BTC-USDT", "ETH-USDT"]
    last = client.ticker("ETH-USDT").last
    assert abs(both[1].max_buy - balance.available("USDT") / last) < Decimal("0.001")


def test_max_size_refusals(traded: tuple[SimulatorHandle, OkxClient]) -> None:
    _, client = traded
    with pytest.raises(errors.ConfigurationError, match="1 to 5"):
        client.max_size([f"X{i}-USDT" for i in range(6)])
    with pytest.raises(errors.UnknownInstrument):
        client.max_avail_size(["NOPE-USDT"])
    with pytest.raises(errors.OkxError) as refused:  # a Spot-mode account takes cash, not cross
        client.max_size(["BTC-USDT"], td_mode="cross")
    assert refused.value.code == "51010"
    with pytest.raises(errors.InvalidRequest, match="tdMode"):
        client.request("GET", "/api/v5/account/max-size", params={"instId": "BTC-USDT", "tdMode": "spot"})
    with pytest.raises(errors.InvalidRequest):
        client.request("GET", "/api/v5/account/max-avail-size", params={"instId": "BTC-USDT"})


# -- the order archive -----------------------------------------------------------------------------


def test_the_archive_lists_final_orders_with_okxs_filters(traded: tuple[SimulatorHandle, OkxClient]) -> None:
    _, client = traded
    final = client.order_history_archive()
    assert {o.cl_ord_id for o in final} == {"buy1", "sell1", "eth1", "ask1"}  # not the resting bid
    assert [o.ord_id for o in final] == sorted((o.ord_id for o in final), reverse=True)
    assert {o.cl_ord_id for o in client.order_history_archive(ord_types=["limit", "post_only"])} == {"ask1"}
    assert {o.cl_ord_id for o in client.order_history_archive(state="filled")} == {"buy1", "sell1", "eth1"}
    assert {o.cl_ord_id for o in client.order_history_archive(inst_id="ETH-USDT")} == {"eth1"}
    page = client.order_history_archive(limit=2)
    assert page + client.order_history_archive(after=page[-1].ord_id) == final
    assert client.order_history_archive(begin_ms=final[0].c_time) == [o for o in final if o.c_time == final[0].c_time]
    assert client.order_history_archive("SWAP") == []
    with pytest.raises(errors.InvalidRequest, match="state"):
        client.order_history_archive(state="live")
    with pytest.raises(errors.InvalidRequest, match="ordType"):
        client.order_history_archive(ord_types=["limit", "nonsense"])


# -- balances per account mode ---------------------------------------------------------------------


@pytest.mark.parametrize("acct_lv", ["1", "2", "3", "4"])
def test_each_mode_fills_in_its_own_balance_fields(acct_lv: str) -> None:
    with running_simulator(SimConfig(rate_limits=False, acct_lv=acct_lv)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as client:
        [sheet] = client.request("GET", "/api/v5/account/balance")
        real = sample("account_balance.json")["data"][0]  # type: ignore[index]
        assert set(real) <= set(sheet)  # never absent, whatever the mode
        assert set(real["details"][0]) - {"coinUsdPrice", "frzAmt"} <= set(sheet["details"][0])  # type: ignore[index]
        filled = {k for k, v in sheet.items() if v != "" and k not in ("details", "totalEq", "uTime")}
        assert filled == set(_TOP_BY_MODE[acct_lv])
        for row in sheet["details"]:
            wanted = set(_CCY_BY_MODE[acct_lv])
            assert {k for k in wanted if row[k] == ""} <= {"spotInUseAmt", "clSpotInUseAmt", "mgnRatio"}
            others = {k for fields in _CCY_BY_MODE.values() for k in fields} - wanted
            assert all(row[k] == "" for k in others), acct_lv
            assert row["collateralEnabled"] is (acct_lv == "3")
        balance = client.balance()
        assert balance.total_eq is not None
        if acct_lv == "2":
            assert (balance.adj_eq, balance.avail_eq, balance.iso_eq) == (None, None, Decimal(0))
        else:
            assert balance.adj_eq == balance.total_eq
        if acct_lv in ("3", "4"):
            assert balance.avail_eq == balance.total_eq and balance.upl == 0  # nothing frozen yet
