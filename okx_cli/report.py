"""``okx-flows report SPEC [--since DATE] [--csv | --json]``: how a strategy has done, from the ledger.

It reads the run journal's database only (no venue, no Prefect): per run, the strategy's value
after it (its NAV), P&L against holding the portfolio it started with, and cumulative fees and
turnover. Fees and turnover are summed from the recorded fills (the venue's own fill reports),
and each run's figures are checked against them: a run whose recorded fills do not add up to
its row is named, and fills that arrived after their run (a resting order filling later) are
counted where they belong.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from okx_cli.errors import UserError

ZERO = Decimal(0)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="a strategy's NAV, P&L against holding, fees and turnover, from the ledger")
    p.add_argument("spec", metavar="SPEC", help="a spec file, or a spec name")
    p.add_argument("--since", metavar="DATE", help="only runs ending at or after DATE (YYYY-MM-DD, UTC)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="one CSV row per run")
    form.add_argument("--json", action="store_true", help="the series and totals as JSON")


@dataclass(frozen=True)
class Point:
    """One run of the series, with the running totals up to it."""

    ended: datetime
    run_id: str
    status: str
    nav: Decimal
    held: Decimal
    pnl: Decimal
    vs_held: Decimal
    fees: Decimal
    turnover: Decimal
    run_fees: Decimal
    run_traded: Decimal
    shortfall_bps: Decimal | None
    drift_after: Decimal | None
    fills: int


def _spec_name(text: str) -> str:
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        from flows.spec import load_spec

        return load_spec(text).name
    return text


def _since(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise UserError(f"--since {text!r}: not a date -- use YYYY-MM-DD, e.g. 2026-11-01") from None
    return int(day.timestamp() * 1000)


def series(rows: Sequence[Any], ledger: Any) -> tuple[list[Point], list[str]]:
    """The NAV series of one account's runs, oldest first, and the reconciliation problems."""
    from okx_strategies.valuation import run_costs, value_of

    if not rows:
        return [], []
    start = rows[0]
    problems: list[str] = []
    points: list[Point] = []
    fees = turnover = ZERO
    per_run = ledger.fills_by_run([r.run_id for r in rows])
    for row in rows:
        recorded = per_run.get(row.run_id, [])
        costs = run_costs(recorded, {}, row.prices_after)
        if costs.traded_notional < row.traded_notional - Decimal("0.01"):
            problems.append(f"run {row.run_id}: its row says {row.traded_notional:.2f} {row.quote_ccy} traded, its "
                            f"recorded fills {costs.traded_notional:.2f}")
        late = costs.traded_notional - row.traded_notional
        fees += costs.fees if late > Decimal("0.01") else row.fees
        turnover += max(costs.traded_notional, row.traded_notional)
        held = value_of(start.holdings_before, row.prices_after)
        points.append(Point(ended=datetime.fromtimestamp(row.ended_ms / 1000, UTC), run_id=row.run_id,
                            status=row.status, nav=row.value_after, held=held, pnl=row.value_after - start.value_before,
                            vs_held=row.value_after - held, fees=fees, turnover=turnover, run_fees=row.fees,
                            run_traded=row.traded_notional, shortfall_bps=row.shortfall_bps,
                            drift_after=row.drift_after, fills=len(recorded)))
    return points, problems


def _fmt(value: Decimal | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _print_text(spec: str, account: str, rows: Sequence[Any], points: list[Point], problems: list[str],
                out: TextIO) -> None:
    from okx_reports.units import bps, money, percent

    quote = rows[0].quote_ccy
    first, last = points[0], points[-1]
    print(f"{spec} on account {account} ({rows[-1].venue or 'venue'}): {len(points)} run(s), "
          f"{first.ended:%Y-%m-%d %H:%M} to {last.ended:%Y-%m-%d %H:%M} UTC", file=out)
    print(f"  started at      {money(rows[0].value_before, quote)}", file=out)
    print(f"  now (NAV)       {money(last.nav, quote)}", file=out)
    print(f"  P&L             {money(last.pnl, quote, signed=True)}", file=out)
    print(f"  vs. holding     {money(last.vs_held, quote, signed=True)} (the start held: {money(last.held, quote)})",
          file=out)
    print(f"  fees            {money(last.fees, quote)}", file=out)
    print(f"  turnover        {money(last.turnover, quote)}", file=out)
    print("", file=out)
    head = f"  {'ended (UTC)':<19} {'status':<13} {'NAV':>16} {'vs held':>12} {'fees':>10} {'traded':>14} " \
           f"{'shortfall':>11} {'drift':>8}"
    print(head, file=out)
    for p in points:
        print(f"  {p.ended:%Y-%m-%d %H:%M:%S} {p.status:<13} {money(p.nav, quote):>16} "
              f"{money(p.vs_held, quote, signed=True):>12} {money(p.run_fees, quote):>10} "
              f"{money(p.run_traded, quote):>14} {bps(p.shortfall_bps) if p.shortfall_bps is not None else '-':>11} "
              f"{percent(p.drift_after) if p.drift_after is not None else '-':>8}", file=out)
    print("", file=out)
    if problems:
        for problem in problems:
            print(f"  NOT RECONCILED: {problem}", file=out)
    else:
        print(f"  reconciled: every run's traded notional and fees match its {sum(p.fills for p in points)} "
              "recorded fill(s)", file=out)


def invoke(args: argparse.Namespace, extra: list[str] | None = None, out: TextIO | None = None) -> int:
    from okx_wire.ledger import open_ledger

    out = out or sys.stdout
    name = _spec_name(args.spec)
    ledger = open_ledger()
    rows = ledger.history(name, since_ms=_since(args.since))
    if not rows:
        known = ledger.specs()
        hint = f"specs with runs: {', '.join(known)}" if known else "no spec has a recorded trading run yet"
        raise UserError(f"no trading run of {name!r} in the ledger ({ledger.journal.display_url}) -- {hint}")
    accounts: dict[str, list[Any]] = {}
    for row in rows:
        accounts.setdefault(row.account, []).append(row)
    if args.csv:
        writer = csv.writer(out)
        writer.writerow(["account", "ended_utc", "run_id", "status", "quote", "nav", "held", "pnl", "vs_held",
                         "run_fees", "cum_fees", "run_traded", "cum_turnover", "shortfall_bps", "drift_after", "fills"])
    payload: list[dict[str, Any]] = []
    for account, account_rows in accounts.items():
        points, problems = series(account_rows, ledger)
        quote = account_rows[0].quote_ccy
        if args.csv:
            for p in points:
                writer.writerow([account, p.ended.isoformat(), p.run_id, p.status, quote, _fmt(p.nav), _fmt(p.held),
                                 _fmt(p.pnl), _fmt(p.vs_held), _fmt(p.run_fees), _fmt(p.fees), _fmt(p.run_traded),
                                 _fmt(p.turnover), _fmt(p.shortfall_bps, 1), _fmt(p.drift_after, 6), p.fills])
        elif args.json:
            payload.append({"spec": name, "account": account, "quote": quote, "reconciled": not problems,
                            "problems": problems,
                            "runs": [{"ended": p.ended.isoformat(), "run_id": p.run_id, "status": p.status,
                                      "nav": _fmt(p.nav), "held": _fmt(p.held), "pnl": _fmt(p.pnl),
                                      "vs_held": _fmt(p.vs_held), "fees": _fmt(p.run_fees), "cum_fees": _fmt(p.fees),
                                      "traded": _fmt(p.run_traded), "cum_turnover": _fmt(p.turnover),
                                      "shortfall_bps": _fmt(p.shortfall_bps, 1) or None,
                                      "drift_after": _fmt(p.drift_after, 6) or None, "fills": p.fills}
                                     for p in points]})
        else:
            _print_text(name, account, account_rows, points, problems, out)
    if args.json:
        json.dump(payload if len(payload) != 1 else payload[0], out, indent=2)
        out.write("\n")
    return 0
