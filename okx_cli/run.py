"""``okx-flows run SPEC``: run the spec's flow now, in this process, and print a summary.

The flow is the one the strategy registry names for the spec's kind. It runs on ephemeral
Prefect (a temporary local server) unless the settings name a server (``PREFECT_API_URL``).
The flow heartbeat is switched off (it would add about 1 s to every sync flow run), and the
embedded simulator is started before Prefect is up.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from okx_cli.errors import PROG, UserError
from okx_cli.output import print_result, strategy_list


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", epilog=strategy_list(), formatter_class=argparse.RawDescriptionHelpFormatter,
                       help="run the spec's flow now and print a summary")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--dry-run", action="store_true", help="plan and report, place nothing (overrides the spec)")
    p.add_argument("--confirm-live", action="store_true", help="required to run a spec with venue: live")
    p.add_argument("--sim-state", type=Path, metavar="PATH", help="embedded simulator state file (OKX_SIM_STATE)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--resume", action="store_true",
                     help="twap: finish the execution the last run left unfinished, with the same order ids")
    how.add_argument("--restart", action="store_true",
                     help="twap: settle the unfinished last run and start the execution over")


def invoke(args: argparse.Namespace, extra: list[str] | None = None) -> int:
    from flows.spec import load_spec
    from flows.venue import check_live, prestarted_simulator, uses_embedded_simulator
    from okx_strategies.registry import get
    from okx_wire.runtime import RUNTIME

    started = time.monotonic()
    spec = load_spec(args.spec)
    check_live(spec, args.confirm_live)  # before Prefect starts: refusing costs nothing
    strategy = get(spec.strategy.kind)
    if (args.resume or args.restart) and strategy.identity != "resumable":
        raise UserError(f"--{'resume' if args.resume else 'restart'} applies to twap specs only; "
                        f"{args.spec} is a {spec.strategy.kind} spec")
    dry_run = True if args.dry_run else None
    _terminate_as_interrupt()
    with ExitStack() as stack:
        if uses_embedded_simulator(spec):
            # Up before Prefect: the flow run reuses it instead of starting its own.
            stack.enter_context(prestarted_simulator())
        api = RUNTIME.settings.prefect_api_url or ""
        print(f"{PROG}: running {spec.name} ({spec.strategy.kind}, venue {spec.venue}"
              f"{', dry run' if dry_run or spec.dry_run else ''}) with Prefect "
              f"{'at ' + api if api else 'in ephemeral mode (a temporary local server)'}...",
              file=sys.stderr, flush=True)
        if not api:
            _leases_on_disk()
        flow = flow_of(strategy.flow_ref)
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


def flow_of(ref: str) -> Any:
    """The flow a registry entry names as ``module:function``."""
    module, name = ref.split(":", 1)
    return getattr(importlib.import_module(module), name)


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
    does not hold it forever (see ``flows.account_lock``); set before the temporary server starts
    (the server is a child process and reads Prefect's own variable), and let this process's
    runs free expired leases themselves."""
    from flows.account_lock import FILESYSTEM_LEASES
    from okx_wire.runtime import RUNTIME

    os.environ.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", FILESYSTEM_LEASES)
    RUNTIME.configure(dataclasses.replace(RUNTIME.settings, repossess_leases=True))


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


