"""``okx-flows breaker show|reset SPEC``: the circuit breaker of a spec on its account.

``show`` prints the reading a run would check before it plans (``okx_strategies.breaker``): the
spec's NAV now, its high-water mark, the drawdown, the day's start and loss, against the spec's
``risk.max_drawdown`` and ``risk.max_daily_loss``. ``reset`` starts a new high-water mark and
day from now, for when a person has looked at a tripped breaker and decided the strategy may
trade again (then ``okx-flows resume --account NAME --all-paused`` un-pauses the deployments
the breaker's automation paused). Both read the venue (the
spec's balances and prices, as ``okx-flows plan`` does) and send nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO


def add_parser(sub: Any) -> None:
    p = sub.add_parser("breaker", help="show or reset a spec's circuit breaker (risk.max_drawdown, max_daily_loss)")
    actions = p.add_subparsers(dest="breaker_command", metavar="{show,reset}", required=True)
    for name, text in (("show", "the spec's NAV, high-water mark, drawdown and today's loss against its limits"),
                       ("reset", "start a new high-water mark and day from now (after a person has looked)")):
        action = actions.add_parser(name, help=text)
        action.add_argument("spec", metavar="SPEC")
        action.add_argument("--sim-state", type=Path, metavar="PATH", help="embedded simulator state file")


def invoke(args: argparse.Namespace, extra: list[str] | None = None, out: TextIO | None = None) -> int:
    from flows.spec import SpecError, load_spec
    from flows.venue import resolve_venue
    from okx_strategies import breaker, pipeline
    from okx_strategies.accounting import open_books
    from okx_strategies.direct import DirectVenue
    from okx_wire.ledger import open_ledger

    out = out or sys.stdout
    spec = load_spec(args.spec)
    ledger = open_ledger()
    with resolve_venue(spec, confirm_live=True) as where:  # reads only
        venue = DirectVenue(where.credentials.get_client(), where.label)
        instruments = pipeline.checked_instruments(venue, spec, lambda problems: SpecError(
            [f"{args.spec}: {p}" for p in problems]))
        account = where.account(venue.client.account_config().uid)
        if args.breaker_command == "reset":
            ledger.reset_breaker(spec.name, account)
            print(f"{spec.name}: circuit breaker reset on account {account}; the high-water mark and the day "
                  "start again from the next run's NAV", file=out)
            return 0
        books, _ = open_books(spec, pipeline.market(venue, spec, instruments), ledger, venue, account, dry=True,
                              capital=spec.capital)
    limits = spec.risk.breaker()
    reading = breaker.read(ledger.history(spec.name, account), books.value_before, books.quote,
                           int(time.time() * 1000), reset_ms=ledger.breaker_reset_ms(spec.name, account))
    figures = reading.figures()
    print(f"{spec.name} on {where.label} (account {account}), {reading.runs} run(s) in the ledger:", file=out)
    print(f"  NAV now      {figures['nav']}", file=out)
    print(f"  high water   {figures['high_water']}; drawdown {figures['drawdown']} (limit "
          f"{_limit(limits.max_drawdown, '%', 100)})", file=out)
    print(f"  day's start  {figures['day_start']}; lost today {figures['daily_loss']} (limit "
          f"{_limit(limits.max_daily_loss, books.quote)})", file=out)
    reason = breaker.breach(reading, limits)
    print(f"  tripped: {reason}" if reason else ("  not tripped" if limits.armed else
                                                  "  no limit set: the breaker is off"), file=out)
    return 0


def _limit(value: Any, unit: str, scale: int = 1) -> str:
    from okx_wire.precision import format_decimal

    return "none" if value is None else f"{format_decimal(value * scale)} {unit}"
