"""Settling on the account's ``orders`` pushes (``okx_strategies.pushes`` through
``DirectVenue``) against the in-process simulator: the same states and fills as polling for the
same orders, fewer order-state requests, and REST reconciliation of what the pushes miss (a
stream opened after the orders, delayed pushes, a dropped connection). Books for TWAP slices
come from the public stream."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_strategies import pipeline, pushes
from okx_strategies.direct import DirectVenue
from okx_wire.auth import ApiCredentials
from okx_wire.client import OkxClient
from okx_wire.errors import AuthenticationError, NetworkError
from okx_wire.models import Order, OrderBook
from okx_wire.orders import OrderRequest
from okx_wire.placement import Placement
from okx_wire.ws.streams import MarketStream, OrderStream
from tests.support.capture import CaptureServer

INSTS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
ORDER_STATE_PATHS = ("/api/v5/trade/order", "/api/v5/trade/orders-history")


class CountingSession(requests.Session):
    """Counts the GETs the client sends, by path."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: Counter[str] = Counter()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.method == "GET":
            self.gets[(request.path_url or "").split("?", 1)[0]] += 1
        return super().send(request, **kwargs)

    def order_reads(self) -> int:
        return sum(self.gets[p] for p in ORDER_STATE_PATHS)


@pytest.fixture
def sim(tmp_path: Any) -> Iterator[SimulatorHandle]:
    config = SimConfig(state_path=tmp_path / "sim.sqlite3", rate_limits=False,
                       balances={"USDT": Decimal("1000000"), "BTC": Decimal("10"), "ETH": Decimal("100")})
    with running_simulator(config) as handle:
        yield handle


@pytest.fixture
def counted(sim: SimulatorHandle) -> Iterator[tuple[OkxClient, CountingSession]]:
    session = CountingSession()
    with OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False, session=session) as client:
        yield client, session


def _orders(client: OkxClient, tag: str, *, resting: int = 0, marketable: int = 3) -> list[OrderRequest]:
    """Marketable limit buys (they fill at once), then buys far below the market (they rest)."""
    out: list[OrderRequest] = []
    for i in range(marketable + resting):
        inst = INSTS[i % len(INSTS)]
        book = client.order_book(inst, 1)
        assert book.best_ask is not None and book.best_bid is not None
        far = i >= marketable
        px = book.best_bid * Decimal("0.7") if far else book.best_ask * Decimal("1.01")
        tick = Decimal("0.01") if inst != "BTC-USDT" else Decimal("0.1")
        sz = Decimal("0.01") if inst == "BTC-USDT" else Decimal("0.1")
        out.append(OrderRequest(inst_id=inst, side="buy", ord_type="limit", sz=sz, px=px.quantize(tick),
                                cl_ord_id=f"{tag}{i}"))
    return out


def _place(venue: DirectVenue, orders: list[OrderRequest]) -> list[Placement]:
    placed = venue.place_batch(orders, {}, "t", None)
    assert all(p.ok for p in placed)
    return placed


def _venue_fills(client: OkxClient, orders: list[Order]) -> list[tuple[str, str, Decimal, Decimal]]:
    wanted = {o.ord_id for o in orders}
    return sorted((f.ord_id, f.trade_id, f.fill_px, f.fill_sz) for f in client.fills_since(0) if f.ord_id in wanted)


def _fills(venue: DirectVenue, orders: list[Order]) -> list[tuple[str, str, Decimal, Decimal]]:
    return sorted((f.ord_id, f.trade_id, f.fill_px, f.fill_sz) for f in pipeline.fills_of(venue, orders))


def test_the_same_orders_settle_to_the_same_states_and_fills_on_pushes_and_by_polling(
        counted: tuple[OkxClient, CountingSession]) -> None:
    client, _ = counted
    with pushes.open_order_stream(client) as stream:
        on_pushes = DirectVenue(client, resend=False, orders=stream)
        placed = _place(on_pushes, _orders(client, "same", marketable=3, resting=2))
        pushed = pipeline.settle(on_pushes, placed, timeout_s=1.0)
    polled = pipeline.settle(DirectVenue(client), placed, timeout_s=1.0)  # the same orders, now final
    assert [o.model_dump() for o in pushed] == [o.model_dump() for o in polled]
    assert [o.state.value for o in pushed] == ["filled"] * 3 + ["canceled"] * 2
    assert _fills(on_pushes, pushed) == _fills(DirectVenue(client), polled) == _venue_fills(client, pushed)
    assert len(_fills(on_pushes, pushed)) >= 3


def test_pushes_spare_the_polls_of_orders_that_rest(counted: tuple[OkxClient, CountingSession]) -> None:
    """Orders resting for the whole wait: polling reads each one on every poll (0.2 s, then 1.6
    times longer); on pushes, nothing is read until the wait ends, then once each, as polling's
    last poll does."""
    client, session = counted
    timeout = 1.8  # under POLL_AFTER_S: no push is missing, so no order is read in the wait
    with pushes.open_order_stream(client) as stream:
        venue = DirectVenue(client, resend=False, orders=stream)
        placed = _place(venue, _orders(client, "rest", marketable=0, resting=4))
        session.gets.clear()
        states = pipeline.await_final(venue, placed, timeout_s=timeout)
        on_pushes = session.order_reads()
    assert [o.state.value for o in states] == ["live"] * 4
    session.gets.clear()
    polled = pipeline.await_final(DirectVenue(client), placed, timeout_s=timeout)
    by_polling = session.order_reads()
    assert [o.model_dump() for o in polled] == [o.model_dump() for o in states]
    assert on_pushes == 4  # one confirming read each
    assert by_polling >= 4 * 4  # polls at 0, 0.2, 0.52 and 1.03 s of each order
    for p in placed:
        client.cancel_order(p.inst_id, ord_id=p.ord_id)


def test_a_stream_opened_after_the_orders_still_settles_them_over_rest(
        counted: tuple[OkxClient, CountingSession]) -> None:
    """The window between placing and subscribing: the fills in it are never pushed, so the
    orders are read over REST ``POLL_AFTER_S`` into the wait, and once more after it."""
    client, _ = counted
    placed = _place(DirectVenue(client, resend=False), _orders(client, "late", marketable=3))
    with pushes.open_order_stream(client) as stream:
        venue = DirectVenue(client, orders=stream)
        refs = [(p.inst_id, p.ord_id or "") for p in placed]
        began = time.monotonic()
        waited = venue.wait_pushed(refs, timeout_s=10)
        assert waited is not None and waited.final == 3 and waited.rest_reads == 3
        assert pushes.POLL_AFTER_S <= time.monotonic() - began < pushes.POLL_AFTER_S + 2
        orders = pipeline.settle(venue, placed, timeout_s=10)
    assert [o.state.value for o in orders] == ["filled"] * 3
    assert _fills(venue, orders) == _venue_fills(client, orders)


def test_delayed_pushes_are_reconciled_over_rest(sim: SimulatorHandle,
                                                 counted: tuple[OkxClient, CountingSession]) -> None:
    client, _ = counted
    with pushes.open_order_stream(client) as stream:
        venue = DirectVenue(client, resend=False, orders=stream)
        sim.faults.ws_delay_ms = 4000  # every push arrives 4 s late (and each after the one before)
        placed = _place(venue, _orders(client, "slow", marketable=3))
        began = time.monotonic()
        orders = pipeline.settle(venue, placed, timeout_s=10)
        took = time.monotonic() - began
        sim.faults.ws_delay_ms = 0
    assert [o.state.value for o in orders] == ["filled"] * 3
    assert took < 4, f"settled in {took:.1f} s: it waited for the late pushes instead of reading REST"
    assert _fills(venue, orders) == _venue_fills(client, orders)


def test_a_dropped_connection_loses_nothing(sim: SimulatorHandle, counted: tuple[OkxClient, CountingSession]) -> None:
    """The connection is cut by the first push about the orders (one batch): that push and the
    ones queued behind it are lost. The reconnect makes the wait read every order over REST
    at once (well before ``POLL_AFTER_S``), and the run keeps exactly the venue's states and fills."""
    client, _ = counted
    with pushes.open_order_stream(client) as stream:
        venue = DirectVenue(client, resend=False, orders=stream)
        orders_sent = _orders(client, "drop", marketable=4, resting=1)
        sim.faults.ws_drop_next = 1  # the first push about the orders cuts the connection instead
        placed = _place(venue, orders_sent)
        refs = [(p.inst_id, p.ord_id or "") for p in placed]
        waited = venue.wait_pushed(refs[:4], timeout_s=10)
        assert waited is not None and waited.final == 4 and waited.reconnects >= 1 and waited.rest_reads >= 4
        assert waited.seconds < pushes.POLL_AFTER_S
        assert sim.faults.ws_drops_injected >= 1 and stream.epoch >= 1
        orders = pipeline.settle(venue, placed, timeout_s=1)
    assert [o.state.value for o in orders] == ["filled"] * 4 + ["canceled"]
    for order in orders:  # exactly the venue's word on each order and its fills
        assert order == client.order(order.inst_id, ord_id=order.ord_id)
    assert _fills(venue, orders) == _venue_fills(client, orders)


def test_no_stream_where_the_venue_has_no_websocket_or_refuses_the_login(sim: SimulatorHandle,
                                                                          capture: CaptureServer) -> None:
    began = time.monotonic()
    with OkxClient(sim.credentials, base_url=capture.base_url, rate_limit=False) as rest, \
            pytest.raises(NetworkError, match="no WebSocket"):
        pushes.open_order_stream(rest)
    wrong = ApiCredentials(api_key=sim.credentials.api_key, secret_key=SecretStr("WRONG"), passphrase=SecretStr("nope"))
    with OkxClient(wrong, base_url=sim.base_url, rate_limit=False) as rest, pytest.raises(AuthenticationError):
        pushes.open_order_stream(rest)
    assert time.monotonic() - began < pushes.CONNECT_TIMEOUT_S  # known at once, not waited out


def test_a_venue_without_a_stream_polls(counted: tuple[OkxClient, CountingSession]) -> None:
    client, _ = counted
    venue = DirectVenue(client, resend=False)
    assert venue.wait_pushed([("BTC-USDT", "1")], 1.0) is None
    orders = pipeline.settle(venue, _place(venue, _orders(client, "poll", marketable=2)), timeout_s=5)
    assert [o.state.value for o in orders] == ["filled"] * 2


def test_live_books_come_from_the_checked_stream(counted: tuple[OkxClient, CountingSession]) -> None:
    client, session = counted
    with MarketStream(client) as market:
        venue = DirectVenue(client, market=market)
        session.gets.clear()
        first = venue.live_book("BTC-USDT", 5)
        again = venue.live_book("BTC-USDT", 5)
        assert session.gets["/api/v5/market/books"] == 0
        assert len(first.bids) == len(first.asks) == 5 and first.mid is not None and again.mid is not None
        rest = client.order_book("BTC-USDT", 5)
        assert rest.mid is not None and abs(first.mid - rest.mid) / rest.mid < Decimal("0.01")
        assert market.resyncs == 0


def test_live_books_fall_back_to_rest_without_a_stream(sim: SimulatorHandle, capture: CaptureServer) -> None:
    with OkxClient(base_url=capture.base_url, rate_limit=False) as rest, MarketStream(rest) as market:
        read: list[str] = []

        stand_in = OrderBook(inst_id="BTC-USDT", asks=[], bids=[], ts=0)

        def book(inst_id: str, depth: int) -> OrderBook:
            read.append(inst_id)
            return stand_in

        began = time.monotonic()
        assert pushes.live_book(market, book, "BTC-USDT", 5) == (stand_in, "REST")
        assert read == ["BTC-USDT"] and time.monotonic() - began < pushes.FIRST_BOOK_WAIT_S


def test_order_stream_forgets_the_oldest_orders_beyond_max_kept(sim: SimulatorHandle) -> None:
    with OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False) as client, \
            OrderStream(client, account=False, max_kept=2) as stream:
        venue = DirectVenue(client, resend=False, orders=stream)
        placed = _place(venue, _orders(client, "kept", marketable=3))
        orders = pipeline.settle(venue, placed, timeout_s=5)
        assert [o.state.value for o in orders] == ["filled"] * 3
        assert len(stream._by_ord) <= 2  # noqa: SLF001 - the bound is the point
