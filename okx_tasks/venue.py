"""The Prefect binding of the venue port: every call is one retried task of ``okx_tasks.tasks``.

The flows run the pipeline (``okx_strategies.pipeline``) through this; ``okx-flows plan``
runs the same pipeline through ``okx_strategies.direct.DirectVenue``. Tasks are looked up on
``okx_tasks.tasks`` at call time, so a test or a caller that swaps one (``with_options``) is
seen here.

With the WebSocket setting on (``OKX_FLOWS_WEBSOCKET``, the default), the venue opens the
process's warm order stream for its key before it places anything (so every push about the
orders placed is received), and a wait for placed orders is one ``okx-wait-orders`` task run on
those pushes, followed by the same ``okx-order-states`` read the polling wait makes. A venue
whose stream cannot be had (no WebSocket, a refused login) settles by polling and says so once
in the run's log. TWAP slices read their book through ``okx-live-book`` (the public stream's
copy, REST where it is not current).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from prefect.logging import get_run_logger

from okx_strategies.direct import spot_fee_rates
from okx_strategies.plan import FeeRate
from okx_strategies.pushes import PushWait, why_not
from okx_tasks import algo_orders as algo_tasks
from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials
from okx_wire.algo_orders import AlgoOrder
from okx_wire.errors import OkxError
from okx_wire.models import Balance, Fill, Instrument, Order, OrderBook, Ticker, TradeFee
from okx_wire.orders import OrderRequest
from okx_wire.placement import Placement, SendLog
from okx_wire.runtime import RUNTIME
from okx_wire.ws.streams import OrderStream


class PrefectVenue:
    """``okx_strategies.base.Venue`` over an ``OkxCredentials`` block, one task run per call.

    Args:
        credentials: the block (resolved inside the run; never a flow parameter).
        label: where it trades, safe to log.
        websocket: settle on pushes and price TWAP slices from the stream (None: the
            ``websocket`` setting, ``OKX_FLOWS_WEBSOCKET``, on by default).
    """

    def __init__(self, credentials: OkxCredentials, label: str = "", *, websocket: bool | None = None) -> None:
        self.credentials = credentials
        self.label = label
        self.websocket = RUNTIME.settings.websocket if websocket is None else websocket
        self._fee: TradeFee | None = None
        #: Why this venue settles by polling although WebSocket is on (said once in the log).
        self._no_stream: str | None = None
        #: The order stream's epoch when the orders the next wait is for were placed.
        self._placed_epoch: int | None = None

    def _order_stream(self) -> OrderStream | None:
        """The warm order stream, or None (the setting is off, or it cannot be had: said once)."""
        if not self.websocket or self._no_stream is not None:
            return None
        try:
            return self.credentials.get_order_stream()
        except OkxError as exc:
            self._no_stream = why_not(exc)
            _log().warning("settling orders by polling REST: no order stream on %s (%s)", self.label or "the venue",
                           self._no_stream)
            return None

    def _before_placing(self) -> None:
        # Open (subscribed) before the first order leaves, so no push about it can be missed.
        stream = self._order_stream()
        if stream is not None and self._placed_epoch is None:
            self._placed_epoch = stream.epoch

    def instruments(self) -> list[Instrument]:
        return list(tasks.get_instruments(self.credentials, "SPOT"))

    def balances(self, ccys: Sequence[str]) -> dict[str, Decimal]:
        balance = tasks.get_balance(self.credentials, list(ccys))
        return {ccy: balance.available(ccy) for ccy in ccys}

    def balance_sheet(self) -> Balance:
        return tasks.get_balance(self.credentials)

    def books(self, inst_ids: Sequence[str], depth: int) -> dict[str, OrderBook]:
        # One task run reads them all at once; a book whose read failed (transiently) is read
        # again by a task of its own, with the read retries, so one bad answer fails nothing.
        if len(inst_ids) == 1:
            return {inst_ids[0]: self.book(inst_ids[0], depth)}
        read = dict(zip(inst_ids, tasks.get_order_books(self.credentials, list(inst_ids), depth), strict=True)
                    ) if inst_ids else {}
        books = {inst_id: book for inst_id, book in read.items() if not isinstance(book, Exception)}
        again = {inst_id: tasks.get_order_book.submit(self.credentials, inst_id, depth)
                 for inst_id in inst_ids if inst_id not in books}
        books.update({inst_id: future.result() for inst_id, future in again.items()})
        return {inst_id: books[inst_id] for inst_id in inst_ids}

    def book(self, inst_id: str, depth: int) -> OrderBook:
        return tasks.get_order_book(self.credentials, inst_id, depth)

    def live_book(self, inst_id: str, depth: int) -> OrderBook:
        if not self.websocket:
            return self.book(inst_id, depth)
        return tasks.get_live_book(self.credentials, inst_id, depth)

    def tickers(self, inst_type: str = "SPOT") -> dict[str, Ticker]:
        return {t.inst_id: t for t in tasks.get_tickers(self.credentials, inst_type)}

    def fee_rates(self, inst_ids: Sequence[str]) -> dict[str, FeeRate]:
        # Read once per run (a venue serves one run): the tier does not change within it, and
        # the endpoint's budget is only 5 requests per 2 s.
        if self._fee is None:
            self._fee = tasks.get_trade_fee(self.credentials, "SPOT")
        return spot_fee_rates(self._fee, inst_ids)

    def place_one(self, request: OrderRequest, instrument: Instrument | None, sends: SendLog | None) -> Placement:
        self._before_placing()
        return tasks.place_order(self.credentials, request, instrument, sends=sends)

    def place_batch(self, requests: Sequence[OrderRequest], instruments: Mapping[str, Instrument], label: str,
                    sends: SendLog | None) -> list[Placement]:
        self._before_placing()
        return tasks.place_batch_orders(self.credentials, list(requests), dict(instruments), label=label, sends=sends)

    def order_states(self, refs: Sequence[tuple[str, str]]) -> list[Order | Exception]:
        return tasks.get_order_states(self.credentials, list(refs))

    def wait_pushed(self, refs: Sequence[tuple[str, str]], timeout_s: float) -> PushWait | None:
        if self._order_stream() is None:
            return None
        since, self._placed_epoch = self._placed_epoch, None
        waited = tasks.wait_orders(self.credentials, list(refs), timeout_s, since)
        if waited is None:  # the stream went away and could not be reopened: poll from now on
            self._no_stream = "the order stream was lost"
        return waited

    def order(self, inst_id: str, ord_id: str) -> Order:
        return tasks.get_order(self.credentials, inst_id, ord_id=ord_id)

    def cancel(self, inst_id: str, ord_id: str) -> Order:
        return tasks.cancel_order(self.credentials, inst_id, ord_id=ord_id)

    def pending(self, inst_id: str | None = None) -> list[Order]:
        return tasks.get_all_pending_orders(self.credentials, inst_id)

    def fills(self, inst_id: str) -> list[Fill]:
        return list(tasks.get_fills(self.credentials, inst_id))

    def protection(self, algo_cl_ord_id: str) -> AlgoOrder | None:
        return algo_tasks.find_algo_order(self.credentials, algo_cl_ord_id)

    def cancel_all_after(self, timeout_s: int, tag: str) -> None:
        tasks.arm_cancel_all_after(self.credentials, timeout_s, tag)

    def fills_since(self, begin_ms: int) -> list[Fill]:
        return list(tasks.get_fills_since(self.credentials, begin_ms))


def _log() -> logging.Logger | logging.LoggerAdapter[Any]:
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run: a plain logger
        return logging.getLogger("okx_tasks.venue")
