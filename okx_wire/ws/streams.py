"""What callers use: ``MarketStream`` (public and business channels) and ``OrderStream``
(private pushes, order entry over WebSocket, and waiting for orders to be final).

Both are synchronous objects, like ``OkxClient``: their connections run on an event loop in a
thread of their own (``_LoopThread``), and their state is read under a lock, so they can be used
from plain code, Prefect tasks included. Both take the REST client of the same venue and key:
it signs the login (its clock offset included), holds the rate budgets the order ops share
with REST, reads the account's ``tdMode``, and is the fallback whenever a push may have been
missed.

The rule for missed pushes: a connection that comes back has lost whatever was pushed while it
was down, and OKX does not replay it. So a book that sees a gap or a bad checksum is reloaded
from ``market/books`` and resubscribed (which brings a fresh snapshot); an ``OrderStream``
re-reads over REST every order someone is waiting for after any reconnect, and any order
that got no push for ``poll_after`` seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from okx_wire.algo_orders import AlgoOrder
from okx_wire.client import OkxClient
from okx_wire.errors import ConfigurationError, OrderNotFound, RequestTimeout, from_code
from okx_wire.models import Balance, Order, OrderAck, OrderBook, Ticker
from okx_wire.orders import CL_ORD_ID_PATTERN, Amend, OrderRequest
from okx_wire.precision import format_decimal
from okx_wire.ws.books import BookGap, LocalBook
from okx_wire.ws.connection import WsConnection
from okx_wire.ws.protocol import MAX_BATCH_OPS, OPS, Url
from okx_wire.ws.urls import ws_url

T = TypeVar("T")


class _LoopThread:
    """An event loop on a daemon thread; ``call`` runs a coroutine there and waits for it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        async def wrapped() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def spawn(self, coro: Awaitable[None]) -> None:
        async def wrapped() -> None:
            await coro

        asyncio.run_coroutine_threadsafe(wrapped(), self.loop)

    def stop(self) -> None:
        """Cancel what still runs on the loop (a reconnect's backoff...), then stop it."""
        async def cancel_all() -> None:
            running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for pending in running:
                pending.cancel()
            await asyncio.gather(*running, return_exceptions=True)

        if self.loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(5)
            except Exception:  # noqa: BLE001 - stopping regardless
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class _Streams:
    """The connections of one stream object and their thread."""

    def __init__(self, rest: OkxClient, name: str, **options: Any) -> None:
        self.rest = rest
        self._options = options
        self._thread = _LoopThread(name)
        self._conns: dict[Url, WsConnection] = {}
        self._lock = threading.RLock()

    def _connection(self, kind: Url, *, login: bool = False) -> WsConnection:
        conn = self._conns.get(kind)
        if conn is None:
            conn = WsConnection(ws_url(self.rest.base_url, kind, demo=self.rest.demo), on_push=self._on_push,
                                signer=self.rest.signer if login else None,
                                on_reconnect=lambda: self._on_reconnect(kind), **self._options)
            self._conns[kind] = conn
            self._thread.spawn(conn.run())
        return conn

    def _on_push(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def _on_reconnect(self, kind: Url) -> None:
        """Called on the loop after a reconnect of ``kind``'s connection."""

    def connection(self, kind: Url) -> WsConnection | None:
        return self._conns.get(kind)

    def close(self) -> None:
        for conn in self._conns.values():
            try:
                self._thread.call(conn.close(), timeout=5)
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass
        self._thread.stop()

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MarketStream(_Streams):
    """Tickers, order books (checked and self-repairing), trades and candles of a venue.

    Examples:
        >>> with OkxClient(base_url=sim.base_url) as rest, MarketStream(rest) as market:  # doctest: +SKIP
        ...     market.watch_books("BTC-USDT")
        ...     book = market.wait(lambda: market.book("BTC-USDT"))
    """

    def __init__(self, rest: OkxClient, *, trades_kept: int = 1000, **options: Any) -> None:
        super().__init__(rest, "okx-ws-market", **options)
        self._tickers: dict[str, Ticker] = {}
        #: Tickers pushed since the public connection's latest (re)connect: the others may be stale.
        self._fresh_tickers: set[str] = set()
        self._books: dict[str, LocalBook] = {}
        self._book_args: dict[str, dict[str, str]] = {}
        self._resyncing: set[str] = set()
        self._trades: dict[str, deque[dict[str, Any]]] = {}
        self._candles: dict[tuple[str, str], list[str]] = {}
        self._kept = trades_kept
        self._changed = threading.Condition(self._lock)
        #: Books reloaded from REST after a gap or a checksum mismatch.
        self.resyncs = 0

    def watch_tickers(self, *inst_ids: str) -> None:
        self._subscribe(Url.PUBLIC, [{"channel": "tickers", "instId": i} for i in inst_ids])

    def watch_books(self, inst_id: str, channel: str = "books") -> None:
        """Keep ``book(inst_id)`` current (``books``: 400 levels, checked; ``books5``, ``bbo-tbt``)."""
        arg = {"channel": channel, "instId": inst_id}
        self._book_args[inst_id] = arg
        self._subscribe(Url.PUBLIC, [arg])

    def watch_trades(self, *inst_ids: str) -> None:
        self._subscribe(Url.PUBLIC, [{"channel": "trades", "instId": i} for i in inst_ids])

    def watch_candles(self, inst_id: str, bar: str = "1m") -> None:
        self._subscribe(Url.BUSINESS, [{"channel": f"candle{bar}", "instId": inst_id}])

    def _subscribe(self, kind: Url, args: list[dict[str, Any]]) -> None:
        conn = self._connection(kind)
        self._thread.call(conn.subscribe(*args), timeout=conn.timeout)

    # -- reads (thread-safe) ---------------------------------------------------------------------
    def ticker(self, inst_id: str) -> Ticker | None:
        with self._lock:
            return self._tickers.get(inst_id)

    def current_ticker(self, inst_id: str) -> Ticker | None:
        """The ticker as last pushed, if it is current: the public connection is up and the
        ticker was pushed on it since it last (re)connected (the venue pushes every change).
        None otherwise: read ``market/ticker`` instead."""
        conn = self._conns.get(Url.PUBLIC)
        with self._lock:
            if conn is None or not conn.connected or inst_id not in self._fresh_tickers:
                return None
            return self._tickers.get(inst_id)

    def book(self, inst_id: str) -> LocalBook | None:
        """The book as last pushed (or reloaded); None until its first snapshot."""
        with self._lock:
            book = self._books.get(inst_id)
            return book if book is not None and book.ready else None

    @property
    def watched_books(self) -> frozenset[str]:
        """The instruments whose books ``watch_books`` keeps."""
        with self._lock:
            return frozenset(self._book_args)

    def current_book(self, inst_id: str, depth: int = 400) -> OrderBook | None:
        """A copy of the book's best ``depth`` levels per side, if the book is current: the public
        connection is up, and the book is neither waiting for the fresh snapshot a reconnect or
        a gap asked for (a book kept across either may have missed changes) nor unchecked. None
        otherwise: read ``market/books`` instead."""
        conn = self._conns.get(Url.PUBLIC)
        with self._lock:
            book = self._books.get(inst_id)
            if conn is None or not conn.connected or book is None or not book.ready or inst_id in self._resyncing:
                return None
            return OrderBook.model_validate({"instId": inst_id, "bids": book.bids[:depth], "asks": book.asks[:depth],
                                             "ts": book.ts, "seqId": book.seq_id})

    def trades(self, inst_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._trades.get(inst_id, ()))

    def candle(self, inst_id: str, bar: str = "1m") -> list[str] | None:
        """The latest candle row pushed (``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``)."""
        with self._lock:
            return self._candles.get((inst_id, bar))

    def wait(self, ready: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Block until ``ready()`` returns something (re-checked on every push); return it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = ready()
                if value is not None:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"nothing pushed within {timeout} s")
                self._changed.wait(min(left, 0.1))

    # -- pushes (on the loop) -----------------------------------------------------------------------
    def _on_push(self, message: dict[str, Any]) -> None:
        arg, data = message["arg"], message["data"]
        name, inst_id = arg.get("channel", ""), arg.get("instId", "")
        with self._changed:
            if name == "tickers":
                for item in data:
                    self._tickers[item["instId"]] = Ticker.model_validate(item)
                    self._fresh_tickers.add(item["instId"])
            elif name in ("books", "books5", "bbo-tbt"):
                self._on_book(inst_id, message.get("action") or "snapshot", data)
            elif name == "trades":
                self._trades.setdefault(inst_id, deque(maxlen=self._kept)).extend(data)
            elif name.startswith("candle"):
                for row in data:
                    self._candles[(inst_id, name[len("candle"):])] = list(row)
            self._changed.notify_all()

    def _on_book(self, inst_id: str, action: str, data: list[dict[str, Any]]) -> None:
        book = self._books.setdefault(inst_id, LocalBook(inst_id))
        if action != "snapshot" and inst_id in self._resyncing:
            return  # increments of the old stream: the fresh snapshot is on its way
        self._resyncing.discard(inst_id)
        try:
            for item in data:
                book.apply(action, item)
        except BookGap:
            self.resyncs += 1
            self._resyncing.add(inst_id)
            self._thread.spawn(self._resync(inst_id))

    async def _resync(self, inst_id: str) -> None:
        """After a gap: serve the REST book at once, and resubscribe for a fresh snapshot."""
        snapshot = await asyncio.to_thread(self.rest.order_book, inst_id, 400)
        with self._changed:
            if inst_id in self._resyncing:
                self._books[inst_id].load([[format_decimal(lv.px), format_decimal(lv.sz), "0", str(lv.orders)]
                                           for lv in snapshot.bids],
                                          [[format_decimal(lv.px), format_decimal(lv.sz), "0", str(lv.orders)]
                                           for lv in snapshot.asks], snapshot.seq_id or 0, snapshot.ts)
                self._changed.notify_all()
        conn = self._conns.get(Url.PUBLIC)
        arg = self._book_args.get(inst_id)
        if conn is not None and arg is not None:
            await conn.resubscribe(arg)

    def _on_reconnect(self, kind: Url) -> None:
        # The resubscribe sends fresh snapshots; increments until then would not chain.
        with self._lock:
            if kind is Url.PUBLIC:
                self._resyncing.update(self._book_args)
                self._fresh_tickers.clear()  # until the resubscribe pushes them again


@dataclass(frozen=True)
class OrderRef:
    """An order to wait for: its instrument and ``ord_id`` and/or ``cl_ord_id``."""

    inst_id: str
    ord_id: str = ""
    cl_ord_id: str = ""

    def __post_init__(self) -> None:
        if not self.ord_id and not self.cl_ord_id:
            raise ConfigurationError("an OrderRef needs an ord_id or a cl_ord_id")


class OrderStream(_Streams):
    """The account's ``orders`` and ``account`` pushes, and order entry over the private socket.

    Every push is kept as the latest ``Order`` per ordId (and per clOrdId: the latest order
    with it), so ``wait_final`` can settle a run's orders from pushes, reading REST only for
    what the pushes do not settle.

    With ``algos=True`` it also logs in on the business URL and follows the account's algo
    orders (``orders-algo``: conditional, oco, trigger, and the TP/SL a filled order arms;
    ``algo-advance``: trailing stops): ``algo()`` is an algo's latest pushed state and
    ``wait_algo`` blocks until a push shows it in a wanted state. As with orders, pushes lost
    while disconnected are not replayed: after a reconnect (``epoch`` moved) ask REST.

    Examples:
        >>> with OkxClient(creds, base_url=url) as rest, OrderStream(rest) as stream:  # doctest: +SKIP
        ...     ack = stream.place(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit",
        ...                                     sz=Decimal("0.001"), px=Decimal("50000"), cl_ord_id="a1"))
        ...     final = stream.wait_final([OrderRef("BTC-USDT", cl_ord_id="a1")], timeout=60)
    """

    def __init__(self, rest: OkxClient, *, inst_type: str = "SPOT", account: bool = True, algos: bool = False,
                 connect_timeout: float = 10.0, max_kept: int = 10_000, **options: Any) -> None:
        super().__init__(rest, "okx-ws-orders", **options)
        #: Orders kept at most (a long-lived stream forgets the oldest first; an order waited
        #: for that was forgotten is read over REST).
        self.max_kept = max_kept
        self._by_ord: dict[str, Order] = {}
        self._by_cl: dict[str, Order] = {}
        self._balance: dict[str, dict[str, Any]] = {}
        self._algos: dict[str, AlgoOrder] = {}
        self._algos_by_cl: dict[str, AlgoOrder] = {}
        self._changed = threading.Condition(self._lock)
        #: Bumped on every reconnect: a waiter that sees it move re-reads REST (pushes were lost).
        self.epoch = 0
        #: Orders read over REST because no push settled them.
        self.rest_reads = 0
        conn = self._connection(Url.PRIVATE, login=True)
        args: list[dict[str, Any]] = [{"channel": "orders", "instType": inst_type}]
        if account:
            args.append({"channel": "account"})
        # (connection, what it subscribes, what must be acknowledged before the stream is open)
        opening = [(conn, args, args[:1])]
        if algos:
            algo_args = [{"channel": name, "instType": inst_type} for name in ("orders-algo", "algo-advance")]
            opening.append((self._connection(Url.BUSINESS, login=True), algo_args, algo_args))
        try:
            for each, wanted, _ in opening:
                self._thread.call(each.subscribe(*wanted), timeout=connect_timeout)
            for each, _, acked in opening:
                self._thread.call(each.wait_connected(connect_timeout), timeout=connect_timeout + 1)
                # Open means subscribed: every change of an order placed from now on is pushed here.
                for arg in acked:
                    self._thread.call(each.wait_subscribed(arg, connect_timeout), timeout=connect_timeout + 1)
        except BaseException:
            self.close()  # no thread or socket left behind by a stream that never opened
            raise

    @property
    def _conn(self) -> WsConnection:
        return self._conns[Url.PRIVATE]

    # -- pushes -----------------------------------------------------------------------------------
    def _on_push(self, message: dict[str, Any]) -> None:
        channel = message["arg"].get("channel")
        with self._changed:
            if channel == "orders":
                for item in message["data"]:
                    order = Order.model_validate(item)
                    known = self._by_ord.get(order.ord_id)
                    if known is not None and known.is_final:
                        continue  # the first final push is the order's last word; later ones are duplicates
                    self._by_ord.pop(order.ord_id, None)  # re-inserted last: the oldest stay first
                    self._by_ord[order.ord_id] = order
                    if order.cl_ord_id:
                        self._by_cl.pop(order.cl_ord_id, None)
                        self._by_cl[order.cl_ord_id] = order
                self._forget_oldest()
            elif channel == "account":
                for item in message["data"]:
                    for detail in item.get("details", []):
                        self._balance[detail["ccy"]] = detail
            elif channel in ("orders-algo", "algo-advance"):
                for item in message["data"]:
                    algo = AlgoOrder.model_validate(item)
                    self._algos.pop(algo.algo_id, None)
                    self._algos[algo.algo_id] = algo
                    if algo.algo_cl_ord_id:
                        self._algos_by_cl.pop(algo.algo_cl_ord_id, None)
                        self._algos_by_cl[algo.algo_cl_ord_id] = algo
                self._forget_oldest()
            self._changed.notify_all()

    def _forget_oldest(self) -> None:
        for kept in (self._by_ord, self._by_cl, self._algos, self._algos_by_cl):
            while len(kept) > self.max_kept:
                del kept[next(iter(kept))]

    def _on_reconnect(self, kind: Url) -> None:
        with self._changed:
            self.epoch += 1
            self._changed.notify_all()

    # -- reads ------------------------------------------------------------------------------------
    def order(self, ref: OrderRef) -> Order | None:
        """The latest pushed state of an order, or None if none was pushed."""
        with self._lock:
            return self._lookup(ref)

    def _lookup(self, ref: OrderRef) -> Order | None:
        found = self._by_ord.get(ref.ord_id) if ref.ord_id else None
        if found is None and ref.cl_ord_id:
            found = self._by_cl.get(ref.cl_ord_id)
        return found if found is not None and found.inst_id == ref.inst_id else None

    def algo(self, algo_id: str | None = None, algo_cl_ord_id: str | None = None) -> AlgoOrder | None:
        """The latest pushed state of an algo order (by algoId, else algoClOrdId), or None if none
        was pushed (or the stream was not opened with ``algos=True``)."""
        with self._lock:
            return self._algo(algo_id, algo_cl_ord_id)

    def _algo(self, algo_id: str | None, algo_cl_ord_id: str | None) -> AlgoOrder | None:
        if algo_id:
            return self._algos.get(algo_id)
        return self._algos_by_cl.get(algo_cl_ord_id) if algo_cl_ord_id else None

    def wait_algo(self, *, algo_id: str | None = None, algo_cl_ord_id: str | None = None,
                  states: Iterable[str] = ("effective", "canceled", "order_failed"),
                  timeout: float = 60.0) -> AlgoOrder:
        """Block until a push shows the algo order in one of ``states`` (by default: final).

        Raises:
            TimeoutError: no such push within ``timeout`` (read REST: it may have been lost).
        """
        wanted, deadline = frozenset(states), time.monotonic() + timeout
        with self._changed:
            while True:
                found = self._algo(algo_id, algo_cl_ord_id)
                if found is not None and found.state in wanted:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"algo order {algo_id or algo_cl_ord_id}: no push in {sorted(wanted)} "
                                       f"within {timeout:g} s")
                self._changed.wait(min(left, 0.25))

    def balance(self) -> Balance:
        """The account as last pushed (snapshot, then the currencies each update changed)."""
        with self._lock:
            return Balance.model_validate({"details": list(self._balance.values())})

    @property
    def usable(self) -> bool:
        """False once the connection stopped for good (a refused login): open a new stream."""
        return self._conn.failure is None

    @property
    def connected(self) -> bool:
        """Whether the private connection is up (logged in) now: an order sent is sent at once."""
        return self._conn.connected

    def wait_final(self, refs: Iterable[OrderRef], *, timeout: float = 60.0, poll_after: float = 5.0,
                   poll_every: float = 2.0, since_epoch: int | None = None, poll_pushed: bool = True,
                   read: Callable[[list[OrderRef]], Sequence[Order | None]] | None = None) -> dict[OrderRef, Order]:
        """Wait until every order is final (filled or canceled), from pushes, with REST behind them.

        An order is read over REST when no push has made it final ``poll_after`` seconds into the
        wait, then every ``poll_every`` seconds, and at once after any reconnect (pushes made
        while disconnected are lost), including one since ``since_epoch`` (the ``epoch`` the
        caller noted when it placed the orders) before the wait began. An order REST does not
        know (yet) is read again later.

        Args:
            poll_pushed: False reads only the orders no push has reached on the ``poll_after``
                schedule: one pushed live is followed by its pushes for as long as the connection
                stays up (any reconnect still reads every order).
            read: reads the state of several orders over REST at once (None where REST does not
                know one); by default one ``trade/order`` request each.

        Returns:
            Every ref with its final state.

        Raises:
            TimeoutError: some order is still not final after ``timeout`` seconds (the message
                names them); what was final is not lost: call again, or read ``order(ref)``.
        """
        pending = list(dict.fromkeys(refs))
        final: dict[OrderRef, Order] = {}
        start = time.monotonic()
        next_poll = start + poll_after
        with self._changed:
            epoch = self.epoch if since_epoch is None else since_epoch
        while True:
            with self._changed:
                for ref in list(pending):
                    found = self._lookup(ref)
                    if found is not None and found.is_final:
                        final[ref] = found
                        pending.remove(ref)
                if not pending:
                    return final
                now = time.monotonic()
                reconnected = self.epoch != epoch
                if now - start >= timeout:
                    names = ", ".join(r.cl_ord_id or r.ord_id for r in pending)
                    raise TimeoutError(f"{len(pending)} order(s) not final after {timeout} s: {names}")
                if not reconnected and now < next_poll:
                    self._changed.wait(min(next_poll - now, timeout - (now - start), 0.25))
                    continue
                epoch = self.epoch
                due = [r for r in pending if reconnected or poll_pushed or self._lookup(r) is None]
            next_poll = time.monotonic() + poll_every
            if not due:
                continue
            self.rest_reads += len(due)
            states = read(due) if read is not None else [self._read_rest(ref) for ref in due]
            for ref, order in zip(due, states, strict=True):
                if order is not None and order.is_final:
                    final[ref] = order
                    pending.remove(ref)

    def _read_rest(self, ref: OrderRef) -> Order | None:
        try:
            return self.rest.order(ref.inst_id, ord_id=ref.ord_id or None, cl_ord_id=ref.cl_ord_id or None)
        except OrderNotFound:
            return None

    # -- order entry ------------------------------------------------------------------------------
    def place(self, order: OrderRequest, *, exp_time_ms: int | None = None) -> OrderAck:
        """Place one order over WebSocket (op ``order``): as ``OkxClient.place_order``, same
        payload, same budget, same refusals."""
        return self._single("order", [order.payload(self._td_mode([order]))], [order.inst_id], exp_time_ms)

    def place_batch(self, orders: Sequence[OrderRequest], *, exp_time_ms: int | None = None) -> list[OrderAck]:
        """Up to 20 orders (op ``batch-orders``); every item's outcome, refusals not raised."""
        _batch_size(orders)
        td_mode = self._td_mode(orders)
        return self._many("batch-orders", [o.payload(td_mode) for o in orders], [o.inst_id for o in orders],
                          exp_time_ms)

    def cancel(self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None) -> OrderAck:
        return self._single("cancel-order", [_ref(inst_id, ord_id, cl_ord_id)], [inst_id], None)

    def cancel_batch(self, refs: Sequence[OrderRef]) -> list[OrderAck]:
        _batch_size(refs)
        return self._many("batch-cancel-orders", [_ref(r.inst_id, r.ord_id or None, r.cl_ord_id or None) for r in refs],
                          [r.inst_id for r in refs], None)

    def amend(self, amend: Amend, *, exp_time_ms: int | None = None) -> OrderAck:
        return self._single("amend-order", [amend.payload()], [amend.inst_id], exp_time_ms)

    def amend_batch(self, amends: Sequence[Amend], *, exp_time_ms: int | None = None) -> list[OrderAck]:
        _batch_size(amends)
        return self._many("batch-amend-orders", [a.payload() for a in amends], [a.inst_id for a in amends],
                          exp_time_ms)

    def _td_mode(self, orders: Sequence[OrderRequest]) -> str:
        return self.rest.spot_td_mode() if any(o.td_mode is None for o in orders) else "cash"

    def _send(self, op: str, args: list[dict[str, Any]], inst_ids: list[str],
              exp_time_ms: int | None) -> dict[str, Any]:
        for item in args:
            cl = item.get("clOrdId")
            if cl is not None and not CL_ORD_ID_PATTERN.fullmatch(str(cl)):
                raise ConfigurationError(f"clOrdId {cl!r} is not 1-32 letters and digits")
        fields = {"expTime": str(exp_time_ms)} if exp_time_ms is not None else {}
        with self.rest.hold_budget(OPS[op].endpoint, inst_ids):
            try:
                reply = self._thread.call(self._conn.request(op, args, **fields), timeout=self._conn.timeout * 2 + 1)
            except TimeoutError:  # the loop did not finish the request: it may have been sent
                raise RequestTimeout(f"no answer to {op} in time; it may or may not have been applied",
                                     request=f"WebSocket {op}") from None
        code = str(reply.get("code", ""))
        data = reply.get("data")
        if code in ("0", "1", "2") and isinstance(data, list) and data:
            return reply
        raise from_code(code, str(reply.get("msg", "")), request=f"WebSocket {op}")

    def _single(self, op: str, args: list[dict[str, Any]], inst_ids: list[str], exp: int | None) -> OrderAck:
        reply = self._send(op, args, inst_ids, exp)
        ack = OrderAck.model_validate(reply["data"][0])
        error = self.rest.item_error(ack, "WebSocket", op)
        if error is not None:
            raise error
        return ack

    def _many(self, op: str, args: list[dict[str, Any]], inst_ids: list[str], exp: int | None) -> list[OrderAck]:
        return [OrderAck.model_validate(item) for item in self._send(op, args, inst_ids, exp)["data"]]


def _ref(inst_id: str, ord_id: str | None, cl_ord_id: str | None) -> dict[str, Any]:
    if not ord_id and not cl_ord_id:
        raise ConfigurationError("name the order by ord_id or cl_ord_id")
    ref: dict[str, Any] = {"instId": inst_id}
    if ord_id:
        ref["ordId"] = ord_id
    else:
        ref["clOrdId"] = cl_ord_id
    return ref


def _batch_size(items: Sequence[Any]) -> None:
    if not 1 <= len(items) <= MAX_BATCH_OPS:
        raise ConfigurationError(f"a batch holds 1..{MAX_BATCH_OPS} items, got {len(items)}")


__all__ = ["MarketStream", "OrderRef", "OrderStream"]
