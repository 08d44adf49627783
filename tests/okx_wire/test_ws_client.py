"""okx_wire.ws: login signing under frozen clocks, the book checksum, URLs, and the streams
against the simulator (reconnects, gaps, order entry sharing REST's budgets, waiting for
orders to be final from pushes with REST as the fallback)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from freezegun import freeze_time

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.auth import ApiCredentials, Signer
from okx_wire.client import OkxClient
from okx_wire.errors import AuthenticationError, InsufficientBalance
from okx_wire.limits import SlidingWindowLimiter
from okx_wire.orders import Amend, OrderRequest
from okx_wire.ws.books import BookGap, LocalBook, checksum
from okx_wire.ws.protocol import Url
from okx_wire.ws.streams import MarketStream, OrderRef, OrderStream
from okx_wire.ws.urls import ws_url

SAMPLES = Path(__file__).parent / "samples"
VECTOR_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"


def _signer(**kw: object) -> Signer:
    creds = ApiCredentials(api_key="k", secret_key=VECTOR_SECRET, passphrase="p-do-not-leak")
    return Signer(creds, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("moment", "ts", "expected"), [
    ("2018-09-27T13:14:10Z", "1538054050", "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="),
    ("2024-01-10T08:55:47.999Z", "1704876947", "5/36BgGV6m/6pmdc20zdqk0mzF5ZalmzzPD2fo3wavU="),
])
def test_login_signature_vectors_under_a_frozen_clock(moment: str, ts: str, expected: str) -> None:
    with freeze_time(moment):
        arg = _signer().ws_login()
    assert arg == {"apiKey": "k", "passphrase": "p-do-not-leak", "timestamp": ts, "sign": expected}


def test_login_uses_exchange_time_and_hides_secrets() -> None:
    signer = _signer()
    signer.offset_ms = 20_000
    with freeze_time("2018-09-27T13:13:50Z"):
        assert signer.ws_login()["timestamp"] == "1538054050"
    assert VECTOR_SECRET not in repr(signer) and "p-do-not-leak" not in repr(signer)


def test_checksum_vectors() -> None:
    assert checksum([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]]) == -1881014294
    assert checksum([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]]) == 831078360
    book = json.loads((SAMPLES / "ws_books_push_docs_example.json").read_text())["books_snapshot"]["data"][0]
    assert checksum(book["bids"], book["asks"]) == -2102840145


def test_local_book_chains_and_detects_gaps_and_bad_checksums() -> None:
    book = LocalBook("BTC-USDT")
    bids, asks = [["100", "1", "0", "1"], ["99", "2", "0", "1"]], [["101", "1", "0", "1"]]
    book.apply("snapshot", {"bids": bids, "asks": asks, "seqId": 5, "prevSeqId": -1, "checksum": checksum(bids, asks)})
    after_bids = [["100", "3", "0", "2"]]
    book.apply("update", {"bids": [["100", "3", "0", "2"], ["99", "0", "0", "0"]], "asks": [], "seqId": 6,
                          "prevSeqId": 5, "checksum": checksum(after_bids, asks)})
    assert book.bids == after_bids and book.seq_id == 6
    book.apply("update", {"bids": [], "asks": [], "seqId": 7, "prevSeqId": 6, "checksum": 0})  # 0: deprecated
    with pytest.raises(BookGap, match="prevSeqId 9"):
        book.apply("update", {"bids": [], "asks": [], "seqId": 10, "prevSeqId": 9})
    assert not book.ready
    book.apply("snapshot", {"bids": bids, "asks": asks, "seqId": 11, "prevSeqId": -1})
    with pytest.raises(BookGap, match="checksum"):
        book.apply("update", {"bids": [], "asks": [], "seqId": 12, "prevSeqId": 11, "checksum": 12345})


def test_urls() -> None:
    assert ws_url("https://www.okx.com", Url.PUBLIC) == "wss://ws.okx.com:8443/ws/v5/public"
    assert ws_url("https://www.okx.com", Url.PRIVATE, demo=True) == "wss://wspap.okx.com:8443/ws/v5/private"
    assert ws_url("https://eea.okx.com", Url.BUSINESS) == "wss://wseea.okx.com:8443/ws/v5/business"
    assert ws_url("http://127.0.0.1:8765", Url.PRIVATE) == "ws://127.0.0.1:8765/ws/v5/private"
    assert ws_url("https://sim.local:9", Url.PUBLIC) == "wss://sim.local:9/ws/v5/public"


@pytest.fixture
def wsim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=7, step_ms=100)) as handle:
        yield handle


@pytest.fixture
def rest(wsim: SimulatorHandle) -> Iterator[OkxClient]:
    with OkxClient(wsim.credentials, base_url=wsim.base_url, rate_limit=False) as client:
        yield client


FAST = {"backoff": 0.05, "max_backoff": 0.2, "timeout": 5.0}


def test_market_stream_tickers_books_trades_candles(wsim: SimulatorHandle, rest: OkxClient) -> None:
    with MarketStream(rest, **FAST) as market:
        market.watch_tickers("BTC-USDT")
        market.watch_books("BTC-USDT")
        market.watch_trades("BTC-USDT")
        market.watch_candles("BTC-USDT", "1m")
        ticker = market.wait(lambda: market.ticker("BTC-USDT"))
        assert ticker.inst_id == "BTC-USDT" and ticker.last
        first = market.wait(lambda: market.book("BTC-USDT"))
        seq = first.seq_id
        market.wait(lambda: (b := market.book("BTC-USDT")) is not None and b.seq_id != seq or None)
        book = market.book("BTC-USDT")
        assert book is not None and len(book.asks) == 400 and market.resyncs == 0
        assert market.wait(lambda: market.trades("BTC-USDT") or None)[0]["instId"] == "BTC-USDT"
        assert len(market.wait(lambda: market.candle("BTC-USDT", "1m"))) == 9


def test_market_stream_resyncs_after_a_gap_and_a_drop(wsim: SimulatorHandle, rest: OkxClient) -> None:
    with MarketStream(rest, **FAST) as market:
        market.watch_books("BTC-USDT")
        market.wait(lambda: market.book("BTC-USDT"))
        wsim.faults.ws_gap_rate = 1.0  # increments lost: the next one that arrives does not chain
        time.sleep(0.25)
        wsim.faults.ws_gap_rate = 0.0
        market.wait(lambda: market.resyncs or None, timeout=5)
        conn = market.connection(Url.PUBLIC)
        assert conn is not None
        wsim.app.ws.hub.drop_all()
        market.wait(lambda: conn.connects >= 2 or None, timeout=5)
        step = wsim.exchange.market.step_at(int(time.time() * 1000))
        book = market.wait(lambda: (b := market.book("BTC-USDT")) is not None and b.seq_id > step and b or None)
        inst = wsim.exchange.catalogue.get("BTC-USDT")
        assert inst is not None and book.seq_id is not None
        truth = wsim.exchange.market.book(inst, book.seq_id)
        assert checksum(book.bids, book.asks) == checksum(truth.bids_rendered, truth.asks_rendered)


def test_order_stream_entry_and_wait_final_from_pushes(wsim: SimulatorHandle) -> None:
    limiter = SlidingWindowLimiter()
    with OkxClient(wsim.credentials, base_url=wsim.base_url, limiter=limiter) as rest, \
            OrderStream(rest, **FAST) as stream:
        ack = stream.place(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="market", sz=Decimal("50"),
                                        cl_ord_id="wsmkt1"))
        final = stream.wait_final([OrderRef("BTC-USDT", cl_ord_id="wsmkt1")], timeout=10, poll_after=30)
        assert final[OrderRef("BTC-USDT", cl_ord_id="wsmkt1")].state == "filled" and stream.rest_reads == 0
        assert ack.ord_id == final[OrderRef("BTC-USDT", cl_ord_id="wsmkt1")].ord_id
        assert "trade/order" in limiter.peak_use  # the op drew from REST's place-order budget
        px = (rest.order_book("BTC-USDT").best_bid or Decimal(1)) * Decimal("0.8")
        px = px.quantize(Decimal("0.1"))
        acks = stream.place_batch([OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"),
                                                px=px, cl_ord_id=f"wsb{i}") for i in range(2)])
        assert all(a.ok for a in acks)
        stream.amend(Amend(inst_id="BTC-USDT", cl_ord_id="wsb0", new_sz=Decimal("0.002")))
        assert rest.order("BTC-USDT", cl_ord_id="wsb0").sz == Decimal("0.002")
        stream.cancel("BTC-USDT", cl_ord_id="wsb0")
        stream.cancel_batch([OrderRef("BTC-USDT", cl_ord_id="wsb1")])
        refs = [OrderRef("BTC-USDT", cl_ord_id=f"wsb{i}") for i in range(2)]
        assert {o.state for o in stream.wait_final(refs, timeout=10, poll_after=30).values()} == {"canceled"}
        assert stream.balance().available("USDT") > 0
        with pytest.raises(InsufficientBalance):
            stream.place(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("100"),
                                      px=px, cl_ord_id="wsbig"))


def test_wait_final_falls_back_to_rest_for_what_was_not_pushed(wsim: SimulatorHandle, rest: OkxClient) -> None:
    px = ((rest.order_book("BTC-USDT").best_bid or Decimal(1)) * Decimal("0.8")).quantize(Decimal("0.1"))
    with OrderStream(rest, **FAST) as stream:
        conn = stream.connection(Url.PRIVATE)
        assert conn is not None
        rest.place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"), px=px,
                                      cl_ord_id="gone1"))
        wsim.faults.ws_drop_rate = 1.0  # the next push (this cancel's) cuts the connection instead
        rest.cancel_order("BTC-USDT", cl_ord_id="gone1")
        time.sleep(0.3)
        wsim.faults.ws_drop_rate = 0.0
        final = stream.wait_final([OrderRef("BTC-USDT", cl_ord_id="gone1")], timeout=10, poll_after=30)
        assert final[OrderRef("BTC-USDT", cl_ord_id="gone1")].state == "canceled"
        assert stream.rest_reads >= 1 and conn.connects >= 2


def test_wait_final_polls_rest_after_poll_after(wsim: SimulatorHandle, rest: OkxClient) -> None:
    with OrderStream(rest, account=False, **FAST) as stream:
        ack = rest.place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="market", sz=Decimal("20")))
        ref = OrderRef("BTC-USDT", ord_id=ack.ord_id)
        with stream._changed:  # forget the push, as if it never came
            stream._by_ord.clear()
        assert stream.wait_final([ref], timeout=5, poll_after=0.1)[ref].state == "filled"
        with pytest.raises(TimeoutError, match="not final"):
            px = ((rest.order_book("BTC-USDT").best_bid or Decimal(1)) * Decimal("0.8")).quantize(Decimal("0.1"))
            resting = rest.place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit",
                                                    sz=Decimal("0.001"), px=px))
            stream.wait_final([OrderRef("BTC-USDT", ord_id=resting.ord_id)], timeout=0.5, poll_after=0.1)


def test_a_refused_login_is_final(wsim: SimulatorHandle) -> None:
    wrong = ApiCredentials(api_key=wsim.credentials.api_key, secret_key="WRONG", passphrase="nope")
    with OkxClient(wrong, base_url=wsim.base_url) as rest, pytest.raises(AuthenticationError) as refused:
        OrderStream(rest, **FAST)
    assert refused.value.code == "60024" and "nope" not in str(refused.value)


def test_keepalive_outlives_the_idle_limit() -> None:
    with running_simulator(SimConfig(rate_limits=False, seed=7, idle_timeout_s=0.6)) as sim, \
            OkxClient(sim.credentials, base_url=sim.base_url) as rest, \
            OrderStream(rest, ping_interval=0.2, **FAST) as stream:
        conn = stream.connection(Url.PRIVATE)
        time.sleep(1.5)
        assert conn is not None and conn.connects == 1 and conn.connected
