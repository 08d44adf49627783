"""The client against a real local HTTP server: bytes on the wire, envelopes, errors, drift."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import pytest

from okx_wire import errors
from okx_wire.auth import ApiCredentials, sign
from okx_wire.client import OkxClient
from okx_wire.orders import OrderRequest
from tests.conftest import PASSPHRASE, SECRET
from tests.support.capture import CaptureServer

NOW = 1795508130123  # 2026-11-24T08:15:30.123Z


def make_client(capture: CaptureServer, creds: ApiCredentials | None, **kw: object) -> OkxClient:
    # These tests script every answer in order; the automatic clock sync has its own tests.
    kw.setdefault("time_sync", False)
    return OkxClient(creds, base_url=capture.base_url, clock=lambda: NOW, rate_limit=False, **kw)  # type: ignore[arg-type]


def ok(data: list[object]) -> tuple[int, dict[str, object]]:
    return 200, {"code": "0", "msg": "", "data": data}


BOOK = {"asks": [["101.5", "2", "0", "1"]], "bids": [["101.4", "3", "0", "2"]], "ts": "1712265035051"}
ACK = {"clOrdId": "abc1", "ordId": "2896576259728695296", "sCode": "0", "sMsg": "", "tag": "", "ts": "1758827099512"}


def test_signed_get_sends_exactly_what_it_signed(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(*ok([{"totalEq": "1", "details": [{"ccy": "BTC", "availBal": "0.5", "cashBal": "0.5"}]}]))
    balance = make_client(capture, creds).balance(["BTC", "ETH"])
    assert balance.available("BTC") == Decimal("0.5")
    sent = capture.requests[0]
    assert sent.method == "GET"
    assert sent.target == "/api/v5/account/balance?ccy=BTC,ETH"
    assert sent.body == b""
    ts = sent.headers["OK-ACCESS-TIMESTAMP"]
    assert ts == "2026-11-24T08:15:30.123Z"
    assert sent.headers["OK-ACCESS-SIGN"] == sign(SECRET, ts, "GET", sent.target)
    assert sent.headers["OK-ACCESS-KEY"] == "test-key-1"
    assert sent.headers["OK-ACCESS-PASSPHRASE"] == PASSPHRASE
    assert "x-simulated-trading" not in sent.headers


def test_query_is_encoded_once_and_signed_as_sent(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(*ok([]))
    make_client(capture, creds).request("GET", "/api/v5/trade/fills", params={"instId": "A B/C", "x": "ü", "e": ""})
    sent = capture.requests[0]
    assert sent.target == "/api/v5/trade/fills?instId=A%20B%2FC&x=%C3%BC"
    assert sent.headers["OK-ACCESS-SIGN"] == sign(SECRET, sent.headers["OK-ACCESS-TIMESTAMP"], "GET", sent.target)


def test_post_body_is_compact_json_signed_byte_for_byte(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(*ok([ACK]))
    order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("2"), px=Decimal("2.15"),
                         cl_ord_id="b15", tag="café", td_mode="cash")
    ack = make_client(capture, creds).place_order(order, exp_time_ms=NOW + 5000)
    assert ack.ord_id == "2896576259728695296"
    sent = capture.requests[0]
    assert sent.body == ('{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"2",'
                         '"px":"2.15","clOrdId":"b15","tag":"café"}').encode()
    assert b" " not in sent.body
    assert sent.headers["OK-ACCESS-SIGN"] == sign(SECRET, sent.headers["OK-ACCESS-TIMESTAMP"], "POST",
                                                  "/api/v5/trade/order", sent.body.decode())
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["expTime"] == str(NOW + 5000)


def test_an_order_without_a_td_mode_takes_the_account_modes(capture: CaptureServer, creds: ApiCredentials) -> None:
    """A margin account (acctLv 3) needs cross: the mode is read once, before the first order."""
    capture.reply(*ok([{"uid": "1", "acctLv": "3", "perm": "read_only,trade"}]))
    capture.reply(*ok([ACK]))
    capture.reply(*ok([ACK]))
    client = make_client(capture, creds)
    for cl in ("m1", "m2"):
        client.place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("1"),
                                        px=Decimal("1"), cl_ord_id=cl))
    assert [(r.method, r.target.split("?")[0]) for r in capture.requests] == [
        ("GET", "/api/v5/account/config"), ("POST", "/api/v5/trade/order"), ("POST", "/api/v5/trade/order")]
    assert [json.loads(r.body)["tdMode"] for r in capture.requests[1:]] == ["cross", "cross"]


@pytest.mark.parametrize("answer", [[], [{"acctLv": "3"}], ["x"]])
def test_an_unusable_account_config_is_one_line(capture: CaptureServer, creds: ApiCredentials, answer: list) -> None:
    capture.reply(*ok(answer))
    with pytest.raises(errors.UnexpectedReply) as err:
        make_client(capture, creds).account_config()
    assert "\n" not in str(err.value) and "account/config" in str(err.value)


def test_trade_fee_sends_ccxts_request_signed_over_path_and_query(capture: CaptureServer,
                                                                   creds: ApiCredentials) -> None:
    sample = json.loads((Path(__file__).parent / "samples" / "account_trade_fee_spot.json").read_text())
    capture.reply(200, sample["response"])
    fee = make_client(capture, creds).trade_fee("SPOT", "BTC-USDT")
    assert (fee.level, fee.taker_rate, fee.maker_rate) == ("Lv1", Decimal("0.001"), Decimal("0.0008"))
    sent = capture.requests[0]
    assert (sent.method, sent.target, sent.body) == ("GET", sample["request"]["path"], b"")
    assert sent.target == "/api/v5/account/trade-fee?instType=SPOT&instId=BTC-USDT"
    assert sent.headers["OK-ACCESS-SIGN"] == sign(SECRET, sent.headers["OK-ACCESS-TIMESTAMP"], "GET", sent.target)


def test_trade_fee_without_instrument_and_its_refusals(capture: CaptureServer, creds: ApiCredentials) -> None:
    client = make_client(capture, creds)
    capture.reply(*ok([]))
    with pytest.raises(errors.UnexpectedReply, match="no fee rates for instType SWAP"):
        client.trade_fee("SWAP")
    assert capture.requests[0].target == "/api/v5/account/trade-fee?instType=SWAP"
    capture.reply(200, {"code": "51001", "msg": "Instrument ID, Instrument ID code, or Spread ID doesn't exist.",
                        "data": []})
    with pytest.raises(errors.UnknownInstrument):
        client.trade_fee("SPOT", "NOPE-USDT")


def test_public_endpoints_send_no_auth_headers(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(*ok([BOOK]))
    book = make_client(capture, creds).order_book("BTC-USDT", depth=5)
    assert book.mid == Decimal("101.45")
    sent = capture.requests[0]
    assert sent.target == "/api/v5/market/books?instId=BTC-USDT&sz=5"
    assert not [h for h in sent.headers if h.upper().startswith("OK-ACCESS")]


def test_public_data_needs_no_credentials(capture: CaptureServer) -> None:
    capture.reply(*ok([{"ts": "1712250348676"}]))
    assert make_client(capture, None).server_time().ts == 1712250348676
    with pytest.raises(errors.ConfigurationError, match="OKX_API_KEY"):
        make_client(capture, None).balance()


def test_demo_switch_adds_header(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(*ok([{"uid": "1", "perm": "read_only,trade", "ip": ""}]))
    config = make_client(capture, creds, demo=True).account_config()
    assert config.can_trade and not config.can_withdraw
    assert capture.requests[0].headers["x-simulated-trading"] == "1"


def test_connection_is_kept_alive(capture: CaptureServer, creds: ApiCredentials) -> None:
    client = make_client(capture, creds)
    ports = set()
    original = socket.socket.connect

    def spy(self: socket.socket, address: object) -> None:
        ports.add(address)
        original(self, address)

    socket.socket.connect = spy  # type: ignore[method-assign]
    try:
        for _ in range(5):
            capture.reply(*ok([{"ts": "1"}]))
            client.server_time()
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]
    assert len(ports) <= 1 and len(capture.requests) == 5


def test_timestamp_refusal_resyncs_once_and_retries(capture: CaptureServer, creds: ApiCredentials) -> None:
    server_now = NOW + 45_000  # server clock 45 s ahead of ours
    capture.reply(401, {"msg": "Timestamp request expired", "code": "50102"})
    capture.reply(*ok([{"ts": str(server_now)}]))
    capture.reply(*ok([{"uid": "1", "perm": "read_only", "ip": ""}]))
    client = make_client(capture, creds)
    client.account_config()
    assert [r.target for r in capture.requests] == ["/api/v5/account/config", "/api/v5/public/time",
                                                    "/api/v5/account/config"]
    assert client.clock_offset_ms == 45_000
    assert capture.requests[2].headers["OK-ACCESS-TIMESTAMP"] == "2026-11-24T08:16:15.123Z"


def test_timestamp_refusal_after_resync_reports_offset(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(401, {"msg": "Timestamp request expired", "code": "50102"})
    capture.reply(*ok([{"ts": str(NOW - 600_000)}]))
    capture.reply(401, {"msg": "Timestamp request expired", "code": "50102"})
    with pytest.raises(errors.TimestampError) as err:
        make_client(capture, creds).balance()
    assert "-600.000 s" in str(err.value) and "NTP" in str(err.value)
    assert len(capture.requests) == 3  # exactly one retry


def test_error_with_http_200_is_raised(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(200, {"code": "50119", "msg": "API key doesn't exist", "data": []})
    client = OkxClient(creds, base_url=capture.base_url, rate_limit=False)
    with pytest.raises(errors.InvalidApiKey) as err:
        client.balance()
    assert err.value.http_status == 200 and err.value.code == "50119"


def test_api_key_hint_names_regional_hosts(creds: ApiCredentials) -> None:
    context = errors.ErrorContext(base_url="https://www.okx.com", global_host=True)
    assert "eea.okx.com" in (errors.hint_for("50119", context) or "")


def test_environment_mismatch_says_which_switch(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(401, {"code": "50101", "msg": "APIKey does not match current environment.", "data": []})
    with pytest.raises(errors.EnvironmentMismatch, match="switch demo on"):
        make_client(capture, creds).balance()
    capture.reply(401, {"code": "50101", "msg": "APIKey does not match current environment.", "data": []})
    with pytest.raises(errors.EnvironmentMismatch, match="turn demo off"):
        make_client(capture, creds, demo=True).balance()


def test_single_order_item_error_raises_its_class(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(200, {"code": "1", "msg": "All operations failed", "inTime": "1", "outTime": "2", "data": [
        {"clOrdId": "x1", "ordId": "", "sCode": "51008", "sMsg": "Order failed. Insufficient USDT balance in account. ",
         "tag": "", "ts": "1"}]})
    order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("1"), px=Decimal("1"),
                         cl_ord_id="x1", td_mode="cash")
    with pytest.raises(errors.InsufficientBalance) as err:
        make_client(capture, creds).place_order(order)
    assert err.value.code == "51008" and "clOrdId=x1" in str(err.value)
    assert not err.value.message.endswith(" ")


def test_batch_partial_success_surfaces_every_item(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(200, {"code": "2", "msg": "", "data": [
        ACK, {"clOrdId": "abc2", "ordId": "", "sCode": "51016", "sMsg": "Client order ID already exists", "tag": ""}]})
    orders = [OrderRequest(inst_id=i, side="buy", ord_type="limit", sz=Decimal("1"), px=Decimal("1"), cl_ord_id=c,
                           td_mode="cash") for i, c in (("BTC-USDT", "abc1"), ("ETH-USDT", "abc2"))]
    client = make_client(capture, creds)
    acks = client.place_batch_orders(orders)
    assert [a.ok for a in acks] == [True, False]
    assert isinstance(client.item_error(acks[1], "POST", "/api/v5/trade/batch-orders"), errors.DuplicateClientOrderId)
    assert json.loads(capture.requests[0].body)[1]["clOrdId"] == "abc2"


def test_find_order_returns_none_on_51603(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(200, {"code": "51603", "msg": "Order does not exist", "data": []})
    assert make_client(capture, creds).find_order("BTC-USDT", "abc1") is None
    assert capture.requests[0].target == "/api/v5/trade/order?instId=BTC-USDT&clOrdId=abc1"


def test_non_json_5xx_is_exchange_unavailable(capture: CaptureServer, creds: ApiCredentials) -> None:
    capture.reply(502, b"<html>Bad Gateway</html>")
    with pytest.raises(errors.ExchangeUnavailable) as err:
        make_client(capture, creds).balance()
    assert err.value.retriable and err.value.http_status == 502


def test_dropped_connection_is_network_error_with_unknown_outcome(capture: CaptureServer,
                                                                  creds: ApiCredentials) -> None:
    capture.reply(200, "DROP")
    with pytest.raises(errors.NetworkError) as err:
        make_client(capture, creds).place_order(
            OrderRequest(inst_id="BTC-USDT", side="sell", ord_type="market", sz=Decimal("1"), td_mode="cash"))
    assert err.value.outcome_unknown and err.value.retriable


def test_refused_connection_is_known_not_sent(creds: ApiCredentials) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OkxClient(creds, base_url=f"http://127.0.0.1:{port}", rate_limit=False)
    with pytest.raises(errors.ConnectionFailed) as err:
        client.balance()
    assert not err.value.outcome_unknown


def test_read_timeout_is_request_timeout(creds: ApiCredentials) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    client = OkxClient(creds, base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", rate_limit=False,
                       read_timeout=0.3)
    try:
        with pytest.raises(errors.RequestTimeout) as err:
            client.balance()
        assert err.value.outcome_unknown
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


# Every class of the hierarchy is reached through a real answer; no text carries a secret.
CODE_CASES = [
    ("50000", 400, errors.InvalidRequest), ("50001", 503, errors.ExchangeUnavailable),
    ("50004", 400, errors.RequestTimeout), ("50011", 429, errors.RateLimitError),
    ("50013", 429, errors.ExchangeUnavailable), ("50014", 400, errors.InvalidRequest),
    ("50026", 500, errors.ExchangeUnavailable), ("50035", 403, errors.PermissionDenied),
    ("50037", 200, errors.OrderExpired), ("50061", 200, errors.RateLimitError),
    ("50100", 400, errors.AuthenticationError), ("50101", 401, errors.EnvironmentMismatch),
    ("50103", 401, errors.AuthenticationError), ("50104", 401, errors.InvalidPassphrase),
    ("50105", 401, errors.InvalidPassphrase), ("50106", 401, errors.AuthenticationError),
    ("50107", 401, errors.AuthenticationError), ("50110", 401, errors.PermissionDenied),
    ("50111", 401, errors.InvalidApiKey), ("50112", 401, errors.TimestampError),
    ("50113", 401, errors.InvalidSignature), ("50114", 401, errors.AuthenticationError),
    ("50115", 405, errors.InvalidRequest), ("50119", 200, errors.InvalidApiKey),
    ("50120", 200, errors.PermissionDenied), ("51000", 400, errors.InvalidRequest),
    ("51001", 200, errors.UnknownInstrument), ("51008", 200, errors.InsufficientBalance),
    ("51016", 200, errors.DuplicateClientOrderId), ("51020", 200, errors.InvalidOrder),
    ("51121", 200, errors.InvalidOrder), ("51131", 200, errors.InsufficientBalance),
    ("51400", 200, errors.OrderNotFound), ("51503", 200, errors.OrderNotFound),
    ("51603", 200, errors.OrderNotFound), ("58001", 200, errors.OkxError),
]


@pytest.mark.parametrize(("code", "status", "cls"), CODE_CASES)
def test_every_error_class_is_reached(capture: CaptureServer, creds: ApiCredentials, code: str, status: int,
                                      cls: type[errors.OkxError]) -> None:
    capture.reply(status, {"code": code, "msg": errors.ERROR_CODES[code].message if code in errors.ERROR_CODES
                           else "Incorrect trade password", "data": []})
    with pytest.raises(errors.OkxError) as err:
        make_client(capture, creds).balance()
    assert type(err.value) is cls
    assert err.value.code == code and err.value.http_status == status
    assert err.value.retriable == cls.retriable
    for text in (str(err.value), repr(err.value)):
        assert SECRET not in text and PASSPHRASE not in text
    assert capture.requests[-1].headers["OK-ACCESS-SIGN"] not in str(err.value)


def test_table_classes_all_reached() -> None:
    reached = {cls for _, _, cls in CODE_CASES}
    table = {entry.cls for entry in errors.ERROR_CODES.values()}
    assert table <= reached


def test_balance_of_more_than_twenty_currencies_filters_locally(capture: CaptureServer, creds: ApiCredentials) -> None:
    details = [{"ccy": f"C{i}", "availBal": str(i), "cashBal": str(i)} for i in range(30)]
    capture.reply(*ok([{"details": details}]))
    wanted = [f"C{i}" for i in range(25)]
    balance = make_client(capture, creds).balance(wanted)
    assert capture.requests[0].target == "/api/v5/account/balance"  # OKX allows at most 20 in ccy=
    assert [d.ccy for d in balance.details] == wanted


def test_fills_since_follows_the_bill_id_cursor(capture: CaptureServer, creds: ApiCredentials) -> None:
    def fill(n: int) -> dict[str, str]:
        return {"instId": "BTC-USDT", "tradeId": str(n), "ordId": str(n), "billId": str(1000 - n), "side": "buy",
                "fillPx": "1", "fillSz": "1"}

    capture.reply(*ok([fill(n) for n in range(100)]))
    capture.reply(*ok([fill(n) for n in range(100, 130)]))
    fills = make_client(capture, creds).fills_since(1795508000000)
    assert len(fills) == 130
    assert [r.target for r in capture.requests] == [
        "/api/v5/trade/fills?instType=SPOT&begin=1795508000000&limit=100",
        "/api/v5/trade/fills?instType=SPOT&begin=1795508000000&after=901&limit=100",
    ]


# -- exchange time ----------------------------------------------------------------------------


def _time_or(capture: CaptureServer, ts: int) -> None:
    capture.default = lambda r: ok([{"ts": str(ts)}]) if r.target == "/api/v5/public/time" else None


def test_first_private_call_syncs_the_clock_once(capture: CaptureServer, creds: ApiCredentials) -> None:
    _time_or(capture, NOW + 20_000)
    client = make_client(capture, creds, time_sync=True)
    assert client.now_ms() == NOW + 20_000  # exchange time, learned before any private call
    client.balance()
    client.pending_orders()
    targets = [r.target for r in capture.requests]
    assert targets == ["/api/v5/public/time", "/api/v5/account/balance",
                       "/api/v5/trade/orders-pending?instType=SPOT&limit=100"]
    assert capture.requests[1].headers["OK-ACCESS-TIMESTAMP"] == "2026-11-24T08:15:50.123Z"


def test_public_calls_do_not_sync(capture: CaptureServer) -> None:
    client = make_client(capture, None, time_sync=True)
    client.tickers()
    assert [r.target for r in capture.requests] == ["/api/v5/market/tickers?instType=SPOT"]


def test_concurrent_first_calls_sync_once(capture: CaptureServer, creds: ApiCredentials) -> None:
    _time_or(capture, NOW)
    client = make_client(capture, creds, time_sync=True)
    threads = [threading.Thread(target=client.balance) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert [r.target for r in capture.requests].count("/api/v5/public/time") == 1
    assert len(capture.requests) == 9


def test_stale_sync_is_renewed(capture: CaptureServer, creds: ApiCredentials) -> None:
    import okx_wire.client as client_module

    _time_or(capture, NOW)
    client = make_client(capture, creds, time_sync=True)
    client.balance()
    client._synced_at -= client_module.TIME_SYNC_INTERVAL_S + 1  # as if the last sync were 10 minutes old
    client.balance()
    assert [r.target for r in capture.requests].count("/api/v5/public/time") == 2


def test_exp_time_is_exchange_time_when_the_local_clock_runs_ahead() -> None:
    """A client clock 20 s ahead (inside OKX's 30 s window, so no 50102 would ever say so)
    still sends expTime = exchange time + window, because the first private call syncs."""
    import time as time_module
    from datetime import datetime, timedelta

    import requests
    from freezegun import freeze_time

    from okx_sim import SimConfig, running_simulator
    from okx_wire.placement import place_once

    window = 5_000
    sent: list[dict[str, str]] = []

    class Recording(requests.Session):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
            sent.append(dict(request.headers))
            return super().send(request, **kwargs)

    with running_simulator(SimConfig(rate_limits=False)) as sim:
        probe = OkxClient(base_url=sim.base_url, rate_limit=False, time_sync=False)
        ahead = datetime.now(UTC) + timedelta(seconds=20)
        with freeze_time(ahead, tick=True, ignore=["okx_sim", "uvicorn", "asyncio"]):
            client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False, session=Recording())
            assert time_module.time() * 1000 - probe.server_time().ts > 15_000  # really 20 s ahead
            order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"),
                                 px=Decimal("1000"), cl_ord_id="ahead1")
            placed = place_once(client, order, resend=False, exp_window_ms=window)
            exchange_now = probe.server_time().ts
        assert placed.ord_id
        exp = int(next(h["expTime"] for h in sent if "expTime" in h))
        assert abs(exp - (exchange_now + window)) < 1_000
        assert abs(client.clock_offset_ms + 20_000) < 1_500


def test_success_item_without_ord_id_is_an_ambiguous_reply(creds: ApiCredentials) -> None:
    from okx_wire.models import OrderAck

    client = OkxClient(creds, base_url="http://127.0.0.1:9", rate_limit=False)
    ack = OrderAck.model_validate({"clOrdId": "abc1", "ordId": "", "sCode": "0", "sMsg": ""})
    assert not ack.ok
    error = client.item_error(ack, "POST", "/api/v5/trade/batch-orders")
    assert isinstance(error, errors.AmbiguousReply) and error.outcome_unknown
    assert "clOrdId=abc1" in str(error)
    assert client.item_error(OrderAck.model_validate(ACK), "POST", "/api/v5/trade/order") is None
