"""What ``plan`` and ``run`` print: the plan, the orders and fills, the weights before/after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TextIO


def strategy_list() -> str:
    """Every registered strategy with its one-line summary (the help of ``run`` and ``plan``)."""
    from okx_strategies.registry import strategies

    return "strategies (strategy.kind):\n" + "\n".join(f"  {kind:<10} {s.summary}" for kind, s in strategies().items())


def _num(value: Decimal | None) -> str:
    if value is None:
        return "-"
    from okx_wire.precision import format_decimal

    return format_decimal(value)


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def print_plan(plan: Any, out: TextIO, *, reasons: bool = False) -> None:
    print(f"Plan: {len(plan.orders)} order(s)" + (f", {len(plan.skipped)} note(s)" if plan.skipped else ""), file=out)
    if plan.drift_band is not None and not plan.needs_trading and not plan.skipped:
        print(f"  every weight is within the {_pct(plan.drift_band)} band: nothing to trade", file=out)
    for o in plan.orders:
        when = f" at +{o.at_s:.1f}s" if o.at_s is not None else ""
        print(f"  {o.leg:<6} {o.side:<4} {_num(o.sz):>14} {o.inst_id:<10} @ {_num(o.px):<12} "
              f"~{o.notional:,.2f} {plan.quote_ccy}{when}", file=out)
        if reasons and o.reason:
            print(f"         {o.reason}", file=out)
    for s in plan.skipped:
        print(f"  note   {s.reason}", file=out)
    if getattr(plan, "fee_rates", None):
        from okx_strategies.plan import fee_text

        print(f"  fees   {fee_text(plan)}", file=out)


def print_weights(before: dict[str, Decimal], after: dict[str, Decimal] | None, targets: dict[str, Decimal],
                   out: TextIO) -> None:
    if not before:
        return
    head = f"  {'ccy':<6} {'before':>8}" + (f" {'after':>8}" if after is not None else "") + \
        (f" {'target':>8}" if targets else "")
    print("Weights (available balances at the plan's mid prices):", file=out)
    print(head, file=out)
    for ccy in sorted(before):
        line = f"  {ccy:<6} {_pct(before.get(ccy)):>8}"
        if after is not None:
            line += f" {_pct(after.get(ccy)):>8}"
        if targets:
            line += f" {_pct(targets.get(ccy)):>8}"
        print(line, file=out)


def print_books(books: Any, out: TextIO) -> None:
    """Whose money a plan trades: the account's value and the spec's sleeve (or no sleeve)."""
    from okx_reports.units import money

    quote = books.quote
    print(f"Account value: {money(books.account_before.equity, quote)}"
          + (f" ({money(books.account_before.frozen, quote)} frozen)" if books.account_before.frozen else ""), file=out)
    if books.capital is not None:
        print(f"Sleeve ({books.capital.text().replace('=', ' ')}): {money(books.value_before, quote)}", file=out)
    else:
        print(f"No capital set: trades what no sleeve holds, {money(books.value_before, quote)}", file=out)


def print_result(result: Any, out: TextIO) -> None:
    """The readable summary of a ``FlowResult``: status, key figures, plan, orders, fills, weights."""
    mode = "DRY RUN: nothing was sent" if result.dry_run else "orders sent"
    print(f"\n{result.spec_name} ({result.kind}) on {result.venue}: {mode}", file=out)
    print(f"flow run {result.flow_run_id}" + (f" · {result.status.upper()}" if result.status else ""), file=out)
    for label, text in result.figures.items():
        print(f"  {label + ':':<30} {text}", file=out)
    print_plan(result.plan, out)
    if result.placements:
        adopted = sum(p.adopted for p in result.placed)
        print(f"Orders: {len(result.placed)} placed"
              + (f" ({adopted} already on the exchange from an earlier attempt: adopted, not sent again)"
                 if adopted else "")
              + (f", {len(result.refused)} refused" if result.refused else "")
              + (f", {len(result.unknown)} unknown (may be live)" if result.unknown else ""), file=out)
        for o in result.orders:
            print(f"  {o.inst_id:<10} {o.side:<4} {_num(o.sz):>14} @ {_num(o.px):<12} filled {_num(o.filled)}"
                  f"{' avg ' + _num(o.avg_px) if o.avg_px else ''}  {o.state.value}", file=out)
        for p in result.refused:
            print(f"  REFUSED {p.inst_id} {p.cl_ord_id}: {p.error}", file=out)
    if result.fills:
        fees: dict[str, Decimal] = {}
        for f in result.fills:
            fees[f.fee_ccy] = fees.get(f.fee_ccy, Decimal(0)) + abs(f.fee or 0)
        print(f"Fills: {len(result.fills)} (fees " + ", ".join(f"{_num(v)} {k}" for k, v in sorted(fees.items()))
              + ")", file=out)
    elif not result.dry_run and result.placements:
        print("Fills: none", file=out)
    print_weights(result.weights_before, result.weights_after, result.plan.targets, out)
    for note in result.notes:
        print(f"note: {note}", file=out)
