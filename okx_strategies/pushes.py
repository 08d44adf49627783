"""Settling on the private ``orders`` pushes and pricing from the public ``books`` stream, with
REST behind both. Both bindings of the venue port (``direct.DirectVenue``, and the tasks behind
``okx_tasks.venue.PrefectVenue``) call these functions; without a stream they are not called
and the run polls and reads books over REST as it always did.

Settling. A run that polls reads every order it waits for with a backoff (0.2 s, then 1.6 times
longer up to 2 s): an order that rests costs a ``trade/order`` request per poll, and a fill is
seen up to 2 s late. On pushes the run waits on the account's ``orders`` stream instead, where
the venue says itself when an order fills or is cancelled. The rules that keep it exact:

1. *Open before placing.* A binding opens the stream (logged in, the ``orders`` subscription
   acknowledged by the venue) before it places the orders it will wait for, and notes the
   stream's ``epoch`` then. So every change of those orders is pushed to it, unless the
   connection drops.
2. *Pushes lost while disconnected are read over REST.* A reconnect moves the epoch; the wait
   then reads every order it still waits for over REST at once, also for a reconnect between
   placing and waiting (the noted epoch). An order no push has reached ``POLL_AFTER_S`` into
   the wait (a delayed or lost push) is read too, then every ``POLL_EVERY_S``; one pushed live
   is followed by its pushes while the connection stays up, not polled. The reads are batched
   as the polling wait's are (``direct.read_order_states``: the account's order history, 100 a
   request, before single reads).
3. *What a run keeps is REST's.* The wait only decides when to look. After it, the pipeline
   reads every order's state exactly as the polling wait does (``pipeline.await_final``: its
   first poll, at once), cancels what still rests, and reads the fills from ``trade/fills``.
   So a missed, late or duplicated push can delay a run; it cannot change its orders or fills.

Had the stream been opened after placing instead, rule 3 alone would still keep the result
exact: an order that filled before the subscription gets no push, is read over REST after
``POLL_AFTER_S``, and is read again when the wait ends. Opening first only saves that delay.

Pricing. ``live_book`` serves a book from a ``MarketStream`` (``books``: checked by sequence and
checksum, reloaded over REST after a gap) when the stream's copy is current, else reads
``market/books`` over REST; ``live_ticker`` does the same for a ticker (``tickers``, current
while the connection that pushed it is up).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from okx_wire.models import Order, OrderBook, Ticker
from okx_wire.ws.protocol import Url
from okx_wire.ws.streams import MarketStream, OrderRef, OrderStream

#: An order no push has reached this long into a wait is read over REST, then every
#: ``POLL_EVERY_S`` (a push may be late or lost; a reconnect reads every order at once).
POLL_AFTER_S: Final = 2.0
POLL_EVERY_S: Final = 5.0
#: How long opening a stream may take (login and the ``orders`` acknowledgement) before the run
#: settles by polling instead. A server with no WebSocket at all is known at once.
CONNECT_TIMEOUT_S: Final = 5.0
#: How long the first read of a book waits for the stream's snapshot before reading REST.
FIRST_BOOK_WAIT_S: Final = 3.0

#: Reads several orders' states over REST: ``direct.read_order_states`` bound to a client.
ReadStates = Callable[[Sequence[tuple[str, str]]], Sequence[Order | Exception]]


def open_order_stream(client: Any, *, connect_timeout: float = CONNECT_TIMEOUT_S) -> OrderStream:
    """The account's order stream, open: logged in and the ``orders`` subscription acknowledged.

    Raises:
        OkxError: the venue refused the login (an authentication code), has no WebSocket, or
            did not answer within ``connect_timeout``: settle by polling.
    """
    return OrderStream(client, account=False, connect_timeout=connect_timeout)


def why_not(exc: BaseException) -> str:
    """One line on why a stream could not be opened, for the run's log."""
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class PushWait:
    """How a wait on pushes ended: of ``orders``, ``final`` were final when it returned (from
    pushes or the REST reads behind them), after ``rest_reads`` orders read over REST and
    ``reconnects`` reconnects of the stream."""

    orders: int
    final: int
    rest_reads: int
    reconnects: int
    seconds: float

    def describe(self) -> str:
        left = self.orders - self.final
        text = f"waited {self.seconds:.2f} s on pushes: {self.final} of {self.orders} order(s) final"
        text += f", {self.rest_reads} read over REST" if self.rest_reads else ", no REST read"
        if self.reconnects:
            text += f", {self.reconnects} reconnect(s)"
        return text + (f"; {left} still live" if left else "")


def wait_pushed(stream: OrderStream, read_states: ReadStates, refs: Sequence[tuple[str, str]], timeout_s: float,
                since_epoch: int | None = None) -> PushWait:
    """Block until every order of ``refs`` (``(inst_id, ord_id)``) is final on the stream's pushes,
    or ``timeout_s`` has passed (see the module docstring for when REST is read).

    Returns:
        How the wait ended. Orders still live at the deadline are not an error: the caller reads
        every order over REST next and cancels what rests.
    """
    start = time.monotonic()
    order_refs = [OrderRef(inst_id, ord_id=ord_id) for inst_id, ord_id in dict.fromkeys(refs)]
    found: dict[OrderRef, Order] = {}

    def read(pending: list[OrderRef]) -> list[Order | None]:
        states = read_states([(r.inst_id, r.ord_id) for r in pending])
        out: list[Order | None] = []
        for ref, state in zip(pending, states, strict=True):
            order = state if isinstance(state, Order) else None  # a failed read: read again later
            if order is not None and order.is_final:
                found[ref] = order
            out.append(order)
        return out

    reads_before, epoch_before = stream.rest_reads, stream.epoch
    try:
        final = len(stream.wait_final(order_refs, timeout=timeout_s, poll_after=min(POLL_AFTER_S, timeout_s),
                                      poll_every=POLL_EVERY_S, since_epoch=since_epoch, poll_pushed=False,
                                      read=read))
    except TimeoutError:
        final = sum(1 for r in order_refs if r in found or ((o := stream.order(r)) is not None and o.is_final))
    return PushWait(orders=len(order_refs), final=final, rest_reads=stream.rest_reads - reads_before,
                    reconnects=stream.epoch - (epoch_before if since_epoch is None else since_epoch),
                    seconds=time.monotonic() - start)


def live_book(market: MarketStream, read_book: Callable[[str, int], OrderBook], inst_id: str,
              depth: int) -> tuple[OrderBook, str]:
    """The instrument's book from the stream when its copy is current, else over REST.

    The first call for an instrument subscribes its ``books`` channel and waits up to
    ``FIRST_BOOK_WAIT_S`` for the snapshot; later calls take the stream's copy as it is.

    Returns:
        The book (best ``depth`` levels per side) and where it came from: "stream" or "REST".
    """
    conn = market.connection(Url.PUBLIC)
    if conn is None or conn.unreachable is None:
        first = inst_id not in market.watched_books
        market.watch_books(inst_id)
        conn = market.connection(Url.PUBLIC)
        book = market.current_book(inst_id, depth)
        deadline = time.monotonic() + FIRST_BOOK_WAIT_S
        while first and book is None and conn is not None and conn.unreachable is None and time.monotonic() < deadline:
            try:  # the first snapshot (or the first connection) is on its way
                book = market.wait(lambda: market.current_book(inst_id, depth), timeout=0.1)
            except TimeoutError:
                pass
        if book is not None:
            return book, "stream"
    return read_book(inst_id, depth), "REST"


def live_ticker(market: MarketStream | None, read_ticker: Callable[[str], Ticker], inst_id: str) -> tuple[Ticker, str]:
    """The instrument's ticker from the stream when its copy is current (the caller watches the
    ``tickers`` channel ahead of time), else over REST; and where it came from: "stream" or "REST"."""
    ticker = market.current_ticker(inst_id) if market is not None else None
    if ticker is not None:
        return ticker, "stream"
    return read_ticker(inst_id), "REST"


__all__ = ["CONNECT_TIMEOUT_S", "FIRST_BOOK_WAIT_S", "POLL_AFTER_S", "POLL_EVERY_S", "PushWait", "live_book",
           "live_ticker", "open_order_stream", "wait_pushed", "why_not"]
