"""The resident executor: a warm client per spec, and every signal a Prefect task run.

Measured (``docs/signals.md``): a flow run per signal costs about 100 ms of Prefect bookkeeping
in the process, a background task (``.delay()`` to a ``task.serve`` worker) about 250 ms, a
standalone task run 20 ms and cannot send its logs to the API (it has no flow run), a deployment
run seconds. A task run *inside a flow run that is already running* costs about 5 ms and its
logs reach the API under its own task run. So each spec gets one long-lived executor flow run
(``signal-executor``, named ``signals-<spec>-<start>``) whose body waits on a queue, and each
signal is one task run of it (``okx-signal``, named ``signal-<spec>-<signal id>``), with its own
logs and state. The flow run is replaced by a fresh one after ``ROTATE_SIGNALS`` signals or
``ROTATE_S`` seconds (between signals), so no run grows without end.

What is warm: the ``OkxClient`` (its connection pool, the exchange clock offset learned at start,
its rate limiter, the account's ``tdMode``), the venue's instruments, the signals table's engine,
and with the WebSocket setting on (``OKX_FLOWS_WEBSOCKET``, the default) the venue's public
``tickers`` stream of the spec's instruments and the account's order stream (logged in, ``orders``
subscribed). Per signal the hot path is: claim the id (one insert), the ticker (the stream's
copy while its connection is up, else one REST read), one order placement
(``okx_wire.placement.place_once``, its send recorded in the signal's row first; over the order
stream's socket while it is up, else over REST), one update. The order's fill is taken from its
final push (a REST read where no final push came) after the answer has gone out, before the next
signal.

Entering over WebSocket changes the carrier, not the rules: the same clOrdId, expTime and
budget, and every lookup over REST. A send the socket could not even start (not connected)
goes over REST at once; a send whose answer was lost (the connection dropped after it left) is
an unknown outcome like a REST timeout: looked up by clOrdId, adopted if found, else answered
504 and finished by the next delivery once its expTime has passed -- never sent blind again.
``Outcome.entry`` says which carried it.

``Desk.handle`` is the whole of one signal with Prefect or without (``prefect=False``: the
benchmark's baseline of the same work without the engine).
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger
from pydantic import BaseModel

from flows.spec import Spec
from flows.venue import ResolvedVenue
from okx_strategies import pipeline
from okx_strategies.base import top_of_book
from okx_strategies.pushes import live_ticker, why_not
from okx_strategies.signal import Holdings, Refusal, Signal, SignalSpec, order_for, refusal_of, signal_cl_ord_id
from okx_wire.errors import ConnectionFailed, OkxError
from okx_wire.models import Instrument, Order, OrderAck
from okx_wire.orders import OrderRequest
from okx_wire.placement import Sender, place_once
from okx_wire.precision import format_decimal
from okx_wire.runtime import RUNTIME
from okx_wire.signals import SignalRecord, SignalStore
from okx_wire.ws.streams import MarketStream, OrderRef, OrderStream

LOG = logging.getLogger("flows.signals")
#: Replace the executor flow run after this many signals, or this long, whichever comes first.
ROTATE_SIGNALS: Final = 5_000
ROTATE_S: Final = 6 * 3600.0
#: How long settling waits for the final push of an order placed just now (an IOC is final at
#: once; its push follows the answer by milliseconds) before reading it over REST.
PUSH_WAIT_S: Final = 0.5


class Outcome(BaseModel):
    """What became of one delivery: the HTTP answer and the signals table's word. No secret."""

    status: int
    state: str
    spec: str
    signal_id: str = ""
    reason: str = ""
    cl_ord_id: str = ""
    ord_id: str = ""
    inst_id: str = ""
    side: str = ""
    sz: str = ""
    px: str = ""
    adopted: bool = False
    path: str = "resident"
    #: What carried the order: "ws" (the order stream's socket) or "rest"; "" when none was sent.
    entry: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 400

    def body(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.model_dump(exclude_defaults=True, exclude={"status"}), "status": self.state}


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return get_run_logger() if TaskRunContext.get() is not None else LOG


def _replay(row: SignalRecord) -> str:
    then = datetime.fromtimestamp(row.received_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    what = f"placed as order {row.ord_id}" if row.state == "placed" else f"refused: {row.reason}"
    return f"replayed: signal {row.signal_id} was already received at {then} ({what})"


class Desk:
    """One spec's warm state: its venue's client, instruments and account, and its signals."""

    def __init__(self, spec: Spec, venue: ResolvedVenue, store: SignalStore, *, websocket: bool | None = None) -> None:
        assert isinstance(spec.strategy, SignalSpec)
        self.spec = spec
        self.strategy: SignalSpec = spec.strategy
        self.venue = venue
        self.store = store
        self.client = venue.credentials.get_client()
        self.instruments: dict[str, Instrument] = {}
        self.account = ""
        self.tag = pipeline.order_tag(spec.name)
        #: Price from the ``tickers`` stream and enter orders over the order stream (None: the
        #: ``websocket`` setting). Opened by ``warm``; None where the venue offers none.
        self.websocket = RUNTIME.settings.websocket if websocket is None else websocket
        self.market: MarketStream | None = None
        self.orders: OrderStream | None = None

    def __repr__(self) -> str:
        return f"Desk({self.spec.name!r}, {self.venue.label!r})"

    def warm(self) -> None:
        """Learn the exchange clock, the account mode and uid, and the spec's instruments."""
        self.client.sync_time()
        self.client.spot_td_mode()
        self.account = self.venue.account(self.client.account_config().uid)
        listed = {i.inst_id: i for i in self.client.instruments("SPOT")}
        self.instruments = {inst_id: listed[inst_id] for inst_id in self.strategy.instruments if inst_id in listed}
        missing = sorted(set(self.strategy.instruments) - set(self.instruments))
        if missing:
            LOG.warning("%s: not listed on %s: %s (their signals are refused)", self.spec.name, self.venue.label,
                        ", ".join(missing))
        if self.websocket:
            self._open_streams()

    def _open_streams(self) -> None:
        """The process's streams for this venue: tickers watched, the order stream open. What
        cannot be had is said once; its signals go over REST."""
        credentials, name = self.venue.credentials, self.spec.name
        try:
            self.orders = credentials.get_order_stream()
        except OkxError as exc:
            LOG.warning("%s: entering orders over REST: no order stream on %s (%s)", name, self.venue.label,
                        why_not(exc))
        market = credentials.get_market_stream()
        if market is not None and self.instruments:
            try:
                market.watch_tickers(*self.instruments)
                self.market = market
            except (OkxError, TimeoutError, OSError) as exc:
                LOG.warning("%s: reading tickers over REST: no market stream on %s (%s)", name, self.venue.label,
                            why_not(exc))
                credentials.drop_market_stream(why_not(exc))

    def _order_stream(self) -> OrderStream | None:
        stream = self.orders
        return stream if stream is not None and stream.usable else None

    def _sender(self, carried: list[str]) -> Sender:
        """Sends over the order stream while it is connected, else (or when the socket could not
        start the send: nothing left) over REST; ``carried`` gets which one carried it."""
        def send(order: OrderRequest, exp_ms: int) -> OrderAck:
            stream = self._order_stream()
            if stream is not None and stream.connected:
                carried[:] = ["ws"]
                try:
                    return stream.place(order, exp_time_ms=exp_ms)
                except ConnectionFailed as exc:
                    _logger().warning("order %s goes over REST: %s", order.cl_ord_id, exc)
            carried[:] = ["rest"]
            return self.client.place_order(order, exp_time_ms=exp_ms)

        return send

    # -- one delivery ---------------------------------------------------------------------------

    def handle(self, signal: Signal, *, path: str = "resident", claim: bool = True, prefect: bool = True) -> Outcome:
        """Claim the signal's id, then execute it once (a Prefect task run unless ``prefect`` is
        False). A repeat of a finished signal is a replay (401); one another delivery is still
        executing is 409; an unfinished one (sent, outcome unknown, its holder gone) is taken over
        and finished: looked up first, so it is adopted if it exists, never placed twice."""
        name = self.spec.name
        if claim:
            new, row = self.store.claim(spec=name, signal_id=signal.signal_id, signal_ms=signal.time_ms,
                                        action=signal.action, inst_id=signal.inst_id,
                                        price=None if signal.price is None else str(signal.price), path=path)
        else:
            found = self.store.get(name, signal.signal_id)
            if found is None:
                return Outcome(status=404, state="unknown", spec=name, signal_id=signal.signal_id, path=path,
                               reason="no receiver accepted this signal -- signals reach this flow only through "
                                      "okx-flows signals serve --durable")
            new, row = False, found
        if row.final:
            LOG.warning("%s: 401 %s", name, _replay(row))
            return Outcome(status=401, state="replayed", spec=name, signal_id=signal.signal_id, reason=_replay(row),
                           path=path)
        taken = self.store.take(name, signal.signal_id)
        if taken is None:
            return Outcome(status=409, state="executing", spec=name, signal_id=signal.signal_id, path=path,
                           reason=f"signal {signal.signal_id} is being executed by another delivery")
        resend = not new and taken.state != "accepted"
        if prefect:
            return execute_signal(self, signal, resend, path)
        return execute_signal.fn(self, signal, resend, path)

    def _holdings(self, signal: Signal) -> Holdings:
        base, quote = signal.inst_id.split("-", 1)
        needs_position = signal.action != "buy"
        needs_quote = signal.action == "buy" and (self.strategy.share is not None or self.spec.capital is not None)
        if not (needs_position or needs_quote):
            return Holdings(quote=None, position=Decimal(0))
        self.settle()
        position, _ = self.store.holdings(self.spec.name, base, quote)
        sleeve: Decimal | None = None
        if needs_quote:
            available = self.client.balance([quote]).available(quote)
            capital = self.spec.capital
            if capital is not None and capital.quote is not None:
                sleeve = min(available, max(Decimal(0), capital.quote - self.store.quote_spent(self.spec.name, quote)))
            else:
                sleeve = available * (capital.share if capital is not None and capital.share is not None else 1)
        return Holdings(quote=sleeve, position=max(position, Decimal(0)))

    def execute(self, signal: Signal, resend: bool, path: str) -> Outcome:
        """The signal's checks, its order, and its placement (see the module docstring)."""
        log, name = _logger(), self.spec.name
        base = Outcome(status=200, state="placed", spec=name, signal_id=signal.signal_id, inst_id=signal.inst_id,
                       path=path)

        def refused(reason: str, status: int = 422) -> Outcome:
            self.store.refuse(name, signal.signal_id, reason)
            log.warning("signal %s refused (%d): %s", signal.signal_id, status, reason)
            return base.model_copy(update={"status": status, "state": "refused", "reason": reason})

        log.info("signal %s: %s %s (sent %s)", signal.signal_id, signal.action, signal.inst_id,
                 datetime.fromtimestamp(signal.time_ms / 1000, UTC).strftime("%H:%M:%S"))
        refusal = refusal_of(self.strategy, self.spec.risk, signal, self.instruments)
        if refusal is not None:
            return refused(refusal.reason)
        instrument = self.instruments[signal.inst_id]
        try:
            ticker, priced_from = live_ticker(self.market, self.client.ticker, signal.inst_id)
            book = top_of_book(ticker)
            holdings = self._holdings(signal)
        except OkxError as exc:
            return refused(f"could not read the venue: {' '.join(str(exc).split())[:300]}", 502)
        planned = order_for(self.strategy, self.spec.risk.limits(), signal, book, instrument, holdings)
        if isinstance(planned, Refusal):
            return refused(planned.reason)
        request = pipeline.to_request(planned, signal_cl_ord_id(name, signal.signal_id), self.tag)
        order = base.model_copy(update={"cl_ord_id": request.cl_ord_id or "", "side": request.side,
                                        "sz": format_decimal(request.sz),
                                        "px": format_decimal(request.px) if request.px is not None else ""})
        log.info("%s (priced from the %s ticker)", planned.reason, "stream's" if priced_from == "stream" else "REST")
        if self.spec.dry_run:
            self.store.refuse(name, signal.signal_id, f"dry run: not sent ({planned.reason})")
            return order.model_copy(update={"state": "dry-run", "reason": planned.reason})
        try:
            request.check(instrument)
        except (ValueError, OkxError) as exc:  # the instrument's lot / tick rules
            return refused(" ".join(str(exc).split())[:300])
        self.store.intend(name, signal.signal_id, request, self.account)
        carried: list[str] = []
        try:
            placed = place_once(self.client, request, resend=resend, sends=self.store.sends(name, signal.signal_id),
                                send=self._sender(carried))
        except OkxError as exc:
            text = " ".join(str(exc).split())[:400]
            order = order.model_copy(update={"entry": "".join(carried)})
            if exc.outcome_unknown:
                self.store.unknown(name, signal.signal_id, text)
                log.error("signal %s: outcome unknown (%s); a resend looks clOrdId %s up first", signal.signal_id,
                          text, request.cl_ord_id)
                return order.model_copy(update={"status": 504, "state": "unknown", "reason": text})
            return refused(f"refused by the venue: {text}").model_copy(update={"entry": order.entry})
        assert placed.ord_id is not None
        self.store.placed(name, signal.signal_id, placed.ord_id, "adopted" if placed.adopted else "")
        entry = "".join(carried)
        log.info("signal %s: order %s%s", signal.signal_id, placed.ord_id,
                 " (already placed: adopted, not sent again)" if placed.adopted else
                 f" (entered over {'WebSocket' if entry == 'ws' else 'REST'})")
        return order.model_copy(update={"ord_id": placed.ord_id, "adopted": placed.adopted, "entry": entry})

    def settle(self) -> None:
        """Record the fills of the spec's placed orders not settled yet: from an order's final
        push when the order stream has one (waiting up to ``PUSH_WAIT_S`` for it), else one REST
        read each. A final push is the order's last word; anything short of one is read over
        REST, so a lost push costs a read, never a fill."""
        rows = [row for row in self.store.unsettled(self.spec.name) if row.ord_id is not None]
        if not rows:
            return
        pushed: dict[OrderRef, Order] = {}
        stream = self._order_stream()
        if stream is not None:
            refs = [OrderRef(row.inst_id, ord_id=row.ord_id or "") for row in rows]
            try:
                pushed = stream.wait_final(refs, timeout=PUSH_WAIT_S, poll_after=PUSH_WAIT_S * 2)
            except TimeoutError:
                pushed = {ref: found for ref in refs if (found := stream.order(ref)) is not None and found.is_final}
        for row in rows:
            final = pushed.get(OrderRef(row.inst_id, ord_id=row.ord_id or ""))
            try:
                state = final if final is not None else self.client.order(row.inst_id, ord_id=row.ord_id)
                self.store.record_order(self.spec.name, row.signal_id, state)
            except OkxError as exc:
                LOG.warning("%s: could not read order %s: %s", self.spec.name, row.ord_id, exc)


@task(name="okx-signal", task_run_name="signal-{signal.spec}-{signal.signal_id}", retries=0, cache_policy=NO_CACHE,
      persist_result=False, log_prints=False)
def execute_signal(desk: Desk, signal: Signal, resend: bool, path: str = "resident") -> Outcome:
    """Execute one accepted signal: its checks, its one order, its record.

    Not retried by Prefect: the placement is idempotent, and a signal's next delivery finishes
    what an attempt left (``Desk.handle``).

    Args:
        desk: the spec's warm state (client, instruments, signals table).
        signal: the signal (no secret in it).
        resend: an earlier attempt may have sent the order: look it up before sending.
        path: ``resident`` or ``durable``.

    Returns:
        The outcome (placed, adopted, refused with the reason, or unknown).
    """
    return desk.execute(signal, resend, path)


# -- the resident executor flow run ------------------------------------------------------------------

_Item = tuple[Signal, "concurrent.futures.Future[Outcome]"]
_INBOXES: dict[str, queue.Queue[_Item | None]] = {}


def _executor_run_name() -> str:
    from prefect.runtime import flow_run

    return f"signals-{flow_run.parameters.get('spec_name', 'spec')}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def _drain(desk: Desk, inbox: queue.Queue[_Item | None], *, prefect: bool, until: Callable[[int, float], bool]) -> bool:
    """Execute signals from ``inbox`` until ``until(count, started)`` says to rotate (True) or
    the stop sentinel arrives (False)."""
    count, started = 0, time.monotonic()
    while True:
        try:
            item = inbox.get(timeout=1.0)
        except queue.Empty:
            if until(count, started):
                return True
            continue
        if item is None:
            return False
        signal, future = item
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(desk.handle(signal, prefect=prefect))
        except BaseException as exc:  # noqa: BLE001 - the receiver answers 500 with the one line
            LOG.exception("%s: signal %s failed", desk.spec.name, signal.signal_id)
            future.set_exception(exc)
        count += 1
        try:
            desk.settle()
        except Exception:  # noqa: BLE001 - settled again before the next sell or share buy
            LOG.exception("%s: settling after signal %s failed", desk.spec.name, signal.signal_id)


@flow(name="signal-executor", flow_run_name=_executor_run_name, persist_result=False, log_prints=False)
def signal_executor(spec_name: str, executor_id: str) -> bool:
    """Execute the spec's signals as they arrive, each as a task run; True when it is time for a
    fresh flow run, False when the receiver stops (parameters: names only, never a secret)."""
    executor = _EXECUTORS[executor_id]
    get_run_logger().info("%s: executing signals on %s", spec_name, executor.desk.venue.label)
    return _drain(executor.desk, executor.inbox, prefect=True, until=lambda n, t0: n >= ROTATE_SIGNALS or
                  time.monotonic() - t0 >= ROTATE_S)


_EXECUTORS: dict[str, Executor] = {}


class Executor:
    """A thread running one spec's executor flow run (renewed on rotation) fed by ``submit``."""

    def __init__(self, desk: Desk, *, prefect: bool = True) -> None:
        self.desk = desk
        self.prefect = prefect
        self.id = uuid.uuid4().hex
        self.inbox: queue.Queue[_Item | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"signals-{desk.spec.name}", daemon=True)

    def start(self) -> Executor:
        _EXECUTORS[self.id] = self
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            again = True
            while again:
                if self.prefect:
                    again = bool(signal_executor(spec_name=self.desk.spec.name, executor_id=self.id))
                else:
                    again = _drain(self.desk, self.inbox, prefect=False, until=lambda n, t0: False)
        except BaseException:  # noqa: BLE001 - what is queued is answered below, not left hanging
            LOG.exception("%s: the signal executor stopped", self.desk.spec.name)
        finally:
            _EXECUTORS.pop(self.id, None)
            while True:
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[1].set_exception(RuntimeError("the signal executor stopped"))

    def submit(self, signal: Signal) -> concurrent.futures.Future[Outcome]:
        future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        if not self._thread.is_alive():
            future.set_exception(RuntimeError("the signal executor is not running"))
            return future
        self.inbox.put((signal, future))
        return future

    def stop(self, timeout: float = 30) -> None:
        self.inbox.put(None)
        self._thread.join(timeout=timeout)
