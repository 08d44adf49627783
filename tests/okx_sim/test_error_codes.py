"""One scenario per OKX code the simulator can return; the catalogue must match SIM_ERROR_CODES."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from okx_sim import ApiKeySpec, SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_sim.protocol import SIM_ERROR_CODES
from okx_wire.auth import format_timestamp, system_clock
from okx_wire.errors import ERROR_CODES
from tests.okx_sim.test_algo_orders import ALGO_SCENARIOS

from .conftest import Client

ORDER = "/api/v5/trade/order"
Scenario = Callable[[SimulatorHandle, Client], tuple[int, dict[str, Any]]]


def _item(result: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Turn a trade reply into (status, first item) so per-item codes read like top-level ones."""
    status, body = result
    item = body["data"][0]
    return status, {"code": item["sCode"], "msg": item["sMsg"], "top": body["code"]}


def _filled_order(c: Client) -> str:
    _, body = c.order(ordType="market", sz="100", clOrdId="done1")
    return body["data"][0]["ordId"]


def s_all_failed(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.order(instId="NOPE-USDT", px="1")


def s_partial(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    bid, _ = c.best()
    good = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01", "px": bid}
    return c.post("/api/v5/trade/batch-orders", [good, dict(good, instId="NOPE-USDT")])


def s_empty_body(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.post(ORDER, raw_body="")


def s_injected(code: str) -> Scenario:
    def run(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
        sim.faults.error_rate = 1.0
        for _ in range(50):
            status, body = c.get("/api/v5/account/balance")
            if body["code"] == code:
                return status, body
        raise AssertionError(f"{code} never injected")
    return run


def s_bad_json(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.post(ORDER, raw_body='{"instId": ')


def s_content_type(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.post(ORDER, {"instId": "BTC-USDT"}, headers={"Content-Type": "text/plain"})


def s_rate_limit(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    sim.rate_limits = True
    for _ in range(30):
        status, body = c.get("/api/v5/public/time", signed=False)
        if status == 429:
            return status, body
    raise AssertionError("never limited")


def s_missing_param(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.post(ORDER, {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market"})


def s_expired(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "100"}
    return _item(c.post(ORDER, body, headers={"expTime": str(system_clock() - 1000)}))


def s_env(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    sim.app.auth.config = sim.config.model_copy(update={"environment": "live"})
    return Client(sim.base_url, sim.credentials, demo=True).get("/api/v5/account/balance")


def s_ts_expired(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    old = format_timestamp(system_clock() - 31_000)
    path = "/api/v5/account/balance"
    return c.get(path, headers=c.headers("GET", path, ts=old))


def s_header_missing(name: str) -> Scenario:
    def run(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
        headers = c.headers("GET", "/api/v5/account/balance")
        del headers[name]
        r = c.session.get(sim.base_url + "/api/v5/account/balance", headers=headers)
        return r.status_code, r.json()
    return run


def s_header_value(name: str, value: str) -> Scenario:
    def run(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
        return c.get("/api/v5/account/balance", headers={name: value})
    return run


def s_ip(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return Client(sim.base_url, sim.key("ip-bound").credentials()).get("/api/v5/account/balance")


def s_method(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.get("/api/v5/trade/cancel-order")


def s_read_only(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return Client(sim.base_url, sim.read_only_credentials).order(ordType="market", sz="100")


def s_px_tick(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return _item(c.order(px="60000.05"))


def s_unknown_inst(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.get("/api/v5/market/books?instId=NOPE-USDT", signed=False)


def s_insufficient(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return _item(c.order(side="sell", ordType="market", sz="5"))


def s_account_mode(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return _item(c.order(tdMode="cross", px="60000"))


def s_duplicate(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    bid, _ = c.best()
    assert c.order(px=bid, clOrdId="dup1")[1]["code"] == "0"
    return _item(c.order(px=bid, clOrdId="dup1"))


def s_min_sz(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return _item(c.order(px="60000", sz="0.000001"))


def s_lot(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return _item(c.order(px="60000", sz="0.000010001"))


def s_cancel_final(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    ord_id = _filled_order(c)
    return _item(c.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": ord_id}))


def s_amend_final(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    ord_id = _filled_order(c)
    return _item(c.post("/api/v5/trade/amend-order", {"instId": "BTC-USDT", "ordId": ord_id, "newSz": "1"}))


def s_no_order(sim: SimulatorHandle, c: Client) -> tuple[int, dict[str, Any]]:
    return c.get("/api/v5/trade/order?instId=BTC-USDT&clOrdId=neverplaced")


SCENARIOS: dict[str, Scenario] = {
    "1": s_all_failed, "2": s_partial, "50000": s_empty_body, "50001": s_injected("50001"),
    "50002": s_bad_json, "50006": s_content_type, "50011": s_rate_limit, "50014": s_missing_param,
    "50026": s_injected("50026"), "50037": s_expired, "50101": s_env, "50102": s_ts_expired,
    "50103": s_header_missing("OK-ACCESS-KEY"), "50104": s_header_missing("OK-ACCESS-PASSPHRASE"),
    "50105": s_header_value("OK-ACCESS-PASSPHRASE", "wrong"), "50106": s_header_missing("OK-ACCESS-SIGN"),
    "50107": s_header_missing("OK-ACCESS-TIMESTAMP"), "50110": s_ip,
    "50111": s_header_value("OK-ACCESS-KEY", "nobody"),
    "50112": s_header_value("OK-ACCESS-TIMESTAMP", "2024-01-01 00:00:00"),
    "50113": s_header_value("OK-ACCESS-SIGN", "AAAA"), "50115": s_method, "50120": s_read_only,
    "51000": s_px_tick, "51001": s_unknown_inst, "51008": s_insufficient, "51010": s_account_mode,
    "51016": s_duplicate, "51020": s_min_sz, "51121": s_lot, "51400": s_cancel_final,
    "51503": s_amend_final, "51603": s_no_order,
}


SCENARIOS.update(ALGO_SCENARIOS)


def test_every_returnable_code_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(SIM_ERROR_CODES)


@pytest.fixture
def sim_with_keys() -> Any:
    keys = [ApiKeySpec(label="trade"), ApiKeySpec(label="read-only", permissions=frozenset({"read_only"})),
            ApiKeySpec(label="ip-bound", ip="10.1.2.3")]
    with running_simulator(SimConfig(keys=keys, rate_limits=False, seed=3)) as handle:
        yield handle


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_code_is_reached(code: str, sim_with_keys: SimulatorHandle) -> None:
    client = Client(sim_with_keys.base_url, sim_with_keys.credentials)
    status, body = SCENARIOS[code](sim_with_keys, client)
    assert body["code"] == code, body
    if code in ("1", "2"):
        assert status == 200 and body["msg"] == ERROR_CODES[code].message
    elif "top" in body:  # a per-item code: HTTP 200, top-level "1"
        assert status == 200 and body["top"] == "1"
        assert body["msg"].startswith(ERROR_CODES[code].message.split("{0}")[0])
    else:
        assert status == ERROR_CODES[code].http_status, (status, body)
        if "{0}" not in ERROR_CODES[code].message:
            assert body["msg"] == ERROR_CODES[code].message
