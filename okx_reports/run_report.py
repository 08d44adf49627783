"""The landing report of a run, and the account's, as markdown a trader reads at a glance.

The order is the questions a trader asks: did it work (the status line), what is my account and
this strategy worth, what did this run do and cost, how far from target am I (the key figures);
then the charts; then planned against done per leg; then notes. Fills are a separate table (the
drill-down), named at the end.

Everything is plain data in and text out (``RunView``, ``AccountView``): the flows decide what a
run did, this module only how it reads. Money is to the cent of the quote with thousands
separators and the unit, prices to the tick, sizes to the lot (``okx_reports.units``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal

from okx_reports import charts
from okx_reports.units import bps, money, percent, price, size

Status = Literal["completed", "partial", "failed", "dry run", "nothing to do"]
_BADGE: Final[dict[str, str]] = {"completed": "COMPLETED", "partial": "PARTIAL", "failed": "FAILED",
                                 "dry run": "DRY RUN", "nothing to do": "NOTHING TO DO"}


@dataclass(frozen=True)
class LegView:
    """One leg, planned and done. ``tick``/``lot`` format its price and size."""

    leg: str
    inst_id: str
    side: str
    planned_sz: Decimal
    planned_px: Decimal | None
    planned_notional: Decimal
    tick: Decimal
    lot: Decimal
    filled_sz: Decimal | None = None
    avg_px: Decimal | None = None
    fee: Decimal | None = None
    state: str = ""
    note: str = ""


@dataclass(frozen=True)
class Weights:
    labels: list[str]
    before: list[Decimal]
    after: list[Decimal]
    target: list[Decimal]
    after_label: str = "after"


@dataclass(frozen=True)
class History:
    times: list[datetime]
    nav: list[Decimal]
    held: list[Decimal]
    fees: Decimal
    turnover: Decimal
    runs: int


@dataclass(frozen=True)
class FillsAgainstMid:
    inst_id: str
    fill_times: list[datetime]
    fill_prices: list[Decimal]
    fill_sides: list[str]
    mid_times: list[datetime]
    mids: list[Decimal]


@dataclass(frozen=True)
class Rungs:
    inst_id: str
    prices: list[Decimal]
    sizes: list[Decimal]
    sides: list[str]
    mid: Decimal


@dataclass
class RunView:
    """Everything the landing report of one run shows, in the quote currency ``quote``."""

    spec: str
    kind: str
    venue: str
    flow_run: str
    status: Status
    quote: str
    headline: str = ""
    error: str = ""
    account_equity: Decimal | None = None
    account_equity_before: Decimal | None = None
    frozen: Decimal | None = None
    value_before: Decimal | None = None
    value_after: Decimal | None = None
    capital: str = ""
    traded_notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    shortfall_bps: Decimal | None = None
    fee_rate: str = ""
    drift_before: Decimal | None = None
    drift_after: Decimal | None = None
    band: Decimal | None = None
    intended: int = 0
    placed: int = 0
    filled: int = 0
    resting: int = 0
    refused: int = 0
    weights: Weights | None = None
    history: History | None = None
    fills_chart: FillsAgainstMid | None = None
    rungs: Rungs | None = None
    legs: list[LegView] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fills_artifact: str = ""
    fills: int = 0
    projected: bool = False


def status_line(view: RunView) -> str:
    """``> **COMPLETED** · 5 orders placed, 5 filled`` (a failure carries its one-line error).

    Words, not icons: they read the same in every font, a screen reader and a notification."""
    parts = [f"> **{_BADGE[view.status]}**"]
    if view.headline:
        parts.append(view.headline)
    if view.error:
        parts.append(view.error)
    return " · ".join(parts)


def _m(value: Decimal | None, quote: str, signed: bool = False) -> str:
    return "–" if value is None else money(value, quote, signed=signed)


def figures(view: RunView) -> list[tuple[str, str]]:
    q = view.quote
    rows: list[tuple[str, str]] = []
    if view.account_equity is not None:
        change = (None if view.account_equity_before is None
                  else view.account_equity - view.account_equity_before)
        rows.append(("Account value", _m(view.account_equity, q)
                     + (f" ({_m(change, q, signed=True)} this run)" if change is not None and not view.projected
                        else "")))
    if view.frozen:
        rows.append(("Frozen in resting orders", _m(view.frozen, q)))
    label = "Strategy value" + (f" (sleeve: {view.capital})" if view.capital else "")
    if view.value_after is not None:
        after = "projected " if view.projected else ""
        rows.append((label, f"{_m(view.value_before, q)} → {after}{_m(view.value_after, q)}"))
    history = view.history
    if history is not None and history.runs and len(history.nav) > 1:
        pnl = history.nav[-1] - history.nav[0]
        vs_held = history.nav[-1] - history.held[-1]
        since = history.times[0].strftime("%Y-%m-%d %H:%M UTC")
        rows.append(("P&L since start", f"{_m(pnl, q, signed=True)} over {history.runs} run(s) since {since}"))
        rows.append(("vs. holding the start", _m(vs_held, q, signed=True)))
        rows.append(("Fees / turnover since start", f"{_m(history.fees, q)} / {_m(history.turnover, q)}"))
    rows.append(("Traded this run", _m(view.traded_notional, q)))
    rows.append(("Fees this run", _m(view.fees, q) + (f" at {view.fee_rate}" if view.fee_rate else "")))
    if view.shortfall_bps is not None:
        rows.append(("Shortfall vs. plan mid", f"{bps(view.shortfall_bps)} (positive: a cost)"))
    if view.drift_before is not None:
        after = "–" if view.drift_after is None else percent(view.drift_after)
        band = f", band {percent(view.band)}" if view.band is not None else ""
        rows.append(("Largest drift from target", f"{percent(view.drift_before)} → {after}{band}"))
    rows.append(("Orders", f"{view.intended} planned, {view.placed} placed, {view.filled} filled"
                 + (f", {view.resting} resting" if view.resting else "")
                 + (f", {view.refused} refused" if view.refused else "")))
    return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def _leg_rows(view: RunView) -> list[list[str]]:
    rows = []
    for leg in view.legs:
        base, counter = leg.inst_id.split("-", 1)
        planned = f"{leg.side} {size(leg.planned_sz, leg.lot, base)}"
        if leg.planned_px is not None:
            planned += f" @ {price(leg.planned_px, leg.tick)}"
        done = "–" if leg.filled_sz is None else size(leg.filled_sz, leg.lot)
        if leg.filled_sz and leg.avg_px is not None:
            done += f" @ {price(leg.avg_px, leg.tick)}"
        fee = "–" if leg.fee is None else money(leg.fee, view.quote)
        state = leg.state or "–"
        if leg.note:
            state += f" ({leg.note})"
        rows.append([leg.leg, state, planned, done, money(leg.planned_notional, counter), fee])
    return rows


#: More bars than this and a weights chart is unreadable (and slow to draw): the furthest from target are shown.
MAX_BARS: Final = 20


def _most_drifted(w: Weights) -> tuple[Weights, str]:
    """The weights chart's data: every asset, or the ``MAX_BARS`` furthest from target before
    the run (in the spec's order), with a title that says so."""
    if len(w.labels) <= MAX_BARS:
        return w, "Weights: before, after and target"
    ranked = sorted(range(len(w.labels)), key=lambda i: -abs(w.before[i] - w.target[i]))[:MAX_BARS]
    keep = sorted(ranked)
    picked = Weights([w.labels[i] for i in keep], [w.before[i] for i in keep], [w.after[i] for i in keep],
                     [w.target[i] for i in keep], w.after_label)
    return picked, f"Weights: the {MAX_BARS} furthest from target of {len(w.labels)}, before, after and target"


def _charts(view: RunView) -> list[str]:
    out: list[str] = []
    w = view.weights
    if w is not None and w.labels:
        w, title = _most_drifted(w)
        png = charts.weights(w.labels, w.before, w.after, w.target, title=title, after_label=w.after_label)
        out.append(charts.markdown_image("Weights before, after and target", png))
    h = view.history
    if h is not None and len(h.nav) > 1:
        png = charts.nav(h.times, h.nav, quote=view.quote, held=h.held,
                         title=f"{view.spec}: value after each run vs. holding the start")
        out.append(charts.markdown_image("Strategy value over time", png))
    f = view.fills_chart
    if f is not None and f.fill_times and f.mid_times:
        png = charts.fills_against_mid(f.fill_times, f.fill_prices, f.fill_sides, f.mid_times, f.mids,
                                       inst_id=f.inst_id)
        out.append(charts.markdown_image(f"{f.inst_id} fills against mid", png))
    r = view.rungs
    if r is not None and r.prices:
        png = charts.rungs_against_mid(r.prices, r.sizes, r.sides, r.mid, inst_id=r.inst_id)
        out.append(charts.markdown_image(f"{r.inst_id} ladder rungs against mid", png))
    return out


def render(view: RunView) -> str:
    """The landing report of one run."""
    lines = [f"# {view.spec}", "", status_line(view), "",
             f"{view.kind} on {view.venue} · flow run `{view.flow_run}`", ""]
    if view.status == "dry run":
        lines += ["**Dry run: nothing was sent.** " + (
            "“After” is projected: every planned order filled at its limit price, fees included."
            if view.projected else "“After” equals “before”: nothing would fill at once."), ""]
    lines += ["## Key figures", "", *_table(["", ""], figures(view), right=(1,)), ""]
    images = _charts(view)
    if images:
        lines += ["## Charts", ""]
        for image in images:
            lines += [image, ""]
    if view.legs:
        lines += ["## Planned vs. done", "",
                  # The state first: on a narrow screen what falls off the right is the fee, not the outcome.
                  *_table(["leg", "state", "planned", "filled @ avg", "notional", "fee"],
                          _leg_rows(view), right=(3, 4, 5)), ""]
    if view.skipped or view.notes:
        lines += ["## Notes", ""]
        lines += [f"- {s}" for s in view.skipped]
        lines += [f"- {n}" for n in view.notes]
        lines.append("")
    if view.fills_artifact:
        lines.append(f"Fills ({view.fills}): artifact `{view.fills_artifact}`.")
    return "\n".join(lines).rstrip() + "\n"


@dataclass(frozen=True)
class HoldingView:
    ccy: str
    available: Decimal
    frozen: Decimal
    price: Decimal | None
    value: Decimal | None


@dataclass
class AccountView:
    """The account-wide report: equity, each currency with its frozen part, and the sleeves."""

    account: str
    venue: str
    quote: str
    equity: Decimal
    frozen: Decimal
    holdings: list[HoldingView]
    sleeves: list[tuple[str, Decimal]]
    unpriced: list[str] = field(default_factory=list)
    as_of: str = ""


def _amount(value: Decimal) -> str:
    """An account amount: at most 8 decimals, trailing zeros dropped, thousands grouped."""
    text = f"{value.quantize(Decimal('1e-8')).normalize():,f}"
    return text if "." not in text else text.rstrip("0").rstrip(".")


def render_account(view: AccountView) -> str:
    q = view.quote
    lines = [f"# Account {view.account}", "", f"> **{money(view.equity, q)}** equity on {view.venue}"
             + (f" · {money(view.frozen, q)} frozen in resting orders" if view.frozen else "")
             + (f" · as of {view.as_of}" if view.as_of else ""), "", "## Holdings", ""]
    rows = [[h.ccy, _amount(h.available), _amount(h.frozen), "–" if h.price is None else _amount(h.price),
             "unpriced" if h.value is None else money(h.value, q)]
            for h in sorted(view.holdings, key=lambda h: -(h.value or Decimal(0)))]
    lines += _table(["ccy", "available", "frozen", f"price ({q})", "value"], rows, right=(1, 2, 3, 4))
    if view.unpriced:
        lines += ["", f"Not counted (no price on this venue): {', '.join(view.unpriced)}."]
    lines += ["", "## Sleeves", "", *_table(["spec", "value", "share"], [
        [name, money(value, q), percent(value / view.equity) if view.equity else "–"]
        for name, value in view.sleeves], right=(1, 2))]
    total = sum((v for _, v in view.sleeves), Decimal(0))
    lines += ["", f"Sleeves and the rest add up to {money(total, q)}."]
    if any(v < 0 for name, v in view.sleeves if name.startswith("(")):
        lines += ["", "**The sleeves hold more than the account: funds were moved outside okx-flows.**"]
    return "\n".join(lines) + "\n"
