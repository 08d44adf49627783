"""Pieces every strategy flow shares: the run's identity, market data, placing and settling
orders, the result model and the artifacts with stable keys.

Order identity: every order carries ``client_order_id(flow_run_id, spec.name, leg)``. A task retry
or a rerun of the same flow run therefore sends the same clOrdIds, and ``okx_tasks.placement``
adopts an order that already exists instead of sending it again.
"""

from __future__ import annotations

import hashlib
import re

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from prefect.context import FlowRunContext
from prefect.logging import get_run_logger
from pydantic import BaseModel, Field

from flows.planning import BOOK_DEPTH, PlannedLeg, PlanView, make_plan, needs, weights
from flows.spec import Spec, SpecError, check_against_instruments, load_spec
from flows.venue import resolve_venue
from okx_tasks import tasks
from okx_tasks.artifacts import artifact_key, fill_rows, order_rows, publish_markdown, publish_table
from okx_tasks.blocks import OkxCredentials
from okx_tasks.errors import AuthenticationError, OkxError, PermissionDenied
from okx_tasks.models import Fill, Instrument, Order, OrderBook
from okx_tasks.orders import OrderRequest, client_order_id
from okx_tasks.placement import Placement
from okx_tasks.precision import format_decimal

ZERO = Decimal(0)
#: How long a run waits for marketable orders to fill before cancelling what is left.
SETTLE_TIMEOUT_S = 10.0


class FlowResult(BaseModel):
    """What a strategy run did; the CLI prints it and tests inspect it. Holds no secret."""

    spec_name: str
    kind: str
    venue: str
    flow_run_id: str
    dry_run: bool
    plan: PlanView
    placements: list[Placement] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    fills: list[Fill] = Field(default_factory=list)
    balances_before: dict[str, Decimal] = Field(default_factory=dict)
    balances_after: dict[str, Decimal] = Field(default_factory=dict)
    weights_before: dict[str, Decimal] = Field(default_factory=dict)
    weights_after: dict[str, Decimal] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    @property
    def refused(self) -> list[Placement]:
        return [p for p in self.placements if not p.ok]

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
    return f"{name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"


def logger() -> Any:
    return get_run_logger()


def load_and_check(spec_path: str, dry_run: bool | None) -> tuple[Spec, bool]:
    spec = load_spec(spec_path)
    return spec, spec.dry_run if dry_run is None else dry_run


# -- market data ----------------------------------------------------------------------------------


def venue_instruments(credentials: OkxCredentials, spec: Spec, spec_path: str) -> dict[str, Instrument]:
    """The venue's spot instruments; refuses the spec (SpecError) before anything is sent."""
    instruments = {i.inst_id: i for i in tasks.get_instruments(credentials, "SPOT")}
    problems = check_against_instruments(spec, instruments)
    if problems:
        raise SpecError([f"{spec_path}: {p}" for p in problems])
    return instruments


def fetch_balances(credentials: OkxCredentials, ccys: Sequence[str]) -> dict[str, Decimal]:
    """Available balance per currency: funds frozen in resting orders are neither valued nor traded."""
    balance = tasks.get_balance(credentials, list(ccys))
    return {ccy: balance.available(ccy) for ccy in ccys}


def fetch_books(credentials: OkxCredentials, inst_ids: Sequence[str], depth: int = BOOK_DEPTH) -> dict[str, OrderBook]:
    futures = {inst_id: tasks.get_order_book.submit(credentials, inst_id, depth) for inst_id in inst_ids}
    return {inst_id: future.result() for inst_id, future in futures.items()}


def snapshot(credentials: OkxCredentials, spec: Spec) -> tuple[dict[str, Decimal], dict[str, OrderBook]]:
    need = needs(spec)
    return fetch_balances(credentials, need.ccys), fetch_books(credentials, need.inst_ids)


# -- orders ------------------------------------------------------------------------------------------


def with_ids(plan: PlanView, spec: Spec, key: str) -> dict[str, str]:
    """clOrdId per leg for this run."""
    return {o.leg: client_order_id(key, spec.name, o.leg) for o in plan.orders}


def order_tag(spec: Spec) -> str:
    """The OKX order tag (1-16 letters/digits) of every order a spec places: it shows in OKX's
    own UI and lets a later run find the spec's orders (the ladder replaces its previous one)."""
    readable = re.sub(r"[^A-Za-z0-9]", "", spec.name)[:10]
    return readable + hashlib.sha256(spec.name.encode()).hexdigest()[:6]


def to_request(leg: PlannedLeg, cl_ord_id: str, tag: str | None = None) -> OrderRequest:
    return OrderRequest(inst_id=leg.inst_id, side=leg.side, ord_type=leg.ord_type, sz=leg.sz,  # type: ignore[arg-type]
                        px=leg.px, cl_ord_id=cl_ord_id, tag=tag)


def place(credentials: OkxCredentials, legs: Sequence[PlannedLeg], ids: Mapping[str, str],
          instruments: Mapping[str, Instrument], label: str, tag: str | None = None) -> list[Placement]:
    """Place ``legs`` (one request for one leg, batches otherwise); refusals come back as Placements."""
    if not legs:
        return []
    requests = [to_request(leg, ids[leg.leg], tag) for leg in legs]
    if len(requests) > 1:
        used = {r.inst_id: instruments[r.inst_id] for r in requests if r.inst_id in instruments}
        return tasks.place_batch_orders(credentials, requests, used, label=label)
    request = requests[0]
    try:
        return [tasks.place_order(credentials, request, instruments.get(request.inst_id))]
    except OkxError as exc:
        if exc.outcome_unknown:
            raise  # may have been placed: fail the run; a rerun looks the clOrdId up first
        if isinstance(exc, (AuthenticationError, PermissionDenied)):
            raise  # the key, not the order: every order would be refused the same way
        return [Placement(inst_id=request.inst_id, cl_ord_id=request.cl_ord_id or "", error_code=exc.code or "local",
                          error=str(exc))]


def settle(credentials: OkxCredentials, placements: Sequence[Placement], timeout_s: float = SETTLE_TIMEOUT_S,
           cancel_rest: bool = True) -> list[Order]:
    """Wait until the placed orders are final (or ``timeout_s``), then cancel what still rests."""
    placed = [p for p in placements if p.ok]
    if not placed:
        return []
    orders = tasks.wait_for_orders(credentials, placed, timeout_s=timeout_s)
    if not cancel_rest:
        return orders
    final = []
    for order in orders:
        if not order.is_final:
            logger().info("%s order %s: %s of %s filled; cancelling the rest", order.inst_id, order.ord_id,
                          format_decimal(order.filled), format_decimal(order.sz))
            order = tasks.cancel_order(credentials, order.inst_id, ord_id=order.ord_id)
        final.append(order)
    return final


def fills_of(credentials: OkxCredentials, orders: Sequence[Order]) -> list[Fill]:
    """Fills of these orders: the account's fills since the first of them was created, paged
    (one request per 100 fills, not one per instrument, which at 200 assets was 6 s of budget)."""
    traded = [o for o in orders if o.filled > 0]
    if not traded:
        return []
    wanted = {o.ord_id for o in traded}
    begin = min((o.c_time for o in traded if o.c_time), default=None)
    if begin is None:  # no creation time to start from: ask per instrument
        return [f for inst_id in sorted({o.inst_id for o in traded})
                for f in tasks.get_fills(credentials, inst_id) if f.ord_id in wanted]
    return [f for f in tasks.get_fills_since(credentials, begin - 1) if f.ord_id in wanted]


# -- reporting --------------------------------------------------------------------------------------


def _pct(value: Decimal | None) -> str:
    return "" if value is None else f"{(value * 100).quantize(Decimal('0.01'))}%"


def _num(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def plan_rows(plan: PlanView, ids: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    rows = [{"leg": o.leg, "instrument": o.inst_id, "side": o.side, "type": o.ord_type, "size": _num(o.sz),
             "price": _num(o.px), "notional": _num(o.notional.quantize(Decimal("0.01"))),
             "clOrdId": (ids or {}).get(o.leg, ""), "reason": o.reason}
            | ({"at_s": _num(o.at_s.quantize(Decimal("0.1")))} if o.at_s is not None else {})
            for o in plan.orders]
    rows += [{"leg": s.leg, "instrument": s.inst_id, "side": "", "type": "skipped", "size": "", "price": "",
              "notional": "", "clOrdId": "", "reason": s.reason} for s in plan.skipped]
    return rows


def balance_table(result: FlowResult) -> list[dict[str, str]]:
    ccys = sorted(set(result.balances_before) | set(result.balances_after))
    rows = []
    for ccy in ccys:
        row = {"ccy": ccy, "before": _num(result.balances_before.get(ccy)),
               "after": _num(result.balances_after.get(ccy)),
               "weight_before": _pct(result.weights_before.get(ccy)),
               "weight_after": _pct(result.weights_after.get(ccy))}
        if result.plan.targets:
            row["target"] = _pct(result.plan.targets.get(ccy))
        rows.append(row)
    return rows


def drift_table(result: FlowResult) -> list[dict[str, str]]:
    after = result.drift_after()
    return [{"ccy": ccy, "target": _pct(target), "weight_before": _pct(result.weights_before.get(ccy)),
             "drift_before": _pct(result.plan.drift.get(ccy)), "weight_after": _pct(result.weights_after.get(ccy)),
             "drift_after": _pct(after.get(ccy)),
             "band": _pct(result.plan.drift_band)}
            for ccy, target in sorted(result.plan.targets.items())]


def summary_markdown(result: FlowResult) -> str:
    plan = result.plan
    lines = [f"# {result.spec_name} ({result.kind})", "",
             f"- venue: {result.venue}", f"- flow run: `{result.flow_run_id}`",
             f"- mode: {'dry run (nothing sent)' if result.dry_run else 'live orders'}",
             f"- planned orders: {len(plan.orders)}, skipped: {len(plan.skipped)}",
             f"- placed: {sum(p.ok for p in result.placements)}, refused: {len(result.refused)}, "
             f"fills: {len(result.fills)}"]
    if plan.kind == "rebalance":
        lines.append(f"- needs trading: {'yes' if plan.needs_trading else 'no (every weight inside the band)'}")
    lines += ["", "| ccy | before | after | target |", "|---|---|---|---|"]
    for ccy in sorted(set(result.weights_before) | set(result.weights_after)):
        lines.append(f"| {ccy} | {_pct(result.weights_before.get(ccy))} | {_pct(result.weights_after.get(ccy))} | "
                     f"{_pct(plan.targets.get(ccy)) if plan.targets else ''} |")
    if plan.skipped or result.refused or result.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- skipped {s.leg}: {s.reason}" for s in plan.skipped]
        lines += [f"- refused {p.cl_ord_id} ({p.inst_id}): {p.error}" for p in result.refused]
        lines += [f"- {n}" for n in result.notes]
    return "\n".join(lines) + "\n"


def publish(spec: Spec, result: FlowResult, ids: Mapping[str, str]) -> None:
    """Every artifact under its stable key: ``{name}-plan|orders|fills|balances|summary`` (+ drift)."""
    name = spec.name
    publish_table(plan_rows(result.plan, ids), artifact_key(name, "plan"), f"{name}: the orders this run planned")
    publish_table(order_rows(result.orders), artifact_key(name, "orders"), f"{name}: final state of each order")
    publish_table(fill_rows(result.fills), artifact_key(name, "fills"), f"{name}: fills of this run")
    publish_table(balance_table(result), artifact_key(name, "balances"), f"{name}: balances and weights before/after")
    if result.kind == "rebalance":
        publish_table(drift_table(result), artifact_key(name, "drift"), f"{name}: drift from target before/after")
    publish_markdown(summary_markdown(result), artifact_key(name, "summary"), f"{name}: run summary")


def after_weights(result: FlowResult, credentials: OkxCredentials, ccys: Sequence[str]) -> None:
    """Balances after the run, valued at the plan's mids (so only trading moves the weights)."""
    result.balances_after = fetch_balances(credentials, ccys)
    result.weights_after = weights(result.balances_after, result.plan.mids, result.plan.quote_ccy, ccys)


def new_result(spec: Spec, venue_label: str, key: str, dry_run: bool, plan: PlanView,
               balances: Mapping[str, Decimal]) -> FlowResult:
    return FlowResult(spec_name=spec.name, kind=spec.strategy.kind, venue=venue_label, flow_run_id=key,
                      dry_run=dry_run, plan=plan, balances_before=dict(balances),
                      weights_before=dict(plan.weights_before))


def log_plan(plan: PlanView) -> None:
    log = logger()
    for o in plan.orders:
        log.info("plan %s: %s %s %s @ %s (%s)", o.leg, o.side, _num(o.sz), o.inst_id, _num(o.px), o.reason)
    for s in plan.skipped:
        log.warning("not planned as asked (%s): %s", s.leg, s.reason)



# -- the frame every strategy flow shares ----------------------------------------------------------


@dataclass
class StrategyRun:
    """What a strategy flow works with once its spec is loaded and its venue resolved."""

    spec: Spec
    dry: bool
    credentials: OkxCredentials
    instruments: dict[str, Instrument]
    plan: PlanView
    key: str
    ids: dict[str, str]
    result: FlowResult

    @property
    def tag(self) -> str:
        return order_tag(self.spec)

    def place(self, legs: Sequence[PlannedLeg], label: str) -> list[Placement]:
        return place(self.credentials, legs, self.ids, self.instruments, label=label, tag=self.tag)


@contextmanager
def strategy_run(spec_path: str, dry_run: bool | None, confirm_live: bool, kind: str) -> Iterator[StrategyRun]:
    """Load and check the spec, resolve the venue, check the instruments, snapshot balances and
    books, plan, and name every leg's clOrdId; after the body, record the weights after and
    publish the artifacts. Nothing is sent before every check has passed."""
    spec, dry = load_and_check(spec_path, dry_run)
    if spec.strategy.kind != kind:
        raise SpecError([f"{spec_path}: strategy.kind: is {spec.strategy.kind}, not {kind} -- "
                         f"run it with the {spec.strategy.kind} flow"])
    with resolve_venue(spec, confirm_live=confirm_live) as venue:
        creds = venue.credentials
        logger().info("%s: %s on %s%s", spec.name, kind, venue.label, " (dry run)" if dry else "")
        instruments = venue_instruments(creds, spec, spec_path)
        balances, books = snapshot(creds, spec)
        plan = make_plan(spec, balances, books, instruments)
        key = run_key()
        ids = with_ids(plan, spec, key)
        log_plan(plan)
        run = StrategyRun(spec, dry, creds, instruments, plan, key, ids,
                          new_result(spec, venue.label, key, dry, plan, balances))
        yield run
        after_weights(run.result, creds, needs(spec).ccys)
        publish(spec, run.result, run.ids)
