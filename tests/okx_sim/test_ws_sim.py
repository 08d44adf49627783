"""The simulator's WebSocket API as OKX answers: envelopes, refusals and their codes, pushes,
order ops sharing REST's engine and budgets, and the WebSocket faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.auth import sign
from okx_wire.errors import ERROR_CODES
from okx_wire.ws.books import checksum
from tests.okx_sim.conftest import Client


@pytest.fixture
def wsim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=7, step_ms=100)) as handle:
        yield handle


def _send(ws: ClientConnection, message: dict[str, Any] | str) -> None:
    ws.send(message if isinstance(message, str) else json.dumps(message))


def _until(ws: ClientConnection, match: Callable[[Any], bool], timeout: float = 3.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        text = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        message = text if text == "pong" else json.loads(text)
        if match(message):
            return message


def _login_arg(sim: SimulatorHandle, **override: Any) -> dict[str, Any]:
    creds = sim.credentials
    ts = str(int(time.time()))
    arg = {"apiKey": creds.api_key, "passphrase": creds.passphrase.get_secret_value(), "timestamp": ts,
           "sign": sign(creds.secret_key.get_secret_value(), ts, "GET", "/users/self/verify")}
    return arg | override


def _private(sim: SimulatorHandle) -> ClientConnection:
    ws = connect(sim.ws_url("private"))
    _send(ws, {"op": "login", "args": [_login_arg(sim)]})
    assert _until(ws, lambda m: m.get("event") in ("login", "error"))["code"] == "0"
    return ws


def _error(message: dict[str, Any], code: str) -> bool:
    return message.get("event") == "error" and message["code"] == code


def test_ping_pong_and_envelopes(wsim: SimulatorHandle) -> None:
    with connect(wsim.ws_url("public")) as ws:
        _send(ws, "ping")
        assert ws.recv(timeout=2) == "pong"
        _send(ws, {"id": "1512", "op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]})
        ack = _until(ws, lambda m: m.get("event") == "subscribe")
        assert ack["id"] == "1512" and ack["arg"] == {"channel": "tickers", "instId": "BTC-USDT"}
        assert len(ack["connId"]) == 8
        push = _until(ws, lambda m: "data" in m)
        rest = Client(wsim.base_url, wsim.credentials).get("/api/v5/market/ticker?instId=BTC-USDT", signed=False)[1]
        assert set(push["data"][0]) == set(rest["data"][0])
        _send(ws, {"op": "unsubscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]})
        assert _until(ws, lambda m: m.get("event") == "unsubscribe")["arg"]["channel"] == "tickers"


@pytest.mark.parametrize(("url", "message", "code"), [
    ("public", "not json", "60012"),
    ("public", {"op": "subscribe", "argss": [{"channel": "books", "instId": "BTC-USDT"}]}, "60012"),
    ("public", {"op": "dance", "args": []}, "60019"),
    ("public", {"op": "subscribe", "args": [{"channel": "ticker", "instId": "BTC-USDT"}]}, "60018"),
    ("public", {"op": "subscribe", "args": [{"channel": "tickers", "instId": "NOPE-USDT"}]}, "60018"),
    ("public", {"op": "subscribe", "args": [{"channel": "tickers"}]}, "60013"),
    ("public", {"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]}, "64001"),
    ("business", {"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]}, "60018"),
    ("private", {"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]}, "60011"),
    ("private", {"id": "1", "op": "order", "args": [{"instId": "BTC-USDT"}]}, "60011"),
])
def test_refusals(wsim: SimulatorHandle, url: str, message: dict[str, Any] | str, code: str) -> None:
    with connect(wsim.ws_url(url)) as ws:
        _send(ws, message)
        error = _until(ws, lambda m: isinstance(m, dict) and m.get("event") == "error")
        assert error["code"] == code
        assert error["msg"].startswith(ERROR_CODES[code].message.split("{0}")[0])


@pytest.mark.parametrize(("override", "code"), [
    ({"timestamp": "yesterday"}, "60004"),
    ({"apiKey": "sim-nobody"}, "60005"),
    ({"timestamp": str(int(time.time()) - 120)}, "60006"),
    ({"sign": "AAAA"}, "60007"),
    ({"passphrase": "wrong"}, "60024"),
    ({"sign": ""}, "60009"),
])
def test_login_refusals(wsim: SimulatorHandle, override: dict[str, Any], code: str) -> None:
    with connect(wsim.ws_url("private")) as ws:
        _send(ws, {"op": "login", "args": [_login_arg(wsim, **override)]})
        error = _until(ws, lambda m: m.get("event") in ("login", "error"))
        assert error == {"event": "error", "code": code, "msg": ERROR_CODES[code].message, "connId": error["connId"]}


def test_login_timestamp_as_number_and_relogin(wsim: SimulatorHandle) -> None:
    with connect(wsim.ws_url("business")) as ws:
        arg = _login_arg(wsim)
        _send(ws, {"op": "login", "args": [arg | {"timestamp": int(arg["timestamp"])}]})
        assert _until(ws, lambda m: m.get("event") in ("login", "error"))["code"] == "0"
        _send(ws, {"op": "login", "args": [_login_arg(wsim)]})
        assert _until(ws, lambda m: m.get("event") in ("login", "error"))["code"] == "0"


def test_books_snapshot_then_chained_checked_updates(wsim: SimulatorHandle) -> None:
    with connect(wsim.ws_url("public")) as ws:
        _send(ws, {"op": "subscribe", "args": [{"channel": "books", "instId": "ETH-USDT"},
                                              {"channel": "books5", "instId": "ETH-USDT"}]})
        snap = _until(ws, lambda m: m.get("action") == "snapshot")["data"][0]
        assert snap["prevSeqId"] == -1 and snap["checksum"] == checksum(snap["bids"], snap["asks"])
        book = {"bids": {r[0]: r for r in snap["bids"]}, "asks": {r[0]: r for r in snap["asks"]}}
        seq = snap["seqId"]
        five = _until(ws, lambda m: m.get("arg", {}).get("channel") == "books5" and "data" in m)["data"][0]
        assert len(five["asks"]) == 5 and "action" not in five
        for _ in range(3):
            item = _until(ws, lambda m: m.get("action") == "update")["data"][0]
            assert item["prevSeqId"] == seq
            seq = item["seqId"]
            for side in ("bids", "asks"):
                for row in item[side]:
                    if row[1] == "0":
                        book[side].pop(row[0])
                    else:
                        book[side][row[0]] = row
            bids = sorted(book["bids"].values(), key=lambda r: -float(r[0]))
            asks = sorted(book["asks"].values(), key=lambda r: float(r[0]))
            assert checksum(bids, asks) == item["checksum"]


def test_candles_and_trades(wsim: SimulatorHandle) -> None:
    with connect(wsim.ws_url("business")) as biz, connect(wsim.ws_url("public")) as pub:
        _send(biz, {"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]})
        row = _until(biz, lambda m: "data" in m)["data"][0]
        assert len(row) == 9 and row[8] == "0"
        _send(pub, {"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"}]})
        trade = _until(pub, lambda m: "data" in m)["data"][0]
        assert {"instId", "tradeId", "px", "sz", "side", "ts", "count", "source", "seqId"} <= set(trade)


def test_orders_and_account_pushes_for_rest_and_ws_orders(wsim: SimulatorHandle) -> None:
    rest = Client(wsim.base_url, wsim.credentials)
    with _private(wsim) as ws:
        _send(ws, {"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT", "instId": "BTC-USDT"},
                                              {"channel": "account", "ccy": "USDT"}]})
        snap = _until(ws, lambda m: m.get("eventType") == "snapshot")
        assert [d["ccy"] for d in snap["data"][0]["details"]] == ["USDT"] and snap["arg"]["uid"]
        bid, _ = rest.best()
        px = str(round(float(bid) * 0.9, 1))
        assert rest.order(px=px, clOrdId="restA")[1]["code"] == "0"
        live = _until(ws, lambda m: m.get("arg", {}).get("channel") == "orders" and "data" in m)["data"][0]
        assert (live["clOrdId"], live["state"], live["fillSz"]) == ("restA", "live", "0")
        assert _until(ws, lambda m: m.get("eventType") == "event_update")["data"][0]["details"][0]["ccy"] == "USDT"
        _send(ws, {"id": "c1", "op": "cancel-order", "args": [{"instId": "BTC-USDT", "clOrdId": "restA"}]})
        assert _until(ws, lambda m: m.get("id") == "c1")["code"] == "0"
        assert _until(ws, lambda m: "data" in m and m["arg"]["channel"] == "orders")["data"][0]["state"] == "canceled"
        _send(ws, {"id": "m1", "op": "order", "args": [{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                                        "ordType": "market", "sz": "100", "clOrdId": "wsM"}]})
        reply = _until(ws, lambda m: m.get("id") == "m1")
        assert reply["op"] == "order" and reply["data"][0]["sCode"] == "0" and "inTime" in reply
        pushes = []
        while not pushes or pushes[-1]["state"] != "filled":
            pushes.append(_until(ws, lambda m: "data" in m and m["arg"]["channel"] == "orders")["data"][0])
        assert all(p["tradeId"] and p["execType"] == "T" for p in pushes)
        fills = rest.get("/api/v5/trade/fills?instId=BTC-USDT")[1]["data"]
        assert {f["tradeId"] for f in fills if f["clOrdId"] == "wsM"} == {p["tradeId"] for p in pushes}


def test_order_op_with_inst_id_code_and_format_error(wsim: SimulatorHandle) -> None:
    code = Client(wsim.base_url, wsim.credentials).get("/api/v5/public/instruments?instType=SPOT&instId=BTC-USDT",
                                                        signed=False)[1]["data"][0]["instIdCode"]
    with _private(wsim) as ws:
        _send(ws, {"id": "a", "op": "order", "args": [{"instIdCode": code, "tdMode": "cash", "side": "buy",
                                                       "ordType": "market", "sz": "10"}]})
        assert _until(ws, lambda m: m.get("id") == "a")["code"] == "0"
        _send(ws, {"id": "b", "op": "order", "args": [{"instId": "BTC-USDT", "side": "buy"}]})
        assert _until(ws, lambda m: m.get("id") == "b") | {"inTime": "", "outTime": ""} == {
            "id": "b", "op": "order", "code": "60013", "msg": "Invalid args", "data": [], "inTime": "", "outTime": ""}
        _send(ws, {"id": "c", "op": "order", "args": [{"instIdCode": 1, "tdMode": "cash", "side": "buy",
                                                       "ordType": "market", "sz": "10"}]})
        assert _until(ws, lambda m: m.get("id") == "c")["data"][0]["sCode"] == "51001"


def test_order_ops_share_the_rest_budget() -> None:
    with running_simulator(SimConfig(seed=7)) as sim:
        rest = Client(sim.base_url, sim.credentials)
        bid, _ = rest.best()
        px = str(round(float(bid) * 0.5, 1))
        with _private(sim) as ws:
            for i in range(60):
                assert rest.order(px=px, sz="0.0001", clOrdId=f"b{i}")[0] == 200
            _send(ws, {"id": "x", "op": "order", "args": [{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                                           "ordType": "limit", "px": px, "sz": "0.0001"}]})
            assert _until(ws, lambda m: m.get("id") == "x")["code"] == "50011"


def test_unknown_path_is_refused_at_the_handshake(wsim: SimulatorHandle) -> None:
    with pytest.raises(InvalidStatus):
        connect(wsim.ws_url("nope"))


def test_idle_connection_is_closed_and_a_ping_keeps_it() -> None:
    with running_simulator(SimConfig(rate_limits=False, seed=7, idle_timeout_s=0.5)) as sim:
        with connect(sim.ws_url("public")) as idle, connect(sim.ws_url("public")) as alive:
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                _send(alive, "ping")
                assert alive.recv(timeout=1) == "pong"
                time.sleep(0.2)
            with pytest.raises(ConnectionClosed) as closed:
                idle.recv(timeout=1)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004


def test_faults_drop_and_gap(wsim: SimulatorHandle) -> None:
    with connect(wsim.ws_url("public")) as ws:
        _send(ws, {"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
        seq = _until(ws, lambda m: m.get("action") == "snapshot")["data"][0]["seqId"]
        wsim.faults.ws_gap_rate = 1.0
        time.sleep(0.25)
        wsim.faults.ws_gap_rate = 0.0
        item = _until(ws, lambda m: m.get("action") == "update")["data"][0]
        assert item["prevSeqId"] != seq and wsim.faults.ws_gaps_injected > 0
        wsim.faults.ws_drop_rate = 1.0
        with pytest.raises(ConnectionClosed) as closed:
            _until(ws, lambda m: False)
        wsim.faults.ws_drop_rate = 0.0
        assert closed.value.rcvd is None  # no close frame: the socket was cut
    with connect(wsim.ws_url("public")) as ws:
        _send(ws, {"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]})
        _until(ws, lambda m: "data" in m)
        assert wsim.app.ws.hub.drop_all() == 1
        with pytest.raises(ConnectionClosed):
            _until(ws, lambda m: False)
