"""The run frame every strategy flow shares, around the strategy's own body.

``run_strategy(kind, ...)`` is a whole run: load and check the spec, resolve the venue, check
the instruments, hold the account, settle earlier runs, name the orders, read balances and books,
plan (``okx_strategies.pipeline`` over ``okx_tasks.venue.PrefectVenue``), run the strategy's
``execute`` (``okx_strategies.<kind>``), then record the weights after, publish the artifacts
and end honestly.

Order identity: every order carries ``client_order_id(key, spec.name, leg)``, where the key is
the flow run id (a resumable strategy resumed with ``--resume``: the run it continues; a slot
strategy such as DCA: its schedule slot). A task retry or a rerun of the same flow run therefore
sends the same clOrdIds, and ``okx_wire.placement`` adopts an order that already exists instead
of sending it again.

Money safety around that, in the order a trading run does it (``strategy_run``): hold the
account (``flows.account_lock``: one trading run per account), settle what earlier runs of the
spec left open (``flows.reconcile``, from the run journal ``okx_wire.journal``), stop if the
spec's circuit breaker is tripped (``okx_strategies.breaker``), plan from that truth, wait for
a person's approval of a plan above ``risk.approve_above`` (``flows.approval``), record every
intent and send in the journal before it leaves, and end honestly: a run that planned orders
and got none onto the exchange fails; an interrupted run cancels what it left resting and says
so. Every run ends with one Prefect event named for its status (``flows.events``), which the
alerts of ``okx-flows alerts apply`` react to.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext
from prefect.exceptions import TerminationSignal
from prefect.logging import get_run_logger
from pydantic import BaseModel, Field

from flows import approval, events
from flows.account_lock import account_lock
from flows.reconcile import Progress, Settlement, UnfinishedRun, settle_earlier_runs, unfinished
from flows.spec import Spec, SpecError, load_spec
from flows.venue import ResolvedVenue, resolve_venue
from okx_reports import charts
from okx_reports.run_report import figures
from okx_strategies import breaker, pipeline
from okx_strategies.accounting import Books, close_books, open_books
from okx_strategies.base import Risk, Strategy
from okx_strategies.plan import Plan, PlannedOrder, fee_text
from okx_strategies.registry import get as get_strategy
from okx_tasks import tasks
from okx_tasks.artifacts import artifact_key
from okx_tasks.blocks import OkxCredentials
from okx_tasks.venue import PrefectVenue
from okx_wire.errors import OkxError, OrderNotFound
from okx_wire.journal import Journal, RunJournal, open_journal
from okx_wire.ledger import Ledger, open_ledger
from okx_wire.models import Fill, Instrument, Order
from okx_wire.orders import OrderRequest, client_order_id
from okx_wire.placement import Placement, SendLog
from okx_wire.precision import format_decimal

ZERO = Decimal(0)
SETTLE_TIMEOUT_S = pipeline.SETTLE_TIMEOUT_S


class FlowResult(BaseModel):
    """What a strategy run did; the CLI prints it and tests inspect it. Holds no secret."""

    spec_name: str
    kind: str
    venue: str
    flow_run_id: str
    dry_run: bool
    plan: Plan
    placements: list[Placement] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    fills: list[Fill] = Field(default_factory=list)
    balances_before: dict[str, Decimal] = Field(default_factory=dict)
    balances_after: dict[str, Decimal] = Field(default_factory=dict)
    weights_before: dict[str, Decimal] = Field(default_factory=dict)
    weights_after: dict[str, Decimal] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    #: leg -> clOrdId, as sent (or as it would have been, in a dry run).
    cl_ord_ids: dict[str, str] = Field(default_factory=dict)
    #: (ms, instId, mid) each time the run priced a leg during execution (TWAP slices).
    marks: list[tuple[int, str, Decimal]] = Field(default_factory=list)
    #: Set when the run ended: completed, partial, failed, dry run or nothing to do.
    status: str = ""
    #: The report's key figures (label -> text with units), as the landing report shows them.
    figures: dict[str, str] = Field(default_factory=dict)

    @property
    def refused(self) -> list[Placement]:
        return [p for p in self.placements if not p.ok and not p.outcome_unknown]

    @property
    def unknown(self) -> list[Placement]:
        return [p for p in self.placements if p.outcome_unknown]

    @property
    def placed(self) -> list[Placement]:
        """Orders the exchange confirmed (new, or found already there): the only ones counted."""
        return [p for p in self.placements if p.ok]

    def drift_after(self) -> dict[str, Decimal]:
        return {c: self.weights_after.get(c, ZERO) - t for c, t in self.plan.targets.items()}


# -- identity ---------------------------------------------------------------------------------


def run_key() -> str:
    """The flow run's id (stable across task retries and flow reruns); a fresh id outside Prefect."""
    ctx = FlowRunContext.get()
    if ctx is not None and ctx.flow_run is not None:
        return str(ctx.flow_run.id)
    return uuid.uuid4().hex


def flow_run_name() -> str:
    """``<spec name>-<yyyymmdd-hhmmss>`` (UTC); the file name stands in for a spec that fails to load."""
    from prefect.runtime import flow_run

    path = str(flow_run.parameters.get("spec_path", "spec"))
    try:
        name = load_spec(path).name
    except SpecError:
        name = artifact_key(Path(path).stem)
    return f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def logger() -> Any:
    return get_run_logger()


def load_and_check(spec_path: str, dry_run: bool | None) -> tuple[Spec, bool]:
    spec = load_spec(spec_path)
    return spec, spec.dry_run if dry_run is None else dry_run


# -- orders ------------------------------------------------------------------------------------------


def with_ids(plan: Plan, spec: Spec, key: str) -> dict[str, str]:
    """clOrdId per leg for this run."""
    return pipeline.leg_ids(plan, spec.name, key)


def order_tag(spec: Spec) -> str:
    """The OKX order tag of every order the spec places (``pipeline.order_tag``)."""
    return pipeline.order_tag(spec.name)


# -- reporting --------------------------------------------------------------------------------------


def _num(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def new_result(spec: Spec, venue_label: str, key: str, dry_run: bool, plan: Plan,
               balances: Mapping[str, Decimal]) -> FlowResult:
    return FlowResult(spec_name=spec.name, kind=spec.strategy.kind, venue=venue_label, flow_run_id=key,
                      dry_run=dry_run, plan=plan, balances_before=dict(balances),
                      weights_before=dict(plan.weights_before))


def log_plan(plan: Plan) -> None:
    log = logger()
    if plan.fee_rates:
        log.info("planned with the fee rate %s", fee_text(plan))
    for o in plan.orders:
        log.info("plan %s: %s %s %s @ %s (%s)", o.leg, o.side, _num(o.sz), o.inst_id, _num(o.px), o.reason)
    for s in plan.skipped:
        log.warning("not planned as asked (%s): %s", s.leg, s.reason)



# -- the frame every strategy flow shares ----------------------------------------------------------


class RunFailed(OkxError):
    """A trading run that planned orders and got none of them onto the exchange, or left orders
    whose outcome is unknown: it ends Failed (non-zero exit), after publishing its report."""


@dataclass
class StrategyRun:
    """What a strategy's ``execute`` works with once the spec is loaded, the venue resolved, the
    account held and the plan made (``okx_strategies.base.Run``)."""

    spec: Spec
    dry: bool
    venue: PrefectVenue
    instruments: dict[str, Instrument]
    plan: Plan
    key: str
    ids: dict[str, str]
    result: FlowResult
    run_id: str = ""
    account: str = ""
    journal: Journal | None = None
    settlement: Settlement = field(default_factory=Settlement)
    #: For a resumed execution: how far the runs it continues got.
    resumed: Progress | None = None
    #: Look every clOrdId up before sending it (ids reused on purpose: DCA slots, resumes).
    look_first: bool = False
    log: Any = None
    books: Books | None = None
    _progress_id: Any = None

    @property
    def strategy(self) -> Any:
        return self.spec.strategy

    @property
    def risk(self) -> Risk:
        return self.spec.risk

    @property
    def spec_name(self) -> str:
        return self.spec.name

    @property
    def credentials(self) -> OkxCredentials:
        return self.venue.credentials

    @property
    def tag(self) -> str:
        return order_tag(self.spec)

    @property
    def sends(self) -> RunJournal | None:
        return self.journal.bind(self.run_id) if self.journal is not None else None

    def leg_id(self, leg: str) -> str:
        """The clOrdId of a leg planned during the run (TWAP slices), recorded in ``ids``."""
        self.ids[leg] = client_order_id(self.key, self.spec.name, leg)
        return self.ids[leg]

    def place(self, legs: Sequence[PlannedOrder], label: str) -> list[Placement]:
        """Journal the intent, then place (one order alone, several in batches)."""
        requests = [pipeline.to_request(leg, self.ids[leg.leg], self.tag) for leg in legs]
        if self.journal is not None:
            self.journal.intend(self.run_id, [(leg.leg, request) for leg, request in zip(legs, requests, strict=True)])
        placements = pipeline.place(self.venue, requests, self.instruments, label=label,
                                    sends=self.sends if not self.look_first else _LookFirst(self.sends))
        if self.journal is not None:
            self.journal.record_states(self.run_id, [(p.cl_ord_id, "live" if p.ok else "refused", p.ord_id, p.error)
                                                     for p in placements if not p.outcome_unknown])
        return placements

    def settle(self, placements: Sequence[Placement], timeout_s: float = SETTLE_TIMEOUT_S,
               cancel_rest: bool = True) -> list[Order]:
        orders = pipeline.settle(self.venue, placements, timeout_s=timeout_s, cancel_rest=cancel_rest, log=self.log)
        self.record(orders)
        return orders

    def fills(self, orders: Sequence[Order]) -> list[Fill]:
        return pipeline.fills_of(self.venue, orders)

    def record(self, orders: Sequence[Order]) -> None:
        if self.journal is not None:
            self.journal.record_orders(self.run_id, orders)

    def progress(self, fraction: float, description: str) -> None:
        """The run's progress artifact (``<name>-progress``), created at the first call."""
        if self._progress_id is None:
            self._progress_id = create_progress_artifact(fraction, key=artifact_key(self.spec.name, "progress"),
                                                         description=description)
        else:
            update_progress_artifact(self._progress_id, fraction, description=description)


class _LookFirst:
    """A SendLog that says every id may have been sent before (ids reused on purpose), so the
    placement looks each one up first even when this journal never saw it sent."""

    def __init__(self, inner: SendLog | None) -> None:
        from okx_wire.placement import PROCESS_SENDS

        self.inner: SendLog = inner or PROCESS_SENDS

    def last_send_ms(self, cl_ord_id: str) -> int | None:
        return self.inner.last_send_ms(cl_ord_id) or 0

    def record_sends(self, orders: Sequence[OrderRequest], exp_ms: int) -> None:
        self.inner.record_sends(orders, exp_ms)

    def record_refusal(self, orders: Sequence[OrderRequest], error: str) -> None:
        self.inner.record_refusal(orders, error)


def account_of(venue: ResolvedVenue, credentials: OkxCredentials) -> str:
    """The account digest (``ResolvedVenue.account``), its uid read through a task."""
    return venue.account(tasks.get_account_config(credentials).uid)


def _flow_run_uuid() -> uuid.UUID | None:
    ctx = FlowRunContext.get()
    return ctx.flow_run.id if ctx is not None and ctx.flow_run is not None else None


def slot_of(seconds: int) -> str:
    """The schedule slot a run belongs to: its scheduled start (the flow run's expected start,
    the same on every retry and rerun of it; now, outside Prefect) rounded down to ``seconds``."""
    ctx = FlowRunContext.get()
    when = ctx.flow_run.expected_start_time if ctx is not None and ctx.flow_run is not None else None
    epoch = (when or datetime.now(UTC)).timestamp()
    start = int(epoch // seconds * seconds)
    return datetime.fromtimestamp(start, UTC).strftime("%Y%m%dT%H%M%SZ")


def _unfinished_message(spec: Spec, progress: Progress) -> str:
    strategy = spec.strategy
    total = getattr(strategy, "total_size", None)
    slices = getattr(strategy, "slices", None)
    inst = getattr(strategy, "inst_id", "")
    side = getattr(strategy, "side", "")
    done = format_decimal(progress.done)
    what = (f"{len(progress.legs)} of {slices} slices sent, {done} of {format_decimal(total)} {inst} "
            f"{'sold' if side == 'sell' else 'bought'}") if total is not None else f"{done} done"
    return (f"spec {spec.name!r}: the last run {progress.last.run_id} stopped part-way ({progress.last.status}: "
            f"{what}) -- run again with --resume to finish the rest with the same order ids, "
            "or --restart to start over")


def _interrupted(run: StrategyRun, log: Any) -> None:
    """Cancel what this run left resting (direct client calls: the run is being torn down),
    journal it, and say exactly what was cancelled and what could not be."""
    assert run.journal is not None
    client = run.credentials.get_client()
    cancelled: list[Order] = []
    resting: list[Order | None] = []
    for row in run.journal.orders(run.run_id):
        if row.state not in ("sent", "live"):
            continue
        try:
            order = client.find_order(row.inst_id, row.cl_ord_id)
            if order is not None and not order.is_final:
                try:
                    client.cancel_order(order.inst_id, ord_id=order.ord_id)
                except OrderNotFound:
                    pass
                order = client.order(order.inst_id, ord_id=order.ord_id)
                (cancelled if order.is_final else resting).append(order)
            if order is not None:
                run.journal.record_order(run.run_id, order)
        except Exception as exc:  # noqa: BLE001 - say what rests; the next run settles it
            log.warning("could not settle %s (clOrdId %s) while stopping: %s", row.inst_id, row.cl_ord_id, exc)
            resting.append(None)
    detail = f"interrupted; cancelled {len(cancelled)} resting order(s)"
    if resting:
        detail += f"; {len(resting)} may still rest (the next run settles them)"
    log.warning("%s: %s", run.spec.name, detail)
    run.result.notes.append(detail)
    run.journal.finish_run(run.run_id, "interrupted", detail)


def honest_outcome(run: StrategyRun) -> str | None:
    """Why a finished trading run must end Failed, or None: planned orders but none reached the
    exchange, or orders whose outcome is still unknown. "Nothing to do" is a success."""
    result = run.result
    if run.dry:
        return None
    attempted = result.placements
    if result.unknown:
        ids = ", ".join(p.cl_ord_id for p in result.unknown)
        return (f"{len(result.unknown)} order(s) may be live, their outcome unknown (clOrdId {ids}) -- the next run "
                "of this spec looks them up before it plans")
    if attempted and not result.placed:
        reasons = "; ".join(sorted({f"{p.error_code}: {p.error}" for p in result.refused}))[:400]
        return f"{len(attempted)} order(s) planned, none placed: {reasons}"
    return None


@dataclass(frozen=True)
class _Identity:
    """Whose ids a run's orders carry: ``key`` goes into every clOrdId."""

    key: str
    look_first: bool = False
    resumed: Progress | None = None
    slot: str | None = None


def _identity(spec: Spec, strategy: Strategy, journal: Journal, account: str, run_id: str, *, resume: bool,
              restart: bool, dry: bool, log: Any) -> _Identity:
    """The flow run's own id, except for a slot strategy (its schedule slot: one run's orders per
    slot, e.g. one DCA buy a day) and a resumable one that goes on with the execution the last
    run left part-way (``resume``: the ids it used)."""
    kind = strategy.kind
    if strategy.identity == "slot":
        slot = slot_of(int(getattr(spec.strategy, "slot_seconds", 86_400)))
        return _Identity(f"slot-{slot}", look_first=True, slot=slot)
    if strategy.identity != "resumable":
        return _Identity(run_id)
    progress = unfinished(journal, spec=spec.name, account=account, kind=kind, this_run=run_id)
    if progress is None:
        return _Identity(run_id)
    if resume:
        log.info("resuming run %s: %s already done over %d slice(s)", progress.root, format_decimal(progress.done),
                 len(progress.legs))
        return _Identity(progress.root, look_first=True, resumed=progress)
    if not restart:
        raise UnfinishedRun(_unfinished_message(spec, progress))
    if not dry:
        journal.finish_run(progress.last.run_id, "abandoned", "restarted by a later run")
        log.info("restarting: run %s abandoned", progress.last.run_id)
    return _Identity(run_id)


def _failed(journal: Journal, run_id: str, exc: BaseException) -> None:
    """Journal the failure; if orders of this run may be live, say so in the error itself."""
    journal.finish_run(run_id, "failed", " ".join(str(exc).split())[:500])
    unknown = [r for r in journal.orders(run_id) if r.state == "sent"]
    if unknown and isinstance(exc, OkxError) and not isinstance(exc, RunFailed):
        raise RunFailed(
            f"{exc} -- {len(unknown)} order(s) may be live, their outcome unknown (clOrdId "
            f"{', '.join(r.cl_ord_id for r in unknown)}): the next run of this spec looks them up before it "
            "plans") from exc


@contextmanager
def strategy_run(spec_path: str, dry_run: bool | None, confirm_live: bool, kind: str, *,
                 resume: bool = False, restart: bool = False) -> Iterator[StrategyRun]:
    """Load and check the spec, resolve the venue, check the instruments; then, for a trading
    run, hold the account, settle earlier runs, snapshot balances and books, plan, and name
    every leg's clOrdId; after the body, record the weights after, publish the artifacts and
    end the run honestly. Nothing is sent before every check has passed."""
    spec, dry = load_and_check(spec_path, dry_run)
    if spec.strategy.kind != kind:
        raise SpecError([f"{spec_path}: strategy.kind: is {spec.strategy.kind}, not {kind} -- "
                         f"run it with the {spec.strategy.kind} flow"])
    if resume and restart:
        raise UnfinishedRun("--resume and --restart exclude each other -- pick one")
    strategy = get_strategy(kind)
    log = logger()
    # The report draws its charts at the end: import matplotlib while the run waits on the venue.
    # Not a daemon: a process that exits while the thread is still inside matplotlib's C++
    # extensions aborts (SIGABRT, "terminate called without an active exception"); the
    # interpreter waits for the import to finish instead (it is over long before any real run is).
    threading.Thread(target=charts.warm, name="okx-flows-charts-warm").start()
    with resolve_venue(spec, confirm_live=confirm_live) as where:
        creds = where.credentials
        venue = PrefectVenue(creds, where.label)
        log.info("%s: %s on %s%s", spec.name, kind, where.label, " (dry run)" if dry else "")
        instruments = pipeline.checked_instruments(venue, spec, lambda problems: SpecError(
            [f"{spec_path}: {p}" for p in problems]))
        account = account_of(where, creds)
        journal = open_journal()
        run_id = run_key()
        with ExitStack() as held:
            if not dry:
                held.enter_context(account_lock(account, holder=_flow_run_uuid(), log=log, label=spec.name))
            settlement = settle_earlier_runs(journal, creds, spec=spec.name, account=account,
                                             this_run=run_id, tag=order_tag(spec), act=not dry, log=log,
                                             keep={r.cl_ord_id for r in journal.orders(run_id)})
            ident = _identity(spec, strategy, journal, account, run_id, resume=resume, restart=restart, dry=dry,
                              log=log)
            snapshot = pipeline.market(venue, spec, instruments)
            ledger = open_ledger()
            books, snapshot = open_books(spec, snapshot, ledger, venue, account, dry=dry, capital=spec.capital)
            breaker_note = _check_breaker(spec, books, ledger, dry=dry, log=log)
            plan = pipeline.plan(spec, snapshot)
            ids = with_ids(plan, spec, ident.key)
            log_plan(plan)
            approval_note = _approval(spec, where.label, plan, dry=dry, log=log)
            run = StrategyRun(spec, dry, venue, instruments, plan, ident.key, ids,
                              new_result(spec, where.label, run_id, dry, plan, snapshot.balances), run_id=run_id,
                              account=account, journal=None if dry else journal, settlement=settlement,
                              resumed=ident.resumed, look_first=ident.look_first, log=log, books=books)
            run.result.notes += settlement.notes + books.notes + breaker_note + approval_note
            if not dry:
                journal.start_run(run_id, spec=spec.name, account=account, kind=kind, slot=ident.slot,
                                  resumes=ident.resumed.root if ident.resumed else None)
            try:
                yield run
            except (KeyboardInterrupt, SystemExit, TerminationSignal):
                # Ctrl-C, SIGTERM (Prefect turns it into TerminationSignal inside a run), exit.
                if not dry:
                    _interrupted(run, log)
                raise
            except BaseException as exc:
                _end(run, ledger, " ".join(str(exc).split())[:500] or type(exc).__name__)
                if not dry:
                    _failed(journal, run_id, exc)
                raise
            run.result.cl_ord_ids = dict(run.ids)
            failure = honest_outcome(run)
            _end(run, ledger, failure or "")
            if not dry:
                if ident.resumed is not None and failure is None:
                    for earlier in {ident.resumed.last.run_id, ident.resumed.root}:
                        journal.finish_run(earlier, "resumed", f"finished by run {run_id}")
                journal.finish_run(run_id, "failed" if failure else "completed", failure or "")
            if failure:
                raise RunFailed(f"{spec.name}: {failure}")


class BreakerTripped(RunFailed):
    """The spec's circuit breaker (``risk.max_drawdown`` / ``max_daily_loss``) is tripped: the
    run placed nothing, and its event asks the account's automation to pause its deployments."""


def _check_breaker(spec: Spec, books: Books, ledger: Ledger, *, dry: bool, log: Any) -> list[str]:
    """Raise ``BreakerTripped`` (after emitting its event) if the spec lost more than it may; a
    dry run only says so. Returns the run's note, if any."""
    limits = spec.risk.breaker()
    if not limits.armed:
        return []
    reading = breaker.read(ledger.history(spec.name, books.account), books.value_before, books.quote,
                           int(time.time() * 1000), reset_ms=ledger.breaker_reset_ms(spec.name, books.account))
    reason = breaker.breach(reading, limits)
    if reason is None:
        return []
    if dry:
        log.warning("%s: the circuit breaker is tripped (a trading run would place nothing): %s", spec.name, reason)
        return [f"circuit breaker tripped: {reason}"]
    events.emit_breaker_tripped(spec.name, books.account, reason, reading.figures())
    raise BreakerTripped(f"{spec.name}: circuit breaker tripped: {reason}")


def _approval(spec: Spec, venue: str, plan: Plan, *, dry: bool, log: Any) -> list[str]:
    """Wait for a person to approve a plan above ``risk.approve_above`` (``flows.approval``)."""
    above = spec.risk.approve_above
    if not approval.needs_approval(plan, above):
        return []
    assert above is not None
    total = f"{format_decimal(round(approval.plan_notional(plan), 2))} {plan.quote_ccy}"
    if dry:
        return [f"the plan ({total}) is above risk.approve_above: a trading run waits for approval"]
    log.info("the plan (%s) is above risk.approve_above %s: waiting up to %d s for approval in Prefect's UI",
             total, format_decimal(above), spec.risk.approval_timeout_seconds)
    note = approval.await_approval(spec.name, venue, plan, above, spec.risk.approval_timeout_seconds, log)
    return [f"plan ({total}) approved" + (f": {note}" if note else "")]


def _end(run: StrategyRun, ledger: Ledger, error: str) -> None:
    """Close the run's books (the ledger row, the sleeve after its fills) and publish its report.

    On a failure this is best effort: the fills and the after-read may fail as the run did, and
    the report is still published with what is known (what was placed, what rests, the error),
    never masking the run's own error.
    """
    from flows import report

    result = run.result
    status, _ = report.run_status(run, error)
    result.status = status
    closing = None
    assert run.books is not None, "the books are opened before the body runs"
    try:
        if error and not run.dry and result.orders and not result.fills:
            result.fills = run.fills(result.orders)
        closing = close_books(run.books, run.plan, result.fills, run.venue, ledger, dry=run.dry, status=status,
                              kind=run.spec.strategy.kind, run_id=run.run_id, venue_label=result.venue,
                              intended=len(run.plan.orders), placed=len(result.placed),
                              filled_orders=sum(1 for o in result.orders if o.filled > 0), detail=error)
        result.balances_after = {c: closing.own_after.get(c, ZERO) for c in run.books.ccys}
        result.weights_after = dict(closing.weights_after)
    except Exception as exc:  # noqa: BLE001 - the report must still say what happened
        if not error:
            raise
        run.log.warning("could not value the account after the failure: %s", " ".join(str(exc).split())[:300])
    try:
        view = report.publish(run, closing, result.fills, error)
        result.figures = dict(figures(view))
    except Exception as exc:  # noqa: BLE001
        if not error:
            raise
        run.log.warning("could not publish the report of the failed run: %s", " ".join(str(exc).split())[:300])
        return
    events.emit_run_ended(view, run.account)


def run_strategy(kind: str, spec_path: str, dry_run: bool | None = None, confirm_live: bool = False,
                 **options: bool) -> FlowResult:
    """The whole run of a spec of ``kind``: the frame above around the strategy's own body.

    Each flow in ``flows/`` is this call under its own ``@flow`` name (see
    docs/adding-a-strategy.md); ``options`` are ``resume``/``restart`` for resumable strategies.
    """
    with strategy_run(spec_path, dry_run, confirm_live, kind, **options) as run:
        get_strategy(kind).execute(run)
    return run.result
