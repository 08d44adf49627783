"""The Prefect events a run emits, which the alerts installed by ``okx-flows alerts apply``
(``flows.alerts``) react to on the Prefect server.

Prefect already emits ``prefect.flow-run.Failed`` and ``Crashed``; what only the run knows is
how it ended as a trade: every leg placed and filled, or some refused, cut short or left
resting (``partial``), and whether the circuit breaker stopped it. So each trading run ends with
one event named for its status, and a tripped breaker emits one more:

* ``okx-flows.run.completed`` / ``partial`` / ``failed`` / ``nothing-to-do`` / ``dry-run``;
* ``okx-flows.breaker.tripped``.

The resource is the spec (``okx-flows.spec.<name>``); Prefect adds the flow run, its deployment
and its tags (among them the deployment's ``okx-account:<name>`` tag) as related resources, so an
automation can match one account's runs and link the flow run in its message. The payload says
what the message says: the status line, what was placed, filled and left resting, the error.
Nothing in it is a secret: it is built from the run's own report figures and from error
messages, which never carry one (the project's rule, tested for every error path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from prefect.events import emit_event

from okx_reports.run_report import RunView
from okx_wire.precision import format_decimal

RUN_EVENT_PREFIX: Final = "okx-flows.run."
#: The run's status word (``flows.report.run_status``) -> the name of the event it ends with.
RUN_EVENTS: Final = {status: RUN_EVENT_PREFIX + status.replace(" ", "-")
                     for status in ("completed", "partial", "failed", "nothing to do", "dry run")}
BREAKER_EVENT: Final = "okx-flows.breaker.tripped"
SPEC_RESOURCE_PREFIX: Final = "okx-flows.spec."
#: The deployment tag naming the account a deployment trades (``okx-account:main``).
ACCOUNT_TAG_PREFIX: Final = "okx-account:"
#: The run event's resource label saying whether the run filled anything ("true"/"false").
FILLED_LABEL: Final = "okx-flows.filled"
#: At most this many resting orders are listed in an event (the count is always exact).
MAX_LISTED: Final = 10


def spec_resource(spec: str, account: str) -> dict[str, str]:
    return {"prefect.resource.id": SPEC_RESOURCE_PREFIX + spec, "prefect.resource.name": spec,
            "okx-flows.account": account}


def _money(value: Any, quote: str) -> str:
    return f"{format_decimal(value)} {quote}" if value is not None else ""


def run_payload(view: RunView) -> dict[str, Any]:
    """What an alert about this run says (see the module docstring: no secret can be in it)."""
    resting = [leg for leg in view.legs if leg.state in ("live", "partially filled")]
    listed = [f"{leg.side} {format_decimal(leg.planned_sz)} {leg.inst_id}"
              + (f" @ {format_decimal(leg.planned_px)}" if leg.planned_px is not None else "")
              for leg in resting[:MAX_LISTED]]
    summary = f"{view.spec}: {view.status} -- {view.headline}"
    if view.error:
        summary += f" -- {view.error}"
    return {"spec": view.spec, "kind": view.kind, "venue": view.venue, "status": view.status,
            "headline": view.headline, "error": view.error, "summary": summary[:1000],
            "placed": view.placed, "intended": view.intended, "filled": view.filled, "resting": view.resting,
            "refused": view.refused, "resting_orders": "; ".join(listed) or "none",
            "traded": _money(view.traded_notional, view.quote), "fees": _money(view.fees, view.quote)}


def emit_run_ended(view: RunView, account: str) -> None:
    """The one event a run ends with (named for its status)."""
    # Whether it filled anything is a resource label, not only payload: triggers match labels.
    resource = {**spec_resource(view.spec, account), FILLED_LABEL: "true" if view.filled else "false"}
    emit_event(RUN_EVENTS.get(view.status, RUN_EVENT_PREFIX + "ended"), resource=resource, payload=run_payload(view))


def emit_breaker_tripped(spec: str, account: str, reason: str, figures: Mapping[str, str]) -> None:
    """The circuit breaker stopped a run of ``spec``: the account's automation pauses its deployments."""
    emit_event(BREAKER_EVENT, resource=spec_resource(spec, account),
               payload={"spec": spec, "reason": reason, "summary": f"{spec}: circuit breaker tripped -- {reason}",
                        **dict(figures)})
