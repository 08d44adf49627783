"""``okx-flows halt`` / ``resume``: stop an account's trading at once, and start it again.

A halt, in this order (so nothing new starts while the rest is done):

1. pauses every okx-flows deployment of the scope (tagged ``okx``, and ``okx-account:NAME`` with
   ``--account``) with Prefect's ``pause_deployment``, which also deletes their scheduled runs,
   and disables their missed-schedule alerts (a paused deployment misses every run by design);
2. names every run of them still in progress (running, or paused waiting for approval): a halt
   does not kill a run mid-placement (its orders would be left to the next run to settle);
   cancel it in Prefect (``prefect flow-run cancel ID``: the run cancels what it left resting,
   see the README's "Interruption");
3. cancels every resting order carrying one of the specs' order tags
   (``okx_strategies.pipeline.order_tag``), on the venue each spec resolves to exactly as a run
   resolves it (``flows.venue.resolve_venue``; the spec file is the deployment's ``spec_path``,
   relative to the current directory as prefect.yaml's pull step makes it for a worker).

It never cancels algo orders (take-profit, stop-loss, oco, trigger, trailing) nor an order one of
them placed when it triggered: those protect positions, and a halt must not leave a position
unprotected. A live spec needs no ``--confirm-live`` here: a halt only cancels.

Which deployments a halt paused is recorded in the Prefect Variable ``okx_flows_halted``
(deployment id -> name), written before each pause; ``resume`` resumes exactly those (of its
scope) that are still paused, enables their missed-schedule alerts again and forgets them. A
deployment somebody paused before the halt is not recorded, so resume leaves it paused;
``--all-paused`` resumes every paused deployment of the scope (after a circuit breaker paused
them, for instance: its automation is not a halt and records nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flows import alerts
from flows.alerts import OkxDeployment
from flows.spec import Spec, SpecError, load_spec
from okx_strategies.direct import all_pending_orders
from okx_strategies.pipeline import order_tag
from okx_wire.errors import OkxError, OrderNotFound
from okx_wire.models import Order
from okx_wire.precision import format_decimal

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

#: The Prefect Variable holding what a halt paused: ``{deployment id: "flow/deployment"}``.
HALTED_VARIABLE: Final = "okx_flows_halted"

Say = Callable[[str], None]


class HaltError(Exception):
    """A halt or resume that could not do all it should; the lines before say what."""


@dataclass
class _Outcome:
    problems: int = 0
    paused: int = 0
    cancelled: int = 0


def _scope_text(account: str | None) -> str:
    return f"account {account}" if account else "every account"


def _deployments(client: SyncPrefectClient, account: str | None) -> list[OkxDeployment]:
    found = sorted(alerts.read_deployments(client, account), key=lambda d: d.full_name)
    if not found:
        tags = alerts.OKX_TAG + (f" and okx-account:{account}" if account else "")
        raise HaltError(f"no deployment is tagged {tags} on this Prefect server: nothing to "
                        f"{'halt' if account is None else 'halt for ' + account}")
    return found


# -- the record -------------------------------------------------------------------------------------


def read_record(client: SyncPrefectClient) -> dict[str, str]:
    variable = client.read_variable_by_name(HALTED_VARIABLE)
    value = variable.value if variable is not None else None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def write_record(client: SyncPrefectClient, record: dict[str, str]) -> None:
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate

    exists = client.read_variable_by_name(HALTED_VARIABLE) is not None
    if not record:
        if exists:
            client.delete_variable_by_name(HALTED_VARIABLE)
    elif exists:
        client.update_variable(VariableUpdate(name=HALTED_VARIABLE, value=dict(record)))
    else:
        client.create_variable(VariableCreate(name=HALTED_VARIABLE, value=dict(record), tags=["okx-flows"]))


# -- halt ------------------------------------------------------------------------------------------


def halt(client: SyncPrefectClient, account: str | None, say: Say, *, cwd: Path | None = None) -> None:
    """Pause, name the runs in progress, cancel resting orders (module docstring).

    Raises:
        HaltError: nothing to halt, or something could not be done (each said in its line).
    """
    deployments = _deployments(client, account)
    outcome = _Outcome()
    _pause(client, deployments, say, outcome)
    _runs_in_progress(client, deployments, say)
    _cancel_resting(deployments, say, outcome, cwd or Path.cwd())
    say(f"halted {_scope_text(account)}: {outcome.paused} deployment(s) paused, {outcome.cancelled} order(s) "
        f"cancelled; okx-flows resume{' --account ' + account if account else ''} resumes what this paused")
    if outcome.problems:
        raise HaltError(f"the halt is incomplete: {outcome.problems} problem(s), each in its line above")


def _pause(client: SyncPrefectClient, deployments: Sequence[OkxDeployment], say: Say, outcome: _Outcome) -> None:
    record = read_record(client)
    for d in deployments:
        key = str(d.id)
        if d.paused:
            say(f"already paused by an earlier halt: {d.full_name}" if key in record else
                f"left paused: {d.full_name} (paused before this halt, so resume leaves it paused)")
        else:
            record[key] = d.full_name
            write_record(client, record)  # first: a pause that fails half-way is still resumed
            client.pause_deployment(d.id)
            outcome.paused += 1
            say(f"paused deployment {d.full_name} (its scheduled runs are deleted)")
        line = alerts.set_missed_enabled(client, d, False)
        if line:
            say(line)


def _runs_in_progress(client: SyncPrefectClient, deployments: Sequence[OkxDeployment], say: Say) -> None:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    names = {d.id: d.full_name for d in deployments}
    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(any_=list(names)),
        state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.RUNNING, StateType.PENDING, StateType.PAUSED]))))
    for run in runs:
        of = names[run.deployment_id] if run.deployment_id else "?"
        state = run.state.name if run.state is not None else "running"
        say(f"still in progress ({state}): flow run {run.name} ({run.id}) of {of}: it may place orders until it "
            f"ends -- cancel it with: prefect flow-run cancel {run.id}")


def _spec_of(d: OkxDeployment, cwd: Path) -> Spec:
    raw = d.parameters.get("spec_path")
    if not raw:
        raise SpecError([f"deployment {d.full_name} has no spec_path parameter"])
    path = Path(str(raw))
    return load_spec(path if path.is_absolute() else cwd / path)


def _cancel_resting(deployments: Sequence[OkxDeployment], say: Say, outcome: _Outcome, cwd: Path) -> None:
    specs: dict[str, Spec] = {}
    for d in deployments:
        try:
            spec = _spec_of(d, cwd)
        except SpecError as exc:
            outcome.problems += 1
            say(f"problem: cannot read the spec of {d.full_name} ({exc.problems[0]}): its orders were not "
                f"looked up -- run the halt from the directory the workers run from ({cwd} now)")
            continue
        specs.setdefault(spec.name, spec)
    venues_told: set[str] = set()
    for spec in specs.values():
        try:
            _cancel_spec_orders(spec, say, outcome, venues_told)
        except OkxError as exc:
            outcome.problems += 1
            say(f"problem: {spec.name}: {' '.join(str(exc).split())[:300]}")


def _cancel_spec_orders(spec: Spec, say: Say, outcome: _Outcome, venues_told: set[str]) -> None:
    from flows.venue import resolve_venue

    tag = order_tag(spec.name)
    with resolve_venue(spec, confirm_live=True) as venue:
        client = venue.credentials.get_client()
        tagged = [o for o in all_pending_orders(client) if o.tag == tag]
        for order in tagged:
            if order.algo_id:
                say(f"left in place: {_describe(order)} of {spec.name}: placed by a triggered protection")
                continue
            try:
                client.cancel_order(order.inst_id, ord_id=order.ord_id)
            except OrderNotFound:
                say(f"already gone: {_describe(order)} of {spec.name} (filled or cancelled meanwhile)")
                continue
            outcome.cancelled += 1
            say(f"cancelled {_describe(order)} of {spec.name}")
        if not tagged:
            say(f"no resting order of {spec.name} on {venue.label}")
        if venue.label not in venues_told:
            venues_told.add(venue.label)
            say(_algo_line(client, venue.label))


def _describe(order: Order) -> str:
    px = f" @ {format_decimal(order.px)}" if order.px is not None else ""
    return f"{order.side} {format_decimal(order.sz)} {order.inst_id}{px} (ordId {order.ord_id})"


def _algo_line(client: Any, label: str) -> str:
    try:
        count = len(client.pending_algo_orders(("conditional", "oco")))
        what = f"{count}{'+' if count >= 100 else ''} take-profit/stop-loss (conditional, oco) algo order(s)"
    except OkxError:
        what = "every algo order"
    return (f"left in place on {label}: {what} and any trigger or trailing order: a halt must not leave a "
            "position unprotected")


# -- resume ------------------------------------------------------------------------------------------


def resume(client: SyncPrefectClient, account: str | None, say: Say, *, all_paused: bool = False) -> None:
    """Resume what a halt of this scope paused (module docstring).

    Raises:
        HaltError: no deployment in scope.
    """
    deployments = _deployments(client, account)
    record = read_record(client)
    resumed = 0
    for d in deployments:
        key = str(d.id)
        halted = key in record
        if d.paused and (halted or all_paused):
            client.resume_deployment(d.id)
            resumed += 1
            say(f"resumed deployment {d.full_name}" + ("" if halted else " (not paused by a halt: --all-paused)"))
        elif d.paused:
            say(f"left paused: {d.full_name} (not paused by okx-flows halt; --all-paused resumes it too)")
        elif halted:
            say(f"already running: {d.full_name} (resumed since the halt)")
        if halted or (d.paused and all_paused):
            line = alerts.set_missed_enabled(client, d, True)
            if line:
                say(line)
        record.pop(key, None)
    if account is None:
        for name in sorted(record.values()):
            say(f"forgot {name}: the deployment no longer exists")
        record = {}
    write_record(client, record)
    say(f"resumed {resumed} deployment(s) of {_scope_text(account)}" if resumed else
        f"nothing to resume: no deployment of {_scope_text(account)} was paused by okx-flows halt")
