"""``okx-flows``: validate, preview and run strategy specs; check an API key; serve the simulator.

    okx-flows validate SPEC...                        every problem, one line each (exit 1)
    okx-flows plan SPEC                               the orders a run would place; sends nothing
    okx-flows run SPEC [--dry-run] [--confirm-live]   run the spec's flow now, print a summary
    okx-flows check-key [--base-url URL | --region R] [--demo]
    okx-flows sim [...]                               the simulator (``okx_sim.cli``)
    okx-flows limits apply|show [...]                 shared rate limits (``okx_cli.limits``)
    okx-flows alerts apply|show|remove [...]          alerts on Prefect automations (``okx_cli.alerts``)
    okx-flows halt|resume [--account NAME]            pause an account's bots, cancel their resting orders
    okx-flows breaker show|reset SPEC                 a spec's circuit breaker (``okx_cli.breaker``)

This module is the parser, the dispatch and the one-line error rendering; each command is a
module of this package (``validate``, ``plan``, ``run``, ``check_key``, ``sim``, ``limits``,
``alerts``, ``halt`` for both ``halt`` and ``resume``)
with ``add_parser(sub)`` and ``invoke(args, extra)``. Every user-facing error is one line on
stderr and a non-zero exit, never a traceback (``--debug`` shows it).

Settings are read once here (``RUNTIME.configure(Settings.from_env())``); ``--sim-state``
replaces the simulator state path in them rather than writing the environment.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from okx_cli.errors import PROG, UserError

#: Command -> module of this package implementing it.
COMMANDS = {"validate": "validate", "plan": "plan", "run": "run", "check-key": "check_key", "sim": "sim",
            "limits": "limits", "report": "report", "breaker": "breaker", "alerts": "alerts", "halt": "halt",
            "resume": "halt", "signals": "signals"}
#: How long a run waits for Prefect's temporary server to start (Prefect's own default is 20 s).
EPHEMERAL_STARTUP_S = 120
#: Commands that take their own arguments (parsed by the command itself).
_OWN_ARGUMENTS = ("sim", "limits")

__all__ = ["PROG", "UserError", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command(name: str) -> Any:
    """The module implementing command ``name``.

    Raises:
        UserError: ``limits`` without the redis package (an install that left it out).
    """
    try:
        return importlib.import_module(f"okx_cli.{COMMANDS[name]}")
    except ImportError as exc:
        if exc.name != "redis":
            raise
        raise UserError(f"'{name}' needs the redis package, which is not importable here ({exc}) -- "
                        "install it: pip install 'redis>=6,<9'") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run OKX trading strategies from YAML specs as Prefect flows.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for name in COMMANDS:
        if name in _OWN_ARGUMENTS:
            help_text = {"sim": "serve the OKX simulator (okx-flows sim --help)",
                         "limits": "shared rate limits: apply|show (okx-flows limits --help)"}[name]
            sub.add_parser(name, help=help_text, add_help=False)
        else:
            command(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary server of ephemeral mode creates its database on a fresh machine (about 10 s
    # of migrations, far more on a loaded one); Prefect gives it 20 s and then fails the run.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_S))
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if extra and args.command not in _OWN_ARGUMENTS:
        print(f"{PROG}: error: unrecognized arguments: {' '.join(extra)} (see {PROG} {args.command} --help)",
              file=sys.stderr)
        return 2
    from flows.spec import SpecError
    from okx_wire.errors import OkxError

    try:
        _configure(args)
        return int(command(args.command).invoke(args, extra))
    except SpecError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except (OkxError, UserError) as exc:
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (a trading run cancels what it left resting and journals it; "
              "the next run of the spec settles anything else)", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse inside sim/limits (help, usage errors)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # noqa: BLE001 - the last resort keeps tracebacks away from users
        if args.debug:
            raise
        print(f"{PROG}: unexpected error: {type(exc).__name__}: {one_line(exc)} "
              f"(rerun with {PROG} --debug {args.command} ... for the traceback)", file=sys.stderr)
        return 1


def _configure(args: argparse.Namespace) -> None:
    """This process's settings: the environment's, with ``--sim-state`` in place of OKX_SIM_STATE."""
    from okx_wire.runtime import RUNTIME
    from okx_wire.settings import Settings

    settings = Settings.from_env()
    if getattr(args, "sim_state", None):
        settings = dataclasses.replace(settings, sim_state=args.sim_state.expanduser().resolve())
    RUNTIME.configure(settings)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500] + "..." if len(text) > 500 else text or type(exc).__name__


def sub_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser for a command that parses its own arguments (``sim``, ``limits``)."""
    return _Parser(prog=f"{PROG} {prog}", description=description)


def entry() -> None:
    """The ``okx-flows`` console script: ``main``, then exit.

    After an interrupt the process ends at once (its output flushed) instead of through the
    interpreter's shutdown, where Prefect's background log and event threads, whose temporary
    server is already gone, may still be writing to stderr: a daemon thread holding stderr's lock
    at shutdown aborts the interpreter (SIGABRT) instead of exiting 130. The run has journaled and
    cancelled what it left before ``main`` returns; nothing is lost by skipping the exit hooks.
    """
    code = main()
    if code == 130:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
