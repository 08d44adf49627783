"""``okx-flows``: validate, preview and run strategy specs; check an API key; serve the simulator.

    okx-flows validate SPEC...                        every problem, one line each (exit 1)
    okx-flows plan SPEC                               the orders a run would place; sends nothing
    okx-flows run SPEC [--dry-run] [--confirm-live]   run the spec's flow now, print a summary
    okx-flows check-key [--base-url URL | --region R] [--demo]
    okx-flows sim [...]                               the simulator (``okx_sim.cli``)
    okx-flows limits apply|show [...]                 shared rate limits (``okx_cli.limits``)

Every user-facing error is one line on stderr and a non-zero exit, never a traceback (``--debug``
shows it). ``run`` calls the flow in this process: ephemeral Prefect (a temporary local server)
unless ``PREFECT_API_URL`` names a server. It switches the flow heartbeat off (it would add about
1 s to every sync flow run) and Prefect's analytics, and starts the embedded simulator before
Prefect is up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, TextIO

PROG = "okx-flows"
FLOWS = {"rebalance": ("flows.rebalance", "rebalance"), "dca": ("flows.dca", "dca"),
         "twap": ("flows.twap", "twap"), "ladder": ("flows.ladder", "ladder")}


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run OKX trading strategies from YAML specs as Prefect flows.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check spec files (exit 1 with one line per problem)")
    p.add_argument("specs", nargs="+", metavar="SPEC")

    p = sub.add_parser("plan", help="show the orders a run would place now (read-only: sends no order)")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--sim-state", type=Path, metavar="PATH", help="embedded simulator state file (OKX_SIM_STATE)")

    p = sub.add_parser("run", help="run the spec's flow now and print a summary")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--dry-run", action="store_true", help="plan and report, place nothing (overrides the spec)")
    p.add_argument("--confirm-live", action="store_true", help="required to run a spec with venue: live")
    p.add_argument("--sim-state", type=Path, metavar="PATH", help="embedded simulator state file (OKX_SIM_STATE)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--resume", action="store_true",
                     help="twap: finish the execution the last run left unfinished, with the same order ids")
    how.add_argument("--restart", action="store_true",
                     help="twap: settle the unfinished last run and start the execution over")

    p = sub.add_parser("check-key", help="clock drift, permissions and IP whitelist of the OKX_* key")
    p.add_argument("--base-url", help="venue to check against (default OKX_BASE_URL; none: an embedded simulator)")
    p.add_argument("--region", choices=("global", "eea", "us"), help="an OKX regional host instead of --base-url")
    p.add_argument("--demo", action="store_true", help="a demo-trading key (x-simulated-trading: 1)")

    sub.add_parser("sim", help="serve the OKX simulator (okx-flows sim --help)", add_help=False)
    sub.add_parser("limits", help="shared rate limits: apply|show (okx-flows limits --help)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if extra and args.command not in ("sim", "limits"):
        print(f"{PROG}: error: unrecognized arguments: {' '.join(extra)} (see {PROG} {args.command} --help)",
              file=sys.stderr)
        return 2
    from flows.spec import SpecError
    from okx_wire.errors import OkxError

    try:
        return _dispatch(args, extra)
    except SpecError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except (OkxError, UserError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
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
        print(f"{PROG}: unexpected error: {type(exc).__name__}: {_one_line(exc)} "
              f"(rerun with {PROG} --debug {args.command} ... for the traceback)", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500] + "..." if len(text) > 500 else text or type(exc).__name__


def _dispatch(args: argparse.Namespace, extra: list[str]) -> int:
    if getattr(args, "sim_state", None):
        from flows.venue import ENV_SIM_STATE

        os.environ[ENV_SIM_STATE] = str(args.sim_state.expanduser().resolve())
    handler = {"validate": cmd_validate, "plan": cmd_plan, "run": cmd_run, "check-key": cmd_check_key}.get(args.command)
    if handler is not None:
        return handler(args)
    if args.command == "sim":
        return cmd_sim(extra)
    return cmd_limits(extra)


# -- validate -----------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from flows.spec import SpecError, load_spec

    failed = False
    for path in args.specs:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            failed = True
            for line in exc.problems:
                print(line, file=sys.stderr)
            continue
        print(f"ok: {path} (kind {spec.strategy.kind}, name {spec.name}, venue {spec.venue}"
              f"{', dry run' if spec.dry_run else ''})")
    return 1 if failed else 0


# -- plan ---------------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Read-only: instruments, balances and books through the client itself; no Prefect run."""
    from flows.planning import BOOK_DEPTH, make_plan, needs
    from flows.spec import SpecError, check_against_instruments, load_spec
    from flows.venue import resolve_venue

    out = out or sys.stdout
    spec = load_spec(args.spec)
    # confirm_live: a plan reads and never sends, so it needs no confirmation.
    with resolve_venue(spec, confirm_live=True) as venue:
        client = venue.credentials.get_client()
        instruments = {i.inst_id: i for i in client.instruments("SPOT")}
        problems = check_against_instruments(spec, instruments)
        if problems:
            raise SpecError([f"{args.spec}: {p}" for p in problems])
        need = needs(spec)
        balance = client.balance(need.ccys)
        balances = {ccy: balance.available(ccy) for ccy in need.ccys}
        books = {inst_id: client.order_book(inst_id, BOOK_DEPTH) for inst_id in need.inst_ids}
        plan = make_plan(spec, balances, books, instruments)
        print(f"{spec.name} ({spec.strategy.kind}) on {venue.label}: plan only, nothing sent", file=out)
        _print_plan(plan, out)
        _print_weights(plan.weights_before, None, plan.targets, out)
    return 0


# -- run ----------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from flows.spec import load_spec
    from flows.venue import check_live, prestarted_simulator, uses_embedded_simulator

    started = time.monotonic()
    spec = load_spec(args.spec)
    check_live(spec, args.confirm_live)  # before Prefect starts: refusing costs nothing
    if (args.resume or args.restart) and spec.strategy.kind != "twap":
        raise UserError(f"--{'resume' if args.resume else 'restart'} applies to twap specs only; "
                        f"{args.spec} is a {spec.strategy.kind} spec")
    dry_run = True if args.dry_run else None
    _terminate_as_interrupt()
    with ExitStack() as stack:
        if uses_embedded_simulator(spec):
            # Up before Prefect: the flow run reuses it instead of starting its own.
            stack.enter_context(prestarted_simulator())
        api = os.environ.get("PREFECT_API_URL", "").strip()
        print(f"{PROG}: running {spec.name} ({spec.strategy.kind}, venue {spec.venue}"
              f"{', dry run' if dry_run or spec.dry_run else ''}) with Prefect "
              f"{'at ' + api if api else 'in ephemeral mode (a temporary local server)'}...", file=sys.stderr, flush=True)
        if not api:
            _leases_on_disk()
        flow = _flow(spec.strategy.kind)
        if not api:
            _start_temporary_server_quietly()
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        stack.enter_context(temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
        _quiet_task_completions()
        if not args.debug:
            _no_console_tracebacks_for_user_errors()
        options = {"resume": True} if args.resume else {"restart": True} if args.restart else {}
        result = flow(spec_path=args.spec, dry_run=dry_run, confirm_live=args.confirm_live, **options)
    print_result(result, sys.stdout)
    print(f"done in {time.monotonic() - started:.1f} s", file=sys.stdout)
    return 0


def _start_temporary_server_quietly() -> None:
    """Start Prefect's temporary server now, its output going to a log file.

    The server is a child process that inherits this process's stderr and, when it is stopped
    under load, prints tracebacks of its own cancelled database sessions, after our run has
    finished and succeeded. A child keeps the file descriptors it was started with, so fd 2 is
    pointed at ``$PREFECT_HOME/temporary-server.log`` just for the start, then restored: the
    user's terminal keeps this CLI's messages and loses only the server's noise. Prefect reuses
    the running server for the flow run and stops it at exit, as it would have.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_HOME

    log_path = Path(PREFECT_HOME.value()) / "temporary-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log_path, "ab") as log:
            os.dup2(log.fileno(), 2)
        server = SubprocessASGIServer()
        server.start()
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    if server.server_process is not None:
        _reap_with_this_process(server.server_process.pid)


#: Runs beside ``okx-flows run``: when that process is gone (even SIGKILLed, when no atexit
#: handler runs), stop the temporary Prefect server it started, and exit with it.
_REAPER = """
import os, signal, sys, time
parent, server = int(sys.argv[1]), int(sys.argv[2])
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while alive(server):
    if os.getppid() != parent:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
            try:
                os.kill(server, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while time.monotonic() < end and alive(server):
                time.sleep(0.1)
        break
    time.sleep(0.5)
"""


def _reap_with_this_process(server_pid: int) -> None:
    """Make the temporary server die with this process, however it dies."""
    import subprocess

    subprocess.Popen([sys.executable, "-c", _REAPER, str(os.getpid()), str(server_pid)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)


def _leases_on_disk() -> None:
    """Keep concurrency leases under PREFECT_HOME, so a run that dies holding the account lock
    does not hold it forever (see ``flows.account_lock``); set before the temporary server starts."""
    from flows.account_lock import ENV_REPOSSESS, FILESYSTEM_LEASES

    os.environ.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", FILESYSTEM_LEASES)
    os.environ[ENV_REPOSSESS] = "1"


def _terminate_as_interrupt() -> None:
    """SIGTERM (a worker stopping, ``kill``) unwinds like Ctrl-C, so a trading run cancels what
    it left resting and the temporary server is stopped; SIGKILL is left to the next run."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def _flow(kind: str) -> Any:
    import importlib

    module, name = FLOWS[kind]
    return getattr(importlib.import_module(module), name)


class _DropCompleted(logging.Filter):
    """Hide the per-task 'Finished in state Completed()' lines on the console (failures still show)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Finished in state Completed")


def _quiet_task_completions() -> None:
    task_logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, _DropCompleted) for f in task_logger.filters):
        task_logger.addFilter(_DropCompleted())


def _no_console_tracebacks_for_user_errors() -> None:
    """Prefect logs a failed task or flow run with its traceback; for a problem the user can fix
    (a refused key, a bad spec) the console shows only the log line, and this CLI's one-line
    error says the rest. Only the console handler is affected (patched on its class, because an
    ephemeral server sets Prefect's logging up again); the API log keeps the traceback."""
    import copy

    from prefect.logging.handlers import PrefectConsoleHandler

    from flows.spec import SpecError
    from okx_wire.errors import OkxError

    if getattr(PrefectConsoleHandler, "_okx_flows_quiet", False):
        return
    full = PrefectConsoleHandler.format

    def format_record(self: logging.Handler, record: logging.LogRecord) -> str:
        if record.exc_info and isinstance(record.exc_info[1], (OkxError, SpecError, UserError)):
            record = copy.copy(record)
            record.exc_info = record.exc_text = None
        return full(self, record)

    PrefectConsoleHandler.format = format_record  # type: ignore[method-assign]
    PrefectConsoleHandler._okx_flows_quiet = True  # type: ignore[attr-defined]


# -- output ---------------------------------------------------------------------------------------


def _num(value: Decimal | None) -> str:
    if value is None:
        return "-"
    from okx_wire.precision import format_decimal

    return format_decimal(value)


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _print_plan(plan: Any, out: TextIO) -> None:
    print(f"Plan: {len(plan.orders)} order(s)" + (f", {len(plan.skipped)} note(s)" if plan.skipped else ""), file=out)
    if plan.kind == "rebalance" and not plan.needs_trading and not plan.skipped:
        print(f"  every weight is within the {_pct(plan.drift_band)} band: nothing to trade", file=out)
    for o in plan.orders:
        when = f" at +{o.at_s:.1f}s" if o.at_s is not None else ""
        print(f"  {o.leg:<6} {o.side:<4} {_num(o.sz):>14} {o.inst_id:<10} @ {_num(o.px):<12} "
              f"~{o.notional:,.2f} {plan.quote_ccy}{when}", file=out)
    for s in plan.skipped:
        print(f"  note   {s.reason}", file=out)


def _print_weights(before: dict[str, Decimal], after: dict[str, Decimal] | None, targets: dict[str, Decimal],
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


def print_result(result: Any, out: TextIO) -> None:
    """The readable summary of a ``FlowResult``: plan, orders, fills, weights before/after."""
    mode = "DRY RUN: nothing was sent" if result.dry_run else "orders sent"
    print(f"\n{result.spec_name} ({result.kind}) on {result.venue}: {mode}", file=out)
    print(f"flow run {result.flow_run_id}", file=out)
    _print_plan(result.plan, out)
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
    _print_weights(result.weights_before, result.weights_after, result.plan.targets, out)
    for note in result.notes:
        print(f"note: {note}", file=out)


# -- check-key ----------------------------------------------------------------------------------


def cmd_check_key(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from flows.spec import base_url_problem
    from okx_wire.auth import ENV_API_KEY, ENV_PASSPHRASE, ENV_SECRET_KEY, ApiCredentials
    from okx_wire.client import OkxClient
    from okx_wire.hosts import ENV_BASE_URL, normalized_host

    out = out or sys.stdout
    base_url = args.base_url or os.environ.get(ENV_BASE_URL, "").strip() or None
    with ExitStack() as stack:
        if base_url is None and args.region is None:
            from okx_sim import ApiKeySpec, SimConfig, running_simulator

            options: dict[str, Any] = {"state_path": None}
            if all(os.environ.get(v, "").strip() for v in (ENV_API_KEY, ENV_SECRET_KEY, ENV_PASSPHRASE)):
                env = ApiCredentials.from_env()
                options["keys"] = [ApiKeySpec(api_key=env.api_key, secret_key=env.secret_key,
                                              passphrase=env.passphrase, label="okx-sim")]
            sim = stack.enter_context(running_simulator(SimConfig(**options)))
            creds, base_url = sim.credentials, sim.base_url
            where = f"an embedded simulator at {base_url} (no --base-url, --region or OKX_BASE_URL given)"
        else:
            if args.demo:
                problem = base_url_problem("demo", base_url)
                if problem:
                    raise UserError(problem)
            if base_url is not None and _plain_http(base_url) and not _is_local(base_url):
                # The key, passphrase and a signature would cross the network in clear text.
                raise UserError(
                    f"refusing plain http to {normalized_host(base_url)}: the API key and passphrase would be "
                    "sent unencrypted -- use https://, or http only for a simulator on this machine (127.0.0.1)")
            creds = ApiCredentials.from_env()
            where = base_url or f"the OKX {args.region} host"
        client = stack.enter_context(OkxClient(creds, base_url=base_url, region=args.region, demo=args.demo))
        print(f"checking key {creds.api_key} against {where}{' (demo)' if args.demo else ''}", file=out)
        local = time.time()
        server_ms = client.server_time().ts
        drift_ms = server_ms - int((local + time.time()) / 2 * 1000)
        print(f"server clock: {drift_ms:+d} ms from this machine", file=out)
        warnings = []
        if abs(drift_ms) > 5000:
            warnings.append(f"the clock is {drift_ms / 1000:+.1f} s off the server; OKX refuses requests more than "
                            "30 s off -- sync this machine's clock (NTP); the client corrects for the offset")
        client.sync_time()
        config = client.account_config()
        perms = sorted(config.perm)
        print(f"account uid: {config.uid}", file=out)
        print(f"permissions: {', '.join(perms) or 'none'}", file=out)
        print(f"IP whitelist: {', '.join(config.ip) if config.ip else 'none (the key works from any address)'}",
              file=out)
        if config.can_withdraw:
            warnings.append("this key can WITHDRAW funds: a leaked key could empty the account -- make a key with "
                            "read and trade permissions only for okx-flows")
        if not config.can_trade:
            warnings.append("this key cannot trade: runs will fail at the first order -- add the trade permission")
        if not config.ip and (args.region or not _is_local(base_url)):
            warnings.append("the key is not bound to an IP address -- bind it to your server's IP on OKX "
                            "(keys without a whitelist expire after 14 days of inactivity)")
    for warning in warnings:
        print(f"WARNING: {warning}", file=out)
    if not warnings:
        print("ok: the key looks right for okx-flows", file=out)
    return 0


def _is_local(url: str | None) -> bool:
    """True when ``url`` is this machine (loopback), where plain http and no IP whitelist are fine."""
    from okx_wire.hosts import is_loopback

    return url is not None and is_loopback(url)


def _plain_http(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url.strip()).scheme.lower() == "http"


# -- sim and limits -------------------------------------------------------------------------------


def cmd_sim(argv: list[str]) -> int:
    from okx_sim import cli as sim_cli

    from flows.venue import ENV_SIM_STATE

    parser = _Parser(prog=f"{PROG} sim", description="Serve the local OKX simulator until Ctrl-C.")
    sim_cli.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.state is None and os.environ.get(ENV_SIM_STATE, "").strip():
        args.state = Path(os.environ[ENV_SIM_STATE]).expanduser()
    return int(sim_cli.main(args))


def cmd_limits(argv: list[str]) -> int:
    try:
        from okx_cli import limits as limits_cli
    except ImportError as exc:
        raise UserError(f"'limits' is not available in this install (okx_cli.limits: {exc})") from None
    parser = _Parser(prog=f"{PROG} limits", description="Shared OKX rate limits (Redis).")
    limits_cli.add_arguments(parser)
    return int(limits_cli.main(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
