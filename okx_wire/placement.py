"""Placing orders so that a retry never places one twice.

OKX refuses a duplicate clOrdId only while the first order is pending; once it has filled, the
same clOrdId is accepted again and a blind resend trades twice. So:

1. every order carries a deterministic clOrdId (``okx_wire.orders.client_order_id``);
2. every send carries an ``expTime`` a few seconds ahead, so a delayed original is discarded by
   OKX instead of executing late (50037);
3. when the outcome of a send is unknown (timeout, dropped connection, 5xx, 50004) the order is
   looked up by clOrdId at once; found means placed;
4. any later attempt first waits until the last send's expTime has passed (after which the
   original can no longer execute), then looks the order up, and sends only if it is absent;
5. a 51016 "clOrdId already exists" answer means the order is live: fetch and adopt it;
6. an answer that says "accepted" but names no ordId is an unknown outcome, like a timeout.

The same rules hold whatever carries the send: ``place_once(send=...)`` takes another sender
of the same request (``OkxClient.place_order`` by default; ``OrderStream.place`` enters it over
WebSocket), and the lookups stay on REST, the exchange's own record.

"Later attempt" includes another process and a rerun days later: sends are recorded in a
``SendLog`` before they leave. The default log lives in this process; a flow passes its run
journal (``okx_wire.journal.RunJournal``), which is durable and shared. Every time here
(``expTime``, the wait) is exchange time (``OkxClient.now_ms``), never the local clock, so a
client clock that is off by seconds cannot shorten the wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict

from okx_wire.client import OkxClient
from okx_wire.errors import AmbiguousReply, ConfigurationError, DuplicateClientOrderId, OkxError
from okx_wire.limits import MAX_BATCH_ORDERS
from okx_wire.models import Order, OrderAck
from okx_wire.orders import OrderRequest
from okx_wire.runtime import RUNTIME

log = logging.getLogger(__name__)

DEFAULT_EXP_WINDOW_MS: Final = 5_000
_EXP_MARGIN_MS: Final = 250


class SendLog(Protocol):
    """Where sends are recorded before they leave, so any later attempt knows to look first."""

    def last_send_ms(self, cl_ord_id: str) -> int | None:
        """The expTime (exchange ms) of the latest send of this clOrdId; None if never sent."""

    def record_sends(self, orders: Sequence[OrderRequest], exp_ms: int) -> None:
        """Called before the request carrying ``orders`` leaves, with its expTime."""

    def record_refusal(self, orders: Sequence[OrderRequest], error: str) -> None:
        """The exchange answered that these were not placed (the send is settled: no order)."""


#: Sends one order with its expTime (exchange ms) and returns the venue's acknowledgement, raising
#: what ``OkxClient.place_order`` raises: ``OkxClient.place_order`` itself, or ``OrderStream.place``.
Sender = Callable[[OrderRequest, int], OrderAck]


class ProcessSendLog:
    """The default ``SendLog``: this process's memory (a retry in the same process)."""

    def __init__(self) -> None:
        self._exp: dict[str, int] = {}
        self._lock = threading.Lock()

    def last_send_ms(self, cl_ord_id: str) -> int | None:
        with self._lock:
            return self._exp.get(cl_ord_id)

    def record_sends(self, orders: Sequence[OrderRequest], exp_ms: int) -> None:
        with self._lock:
            for order in orders:
                self._exp[order.cl_ord_id or ""] = exp_ms

    def record_refusal(self, orders: Sequence[OrderRequest], error: str) -> None:
        """Nothing to do: a refused id is only ever sent again by a caller that decided so."""

    def forget(self) -> None:
        """Forget every send (``RUNTIME.reset`` does this for ``PROCESS_SENDS``)."""
        with self._lock:
            self._exp.clear()


#: The send log of this process, the default of every function here; emptied by ``RUNTIME.reset``.
PROCESS_SENDS: Final = ProcessSendLog()
RUNTIME.on_reset(PROCESS_SENDS.forget)


class Placement(BaseModel):
    """The outcome of placing one order: placed (new or adopted) or refused with OKX's reason."""

    model_config = ConfigDict(frozen=True)

    inst_id: str
    cl_ord_id: str
    ord_id: str | None = None
    adopted: bool = False
    error_code: str | None = None
    error: str | None = None
    #: The send's outcome could not be learned (the order may exist): never counted as placed.
    outcome_unknown: bool = False

    @property
    def ok(self) -> bool:
        return self.ord_id is not None and self.error_code is None


def _require_id(order: OrderRequest) -> str:
    if not order.cl_ord_id:
        raise ConfigurationError(
            f"{order.inst_id}: orders need a clOrdId to be retry-safe; derive one with "
            "okx_wire.orders.client_order_id(flow_run_id, spec_name, leg)"
        )
    return order.cl_ord_id


def _wait_out(client: OkxClient, exp: int | None, what: str, sleep: Callable[[float], None]) -> None:
    """Sleep until exchange time is past ``exp`` (plus a margin): no earlier send can execute then."""
    if exp is None:
        return
    remaining = exp + _EXP_MARGIN_MS - client.now_ms()
    if remaining > 0:
        log.info("%s: waiting %.2f s for the previous send's expTime to pass", what, remaining / 1000)
        sleep(remaining / 1000)


def _adopted(order: Order) -> Placement:
    return Placement(inst_id=order.inst_id, cl_ord_id=order.cl_ord_id, ord_id=order.ord_id, adopted=True)


def lookup(client: OkxClient, order: OrderRequest, *, sends: SendLog = PROCESS_SENDS,
           sleep: Callable[[float], None] = time.sleep) -> Placement | None:
    """The existing order with this clOrdId, once no earlier send of it can still execute."""
    cl_ord_id = _require_id(order)
    _wait_out(client, sends.last_send_ms(cl_ord_id), f"clOrdId {cl_ord_id}", sleep)
    found = client.find_order(order.inst_id, cl_ord_id)
    return _adopted(found) if found is not None else None


def place_once(
    client: OkxClient,
    order: OrderRequest,
    *,
    resend: bool,
    exp_window_ms: int = DEFAULT_EXP_WINDOW_MS,
    sends: SendLog = PROCESS_SENDS,
    sleep: Callable[[float], None] = time.sleep,
    send: Sender | None = None,
) -> Placement:
    """Place ``order`` unless it already exists. ``resend`` says an earlier attempt may have sent
    it even if ``sends`` has no record (a Prefect retry, an id reused on purpose). ``send``
    carries the request (default: ``client.place_order``); whatever carries it, the send is
    recorded first and an unknown outcome is looked up over REST.

    Raises the send's error when the outcome stays unknown, so the caller's retry comes back
    here with ``resend=True``; raises refusals (balance, parameters...) as they are.
    """
    cl_ord_id = _require_id(order)
    _know_the_mode(client, [order])
    if resend or sends.last_send_ms(cl_ord_id) is not None:
        existing = lookup(client, order, sends=sends, sleep=sleep)
        if existing is not None:
            log.info("clOrdId %s already exists as order %s: adopted, not resent", cl_ord_id, existing.ord_id)
            return existing
    exp = client.now_ms() + exp_window_ms
    sends.record_sends([order], exp)
    try:
        ack = send(order, exp) if send is not None else client.place_order(order, exp_time_ms=exp)
    except DuplicateClientOrderId:
        found = client.find_order(order.inst_id, cl_ord_id)
        if found is None:
            raise
        return _adopted(found)
    except OkxError as exc:
        if not exc.outcome_unknown:
            sends.record_refusal([order], str(exc))
            raise
        found = client.find_order(order.inst_id, cl_ord_id)
        if found is not None:
            log.info("clOrdId %s: send failed (%s) but the order exists: adopted", cl_ord_id, type(exc).__name__)
            return _adopted(found)
        raise
    if not ack.ord_id:
        # "Accepted" with no ordId proves nothing: only the exchange's own record does.
        found = client.find_order(order.inst_id, cl_ord_id)
        if found is None:
            raise _no_ord_id(order)
        return _adopted(found)
    return Placement(inst_id=order.inst_id, cl_ord_id=cl_ord_id, ord_id=ack.ord_id)


def _no_ord_id(order: OrderRequest) -> OkxError:
    return AmbiguousReply(f"{order.inst_id} clOrdId {order.cl_ord_id}: the venue answered success without an "
                          "ordId -- the order may or may not exist; the next attempt looks it up")


def _unknown(order: OrderRequest, error: OkxError) -> Placement:
    return Placement(inst_id=order.inst_id, cl_ord_id=order.cl_ord_id or "", error_code="unknown",
                     error=str(error), outcome_unknown=True)


def _refused(order: OrderRequest, ack: OrderAck, error: OkxError | None) -> Placement:
    return Placement(inst_id=order.inst_id, cl_ord_id=order.cl_ord_id or "", error_code=ack.s_code,
                     error=str(error) if error else ack.s_msg.strip())


def _know_the_mode(client: OkxClient, orders: Sequence[OrderRequest]) -> None:
    """Read the account mode (which sets the tdMode of orders that leave it to the account)
    before anything is recorded as sent: a failed read then sends and records nothing."""
    if any(order.td_mode is None for order in orders):
        client.spot_td_mode()


def place_batch_once(
    client: OkxClient,
    orders: Sequence[OrderRequest],
    *,
    resend: bool,
    exp_window_ms: int = DEFAULT_EXP_WINDOW_MS,
    sends: SendLog = PROCESS_SENDS,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Placement]:
    """Place many orders in batches of at most 20, each at most once; one Placement per order,
    in order. Item refusals are returned, not raised, so one bad leg never hides the others."""
    ids = [_require_id(order) for order in orders]
    if len(set(ids)) != len(ids):
        raise ConfigurationError("a batch holds the same clOrdId twice; give every leg its own id")
    _know_the_mode(client, orders)
    results: dict[str, Placement] = {}
    to_send: list[OrderRequest] = []
    previous = {cl_ord_id: sends.last_send_ms(cl_ord_id) for cl_ord_id in ids}
    if resend or any(exp is not None for exp in previous.values()):
        # One wait for the latest earlier send, not one per order.
        _wait_out(client, max((e for e in previous.values() if e is not None), default=None),
                  f"{len(ids)} clOrdIds", sleep)
    for order in orders:
        existing = (client.find_order(order.inst_id, order.cl_ord_id or "")
                    if resend or previous[order.cl_ord_id or ""] is not None else None)
        if existing is not None:
            results[existing.cl_ord_id] = _adopted(existing)
        else:
            to_send.append(order)
    for start in range(0, len(to_send), MAX_BATCH_ORDERS):
        chunk = to_send[start:start + MAX_BATCH_ORDERS]
        exp = client.now_ms() + exp_window_ms
        sends.record_sends(chunk, exp)
        try:
            acks = client.place_batch_orders(chunk, exp_time_ms=exp)
        except OkxError as exc:
            if not exc.outcome_unknown:
                sends.record_refusal(chunk, str(exc))
                raise
            missing = []
            for order in chunk:
                found = client.find_order(order.inst_id, order.cl_ord_id or "")
                if found is None:
                    missing.append(order.cl_ord_id)
                else:
                    results[found.cl_ord_id] = _adopted(found)
            if missing:
                raise
            continue
        for order, ack in zip(chunk, acks, strict=True):
            error = client.item_error(ack, "POST", "/api/v5/trade/batch-orders")
            if error is None and not ack.ord_id:
                error = _no_ord_id(order)
            if error is not None and error.outcome_unknown:
                # Accepted without an ordId, or an item timed out: ask the exchange.
                found = client.find_order(order.inst_id, order.cl_ord_id or "")
                results[order.cl_ord_id or ""] = (_adopted(found) if found else
                                                  _unknown(order, error))
            elif error is None:
                results[order.cl_ord_id or ""] = Placement(inst_id=order.inst_id, cl_ord_id=ack.cl_ord_id,
                                                          ord_id=ack.ord_id)
            elif isinstance(error, DuplicateClientOrderId):
                found = client.find_order(order.inst_id, order.cl_ord_id or "")
                results[order.cl_ord_id or ""] = _adopted(found) if found else _refused(order, ack, error)
            else:
                results[order.cl_ord_id or ""] = _refused(order, ack, error)
    return [results[cl_ord_id] for cl_ord_id in ids]
