"""Prefect tasks over the OKX client: small, observable, retryable pieces for flows.

Conventions, all deliberate:
- every task takes the ``OkxCredentials`` block, never a raw secret, and returns typed models;
- no task caches or persists its result (``NO_CACHE``, ``persist_result=False``): inputs hold the
  block and results may hold account data, neither belongs on disk or in a cache key;
- retries are Prefect's, limited by ``retry_transient`` to failures that can improve and are
  safe to repeat; order placement is made safe to repeat by ``okx_wire.placement``;
- timeouts are the HTTP client's (a Prefect task timeout cannot interrupt a blocking call);
- a task is one OKX call (or one batch of them) and one log line; loops such as waiting for
  orders to fill live in the pipeline (``okx_strategies.pipeline``), which calls these tasks
  through ``okx_tasks.venue.PrefectVenue``. The one wait that is a task run, ``wait_orders``,
  waits on the pushes of the process's order stream (``okx_strategies.pushes`` holds the
  algorithm), because its REST reads belong to one step of the run and are counted there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging import get_run_logger
from pydantic import BaseModel, ConfigDict, SecretStr

from okx_strategies.direct import all_pending_orders, read_books, read_order_states
from okx_strategies.pushes import PushWait, live_book, wait_pushed
from okx_tasks.blocks import OkxCredentials
from okx_tasks.retry import JITTER, READ_RETRY_DELAYS, TRADE_RETRY_DELAYS, retry_transient
from okx_wire import placement
from okx_wire.endpoints import PAGE_LIMIT
from okx_wire.errors import OkxError, OrderNotFound
from okx_wire.models import (
    AccountConfig,
    Balance,
    Bill,
    DeadManTimer,
    Fill,
    Instrument,
    MaxAvailSize,
    MaxSize,
    Order,
    OrderAck,
    OrderBook,
    Ticker,
    TradeFee,
)
from okx_wire.orders import Amend, OrderRequest
from okx_wire.ws.protocol import Url

_COMMON: dict[str, Any] = {
    "retry_jitter_factor": JITTER,
    "retry_condition_fn": retry_transient,
    "cache_policy": NO_CACHE,
    "persist_result": False,
}
READ = {"retries": len(READ_RETRY_DELAYS), "retry_delay_seconds": READ_RETRY_DELAYS, **_COMMON}
TRADE = {"retries": len(TRADE_RETRY_DELAYS), "retry_delay_seconds": TRADE_RETRY_DELAYS, **_COMMON}


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run (task.fn in tests): a plain logger
        return logging.getLogger("okx_tasks.tasks")


def _is_resend() -> bool:
    """True unless this is provably the first attempt of the first run of this flow run.

    Only then can no earlier attempt have sent the same clOrdIds; outside Prefect nothing proves
    it, so the order is looked up first.
    """
    task_ctx = TaskRunContext.get()
    if task_ctx is None or task_ctx.task_run.run_count > 1:
        return True
    flow_ctx = FlowRunContext.get()
    return flow_ctx is not None and flow_ctx.flow_run is not None and flow_ctx.flow_run.run_count > 1


# -- time, account, market -------------------------------------------------------------------


@task(name="okx-sync-server-time", task_run_name="sync-server-time", **READ)
def sync_server_time(credentials: OkxCredentials) -> int:
    """Learn the venue's clock, so every later request is stamped in exchange time.

    Args:
        credentials: the key and venue.

    Returns:
        The offset in ms that the client now applies to its timestamps.
    """
    offset = credentials.get_client().sync_time()
    _logger().info("server clock offset %+d ms", offset)
    return offset


@task(name="okx-balance", task_run_name="balance", **READ)
def get_balance(credentials: OkxCredentials, ccys: Sequence[str] | None = None) -> Balance:
    """The trading account's balance.

    Args:
        credentials: the key and venue.
        ccys: only these currencies (None: every currency held).

    Returns:
        The balance, with total, available and frozen amounts per currency.
    """
    balance = credentials.get_client().balance(ccys)
    _logger().info("balance: %d currencies", len(balance.details))
    return balance


@task(name="okx-account-config", task_run_name="account-config", **READ)
def get_account_config(credentials: OkxCredentials) -> AccountConfig:
    """The key's account configuration: uid, permissions, IP whitelist.

    Args:
        credentials: the key and venue.

    Returns:
        The account configuration.
    """
    config = credentials.get_client().account_config()
    _logger().info("key permissions: %s; IP whitelist: %s", ",".join(config.perm), ",".join(config.ip) or "none")
    return config


@task(name="okx-order-book", task_run_name="order-book-{inst_id}", **READ)
def get_order_book(credentials: OkxCredentials, inst_id: str, depth: int = 1) -> OrderBook:
    """One instrument's order book.

    Args:
        credentials: the key and venue.
        inst_id: the instrument, e.g. ``BTC-USDT``.
        depth: price levels per side.

    Returns:
        The book (bids and asks, best first).
    """
    return credentials.get_client().order_book(inst_id, depth)


@task(name="okx-order-books", task_run_name="order-books", **READ)
def get_order_books(credentials: OkxCredentials, inst_ids: Sequence[str],
                    depth: int = 1) -> list[OrderBook | Exception]:
    """Several instruments' order books, read at once in one task run (a task run per book
    costs more than the book: about 14 ms to submit each, 0.5 s for 40).

    A transient failure of one read comes back in that book's place instead of failing the
    task, so one bad answer does not repeat every read: ``PrefectVenue.books`` reads that book
    again through ``get_order_book`` (with its retries).

    Args:
        credentials: the key and venue.
        inst_ids: the instruments, e.g. ``["BTC-USDT", "ETH-USDT"]``.
        depth: price levels per side.

    Returns:
        Per instrument, in order: its book, or the transient error its read met.
    """
    books = read_books(credentials.get_client(), inst_ids, depth)
    failed = sum(isinstance(b, Exception) for b in books)
    _logger().info("%d order book(s) read, %d level(s) deep%s", len(books) - failed, depth,
                   f"; {failed} read(s) failed, read again on their own" if failed else "")
    return books


@task(name="okx-ticker", task_run_name="ticker-{inst_id}", **READ)
def get_ticker(credentials: OkxCredentials, inst_id: str) -> Ticker:
    """One instrument's ticker.

    Args:
        credentials: the key and venue.
        inst_id: the instrument.

    Returns:
        The ticker (last, best bid and ask, 24 h volume).
    """
    return credentials.get_client().ticker(inst_id)


@task(name="okx-tickers", task_run_name="tickers-{inst_type}", **READ)
def get_tickers(credentials: OkxCredentials, inst_type: str = "SPOT") -> list[Ticker]:
    """Every ticker of an instrument type.

    Args:
        credentials: the key and venue.
        inst_type: OKX instrument type.

    Returns:
        One ticker per instrument.
    """
    return credentials.get_client().tickers(inst_type)


@task(name="okx-trade-fee", task_run_name="trade-fee-{inst_type}", **READ)
def get_trade_fee(credentials: OkxCredentials, inst_type: str = "SPOT", inst_id: str | None = None) -> TradeFee:
    """The account's fee rates (its fee tier) for an instrument type.

    A run reads it once (``PrefectVenue`` keeps the answer for the run): OKX's spot tier is per
    instrument type, and the endpoint's budget is only 5 requests per 2 s.

    Args:
        credentials: the key and venue.
        inst_type: OKX instrument type.
        inst_id: one instrument, where its rate may differ from the type's (None: the type's).

    Returns:
        The rates: ``taker_rate`` and ``maker_rate`` are the cost per unit of notional (a rebate
        is negative).
    """
    fee = credentials.get_client().trade_fee(inst_type, inst_id)
    _logger().info("fee rates (%s): taker %s, maker %s", inst_id or inst_type, fee.taker_rate, fee.maker_rate)
    return fee


@task(name="okx-max-size", task_run_name="max-size", **READ)
def get_max_size(credentials: OkxCredentials, inst_ids: Sequence[str], px: Decimal | None = None) -> list[MaxSize]:
    """The largest spot order the account could place now, per instrument (at most five), in
    the tdMode its account mode needs.

    Args:
        credentials: the key and venue.
        inst_ids: the instruments.
        px: the price to size a buy at (one instrument only; else each last price).
    """
    sizes = credentials.get_client().max_size(list(inst_ids), px=px)
    _logger().info("max size: %s", "; ".join(f"{s.inst_id} buy {s.max_buy} sell {s.max_sell}" for s in sizes))
    return sizes


@task(name="okx-max-avail-size", task_run_name="max-avail-size", **READ)
def get_max_avail_size(credentials: OkxCredentials, inst_ids: Sequence[str]) -> list[MaxAvailSize]:
    """What is available to trade now per instrument: quote to buy with, base to sell."""
    sizes = credentials.get_client().max_avail_size(list(inst_ids))
    _logger().info("available: %s", "; ".join(f"{s.inst_id} buy {s.avail_buy} sell {s.avail_sell}" for s in sizes))
    return sizes


@task(name="okx-bills", task_run_name="bills", **READ)
def get_bills(credentials: OkxCredentials, ccy: str | None = None, inst_id: str | None = None,
              begin_ms: int | None = None, archive: bool = False) -> list[Bill]:
    """Every bill of the account since ``begin_ms`` (7 days; 3 months with ``archive``), newest
    first, following the billId cursor page by page.

    Args:
        credentials: the key and venue.
        ccy: only this currency's bills.
        inst_id: only this instrument's trade bills.
        begin_ms: exchange time (Unix ms) of the oldest bill wanted.
        archive: read ``bills-archive`` (3 months, 5 requests per 2 s) instead of ``bills``.
    """
    client = credentials.get_client()
    found: list[Bill] = []
    after: str | None = None
    while True:
        page = client.bills(ccy=ccy, inst_id=inst_id, begin_ms=begin_ms, after=after, archive=archive)
        found += page
        if len(page) < PAGE_LIMIT:
            break
        after = page[-1].bill_id
    _logger().info("%d bill(s)%s", len(found), f" of {ccy}" if ccy else "")
    return found


@task(name="okx-cancel-all-after", task_run_name="cancel-all-after-{timeout_s}s", **READ)
def arm_cancel_all_after(credentials: OkxCredentials, timeout_s: int, tag: str | None = None) -> DeadManTimer:
    """Arm, re-arm (the heartbeat) or, with 0, disarm OKX's dead-man switch. Re-arming is what a
    retry does anyway, so it is retried like a read.

    Args:
        credentials: the key and venue.
        timeout_s: 0 (off) or 10..120 seconds.
        tag: only orders carrying this tag are covered (else the whole account).
    """
    timer = credentials.get_client().cancel_all_after(timeout_s, tag=tag)
    _logger().info("dead-man switch %s", f"armed for {timeout_s} s" if timer.trigger_time else "disarmed")
    return timer


@task(name="okx-instruments", task_run_name="instruments-{inst_type}", **READ)
def get_instruments(credentials: OkxCredentials, inst_type: str = "SPOT",
                    inst_id: str | None = None) -> list[Instrument]:
    """The venue's instruments with their trading rules (tick, lot, minimum size, state).

    Args:
        credentials: the key and venue.
        inst_type: OKX instrument type.
        inst_id: one instrument only (None: all of the type).

    Returns:
        The instruments.
    """
    instruments = credentials.get_client().instruments(inst_type, inst_id)
    _logger().info("%d %s instruments", len(instruments), inst_type)
    return instruments


# -- trading ---------------------------------------------------------------------------------


@task(name="okx-place-order", task_run_name="place-order-{order.inst_id}-{order.cl_ord_id}", **TRADE)
def place_order(credentials: OkxCredentials, order: OrderRequest, instrument: Instrument | None = None,
                exp_window_ms: int = placement.DEFAULT_EXP_WINDOW_MS,
                sends: placement.SendLog | None = None) -> placement.Placement:
    """Place one order at most once, however often Prefect retries this task.

    Args:
        credentials: the key and venue.
        order: the order, with its deterministic clOrdId.
        instrument: checked against before sending, when given.
        exp_window_ms: how long (exchange time) OKX may still execute the request.
        sends: where sends are recorded before they leave (the run journal); default: this process.

    Returns:
        The Placement: placed, adopted (it existed already) or refused with OKX's reason.
    """
    if instrument is not None:
        order.check(instrument)
    result = placement.place_once(credentials.get_client(), order, resend=_is_resend(), exp_window_ms=exp_window_ms,
                                  sends=sends or placement.PROCESS_SENDS)
    _logger().info("%s %s %s %s @ %s: order %s%s", order.inst_id, order.side, order.ord_type, order.sz,
                   order.px if order.px is not None else "market", result.ord_id,
                   " (already placed, adopted)" if result.adopted else "")
    return result


@task(name="okx-batch-orders", task_run_name="batch-orders-{label}", **TRADE)
def place_batch_orders(credentials: OkxCredentials, orders: Sequence[OrderRequest],
                       instruments: dict[str, Instrument] | None = None, label: str = "legs",
                       exp_window_ms: int = placement.DEFAULT_EXP_WINDOW_MS,
                       sends: placement.SendLog | None = None) -> list[placement.Placement]:
    """Place many orders (20 per request), each at most once; item refusals are returned.

    Args:
        credentials: the key and venue.
        orders: the orders, each with its own deterministic clOrdId.
        instruments: rules to check each order against before sending.
        label: names the task run.
        exp_window_ms: how long (exchange time) OKX may still execute each request.
        sends: where sends are recorded before they leave (the run journal); default: this process.

    Returns:
        One Placement per order, in order.
    """
    if instruments:
        for order in orders:
            if order.inst_id in instruments:
                order.check(instruments[order.inst_id])
    results = placement.place_batch_once(credentials.get_client(), orders, resend=_is_resend(),
                                         exp_window_ms=exp_window_ms, sends=sends or placement.PROCESS_SENDS)
    logger = _logger()
    for result in results:
        if result.ok:
            logger.info("%s clOrdId %s: order %s%s", result.inst_id, result.cl_ord_id, result.ord_id,
                        " (adopted)" if result.adopted else "")
        else:
            logger.warning("%s clOrdId %s refused: %s", result.inst_id, result.cl_ord_id, result.error)
    return results


@task(name="okx-cancel-order", task_run_name="cancel-{inst_id}", **READ)
def cancel_order(credentials: OkxCredentials, inst_id: str, ord_id: str | None = None,
                 cl_ord_id: str | None = None) -> Order:
    """Cancel an order and return its state. Idempotent: an order already final is returned as is.

    Args:
        credentials: the key and venue.
        inst_id: the order's instrument.
        ord_id: OKX's order id (or give ``cl_ord_id``).
        cl_ord_id: the client order id.

    Returns:
        The order as it is after the cancel.
    """
    client = credentials.get_client()
    try:
        client.cancel_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
    except OrderNotFound:
        _logger().info("%s order %s was already final", inst_id, ord_id or cl_ord_id)
    return client.order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)


@task(name="okx-amend-order", task_run_name="amend-{inst_id}", **READ)
def amend_order(credentials: OkxCredentials, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None,
                new_sz: Decimal | None = None, new_px: Decimal | None = None) -> Order:
    """Amend to an absolute size/price (so a retried amend is harmless) and return the order.

    Args:
        credentials: the key and venue.
        inst_id: the order's instrument.
        ord_id: OKX's order id (or give ``cl_ord_id``).
        cl_ord_id: the client order id.
        new_sz: the new total size, if it changes.
        new_px: the new price, if it changes.

    Returns:
        The order as it is after the amend.
    """
    client = credentials.get_client()
    client.amend_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id, new_sz=new_sz, new_px=new_px)
    return client.order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)


@task(name="okx-amend-batch-orders", task_run_name="amend-batch", **READ)
def amend_batch_orders(credentials: OkxCredentials, amends: Sequence[Amend]) -> list[OrderAck]:
    """Amend up to 20 orders in one request; sizes and prices are absolute, so a retry is harmless.

    Args:
        credentials: the key and venue.
        amends: the amendments (``okx_wire.orders.Amend``).

    Returns:
        Each amendment's outcome, in order (``ack.ok`` or its ``s_code``/``s_msg``).
    """
    acks = credentials.get_client().amend_batch_orders(list(amends))
    refused = [a for a in acks if not a.ok]
    _logger().info("amended %d of %d order(s)%s", len(acks) - len(refused), len(acks),
                   "; refused: " + "; ".join(f"{a.s_code} {a.s_msg.strip()}" for a in refused[:3]) if refused else "")
    return acks


@task(name="okx-order", task_run_name="order-{inst_id}", **READ)
def get_order(credentials: OkxCredentials, inst_id: str, ord_id: str | None = None,
              cl_ord_id: str | None = None) -> Order:
    """One order's current state.

    Args:
        credentials: the key and venue.
        inst_id: the order's instrument.
        ord_id: OKX's order id (or give ``cl_ord_id``).
        cl_ord_id: the client order id.

    Returns:
        The order.
    """
    return credentials.get_client().order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)


@task(name="okx-order-states", task_run_name="order-states", **READ)
def get_order_states(credentials: OkxCredentials, refs: Sequence[tuple[str, str]]) -> list[Order | Exception]:
    """The current state of each of several orders, one read per order (one poll of a wait).

    A transient failure of one read (network, 5xx, rate limit) comes back in that order's place
    instead of failing the task, so one bad answer among many orders does not repeat every read;
    the pipeline polls that order again and raises only if it could never be read.

    Args:
        credentials: the key and venue.
        refs: ``(inst_id, ord_id)`` of each order.

    Returns:
        Per order, in order: its state, or the transient error its read met.
    """
    states = read_order_states(credentials.get_client(), refs)
    failed = sum(isinstance(s, Exception) for s in states)
    final = sum(isinstance(s, Order) and s.is_final for s in states)
    # A failed read says nothing about its order: counted apart, never as "still live".
    _logger().info("%d order(s) final, %d still live%s", final, len(states) - failed - final,
                   f"; {failed} read(s) failed (polled again)" if failed else "")
    return states


@task(name="okx-wait-orders", task_run_name="wait-orders", **READ)
def wait_orders(credentials: OkxCredentials, refs: Sequence[tuple[str, str]], timeout_s: float,
                since_epoch: int | None = None) -> PushWait | None:
    """Wait until several orders are final on the account's ``orders`` pushes, or ``timeout_s``.

    The pushes come to the process's warm order stream for this key
    (``OkxCredentials.get_order_stream``); what no push settles, and everything after a
    reconnect, is read over REST as ``get_order_states`` reads (``okx_strategies.pushes``), and
    those reads are counted in the result and the log line. The caller reads every order's
    state afterwards (``get_order_states``): this task decides when, not what.

    Args:
        credentials: the key and venue.
        refs: ``(inst_id, ord_id)`` of each order.
        timeout_s: the most to wait; orders still live then are not an error.
        since_epoch: the stream's ``epoch`` when the orders were placed (a reconnect since then
            means pushes may be lost: REST is read at once).

    Returns:
        How the wait ended: orders final, orders read over REST, reconnects, seconds; or None at
        once when the stream cannot be had now (the caller polls instead; not retried).
    """
    try:
        stream = credentials.get_order_stream()
    except OkxError as exc:
        _logger().warning("no order stream (%s): the orders are polled instead", exc)
        return None
    waited = wait_pushed(stream, partial(read_order_states, credentials.get_client()), refs, timeout_s, since_epoch)
    _logger().info("%s", waited.describe())
    return waited


@task(name="okx-live-book", task_run_name="live-book-{inst_id}", **READ)
def get_live_book(credentials: OkxCredentials, inst_id: str, depth: int = 1) -> OrderBook:
    """One instrument's book from the venue's public ``books`` stream (sequence and checksum
    checked, held by the process for this venue), or over REST where the stream's copy is not
    current or the venue has no WebSocket (the log line says which).

    Args:
        credentials: the key and venue.
        inst_id: the instrument, e.g. ``BTC-USDT``.
        depth: price levels per side.

    Returns:
        The book (bids and asks, best first).
    """
    client = credentials.get_client()
    market = credentials.get_market_stream()
    if market is None:
        book, source = client.order_book(inst_id, depth), "REST (no WebSocket)"
    else:
        book, source = live_book(market, client.order_book, inst_id, depth)
        conn = market.connection(Url.PUBLIC)
        if conn is not None and conn.unreachable is not None:
            credentials.drop_market_stream(str(conn.unreachable))
            source = f"REST ({conn.unreachable})"
    _logger().info("%s book from %s", inst_id, "the stream, checksum checked" if source == "stream" else source)
    return book


@task(name="okx-find-order", task_run_name="find-order-{inst_id}-{cl_ord_id}", **READ)
def find_order(credentials: OkxCredentials, inst_id: str, cl_ord_id: str) -> Order | None:
    """The latest order with this clOrdId, or None when the exchange has none.

    Args:
        credentials: the key and venue.
        inst_id: the order's instrument.
        cl_ord_id: the client order id.

    Returns:
        The order, or None (OKX 51603).
    """
    return credentials.get_client().find_order(inst_id, cl_ord_id)


@task(name="okx-pending-orders", task_run_name="pending-orders", **READ)
def get_pending_orders(credentials: OkxCredentials, inst_id: str | None = None) -> list[Order]:
    """One page (up to 100) of the account's resting orders.

    Args:
        credentials: the key and venue.
        inst_id: one instrument, or None for all.

    Returns:
        The orders, newest first.
    """
    return credentials.get_client().pending_orders(inst_id)


@task(name="okx-pending-orders-all", task_run_name="pending-orders-all", **READ)
def get_all_pending_orders(credentials: OkxCredentials, inst_id: str | None = None) -> list[Order]:
    """Every resting order, all pages (``get_pending_orders`` reads one page of 100).

    Args:
        credentials: the key and venue.
        inst_id: one instrument, or None for all.

    Returns:
        The orders, newest first.
    """
    return all_pending_orders(credentials.get_client(), inst_id)


@task(name="okx-order-history", task_run_name="order-history", **READ)
def get_order_history(credentials: OkxCredentials, inst_id: str | None = None, limit: int = 100) -> list[Order]:
    """Recent final orders (filled or cancelled) of the last 7 days.

    Args:
        credentials: the key and venue.
        inst_id: one instrument, or None for all.
        limit: at most this many (OKX's maximum is 100).

    Returns:
        The orders, newest first.
    """
    return credentials.get_client().order_history(inst_id=inst_id, limit=limit)


@task(name="okx-order-history-archive", task_run_name="order-history-archive", **READ)
def get_order_history_archive(credentials: OkxCredentials, inst_id: str | None = None, state: str | None = None,
                              begin_ms: int | None = None) -> list[Order]:
    """Every final order of the last 3 months since ``begin_ms`` (creation time), newest first,
    page by page.

    Args:
        credentials: the key and venue.
        inst_id: one instrument, or None for all.
        state: ``filled``, ``canceled`` or ``mmp_canceled``, or None for all.
        begin_ms: exchange time (Unix ms) of the oldest order wanted.
    """
    client = credentials.get_client()
    found: list[Order] = []
    after: str | None = None
    while True:
        page = client.order_history_archive(inst_id=inst_id, state=state, begin_ms=begin_ms, after=after)
        found += page
        if len(page) < PAGE_LIMIT:
            break
        after = page[-1].ord_id
    _logger().info("%d archived order(s)", len(found))
    return found


@task(name="okx-fills", task_run_name="fills", **READ)
def get_fills(credentials: OkxCredentials, inst_id: str | None = None, ord_id: str | None = None) -> list[Fill]:
    """Recent fills (one page).

    Args:
        credentials: the key and venue.
        inst_id: one instrument, or None for all.
        ord_id: one order's fills only.

    Returns:
        The fills, newest first.
    """
    return credentials.get_client().fills(inst_id=inst_id, ord_id=ord_id)


@task(name="okx-fills-since", task_run_name="fills-since", **READ)
def get_fills_since(credentials: OkxCredentials, begin_ms: int) -> list[Fill]:
    """Every fill of the account since ``begin_ms``, all instruments, paged (100 per request).

    Args:
        credentials: the key and venue.
        begin_ms: exchange time in ms; fills at or after it.

    Returns:
        The fills.
    """
    return credentials.get_client().fills_since(begin_ms)


# -- signing for endpoints we do not wrap ------------------------------------------------------


class SignedHeaders(BaseModel):
    """OK-ACCESS-* headers for one request. The signature and passphrase are SecretStr, so the
    object can pass through Prefect (logs, reprs) without showing them; ``as_dict`` reveals
    them only at the moment of sending."""

    model_config = ConfigDict(frozen=True)

    api_key: str
    timestamp: str
    signature: SecretStr
    passphrase: SecretStr
    demo: bool = False

    def as_dict(self) -> dict[str, str]:
        headers = {
            "OK-ACCESS-KEY": self.api_key,
            "OK-ACCESS-SIGN": self.signature.get_secret_value(),
            "OK-ACCESS-TIMESTAMP": self.timestamp,
            "OK-ACCESS-PASSPHRASE": self.passphrase.get_secret_value(),
            "Content-Type": "application/json",
        }
        if self.demo:
            headers["x-simulated-trading"] = "1"
        return headers


@task(name="okx-sign-request", task_run_name="sign-{method}", cache_policy=NO_CACHE, persist_result=False)
def sign_request(credentials: OkxCredentials, method: str, request_path: str, body: str = "") -> SignedHeaders:
    """Signed headers (with the venue's clock offset) for a request this package does not wrap.

    Sign immediately before sending: OKX accepts a timestamp for 30 s only.

    Args:
        credentials: the key and venue.
        method: the HTTP method, e.g. ``GET``.
        request_path: the path with its query string, e.g. ``/api/v5/account/bills?ccy=BTC``.
        body: the JSON body exactly as it will be sent ("" for none).

    Returns:
        The headers, signature and passphrase masked until ``as_dict()``.
    """
    client = credentials.get_client()
    signer = client.signer
    timestamp = signer.timestamp()
    return SignedHeaders(api_key=credentials.api_key, timestamp=timestamp,
                         signature=SecretStr(signer.signature(timestamp, method.upper(), request_path, body)),
                         passphrase=credentials.passphrase, demo=credentials.demo)
