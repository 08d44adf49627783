"""Signature verification over the exact bytes sent; environment and permission rules."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okx_sim import SimConfig, running_simulator
from okx_sim.auth import parse_timestamp
from okx_wire.auth import format_timestamp, sign, system_clock

from .conftest import Client

CASES = [
    ("GET", "/api/v5/account/balance?ccy=BTC", ""),
    ("GET", "/api/v5/account/balance?ccy=BTC%2CETH", ""),
    ("GET", "/api/v5/account/balance?ccy=BTC,ETH", ""),
    ("GET", "/api/v5/trade/orders-pending?instType=SPOT&instId=BTC-USDT", ""),
    ("POST", "/api/v5/trade/cancel-order", json.dumps({"instId": "BTC-USDT", "ordId": "1", "clOrdId": ""})),
    ("POST", "/api/v5/trade/cancel-order", '{"instId":"BTC-USDT","ordId":"1"}'),
]


def test_docs_vector() -> None:
    assert sign("22582BD0CFF14C41EDBF1AB98506286D", "2020-12-08T09:08:57.715Z", "GET",
                "/api/v5/account/balance?ccy=BTC") == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    assert parse_timestamp("2020-12-08T09:08:57.715Z") == 1607418537715


def _send(client: Client, method: str, target: str, body: str, signed: tuple[str, str, str, str]) -> dict:
    ts, s_method, s_target, s_body = signed
    headers = client.headers(s_method, s_target, s_body, ts=ts)
    r = client.session.request(method, client.base_url + target, data=body.encode() or None, headers=headers)
    return r.json()


def test_correctly_signed_requests_pass() -> None:
    with running_simulator(rate_limits=False) as sim:
        client = Client(sim.base_url, sim.credentials)
        for method, target, body in CASES:
            ts = format_timestamp(system_clock())
            result = _send(client, method, target, body, (ts, method, target, body))
            assert result["code"] in ("0", "1"), (target, result)  # "1": cancel of a missing order


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=st.sampled_from(CASES), part=st.sampled_from(["ts", "method", "path", "body"]), data=st.data())
def test_any_changed_byte_is_rejected(case: tuple[str, str, str], part: str, data: st.DataObject) -> None:
    method, target, body = case
    if part == "body" and not body:
        part = "path"
    ts = format_timestamp(system_clock())
    original = {"ts": ts, "method": method, "path": target, "body": body}[part]
    index = data.draw(st.integers(0, len(original) - 1))
    # sign() upper-cases the method (OKX's prehash rule), so a case-only change of it is no change.
    replacement = data.draw(st.characters(min_codepoint=33, max_codepoint=126).filter(
        lambda ch: ch.upper() != original[index].upper() if part == "method" else ch != original[index]))
    changed = original[:index] + replacement + original[index + 1:]
    signed = {"ts": ts, "method": method, "path": target, "body": body} | {part: changed}
    client = _CLIENT
    headers = client.headers(signed["method"], signed["path"], signed["body"], ts=signed["ts"])
    headers["OK-ACCESS-TIMESTAMP"] = ts
    r = client.session.request(method, client.base_url + target, data=body.encode() or None, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "50113", (part, changed, r.text)


_CLIENT: Client


def setup_module() -> None:
    global _CLIENT, _CTX
    _CTX = running_simulator(rate_limits=False)
    sim = _CTX.__enter__()
    _CLIENT = Client(sim.base_url, sim.credentials)


def teardown_module() -> None:
    _CTX.__exit__(None, None, None)


def test_public_endpoint_ignores_auth_headers(client: Client) -> None:
    status, body = client.get("/api/v5/market/ticker?instId=ETH-USDT")
    assert status == 200 and body["data"][0]["instId"] == "ETH-USDT"


def test_demo_mode_requires_the_header() -> None:
    with running_simulator(SimConfig(environment="demo", rate_limits=False)) as sim:
        assert Client(sim.base_url, sim.credentials).get("/api/v5/account/balance")[1]["code"] == "50101"
        assert Client(sim.base_url, sim.credentials, demo=False).get("/api/v5/account/balance")[1]["code"] == "50101"
        assert Client(sim.base_url, sim.credentials, demo=True).get("/api/v5/account/balance")[1]["code"] == "0"


def test_live_mode_refuses_demo_requests_and_any_accepts_both() -> None:
    with running_simulator(SimConfig(environment="live", rate_limits=False)) as sim:
        status, body = Client(sim.base_url, sim.credentials, demo=True).get("/api/v5/account/balance")
        assert (status, body["code"]) == (401, "50101")
        assert Client(sim.base_url, sim.credentials, demo=False).get("/api/v5/account/balance")[1]["code"] == "0"
    with running_simulator(rate_limits=False) as sim:
        for demo in (None, True, False):
            assert Client(sim.base_url, sim.credentials, demo=demo).get("/api/v5/account/balance")[1]["code"] == "0"


def test_read_only_key_reads_but_cannot_trade(sim, client: Client) -> None:  # type: ignore[no-untyped-def]
    ro = Client(sim.base_url, sim.read_only_credentials)
    assert ro.get("/api/v5/account/balance")[1]["code"] == "0"
    _, config = ro.get("/api/v5/account/config")
    assert config["data"][0]["perm"] == "read_only"
    status, body = ro.order(ordType="market", sz="100")
    assert (status, body["code"]) == (200, "50120")
    assert sim.exchange.all_orders() == []
    assert client.get("/api/v5/account/config")[1]["data"][0]["perm"] == "read_only,trade"


def test_unencoded_and_encoded_queries_both_verify(client: Client) -> None:
    for target in ("/api/v5/account/balance?ccy=BTC,ETH", "/api/v5/account/balance?ccy=BTC%2CETH"):
        _, body = client.get(target)
        assert sorted(d["ccy"] for d in body["data"][0]["details"]) == ["BTC", "ETH"]
