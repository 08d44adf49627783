"""``okx-flows halt`` and ``okx-flows resume``: the halt switch (``flows.halt`` says what each does).

    okx-flows halt   [--account NAME]
    okx-flows resume [--account NAME] [--all-paused]

Both need the Prefect server in ``PREFECT_API_URL``; ``halt`` also reads each deployment's spec
(its ``spec_path``, relative to the current directory: run it where the workers run from) and the
key the spec names, as a run would. Each action is one line on stdout; exit 0 when everything
was done, 1 with a one-line error when something was not (the lines say what).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from okx_cli.errors import UserError

_ACCOUNT_HELP = "only deployments tagged okx-account:NAME (default: every okx deployment)"


def add_parser(sub: Any) -> None:
    """Add ``halt`` and ``resume`` (once: the command table names this module for both)."""
    if "halt" in sub.choices:
        return
    halt = sub.add_parser("halt", help="pause the deployments of an account and cancel their resting orders",
                          description="Pause every okx deployment (of one account) and cancel the resting orders "
                                      "their specs placed; algo (protective) orders are left in place.")
    halt.add_argument("--account", metavar="NAME", help=_ACCOUNT_HELP)
    resume = sub.add_parser("resume", help="resume the deployments okx-flows halt paused",
                            description="Resume the deployments okx-flows halt paused (of one account).")
    resume.add_argument("--account", metavar="NAME", help=_ACCOUNT_HELP)
    resume.add_argument("--all-paused", action="store_true",
                        help="also resume deployments paused otherwise (by hand, by the circuit breaker)")


def invoke(args: argparse.Namespace, extra: list[str] | None = None, out: TextIO | None = None) -> int:
    from flows import halt
    from okx_cli.alerts import prefect_server

    stream = out or sys.stdout

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    with prefect_server() as client:
        try:
            if args.command == "halt":
                halt.halt(client, args.account, say)
            else:
                halt.resume(client, args.account, say, all_paused=args.all_paused)
        except halt.HaltError as exc:
            raise UserError(str(exc)) from None
    return 0
