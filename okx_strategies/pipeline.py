"""The steps every run takes, written once against a ``Venue`` port.

``okx-flows plan`` and the benchmark's direct side (``direct.DirectVenue``) and the flows
(``okx_tasks.venue.PrefectVenue``) all go spec -> instruments -> balances, prices, fees -> plan
through these functions, and a trading run places, settles and reads its fills through them.
So the plan a user previews is the plan a run computes from the same reads, and the bindings
differ only in how each single call is made (a retried Prefect task, or the client itself).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from okx_strategies.base import BOOK_DEPTH, Market, Strategy, Venue
from okx_strategies.plan import Plan, PlannedOrder, beyond_top
from okx_strategies.protection import attachment_id
from okx_strategies.registry import get
from okx_strategies.sleeve import within_funds
from okx_wire.endpoints import E
from okx_wire.errors import AuthenticationError, OkxError, PermissionDenied
from okx_wire.models import Fill, Instrument, Order, Ticker
from okx_wire.orders import OrderRequest, client_order_id
from okx_wire.placement import Placement, SendLog

#: How long a run waits for marketable orders to fill before cancelling what is left.
SETTLE_TIMEOUT_S: Final = 10.0
#: Polling the orders a run waits for: first after this long, then 1.6 times longer, at most MAX.
FIRST_POLL_S: Final = 0.2
MAX_POLL_S: Final = 2.0

Log = logging.Logger | logging.LoggerAdapter[Any]
_LOG = logging.getLogger(__name__)


def strategy_of(spec: Any) -> Strategy:
    """The registered strategy of a loaded spec."""
    return get(spec.strategy.kind)


# -- spec -> instruments -> balances, prices, fees -> plan --------------------------------------------


def _closest(word: str, choices: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def instrument_problems(spec: Any, instruments: Mapping[str, Instrument]) -> list[str]:
    """Problems with what the venue lists, one ``path: problem -- fix`` each (empty when fine)."""
    problems: list[str] = []
    named = list(spec.strategy.instrument_paths().items())
    named += [(inst_id, "risk.allowed_instruments") for inst_id in spec.risk.allowed_instruments or ()]
    quote = spec.strategy.quote_to_check()
    if quote is not None and not any(i.inst_id.endswith(f"-{quote}") for i in instruments.values()):
        quotes = sorted({i.inst_id.split("-", 1)[-1] for i in instruments.values()})
        close = _closest(quote, quotes)
        fix = f"did you mean '{close}'?" if close else "use a quote currency the venue lists, e.g. USDT"
        return [f"strategy.quote_ccy: no instrument on this venue is quoted in {quote} -- {fix}"]
    for inst_id, path in named:
        problem = _instrument_problem(inst_id, instruments, quote if path != "risk.allowed_instruments" else None)
        if problem and f"{path}: {problem}" not in problems:
            problems.append(f"{path}: {problem}")
    return problems


def _instrument_problem(inst_id: str, instruments: Mapping[str, Instrument], quote: str | None) -> str | None:
    instrument = instruments.get(inst_id)
    if instrument is not None:
        if instrument.is_live:
            return None
        return (f"{inst_id} is {instrument.state.value} on this venue, not live -- wait until it trades again or "
                f"stop trading it")
    if quote is not None:
        base = inst_id.rsplit("-", 1)[0]
        bases = [i.inst_id.rsplit("-", 1)[0] for i in instruments.values() if i.inst_id.endswith(f"-{quote}")]
        close = _closest(base, bases)
        fix = f"did you mean {close}?" if close else f"use a currency that trades against {quote}"
        return f"no {inst_id} instrument on this venue, so {base} cannot be traded -- {fix}"
    close = _closest(inst_id, list(instruments))
    fix = f"did you mean {close}?" if close else "use an instrument the venue lists"
    return f"unknown instrument {inst_id} on this venue -- {fix}"


def checked_instruments(venue: Venue, spec: Any, refuse: Callable[[list[str]], Exception]) -> dict[str, Instrument]:
    """The venue's spot instruments; ``refuse(problems)`` is raised before anything is sent."""
    instruments = {i.inst_id: i for i in venue.instruments()}
    problems = instrument_problems(spec, instruments)
    if problems:
        raise refuse(problems)
    return instruments


def market(venue: Venue, spec: Any, instruments: Mapping[str, Instrument]) -> Market:
    """What the plan is made from: available balances (funds frozen in resting orders are neither
    valued nor traded by the plan), every instrument's price, and the account's fee rates.

    Balances come from one unfiltered ``account/balance`` read (the whole account: the reports
    value every currency held, frozen funds included, from the same read the plan trades from).

    Prices come from one ``market/tickers`` read (best bid and ask, with their sizes, of every
    spot instrument), whatever the number of instruments: at 200 assets one request instead of
    200 book reads at 40 per 2 s. Fee rates: one ``fee_rates`` read for every instrument of the
    spec (one ``account/trade-fee`` request: OKX sets the spot fee tier per instrument type).

    A book is read only where the ticker cannot stand for it:

    * to price an instrument whose ticker has no best bid or no best ask (or that the venue sent
      no ticker for); a plan that still finds no two-sided market says so;
    * for depth, where an order's size needs it. Among the instruments the strategy names in
      ``Needs.depth`` (the rebalance: all of its own), the plan is made from the tickers first;
      an instrument whose marketable orders of one side add up to more than the size the ticker
      shows at the best price on that side needs depth. Within that size an order fills at the
      best price, and the ticker already says so: no book.

    How much depth is worth reading follows from what the book is for. It decides nothing in the
    plan: a limit price is the mid moved by the slippage bound, a size is a quote amount over the
    mid, and an order's notional bound (``sz * max(px, mid)``) holds however many levels the
    order sweeps up to its limit; what the book cannot fill within the limit rests, and ``settle``
    cancels it. Prices stay the tickers' even where a book is read (every instrument valued at one
    instant), so the orders are the same with or without the books. What a book adds is a
    forecast: how much of the leg fills within its limit, at what average price, and a flag on a
    leg it provably cannot fill (``plan.with_depth``: the leg's ``depth`` and its reason). That
    forecast is worth one window of the ``market/books`` budget (``DEPTH_READS``: 40 per 2 s per
    IP), not more. Up to 40 books need no wait on a fresh budget; every further 40 would hold every
    order of the run back another 2 s (200 legs: 8 s, against about 3 s for the whole run without
    them), the first books going stale while the last ones are read, to forecast fills that the
    run reports exactly once it has traded. So the books read are those of the instruments with
    the most quote value beyond their top of book, at most ``DEPTH_READS``, in one ``books`` call
    of ``DEPTH_LEVELS`` levels (the budget counts requests, not levels). A leg beyond its top of
    book whose book was not read says so in its reason: only its limit price bounds it.
    """
    need = spec.strategy.needs()
    sheet = venue.balance_sheet()
    balances = {ccy: sheet.available(ccy) for ccy in need.ccys}
    tickers = venue.tickers("SPOT")
    fees = venue.fee_rates(need.inst_ids)
    unpriced = [i for i in need.inst_ids if not _two_sided(tickers.get(i))]
    books = venue.books(unpriced, BOOK_DEPTH) if unpriced else {}
    snapshot = Market(instruments=instruments, balances=balances, books=books, tickers=tickers, fees=fees,
                      sheet=sheet)
    deep = depth_wanted(spec, snapshot, need.depth) if need.depth else []
    if not deep:
        return snapshot
    return replace(snapshot, books={**books, **venue.books(deep, DEPTH_LEVELS)})


#: At most this many books are read for depth in one run: one window of the ``market/books``
#: budget (per IP), so reading them never waits on the rate limiter (see ``market``).
DEPTH_READS: Final = E.books.budget.limit if E.books.budget is not None else 40
#: Levels per side of a book read for depth. The budget counts requests, not levels, so a depth
#: read takes many: 100 levels reach a 100 bps limit on a market quoted in ticks of about 1 bp
#: (most alts), and where they do not (a fine tick on a deep market) they usually cover the size.
#: OKX serves up to 400, but parsing 400 costs 3 ms a book against 1 ms, for a forecast that is
#: then seldom different; where the levels read end inside the limit the forecast says so.
DEPTH_LEVELS: Final = 100


def depth_wanted(spec: Any, snapshot: Market, candidates: Sequence[str]) -> list[str]:
    """The instruments among ``candidates`` whose book is read for depth: the spec's plan from
    ``snapshot`` (tickers), its marketable orders beyond the top of book, the most quote value
    beyond it first, at most ``DEPTH_READS``; none that already has a book."""
    wanted = set(candidates) - set(snapshot.books)
    first = plan(spec, snapshot)
    beyond = [inst_id for inst_id, _ in beyond_top(first.orders, snapshot.tops(sorted(wanted))) if inst_id in wanted]
    return beyond[:DEPTH_READS]


def _two_sided(ticker: Ticker | None) -> bool:
    return (ticker is not None and ticker.bid_px is not None and ticker.ask_px is not None
            and ticker.bid_px > 0 and ticker.ask_px > 0)


def plan(spec: Any, snapshot: Market) -> Plan:
    """The spec's plan from ``snapshot``: the strategy's own pure planner, without any leg the
    spec's funds (``snapshot.balances``: its sleeve) cannot pay for (``sleeve.within_funds``)."""
    return within_funds(strategy_of(spec).plan(spec.strategy, spec.risk.limits(), snapshot), snapshot.balances)


# -- placing, settling, fills ---------------------------------------------------------------------


def leg_ids(plan: Plan, spec_name: str, key: str) -> dict[str, str]:
    """clOrdId per planned leg: ``key`` is what names the run (its flow run, slot or resumed run)."""
    return {o.leg: client_order_id(key, spec_name, o.leg) for o in plan.orders}


def order_tag(spec_name: str) -> str:
    """The OKX order tag (1-16 letters/digits) of every order a spec places: it shows in OKX's
    own UI and lets a later run find the spec's orders (the ladder replaces its previous one)."""
    readable = re.sub(r"[^A-Za-z0-9]", "", spec_name)[:10]
    return readable + hashlib.sha256(spec_name.encode()).hexdigest()[:6]


def to_request(leg: PlannedOrder, cl_ord_id: str, tag: str | None = None) -> OrderRequest:
    """The order of a planned leg; its protection, if any, is attached under an id derived from
    the clOrdId (``protection.attachment_id``), the same on every retry and rerun."""
    tp_sl = None
    if leg.tp_sl is not None:
        tp_sl = leg.tp_sl.model_copy(update={"attach_algo_cl_ord_id": attachment_id(cl_ord_id)})
    return OrderRequest(inst_id=leg.inst_id, side=leg.side, ord_type=leg.ord_type, sz=leg.sz,
                        px=leg.px, cl_ord_id=cl_ord_id, tag=tag, tp_sl=tp_sl)


def place(venue: Venue, requests: Sequence[OrderRequest], instruments: Mapping[str, Instrument], label: str,
          sends: SendLog | None = None) -> list[Placement]:
    """Place ``requests`` (one request for one order, batches otherwise); refusals come back as
    Placements. ``sends`` (the run journal) records every send before it leaves."""
    if not requests:
        return []
    if len(requests) > 1:
        used = {r.inst_id: instruments[r.inst_id] for r in requests if r.inst_id in instruments}
        return venue.place_batch(requests, used, label, sends)
    request = requests[0]
    try:
        return [venue.place_one(request, instruments.get(request.inst_id), sends)]
    except OkxError as exc:
        if exc.outcome_unknown:
            raise  # may have been placed: fail the run; a rerun looks the clOrdId up first
        if isinstance(exc, (AuthenticationError, PermissionDenied)):
            raise  # the key, not the order: every order would be refused the same way
        return [Placement(inst_id=request.inst_id, cl_ord_id=request.cl_ord_id or "", error_code=exc.code or "local",
                          error=str(exc))]


#: How long past its deadline a wait keeps polling an order it has not been able to read at all
#: (the sum of the read tasks' retry delays): a short outage right after placing is ridden out.
UNREAD_GRACE_S: Final = 30.0


def wait_final(venue: Venue, placements: Sequence[Placement], timeout_s: float = 30.0, *, log: Log = _LOG,
               first_poll_s: float = FIRST_POLL_S, max_poll_s: float = MAX_POLL_S,
               sleep: Callable[[float], None] = time.sleep, unread_grace_s: float | None = None,
               since: float | None = None) -> list[Order]:
    """Poll (with backoff) until every placed order is filled or cancelled, or the time is up.

    Returns each order's latest state in the order given; orders still live at the deadline
    come back live, and the caller decides whether to cancel them. A transient failure of one
    read (network, 5xx, rate limit) only delays that order to the next poll, so one bad answer
    among many orders does not fail the whole wait. An order never read yet is polled for up to
    ``UNREAD_GRACE_S`` past the deadline (as long as a read task's retries would ride out an
    outage), and its last error is raised only if it still could not be read. The first poll
    is at once; ``since`` (a ``time.monotonic()``) starts the ``timeout_s`` earlier than now.
    """
    latest: dict[str, Order] = {}
    waiting = [(p.inst_id, p.ord_id) for p in placements if p.ok and p.ord_id]
    deadline = (time.monotonic() if since is None else since) + timeout_s
    delay = first_poll_s
    last_error: Exception | None = None
    while True:
        still = []
        for (inst_id, ord_id), state in zip(waiting, venue.order_states(waiting), strict=True):
            if isinstance(state, Exception):
                last_error = state
                still.append((inst_id, ord_id))
                continue
            latest[ord_id] = state
            if not state.is_final:
                still.append((inst_id, ord_id))
        waiting = still
        unread = any(ord_id not in latest for _, ord_id in waiting)
        grace = (UNREAD_GRACE_S if unread_grace_s is None else unread_grace_s) if unread else 0.0
        if not waiting or time.monotonic() + delay > deadline + grace:
            break
        sleep(delay)
        delay = min(delay * 1.6, max_poll_s)
    if last_error is not None and any(ord_id not in latest for _, ord_id in waiting):
        raise last_error
    if waiting:
        log.warning("%d order(s) still live after %.0f s", len(waiting), timeout_s)
    return [latest[p.ord_id] for p in placements if p.ok and p.ord_id in latest]


def await_final(venue: Venue, placements: Sequence[Placement], timeout_s: float = SETTLE_TIMEOUT_S, *,
                log: Log = _LOG) -> list[Order]:
    """Every placed order's state once all are final or ``timeout_s`` has passed, read over REST.

    Where the venue has the account's order stream, the wait is on its pushes
    (``Venue.wait_pushed``), and then every order is read exactly as the polling wait reads it
    (``wait_final``'s first poll, at once; polling on, within what is left of ``timeout_s``,
    for any order REST does not show final yet). Elsewhere this is ``wait_final`` itself. So the
    states, and the fills read from them, are REST's either way; pushes only end the wait sooner
    and spare the polls of orders that rest.
    """
    start = time.monotonic()
    refs = [(p.inst_id, p.ord_id) for p in placements if p.ok and p.ord_id]
    pushed = venue.wait_pushed(refs, timeout_s) if refs else None
    if pushed is not None:
        log.info("%s; reading every order over REST", pushed.describe())
    return wait_final(venue, placements, timeout_s=timeout_s, log=log, since=start)


def settle(venue: Venue, placements: Sequence[Placement], timeout_s: float = SETTLE_TIMEOUT_S,
           cancel_rest: bool = True, *, log: Log = _LOG) -> list[Order]:
    """Wait until the placed orders are final (or ``timeout_s``), then cancel what still rests."""
    from okx_wire.precision import format_decimal

    placed = [p for p in placements if p.ok]
    if not placed:
        return []
    orders = await_final(venue, placed, timeout_s=timeout_s, log=log)
    if not cancel_rest:
        return orders
    final = []
    for order in orders:
        if not order.is_final:
            log.info("%s order %s: %s of %s filled; cancelling the rest", order.inst_id, order.ord_id,
                     format_decimal(order.filled), format_decimal(order.sz))
            order = venue.cancel(order.inst_id, order.ord_id)
        final.append(order)
    return final


def fills_of(venue: Venue, orders: Sequence[Order]) -> list[Fill]:
    """Fills of these orders: the account's fills since the first of them was created, paged
    (one request per 100 fills, not one per instrument, which at 200 assets was 6 s of budget)."""
    traded = [o for o in orders if o.filled > 0]
    if not traded:
        return []
    wanted = {o.ord_id for o in traded}
    begin = min((o.c_time for o in traded if o.c_time), default=None)
    if begin is None:  # no creation time to start from: ask per instrument
        return [f for inst_id in sorted({o.inst_id for o in traded})
                for f in venue.fills(inst_id) if f.ord_id in wanted]
    return [f for f in venue.fills_since(begin - 1) if f.ord_id in wanted]
