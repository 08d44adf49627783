"""ccxt's okx class, unmodified except for its base URL, against the simulator.

Every spot method of ccxt.okx is checked by ``benchmarks/conformance.py`` (ccxt's own per-method
tests and structure validators, against one seeded simulator); each check must end as expected:
a pass, its documented inherent failure, or a known gap of ours (``KNOWN_OURS``), so a regression
and a newly served endpoint both show up here.
"""

from __future__ import annotations

import ccxt
import pytest

from benchmarks import conformance
from okx_sim.embedded import SimulatorHandle

CHECKS = conformance.ccxt_checks()


def expected(check: conformance.Check) -> str:
    if (check.peer, check.name) in conformance.KNOWN_OURS:
        return "ours"
    return "inherent" if check.inherent is not None else "pass"


@pytest.fixture(scope="module")
def ccxt_results() -> dict[str, conformance.Result]:
    with conformance.simulator() as sim:
        return {result.name: result for result in conformance.run_ccxt(sim)}


@pytest.mark.parametrize("check", CHECKS, ids=[check.name for check in CHECKS])
def test_ccxt_spot_check(ccxt_results: dict[str, conformance.Result], check: conformance.Check) -> None:
    result = ccxt_results[check.name]
    want = expected(check)
    hint = {"ours": "a regression (or new gap): fix it, or add it to conformance.KNOWN_OURS with why",
            "inherent": "a different failure than the documented inherent one",
            "pass": "now served: remove it from conformance.KNOWN_OURS"}
    assert result.result == want, f"{check.name}: {result.result}, expected {want} ({hint[result.result]}): " \
                                  f"{result.reason}"


def test_every_ccxt_spot_method_is_checked() -> None:
    exchange = ccxt.okx()
    checked = {check.name.split()[0] for check in CHECKS}
    for method in conformance.CCXT_SPOT_METHODS:
        assert method == "loadMarkets" or exchange.has.get(method), f"ccxt.okx has no {method}"
        assert method in checked, f"no check for ccxt.okx.{method}"
    assert not set(conformance.CCXT_NOT_CHECKED) & set(conformance.CCXT_SPOT_METHODS)


@pytest.fixture
def exchange(sim: SimulatorHandle) -> ccxt.okx:
    ex = ccxt.okx({
        "apiKey": sim.credentials.api_key,
        "secret": sim.credentials.secret_key.get_secret_value(),
        "password": sim.credentials.passphrase.get_secret_value(),
        "enableRateLimit": False,
    })
    ex.urls["api"]["rest"] = sim.base_url
    return ex


def test_ccxt_round_trip(exchange: ccxt.okx, sim: SimulatorHandle) -> None:
    markets = exchange.load_markets()
    assert markets["BTC/USDT"]["precision"]["amount"] == 1e-08
    balance = exchange.fetch_balance()
    assert balance["USDT"]["free"] == 100000
    book = exchange.fetch_order_book("BTC/USDT", limit=5)
    assert len(book["bids"]) == 5 and book["bids"][0][0] < book["asks"][0][0]
    ticker = exchange.fetch_ticker("ETH/USDT")
    assert ticker["bid"] and ticker["ask"]
    limit_px = round(book["bids"][0][0] * 0.9, 1)
    limit = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, limit_px)
    fetched = exchange.fetch_order(limit["id"], "BTC/USDT")
    assert fetched["status"] == "open" and fetched["price"] == limit_px
    exchange.cancel_order(limit["id"], "BTC/USDT")
    assert exchange.fetch_order(limit["id"], "BTC/USDT")["status"] == "canceled"
    market = exchange.create_order("BTC/USDT", "market", "buy", 0.01)
    done = exchange.fetch_order(market["id"], "BTC/USDT")
    assert done["status"] == "closed" and done["filled"] == 0.01
    trades = exchange.fetch_my_trades("BTC/USDT")
    assert trades and trades[-1]["order"] == market["id"]
    assert exchange.fetch_open_orders("BTC/USDT") == []


def test_ccxt_sees_okx_errors(exchange: ccxt.okx) -> None:
    exchange.load_markets()
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order("BTC/USDT", "limit", "buy", 10, 60000)
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("1950000000000099999", "BTC/USDT")
    exchange.secret = "wrong"
    with pytest.raises(ccxt.AuthenticationError):
        exchange.fetch_balance()


def test_ccxt_fetch_trading_fee(exchange: ccxt.okx) -> None:
    # ccxt sends instType+instId and flips OKX's sign: the fee paid comes out positive.
    fee = exchange.fetch_trading_fee("BTC/USDT")
    assert (fee["symbol"], fee["maker"], fee["taker"]) == ("BTC/USDT", 0.0008, 0.001)
    assert fee["info"]["level"] == "Lv1" and fee["info"]["feeGroup"][0]["taker"] == "-0.001"
    with pytest.raises(ccxt.BadSymbol):
        exchange.fetch_trading_fee("BTC/USDT", {"instId": "NOPE-USDT"})
