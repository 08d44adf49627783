"""Signals against the in-process simulator: authentication, replay, refusals, one order per id,
TP/SL, and no secret anywhere (logs, Prefect's records, the signals table, answers)."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest

from okx_strategies.signal import signal_cl_ord_id
from tests.signals.conftest import HMAC_SECRET, TOKEN

SPEC = "tv-btc-signals"


def one_line(answer) -> str:
    error = answer.json()["error"] if "error" in answer.json() else answer.json()["reason"]
    assert "\n" not in error and error, answer.text
    return error


def settled(rx, timeout: float = 10.0) -> None:
    """Wait for the executor to read the fills of what it placed (it does so after answering)."""
    deadline = time.monotonic() + timeout
    while rx.store.unsettled(SPEC):
        assert time.monotonic() < deadline, rx.store.unsettled(SPEC)
        time.sleep(0.02)


def test_a_signed_signal_places_one_ioc_order_with_its_protection(sim, serve):
    rx = serve()
    answer = rx.post(rx.signal(id="tv-1", price="68000.5", comment="cross up"))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["status"] == "placed" and data["cl_ord_id"] == signal_cl_ord_id(SPEC, "tv-1")
    [order] = sim.exchange.all_orders()
    assert order["clOrdId"] == data["cl_ord_id"] and order["ordType"] == "ioc" and order["side"] == "buy"
    assert Decimal(data["sz"]) * Decimal(data["px"]) <= 100
    [attached] = order["attachAlgoOrds"]
    assert Decimal(attached["tpTriggerPx"]) > Decimal(data["px"]) > Decimal(attached["slTriggerPx"])
    settled(rx)
    row = rx.store.get(SPEC, "tv-1")
    assert row.state == "placed" and row.ord_id == data["ord_id"] and row.settled and row.filled > 0


def test_token_auth_and_tradingview_ticker(sim, serve):
    rx = serve()
    answer = rx.post(rx.signal(id="tv-2", instrument="btcusdt", action="BUY", token=TOKEN,
                               time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())), signed=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["inst_id"] == "BTC-USDT" and len(sim.exchange.all_orders()) == 1


@pytest.mark.parametrize("case", ["bad signature", "wrong secret", "bad token", "no auth", "stale", "future"])
def test_unauthenticated_or_stale_is_401_and_nothing_is_created(sim, serve, case):
    rx = serve()
    body = rx.signal(id=f"bad-{case.replace(' ', '-')}")
    if case == "bad signature":
        answer = rx.post(body, signature="sha256=" + "0" * 64)
    elif case == "wrong secret":
        answer = rx.post(body, secret="not-the-secret")
    elif case == "bad token":
        answer = rx.post({**body, "token": "guess"}, signed=False)
    elif case == "no auth":
        answer = rx.post(body, signed=False)
    else:
        shift = -120 if case == "stale" else 120
        answer = rx.post({**body, "time": int((time.time() + shift) * 1000)})
    assert answer.status_code == 401, answer.text
    assert one_line(answer)
    assert sim.exchange.all_orders() == []
    assert rx.store.get(SPEC, body["id"]) is None  # no claim: an unauthenticated id cannot be burnt
    [refusal] = rx.store.refusals(SPEC)
    assert refusal.status == 401


@pytest.mark.parametrize(("raw", "needle"), [
    (b"{not json", "not JSON"),
    (json.dumps({"id": "x1", "time": 1, "action": "buy"}).encode(), "missing field 'instrument'"),
    (json.dumps({"id": "x2", "time": 1, "action": "hold", "instrument": "BTC-USDT"}).encode(), "'hold'"),
    (json.dumps({"id": "x3", "time": 1, "acton": "buy", "instrument": "BTC-USDT"}).encode(), "unknown field 'acton'"),
    (json.dumps([1, 2]).encode(), "not a JSON object"),
])
def test_malformed_is_400_in_one_line(sim, serve, raw, needle):
    rx = serve()
    answer = rx.post(None, raw=raw)
    assert answer.status_code == 400, answer.text
    assert needle in one_line(answer)
    assert sim.exchange.all_orders() == []
    assert [r.status for r in rx.store.refusals(SPEC)] == [400]


@pytest.mark.parametrize(("changes", "body", "needle"), [
    ({}, {"instrument": "DOGE-USDT"}, "unknown instrument DOGE-USDT"),
    ({"strategy": {"actions": ["buy"]}}, {"action": "sell"}, "action sell is not allowed"),
    ({"strategy": {"quote_amount": None, "share": 0.5}}, {}, "over risk.max_order_notional 500"),
    ({}, {"action": "close"}, "holds no BTC"),
])
def test_refused_by_the_spec_sends_nothing_and_is_recorded(sim, serve, changes, body, needle):
    rx = serve(**changes)
    signal = rx.signal(**body)
    answer = rx.post(signal)
    assert answer.status_code == 422, answer.text
    assert needle in one_line(answer)
    assert sim.exchange.all_orders() == []
    row = rx.store.get(SPEC, signal["id"])
    assert row.state == "refused" and needle in row.reason
    again = rx.post(signal)  # a repeat of a refused signal is a replay
    assert again.status_code == 401 and "replayed" in one_line(again)


def test_a_duplicate_delivery_trades_once_also_after_a_restart(sim, serve, spec_file):
    path = spec_file("signal")
    first = serve(path)
    body = first.signal(id="dup-1")
    assert first.post(body).status_code == 200
    again = first.post(body)
    assert again.status_code == 401 and "already received" in one_line(again)
    restarted = serve(path)  # a second receiver and executor over the same journal
    assert restarted.post(body).status_code == 401
    assert len(sim.exchange.all_orders()) == 1


def test_a_send_whose_outcome_was_lost_is_adopted_by_the_resend(sim, serve, spec_file):
    """The order reached the venue but the answer was lost (the executor died): the row says
    'sent'. The resend, after a restart, looks the clOrdId up and adopts the order."""
    from okx_wire.signals import open_signal_store

    path = spec_file("signal")
    rx = serve(path)
    body = rx.signal(id="lost-1")
    assert rx.post(body).status_code == 200
    store = open_signal_store()
    store._update(SPEC, "lost-1", state="sent", lease_ms=None, ord_id=None, exp_ms=1)  # its expTime has passed
    answer = serve(path).post(body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["adopted"] is True
    assert len(sim.exchange.all_orders()) == 1


def test_sell_and_close_sell_only_what_the_signals_bought(sim, serve):
    rx = serve()
    assert rx.post(rx.signal(action="buy")).status_code == 200
    assert rx.post(rx.signal(action="buy")).status_code == 200
    sold = rx.post(rx.signal(action="sell"))
    assert sold.status_code == 200, sold.text
    closed = rx.post(rx.signal(action="close"))
    assert closed.status_code == 200, closed.text
    settled(rx)
    base, _ = rx.store.holdings(SPEC, "BTC", "USDT")
    assert abs(base) < Decimal("0.0001")
    assert rx.post(rx.signal(action="close")).status_code == 422


def _everything_prefect_stored(prefect_db: Path) -> str:
    time.sleep(1.0)  # the API log handler sends in batches
    with sqlite3.connect(prefect_db) as db:
        parts = []
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - our own test database
                parts.append(repr(row))
    return "\n".join(parts)


def test_no_secret_in_logs_prefect_records_the_table_or_answers(sim, serve, caplog, prefect_db, tmp_path):
    caplog.set_level(logging.DEBUG)
    rx = serve()
    answers = [rx.post(rx.signal(id="leak-1")),
               rx.post({**rx.signal(id="leak-2"), "token": TOKEN}, signed=False),
               rx.post({**rx.signal(id="leak-3"), "token": TOKEN + "x"}, signed=False),
               rx.post(rx.signal(id="leak-4"), secret=HMAC_SECRET + "x"),
               rx.post(rx.signal(id="leak-5", instrument="DOGE-USDT"))]
    assert [a.status_code for a in answers] == [200, 200, 401, 401, 422]
    secrets = [HMAC_SECRET, TOKEN, sim.credentials.secret_key.get_secret_value(),
               sim.credentials.passphrase.get_secret_value()]
    seen = "\n".join([caplog.text, *(a.text for a in answers), repr(rx.app.served[SPEC]),
                      repr(rx.store.signals(SPEC)), repr(rx.store.refusals(SPEC))])
    stored = _everything_prefect_stored(prefect_db)
    assert "signal leak-1" in stored  # the task run's own logs reached Prefect
    journal = Path(rx.store.journal.url.split("///", 1)[1])
    with sqlite3.connect(journal) as db:
        rows = "\n".join(repr(r) for t in ("okx_flows_signals", "okx_flows_signal_refusals")
                         for r in db.execute(f"SELECT * FROM {t}"))  # noqa: S608
    for secret in secrets:
        for where, text in (("logs/answers/reprs", seen), ("Prefect's database", stored), ("the journal", rows)):
            assert secret not in text, f"a secret reached {where}"
