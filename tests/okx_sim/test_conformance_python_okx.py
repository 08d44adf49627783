"""The official python-okx SDK (0.4.4), unmodified except for its domain, against the simulator.

Every spot-relevant method of its MarketAPI, PublicAPI, AccountAPI, TradeAPI and StatusAPI is
called by ``benchmarks/conformance.py`` (``SPOT_METHODS``; every other public method is in
``EXCLUDED_METHODS`` with the reason) and judged by what OKX answers; each call must end as
expected (a pass, or a known gap of ours in ``KNOWN_OURS``), so a regression and a newly served
endpoint both show up here.
"""

from __future__ import annotations

import importlib
import inspect
from decimal import Decimal

import pytest

okx_account = pytest.importorskip("okx.Account")
from okx import MarketData, Trade  # noqa: E402

from benchmarks import conformance  # noqa: E402
from okx_sim.embedded import SimulatorHandle  # noqa: E402

CHECKS = conformance.pyokx_checks()
MODULES = {"MarketAPI": "okx.MarketData", "PublicAPI": "okx.PublicData", "AccountAPI": "okx.Account",
           "TradeAPI": "okx.Trade", "StatusAPI": "okx.Status"}


@pytest.fixture(scope="module")
def pyokx_results() -> dict[str, conformance.Result]:
    with conformance.simulator() as sim:
        return {result.name: result for result in conformance.run_python_okx(sim)}


@pytest.mark.parametrize("check", CHECKS, ids=[check.name for check in CHECKS])
def test_python_okx_spot_call(pyokx_results: dict[str, conformance.Result], check: conformance.Check) -> None:
    result = pyokx_results[check.name]
    want = "ours" if (check.peer, check.name) in conformance.KNOWN_OURS else "pass"
    hint = "now served: remove it from conformance.KNOWN_OURS" if result.passed else \
        "a regression (or new gap): fix it, or add it to conformance.KNOWN_OURS with why"
    assert result.result == want, f"{check.name}: {result.result}, expected {want} ({hint}): {result.reason}"


@pytest.mark.parametrize("api", sorted(MODULES))
def test_every_public_method_is_called_or_excluded(api: str) -> None:
    cls = getattr(importlib.import_module(MODULES[api]), api)
    methods = {name for name, fn in vars(cls).items() if inspect.isfunction(fn) and not name.startswith("_")}
    spot = set(conformance.SPOT_METHODS[api])
    excluded = [m for group in conformance.EXCLUDED_METHODS[api].values() for m in group]
    assert len(excluded) == len(set(excluded)) and not spot & set(excluded)
    assert spot | set(excluded) == methods, f"unclassified: {methods - spot - set(excluded)}, " \
                                            f"gone: {(spot | set(excluded)) - methods}"
    called = {check.name.split(".", 1)[1].split("(")[0].split()[0] for check in CHECKS if check.kind == api}
    assert spot <= called, f"spot methods never called: {spot - called}"


@pytest.mark.parametrize("flag", ["0", "1"])
def test_python_okx_round_trip(sim: SimulatorHandle, flag: str) -> None:
    creds = sim.credentials
    key, secret, phrase = creds.api_key, creds.secret_key.get_secret_value(), creds.passphrase.get_secret_value()
    market = MarketData.MarketAPI(flag=flag, domain=sim.base_url, debug=False)
    account = okx_account.AccountAPI(key, secret, phrase, False, flag, domain=sim.base_url, debug=False)
    trade = Trade.TradeAPI(key, secret, phrase, False, flag, domain=sim.base_url, debug=False)

    book = market.get_orderbook(instId="BTC-USDT", sz="5")
    assert book["code"] == "0" and len(book["data"][0]["asks"]) == 5
    assert market.get_ticker(instId="ETH-USDT")["data"][0]["instId"] == "ETH-USDT"
    balance = account.get_account_balance()
    assert {d["ccy"] for d in balance["data"][0]["details"]} == {"USDT", "BTC", "ETH"}
    assert account.get_account_config()["data"][0]["perm"] == "read_only,trade"

    bid = Decimal(book["data"][0]["bids"][0][0])
    px = str((bid * Decimal("0.9")).quantize(Decimal("0.1")))
    placed = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px=px, sz="0.01",
                               clOrdId=f"pyokx{flag}")
    assert placed["code"] == "0", placed
    ord_id = placed["data"][0]["ordId"]
    assert trade.get_order(instId="BTC-USDT", ordId=ord_id)["data"][0]["state"] == "live"
    assert trade.get_order(instId="BTC-USDT", clOrdId=f"pyokx{flag}")["data"][0]["ordId"] == ord_id
    assert trade.get_order_list(instType="SPOT")["data"][0]["ordId"] == ord_id
    assert trade.cancel_order(instId="BTC-USDT", ordId=ord_id)["data"][0]["sCode"] == "0"
    mkt = trade.place_order(instId="BTC-USDT", tdMode="cash", side="sell", ordType="market", sz="0.01")
    assert mkt["code"] == "0", mkt
    order = trade.get_order(instId="BTC-USDT", ordId=mkt["data"][0]["ordId"])["data"][0]
    assert order["state"] == "filled" and order["feeCcy"] == "USDT"
    assert trade.get_fills(instType="SPOT")["data"][0]["ordId"] == order["ordId"]
    missing = trade.get_order(instId="BTC-USDT", ordId="1950000000000099999")
    assert missing["code"] == "51603"


def test_python_okx_get_fee_rates(sim: SimulatorHandle) -> None:
    creds = sim.credentials
    account = okx_account.AccountAPI(creds.api_key, creds.secret_key.get_secret_value(),
                                     creds.passphrase.get_secret_value(), False, "0", domain=sim.base_url, debug=False)
    # python-okx drops its empty uly/category/instFamily from the query, as it does everywhere.
    rates = account.get_fee_rates(instType="SPOT", instId="BTC-USDT")
    assert rates["code"] == "0", rates
    row = rates["data"][0]
    assert (row["level"], row["maker"], row["taker"]) == ("Lv1", "-0.0008", "-0.001")
    assert account.get_fee_rates(instType="SPOT", instId="NOPE-USDT")["code"] == "51001"
    assert account.get_fee_rates(instType="")["code"] == "50014"
