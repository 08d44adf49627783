"""``okx-flows signals serve SPEC... [--host H] [--port P] [--durable]``: receive signals.

Serves ``POST /signals/<spec name>`` (``flows.signals.receiver``) until Ctrl-C or SIGTERM. Each
resident spec's client is warmed and its executor flow run started before the port opens, so
the first signal is as fast as the rest; ``--durable`` (or ``strategy.durable`` in a spec)
hands each signal to the ``signal`` deployment through a Prefect event instead. Prefect runs in
ephemeral mode unless ``PREFECT_API_URL`` names a server (the durable path needs one: the
deployment trigger and its workers live there).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from okx_cli.errors import PROG, UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("signals", help="receive signals (TradingView alerts) and place their orders: serve")
    actions = p.add_subparsers(dest="signals_command", metavar="{serve}", required=True)
    serve = actions.add_parser("serve", help="serve POST /signals/<spec name> for the given signal specs")
    serve.add_argument("specs", metavar="SPEC", nargs="+")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    serve.add_argument("--durable", action="store_true",
                       help="every signal becomes a run of the signal deployment (Prefect event + trigger)")
    serve.add_argument("--confirm-live", action="store_true", help="required to serve a spec with venue: live")
    serve.add_argument("--sim-state", type=Path, metavar="PATH", help="embedded simulator state file")


def invoke(args: argparse.Namespace, extra: list[str] | None = None) -> int:
    from flows.signals.receiver import server
    from flows.signals.service import signal_service
    from okx_cli.run import _leases_on_disk, _quiet_task_completions, _start_temporary_server_quietly
    from okx_wire.runtime import RUNTIME

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port} is not a port -- use 1..65535")
    api = RUNTIME.settings.prefect_api_url or ""
    if args.durable and not api:
        raise UserError("--durable needs a Prefect server with the signal deployment -- set PREFECT_API_URL")
    with ExitStack() as stack:
        if not api:
            _leases_on_disk()
            _start_temporary_server_quietly()
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        stack.enter_context(temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
        _quiet_task_completions()
        app = stack.enter_context(signal_service(args.specs, durable=True if args.durable else None,
                                                 confirm_live=args.confirm_live))
        for name, served in app.served.items():
            how = ("durable (deployment runs)" if served.executor is None
                   else f"resident on {served.executor.desk.venue.label}")
            print(f"{PROG}: {name}: POST http://{args.host}:{args.port}/signals/{name} -- {how}", file=sys.stderr,
                  flush=True)
        try:
            server(app, args.host, args.port).run()
        except KeyboardInterrupt:
            pass
    return 0
