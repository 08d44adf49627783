"""The official python-okx SDK (0.4.4), unmodified except for its domain, against the simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

okx_account = pytest.importorskip("okx.Account")
from okx import MarketData, Trade  # noqa: E402

from okx_sim.embedded import SimulatorHandle  # noqa: E402


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
