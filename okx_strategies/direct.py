"""The direct binding of the venue port: the OKX client and ``okx_wire.placement``, no Prefect.

``okx-flows plan`` reads through it, and so does anything that wants the pipeline without an
orchestrator (the benchmark's direct side). Each method is the body of the matching task in
``okx_tasks.tasks`` minus the engine: no retries, no task runs, no logs sent anywhere.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Final, TypeVar

from okx_strategies.base import fee_rate_of
from okx_strategies.plan import FeeRate
from okx_wire import placement
from okx_wire.algo_orders import AlgoOrder
from okx_wire.errors import OkxError, OrderNotFound
from okx_wire.models import Balance, Fill, Instrument, Order, OrderBook, Ticker, TradeFee
from okx_wire.orders import OrderRequest

if TYPE_CHECKING:  # the streams (and ``websockets``) are imported only where they are given
    from okx_strategies.pushes import PushWait
    from okx_wire.ws.streams import MarketStream, OrderStream

#: OKX's page size on orders-pending.
PENDING_PAGE = 100

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Network errors, timeouts, 5xx, rate limits and busy answers: worth another try."""
    import requests

    if isinstance(exc, OkxError):
        return exc.retriable
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError))


def _read_one(read: Callable[[], T]) -> T | Exception:
    """``read()``, or the transient failure it met (anything else is raised)."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - only transient failures are kept
        if not is_transient(exc):
            raise
        return exc


#: From this many orders in one poll on, their final states are looked up in the account's order
#: history (100 a request) before any order is read on its own (one request each).
HISTORY_FROM: Final = 10
#: OKX's page size on orders-history.
HISTORY_PAGE: Final = 100


def _final_from_history(client: Any, wanted: Mapping[str, str]) -> dict[str, Order]:
    """The orders of ``wanted`` (ordId -> instId) that the account's order history (the last 7
    days' final orders, newest ordId first) already lists; ``{}`` when it cannot be read.

    Pages are followed by OKX's ``after`` cursor until every wanted order is found or the pages
    pass the oldest wanted ordId (the history is ordered by ordId), and for at most
    ``len(wanted) / 100 + 2`` pages: a busy account's other orders never turn this into more
    requests than reading each order would be. What is not found is read on its own."""
    try:
        oldest = min(int(ord_id) for ord_id in wanted)
    except ValueError:  # not OKX's numeric ids: no order to compare the pages with
        return {}
    found: dict[str, Order] = {}
    after: str | None = None
    for _ in range(len(wanted) // HISTORY_PAGE + 2):
        page = _read_one(partial(client.request, "GET", "/api/v5/trade/orders-history",
                                 params={"instType": "SPOT", "after": after, "limit": HISTORY_PAGE}))
        if isinstance(page, Exception):
            return found  # a transient failure: what is missing is read on its own
        for item in page:
            if item.get("ordId") in wanted and item.get("instId") == wanted[item["ordId"]]:
                order = Order.model_validate(item)
                if order.is_final:
                    found[order.ord_id] = order
        last = str(page[-1].get("ordId", "")) if page else ""
        if len(page) < HISTORY_PAGE or len(found) == len(wanted) or not last.isdigit() or int(last) <= oldest:
            break
        after = last
    return found


def read_order_states(client: Any, refs: Sequence[tuple[str, str]]) -> list[Order | Exception]:
    """Each order's state; a transient failure of one read is returned in its place (the caller
    polls again), anything else is raised.

    OKX has no batch read of orders by id, so each order is one ``trade/order`` request, except
    that from ``HISTORY_FROM`` orders on, those already final are first taken from the account's
    order history, 100 a request (the first poll after marketable orders are placed finds most
    of them there: 200 orders are 2 requests, not 200). An order the history does not list
    (still live, or not listed yet) is read on its own, so a stale or missing history only costs
    requests, never a wrong state."""
    found = _final_from_history(client, {o: i for i, o in refs}) if len(refs) >= HISTORY_FROM else {}
    return [found[ord_id] if ord_id in found else _read_one(partial(client.order, inst_id, ord_id=ord_id))
            for inst_id, ord_id in refs]


#: Books read at once by one call (the client's connection pool is 16).
BOOKS_IN_FLIGHT: Final = 16


def read_books(client: Any, inst_ids: Sequence[str], depth: int) -> list[OrderBook | Exception]:
    """Each instrument's book, up to ``BOOKS_IN_FLIGHT`` at once (the client's limiter spaces
    them within the budget); a transient failure is returned in its place, anything else raised."""
    if len(inst_ids) <= 1:
        return [_read_one(partial(client.order_book, inst_id, depth)) for inst_id in inst_ids]
    with ThreadPoolExecutor(max_workers=min(BOOKS_IN_FLIGHT, len(inst_ids))) as pool:
        futures = [pool.submit(_read_one, partial(client.order_book, inst_id, depth)) for inst_id in inst_ids]
        return [future.result() for future in futures]


def all_pending_orders(client: Any, inst_id: str | None = None, inst_type: str = "SPOT") -> list[Order]:
    """Every resting order of the account (or of one instrument), following OKX's ``after``
    cursor (the ordId of the last order of a page) over as many pages as there are."""
    found: list[Order] = []
    after: str | None = None
    while True:
        page = client.request("GET", "/api/v5/trade/orders-pending",
                              params={"instType": inst_type, "instId": inst_id, "after": after,
                                      "limit": PENDING_PAGE})
        found += [Order.model_validate(item) for item in page]
        if len(page) < PENDING_PAGE:
            return found
        after = page[-1]["ordId"]


def spot_fee_rates(fee: TradeFee, inst_ids: Sequence[str]) -> dict[str, FeeRate]:
    """Each instrument's rate from one ``trade_fee("SPOT")`` answer: OKX sets the spot fee tier
    per instrument type, so one read (of a budget of 5 per 2 s) covers every instrument."""
    rate = fee_rate_of(fee, f"the account's SPOT fee tier{' ' + fee.level if fee.level else ''}")
    return {inst_id: rate for inst_id in inst_ids}


def cancel_and_read(client: Any, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None) -> Order:
    """Cancel and return the order's state; an order already final is returned as it is."""
    with contextlib.suppress(OrderNotFound):
        client.cancel_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
    return client.order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)


class DirectVenue:
    """``base.Venue`` over one ``OkxClient``, and the venue's WebSocket streams where given.

    Args:
        client: the client every call uses.
        label: where it trades, safe to print.
        resend: look every clOrdId up before sending it (the safe default: nothing here proves
            an earlier attempt did not send it); False only for ids made fresh for this call.
        orders: an open order stream of the same account (``pushes.open_order_stream``): waits
            for placed orders settle on its pushes. None: by polling.
        market: a market stream of the same venue: ``live_book`` serves its books. None: REST.
    """

    def __init__(self, client: Any, label: str = "", *, resend: bool = True, orders: OrderStream | None = None,
                 market: MarketStream | None = None) -> None:
        self.client = client
        self.label = label
        self.resend = resend
        self.orders = orders
        self.market = market
        #: The order stream's epoch when the orders the next wait is for were placed.
        self._placed_epoch: int | None = None

    def instruments(self) -> list[Instrument]:
        return list(self.client.instruments("SPOT"))

    def balances(self, ccys: Sequence[str]) -> dict[str, Decimal]:
        balance = self.client.balance(list(ccys))
        return {ccy: balance.available(ccy) for ccy in ccys}

    def balance_sheet(self) -> Balance:
        return self.client.balance()

    def books(self, inst_ids: Sequence[str], depth: int) -> dict[str, OrderBook]:
        # As the flow (tasks.get_order_books): several at once; no retries here, so a failure raises.
        books: dict[str, OrderBook] = {}
        for inst_id, book in zip(inst_ids, read_books(self.client, inst_ids, depth), strict=True):
            if isinstance(book, Exception):
                raise book
            books[inst_id] = book
        return books

    def book(self, inst_id: str, depth: int) -> OrderBook:
        return self.client.order_book(inst_id, depth)

    def live_book(self, inst_id: str, depth: int) -> OrderBook:
        if self.market is None:
            return self.book(inst_id, depth)
        from okx_strategies import pushes

        return pushes.live_book(self.market, self.book, inst_id, depth)[0]

    def tickers(self, inst_type: str = "SPOT") -> dict[str, Ticker]:
        return {t.inst_id: t for t in self.client.tickers(inst_type)}

    def fee_rates(self, inst_ids: Sequence[str]) -> dict[str, FeeRate]:
        return spot_fee_rates(self.client.trade_fee("SPOT"), inst_ids)

    def place_one(self, request: OrderRequest, instrument: Instrument | None,
                  sends: placement.SendLog | None) -> placement.Placement:
        if instrument is not None:
            request.check(instrument)
        self._note_epoch()
        return placement.place_once(self.client, request, resend=self.resend, sends=sends or placement.PROCESS_SENDS)

    def place_batch(self, requests: Sequence[OrderRequest], instruments: Mapping[str, Instrument], label: str,
                    sends: placement.SendLog | None) -> list[placement.Placement]:
        for request in requests:
            if request.inst_id in instruments:
                request.check(instruments[request.inst_id])
        self._note_epoch()
        return placement.place_batch_once(self.client, requests, resend=self.resend,
                                          sends=sends or placement.PROCESS_SENDS)

    def _note_epoch(self) -> None:
        if self.orders is not None and self._placed_epoch is None:
            self._placed_epoch = self.orders.epoch

    def order_states(self, refs: Sequence[tuple[str, str]]) -> list[Order | Exception]:
        return read_order_states(self.client, refs)

    def wait_pushed(self, refs: Sequence[tuple[str, str]], timeout_s: float) -> PushWait | None:
        if self.orders is None or not self.orders.usable:
            return None
        from okx_strategies import pushes

        since, self._placed_epoch = self._placed_epoch, None
        return pushes.wait_pushed(self.orders, partial(read_order_states, self.client), refs, timeout_s, since)

    def order(self, inst_id: str, ord_id: str) -> Order:
        return self.client.order(inst_id, ord_id=ord_id)

    def cancel(self, inst_id: str, ord_id: str) -> Order:
        return cancel_and_read(self.client, inst_id, ord_id=ord_id)

    def pending(self, inst_id: str | None = None) -> list[Order]:
        return all_pending_orders(self.client, inst_id)

    def fills(self, inst_id: str) -> list[Fill]:
        return list(self.client.fills(inst_id=inst_id))

    def protection(self, algo_cl_ord_id: str) -> AlgoOrder | None:
        return self.client.find_algo_order(algo_cl_ord_id)

    def cancel_all_after(self, timeout_s: int, tag: str) -> None:
        self.client.cancel_all_after(timeout_s, tag=tag)

    def fills_since(self, begin_ms: int) -> list[Fill]:
        return list(self.client.fills_since(begin_ms))


@dataclass
class DirectResult:
    """What a direct run did (the fields a strategy's ``execute`` fills in)."""

    placements: list[placement.Placement] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _NoSettlement:
    cancelled: list[Order] = field(default_factory=list)


@dataclass
class DirectRun:
    """``base.Run`` without an orchestrator, journal or account lock: a strategy's ``execute``
    over a ``DirectVenue``, placing with the run's deterministic clOrdIds (benchmarks, scripts)."""

    spec: Any
    venue: Any
    instruments: dict[str, Instrument]
    plan: Any
    key: str
    dry: bool = False
    result: DirectResult = field(default_factory=DirectResult)
    settlement: Any = field(default_factory=_NoSettlement)
    resumed: Any = None
    log: Any = field(default_factory=lambda: logging.getLogger("okx_strategies.direct"))

    def __post_init__(self) -> None:
        from okx_strategies import pipeline

        self.ids = pipeline.leg_ids(self.plan, self.spec.name, self.key)
        self.tag = pipeline.order_tag(self.spec.name)

    @property
    def strategy(self) -> Any:
        return self.spec.strategy

    @property
    def risk(self) -> Any:
        return self.spec.risk

    @property
    def spec_name(self) -> str:
        return str(self.spec.name)

    def leg_id(self, leg: str) -> str:
        from okx_wire.orders import client_order_id

        self.ids[leg] = client_order_id(self.key, self.spec.name, leg)
        return self.ids[leg]

    def place(self, legs: Sequence[Any], label: str) -> list[placement.Placement]:
        from okx_strategies import pipeline

        requests = [pipeline.to_request(leg, self.ids[leg.leg], self.tag) for leg in legs]
        return pipeline.place(self.venue, requests, self.instruments, label=label)

    def settle(self, placements: Sequence[placement.Placement], timeout_s: float | None = None,
               cancel_rest: bool = True) -> list[Order]:
        from okx_strategies import pipeline

        return pipeline.settle(self.venue, placements, timeout_s=pipeline.SETTLE_TIMEOUT_S if timeout_s is None
                               else timeout_s, cancel_rest=cancel_rest, log=self.log)

    def fills(self, orders: Sequence[Order]) -> list[Fill]:
        from okx_strategies import pipeline

        return pipeline.fills_of(self.venue, orders)

    def record(self, orders: Sequence[Order]) -> None:
        """Nothing to record: a direct run keeps no journal."""

    def progress(self, fraction: float, description: str) -> None:
        self.log.info("%s (%.0f%%)", description, fraction)
