"""A run's artifacts, created in the flow run itself: the landing report, its fills, the account.

Keys (stable, so Prefect's Artifacts page keeps a history per strategy and per account):

* ``<spec>-report``: the landing report of a trading run (``okx_reports.run_report``); a dry run
  writes ``<spec>-dry-run-report`` instead, so a preview never hides the last real run;
* ``<spec>-fills`` (``<spec>-dry-run-fills``): the run's fills, the report's drill-down;
* ``okx-account-<digest>``: the whole account: equity, frozen funds, every sleeve.

A run that fails after it loaded its spec still publishes its report (status FAILED, the error,
what it placed and what rests), so the ``-report`` key never shows an older success as the
latest word.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from okx_reports.run_report import (
    AccountView,
    FillsAgainstMid,
    History,
    HoldingView,
    LegView,
    Rungs,
    RunView,
    Status,
    Weights,
    render,
    render_account,
)
from okx_reports.units import money, percent
from okx_strategies.accounting import Closing, performance, sleeve_table
from okx_strategies.plan import fee_text
from okx_strategies.valuation import fee_in_quote, max_drift
from okx_tasks.artifacts import artifact_key
from okx_wire.models import Fill, Order

if TYPE_CHECKING:
    from flows.common import StrategyRun

ZERO = Decimal(0)


def report_key(spec_name: str, dry: bool, part: str = "report") -> str:
    return artifact_key(spec_name, "dry-run" if dry else "", part)


def account_key(account: str) -> str:
    return artifact_key("okx-account", account)


def run_status(run: StrategyRun, error: str) -> tuple[Status, str]:
    """The status word and its headline: what was placed, filled, refused and left resting."""
    result = run.result
    plan = run.plan
    if run.dry:
        return "dry run", f"{len(plan.orders)} order(s) planned, nothing sent"
    placed = result.placed
    finals = {o.ord_id: o for o in result.orders}
    resting = [o for o in result.orders if not o.is_final]
    cut = [o for o in result.orders if o.is_final and o.filled < o.sz]
    filled = sum(1 for o in result.orders if o.filled > 0)
    parts = [f"{len(placed)} of {len(result.placements) or len(plan.orders)} order(s) placed", f"{filled} filled"]
    if resting:
        parts.append(f"{len(resting)} resting")
    if result.refused:
        parts.append(f"{len(result.refused)} refused")
    if cut:
        parts.append(f"{len(cut)} cancelled unfilled or part-filled")
    headline = ", ".join(parts)
    if error:
        return "failed", headline
    if not plan.orders and not result.placements:
        return "nothing to do", plan_reason(run)
    unplaced = [p for p in placed if p.ord_id and p.ord_id not in finals]
    if result.refused or cut or unplaced:
        return "partial", headline
    return "completed", headline


def plan_reason(run: StrategyRun) -> str:
    plan = run.plan
    if plan.drift_band is not None and not plan.needs_trading:
        return f"every weight is within its {percent(plan.drift_band)} band"
    if plan.skipped:
        return "; ".join(s.reason for s in plan.skipped[:2])
    return "the plan has no order"


def _legs(run: StrategyRun, fills: Sequence[Fill], prices: dict[str, Decimal]) -> list[LegView]:
    by_cl = {o.cl_ord_id: o for o in run.result.orders}
    refused = {p.cl_ord_id: p for p in run.result.refused}
    placed = {p.cl_ord_id for p in run.result.placed}
    fees: dict[str, Decimal] = {}
    for f in fills:
        fees[f.ord_id] = fees.get(f.ord_id, ZERO) + fee_in_quote(f, prices)
    planned = list(run.plan.orders)
    known = {o.leg for o in planned}
    # Legs priced during the run (TWAP slices) are in the result's orders, not the plan's.
    legs = []
    for o in planned:
        cl = run.ids.get(o.leg, "")
        order = by_cl.get(cl)
        legs.append(_leg_view(run, o.leg, o.inst_id, o.side, o.sz, o.px, o.notional, order,
                              fees.get(order.ord_id) if order else None, refused.get(cl), cl in placed))
    for leg, cl in run.ids.items():
        if leg in known or cl not in by_cl:
            continue
        order = by_cl[cl]
        legs.append(_leg_view(run, leg, order.inst_id, order.side, order.sz, order.px,
                              order.sz * (order.px or ZERO), order, fees.get(order.ord_id), None, True))
    return legs


def _leg_view(run: StrategyRun, leg: str, inst_id: str, side: str, sz: Decimal, px: Decimal | None,
              notional: Decimal, order: Order | None, fee: Decimal | None, refused: Any, placed: bool) -> LegView:
    instrument = run.instruments.get(inst_id)
    tick = instrument.tick_sz if instrument else Decimal("0.00000001")
    lot = instrument.lot_sz if instrument else Decimal("0.00000001")
    if order is not None:
        state = order.state.value.replace("_", " ")
        return LegView(leg, inst_id, side, sz, px, notional, tick, lot, filled_sz=order.filled, avg_px=order.avg_px,
                       fee=fee, state=state)
    state = ("dry run" if run.dry else "refused" if refused is not None
             else "placed, state not read" if placed else "not placed")
    note = f"{refused.error_code}: {refused.error}" if refused is not None else ""
    return LegView(leg, inst_id, side, sz, px, notional, tick, lot, state=state, note=note)


def _weights(run: StrategyRun, closing: Closing) -> Weights | None:
    plan = run.plan
    labels = sorted(plan.targets) if plan.targets else []
    if not labels:
        return None
    return Weights(labels=labels, before=[plan.weights_before.get(c, ZERO) for c in labels],
                   after=[closing.weights_after.get(c, ZERO) for c in labels],
                   target=[plan.targets.get(c, ZERO) for c in labels],
                   after_label="projected" if run.dry else "after")


def _fills_chart(run: StrategyRun, fills: Sequence[Fill]) -> FillsAgainstMid | None:
    marks = run.result.marks
    if not marks:
        return None
    inst_id = marks[0][1]
    timed = [f for f in fills if f.ts and f.inst_id == inst_id]
    return FillsAgainstMid(inst_id=inst_id, fill_times=[_at(f.ts or 0) for f in timed],
                           fill_prices=[f.fill_px for f in timed], fill_sides=[f.side for f in timed],
                           mid_times=[_at(ts) for ts, _, _ in marks], mids=[mid for _, _, mid in marks])


def _rungs(run: StrategyRun) -> Rungs | None:
    orders = [o for o in run.plan.orders if o.ord_type == "post_only" and o.px is not None]
    if run.plan.kind != "ladder" or not orders:
        return None
    base = orders[0].inst_id.split("-", 1)[0]
    mid = run.plan.mids.get(base)
    if mid is None:
        return None
    return Rungs(inst_id=orders[0].inst_id, prices=[o.px or ZERO for o in orders], sizes=[o.sz for o in orders],
                 sides=[o.side for o in orders], mid=mid)


def skipped_lines(plan: Any) -> list[str]:
    """What the plan did not do as asked: a leg only scaled down is still traded, and says so."""
    return [f"{'scaled' if s.scaled else 'not traded'} {s.leg}: {s.reason}" for s in plan.skipped]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def build_view(run: StrategyRun, closing: Closing | None, fills: Sequence[Fill], error: str) -> RunView:
    status, headline = run_status(run, error)
    plan = run.plan
    quote = plan.quote_ccy or "USDT"
    view = RunView(spec=run.spec.name, kind=run.spec.strategy.kind, venue=run.result.venue, flow_run=run.run_id,
                   status=status, quote=quote, headline=headline, error=error,
                   fee_rate=fee_text(plan) if plan.fee_rates else "", band=plan.drift_band,
                   intended=len(plan.orders), placed=len(run.result.placed),
                   filled=sum(1 for o in run.result.orders if o.filled > 0),
                   resting=sum(1 for o in run.result.orders if not o.is_final), refused=len(run.result.refused),
                   skipped=skipped_lines(plan),
                   notes=list(run.result.notes), fills=len(fills),
                   fills_artifact=report_key(run.spec.name, run.dry, "fills"), projected=run.dry)
    books = run.books
    if books is not None:
        view.account_equity_before = books.account_before.equity
        view.value_before = books.value_before
        view.capital = books.capital.text().replace("=", " ") if books.capital is not None else ""
    if closing is not None:
        view.account_equity = closing.account_after.equity
        view.frozen = closing.account_after.frozen
        view.value_after = closing.value_after
        view.traded_notional = closing.costs.traded_notional
        view.fees = closing.costs.fees
        view.shortfall_bps = closing.costs.shortfall_bps
        view.projected = closing.projected
        view.drift_before = max_drift(plan.weights_before, plan.targets)
        view.drift_after = max_drift(closing.weights_after, plan.targets)
        view.weights = _weights(run, closing)
        perf = performance(closing.history)
        if perf.runs:
            view.history = History(times=perf.times, nav=perf.nav, held=perf.held, fees=perf.fees,
                                   turnover=perf.turnover, runs=perf.runs)
        view.legs = _legs(run, fills, closing.prices_after)
    else:
        view.drift_before = max_drift(plan.weights_before, plan.targets)
        view.legs = _legs(run, fills, {})
    view.fills_chart = _fills_chart(run, fills)
    view.rungs = _rungs(run)
    return view


def fill_table(fills: Sequence[Fill], run: StrategyRun, quote: str, prices: dict[str, Decimal]
               ) -> list[dict[str, str]]:
    from okx_reports.units import price, size

    rows = []
    for f in fills:
        instrument = run.instruments.get(f.inst_id)
        base = f.inst_id.split("-", 1)[0]
        tick = instrument.tick_sz if instrument else Decimal("0.00000001")
        lot = instrument.lot_sz if instrument else Decimal("0.00000001")
        rows.append({"time": _at(f.ts).strftime("%H:%M:%S.%f")[:-3] if f.ts else "", "instrument": f.inst_id,
                     "side": f.side, "price": price(f.fill_px, tick), "size": size(f.fill_sz, lot, base),
                     "notional": money(f.fill_px * f.fill_sz, f.inst_id.split("-", 1)[1]),
                     "fee": money(fee_in_quote(f, prices), quote),
                     "liquidity": {"T": "taker", "M": "maker"}.get(f.exec_type, f.exec_type or "–"),
                     "tradeId": f.trade_id, "clOrdId": f.cl_ord_id})
    return rows


def account_view(run: StrategyRun, closing: Closing) -> AccountView:
    account = closing.account_after
    return AccountView(account=run.account, venue=run.result.venue, quote=account.quote, equity=account.equity,
                       frozen=account.frozen,
                       holdings=[HoldingView(h.ccy, h.available, h.frozen, h.price, h.value) for h in account.holdings],
                       sleeves=sleeve_table(account, closing.sleeves), unpriced=account.unpriced,
                       as_of=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


def publish(run: StrategyRun, closing: Closing | None, fills: Sequence[Fill], error: str = "") -> RunView:
    """The run's artifacts, in the flow run (no task runs: the Artifacts page names the run)."""
    name, dry = run.spec.name, run.dry
    view = build_view(run, closing, fills, error)
    prices = closing.prices_after if closing is not None else {}
    create_table_artifact(table=fill_table(fills, run, view.quote, prices) or [{"note": "no fills"}],
                          key=report_key(name, dry, "fills"), description=f"{name}: fills of this run")
    create_markdown_artifact(markdown=render(view), key=report_key(name, dry),
                             description=f"{name}: {view.status} · {view.headline}"[:500])
    if closing is not None and run.account:
        av = account_view(run, closing)
        create_markdown_artifact(markdown=render_account(av), key=account_key(run.account),
                                 description=f"account {run.account}: {money(av.equity, av.quote)}")
    return view
