"""``okx-flows plan SPEC``: the orders a run would place now, read-only (no order, no Prefect run).

It runs the pipeline the flows run (``okx_strategies.pipeline``) through the direct binding
(``okx_strategies.direct.DirectVenue``): the same reads and the same planner, so the preview
is what a run would compute from the same balances and books, on the same sleeve (read from
the ledger, never written: a plan opens no sleeve).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from okx_cli.output import print_books, print_plan, print_weights, strategy_list


def add_parser(sub: Any) -> None:
    p = sub.add_parser("plan", epilog=strategy_list(), formatter_class=argparse.RawDescriptionHelpFormatter,
                       help="show the orders a run would place now (read-only: sends no order)")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--sim-state", type=Path, metavar="PATH", help="embedded simulator state file (OKX_SIM_STATE)")


def invoke(args: argparse.Namespace, extra: list[str] | None = None, out: TextIO | None = None) -> int:
    from flows.spec import SpecError, load_spec
    from flows.venue import resolve_venue
    from okx_strategies import pipeline
    from okx_strategies.accounting import open_books
    from okx_strategies.direct import DirectVenue
    from okx_wire.ledger import open_ledger

    out = out or sys.stdout
    spec = load_spec(args.spec)
    # confirm_live: a plan reads and never sends, so it needs no confirmation.
    with resolve_venue(spec, confirm_live=True) as where:
        venue = DirectVenue(where.credentials.get_client(), where.label)
        instruments = pipeline.checked_instruments(venue, spec, lambda problems: SpecError(
            [f"{args.spec}: {p}" for p in problems]))
        snapshot = pipeline.market(venue, spec, instruments)
        account = where.account(venue.client.account_config().uid)
        books, snapshot = open_books(spec, snapshot, open_ledger(), venue, account, dry=True, capital=spec.capital)
        plan = pipeline.plan(spec, snapshot)
        print(f"{spec.name} ({spec.strategy.kind}) on {where.label}: plan only, nothing sent", file=out)
        print_books(books, out)
        print_plan(plan, out, reasons=True)
        print_weights(plan.weights_before, None, plan.targets, out)
    return 0
