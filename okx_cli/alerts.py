"""``okx-flows alerts apply|show|remove``: the Prefect automations that alert on the bots.

    okx-flows alerts apply --block NAME [--account ACCOUNT] [--grace SECONDS] [--fills]
    okx-flows alerts show
    okx-flows alerts remove [--account ACCOUNT]

They live on the Prefect server in ``PREFECT_API_URL`` (``flows.alerts`` says what each one does
and how re-applying replaces them); ephemeral mode has no server that outlives the command, so
the variable is required. ``docs/alerts.md`` shows how to make the notification block.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from okx_cli.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("alerts", help="alerts on Prefect's automations: apply|show|remove (okx-flows alerts --help)",
                       description="Alerts through Prefect automations on the server in PREFECT_API_URL.")
    own = p.add_subparsers(dest="alerts_command", metavar="{apply,show,remove}", required=True)
    apply = own.add_parser("apply", help="install (or replace) the alerts of every okx deployment, or of one account")
    apply.add_argument("--block", required=True, metavar="NAME",
                       help="the Prefect notification block the messages go through (NAME or TYPE/NAME)")
    apply.add_argument("--account", metavar="ACCOUNT", help="only deployments tagged okx-account:ACCOUNT")
    apply.add_argument("--grace", type=float, default=None, metavar="SECONDS",
                       help="how late a scheduled run may complete before the missed-schedule alert "
                            "(default 600)")
    apply.add_argument("--fills", action="store_true", help="also a message for every completed run")
    own.add_parser("show", help="list the installed okx-flows automations")
    remove = own.add_parser("remove", help="delete the okx-flows automations (of one account with --account)")
    remove.add_argument("--account", metavar="ACCOUNT", help="only those of this account")


def invoke(args: argparse.Namespace, extra: list[str] | None = None, out: TextIO | None = None) -> int:
    from flows import alerts

    out = out or sys.stdout
    with prefect_server() as client:
        try:
            if args.alerts_command == "apply":
                lines = _apply(client, args)
            elif args.alerts_command == "show":
                lines = alerts.show(client)
            else:
                lines = alerts.remove(client, args.account)
        except alerts.AlertsError as exc:
            raise UserError(str(exc)) from None
    for line in lines:
        print(line, file=out)
    return 0


def _apply(client: Any, args: argparse.Namespace) -> list[str]:
    from prefect.settings import PREFECT_UI_URL

    from flows import alerts

    grace = alerts.DEFAULT_GRACE_S if args.grace is None else args.grace
    if grace < 0:
        raise UserError(f"--grace is {grace:g}: a grace is 0 seconds or more")
    block = alerts.find_block(client, args.block)
    plan = alerts.build(alerts.read_deployments(client, args.account), block, account=args.account,
                        grace=dt.timedelta(seconds=grace), fills=args.fills, ui_url=PREFECT_UI_URL.value())
    lines = alerts.apply(client, plan) + [f"note: {n}" for n in plan.notes]
    return lines + [f"{len(plan.automations)} automation(s) of {alerts.subject(args.account)} notify via "
                    f"{block.label}; okx-flows alerts show lists them"]


@contextmanager
def prefect_server() -> Iterator[Any]:
    """Prefect's sync client for the server in PREFECT_API_URL; its failures as one line.

    Raises:
        UserError: no PREFECT_API_URL, the server cannot be reached, or it refused a request.
    """
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise UserError("this needs a Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api); "
                        "ephemeral mode keeps nothing after the command ends")
    try:
        with get_client(sync_client=True) as client:
            yield client
    except httpx.TransportError as exc:
        raise UserError(f"cannot reach the Prefect server at {url}: {type(exc).__name__}: {exc}") from None
    except (PrefectHTTPStatusError, ObjectNotFound) as exc:
        raise UserError(f"the Prefect server at {url} refused: {' '.join(str(exc).split())[:300]}") from None
