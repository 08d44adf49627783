"""Hypothesis fuzzing of the simulator's HTTP surface: random paths, headers and bodies, signed
and unsigned. It never crashes, never answers 500 to bad input, always answers an OKX
envelope, and its books stay consistent (every currency conserved, nothing negative)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from tests.okx_sim.conftest import Client

PATHS = [
    "/api/v5/public/time", "/api/v5/public/instruments", "/api/v5/market/books", "/api/v5/market/ticker",
    "/api/v5/market/tickers", "/api/v5/account/balance", "/api/v5/account/config", "/api/v5/trade/order",
    "/api/v5/trade/batch-orders", "/api/v5/trade/cancel-order", "/api/v5/trade/amend-order",
    "/api/v5/trade/orders-pending", "/api/v5/trade/orders-history", "/api/v5/trade/fills",
    "/api/v5/trade/cancel-batch-orders", "/api/v5/asset/currencies", "/api/v5/nope", "/", "/__sim__/orders",
]
FIELDS = ["instId", "tdMode", "side", "ordType", "sz", "px", "clOrdId", "tgtCcy", "ordId", "newSz", "newPx",
          "instType", "ccy", "limit", "after", "tag", "reqId", "cxlOnFail", "banAmend"]
INSTS = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "NOPE-USDT", "", "btc-usdt", "BTC-USDT-SWAP"]
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
scalar = st.one_of(
    st.sampled_from(["buy", "sell", "market", "limit", "post_only", "ioc", "fok", "cash", "cross", "base_ccy",
                     "quote_ccy", "0", "-1", "1e9", "NaN", "0.0001", "100", "1" * 40, ""]),
    st.sampled_from(INSTS), text, st.integers(-10**12, 10**12), st.floats(allow_nan=True), st.booleans(), st.none(),
)
obj = st.dictionaries(st.sampled_from(FIELDS), scalar, max_size=8)
body = st.one_of(obj, st.lists(obj, max_size=25), scalar, st.binary(max_size=64).map(lambda b: b.decode("latin-1")))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=5)) as handle:
        yield handle


def check_envelope(status: int, raw: bytes) -> None:
    assert status != 500 and status < 600
    if status == 404 and not raw.startswith(b"{"):
        return
    envelope = json.loads(raw)
    # OKX's 404 for an unknown path carries the number 404 (a real capture); every other
    # envelope's code is a string.
    code_type = int if status == 404 else str
    assert isinstance(envelope, dict) and isinstance(envelope.get("code"), code_type) and "msg" in envelope


def check_books(sim: SimulatorHandle) -> None:
    for ccy, (initial, now) in sim.exchange.conservation().items():
        assert initial == now, ccy
    for ccy, bal in sim.exchange.balances.items():
        assert bal.cash >= 0 and bal.frozen >= 0 and bal.cash >= bal.frozen, ccy


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), path=st.sampled_from(PATHS),
       query=st.dictionaries(st.sampled_from(FIELDS), st.one_of(st.sampled_from(INSTS), text), max_size=4),
       payload=body, signed=st.booleans(),
       junk_headers=st.dictionaries(st.sampled_from(["OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP",
                                                     "OK-ACCESS-PASSPHRASE", "Content-Type", "x-simulated-trading",
                                                     "expTime"]),
                                    # requests itself refuses values with outer whitespace
                                    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
                                    .map(lambda v: v.strip()),
                                    max_size=2))
def test_random_requests_never_break_the_simulator(sim: SimulatorHandle, method: str, path: str,
                                                   query: dict[str, str], payload: object, signed: bool,
                                                   junk_headers: dict[str, str]) -> None:
    from urllib.parse import quote, urlencode

    client = Client(sim.base_url, sim.credentials)
    target = path + (("?" + urlencode(query, quote_via=quote)) if query else "")
    raw_body = "" if method == "GET" else (payload if isinstance(payload, str) else json.dumps(payload))
    response = client.request(method, target, raw_body=raw_body, signed=signed,
                              headers=junk_headers if not signed or len(junk_headers) == 1 else None)
    check_envelope(response.status_code, response.content)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(st.fixed_dictionaries(
    {"instId": st.sampled_from(["BTC-USDT", "ETH-USDT", "SOL-USDT"]), "tdMode": st.just("cash"),
     "side": st.sampled_from(["buy", "sell"]),
     "ordType": st.sampled_from(["market", "limit", "ioc", "fok", "post_only"]),
     "sz": st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("50000"), places=5).map(str)},
    optional={"px": st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200000"), places=2).map(str),
              "tgtCcy": st.sampled_from(["base_ccy", "quote_ccy"]),
              "clOrdId": st.text(alphabet="abc123", min_size=1, max_size=3)}), min_size=1, max_size=20),
       batch=st.booleans())
def test_valid_signed_trading_keeps_books_consistent(sim: SimulatorHandle, orders: list[dict[str, str]],
                                                     batch: bool) -> None:
    client = Client(sim.base_url, sim.credentials)
    if batch:
        status, envelope = client.post("/api/v5/trade/batch-orders", orders)
        assert status in (200, 400) and envelope["code"] in ("0", "1", "2", "51000", "50014")
    else:
        for order in orders:
            status, envelope = client.post("/api/v5/trade/order", order)
            assert status in (200, 400), envelope
    check_books(sim)
    _, pending = client.get("/api/v5/trade/orders-pending?instType=SPOT")
    for order in pending["data"][:10]:
        client.post("/api/v5/trade/cancel-order", {"instId": order["instId"], "ordId": order["ordId"]})
    check_books(sim)
