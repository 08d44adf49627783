"""A person approves a large plan before anything is sent (``risk.approve_above``).

A run whose plan is worth more than ``approve_above`` (quote, the sum of its orders' notional)
pauses with Prefect's ``pause_flow_run(wait_for_input=Approval)``: the flow run shows "Paused"
in Prefect's UI with the plan as the form's description, and a resume button that asks for the
decision. Approve continues the run with exactly that plan; a rejection, or nobody answering
within ``risk.approval_timeout_seconds``, ends it Failed with nothing placed and the reason in
one line. The same decision can be given through Prefect's API (``resume_flow_run`` with
``run_input={"approve": true}``), which is how the tests give it.

The run pauses inside the account lock, after planning: the plan approved is the plan sent, from
the balances it was made from, and no other run of the account trades in between. Its prices are
the plan's: if the market moved while it waited, the limit prices still bound every order (a leg
beyond its limit rests and is cancelled when the run settles, as any run's would).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.settings import PREFECT_API_URL
from pydantic import Field

from okx_strategies.plan import Plan
from okx_wire.errors import ConfigurationError
from okx_wire.precision import format_decimal

ZERO: Final = Decimal(0)
#: How often the paused run asks Prefect whether it was resumed.
POLL_S: Final = 2


class Approval(RunInput):
    """The form Prefect's UI shows on the paused run."""

    approve: bool = Field(description="Place the plan shown above?")
    note: str = Field(default="", max_length=200, description="Why (kept in the run's log)")


class NotApproved(ConfigurationError):
    """The plan was rejected, or nobody decided in time: nothing was placed."""


def plan_notional(plan: Plan) -> Decimal:
    return sum((o.notional for o in plan.orders), ZERO)


def needs_approval(plan: Plan, approve_above: Decimal | None) -> bool:
    return approve_above is not None and plan_notional(plan) > approve_above


def describe(spec: str, venue: str, plan: Plan, approve_above: Decimal, timeout_s: int) -> str:
    """The plan as the paused run shows it (Markdown)."""
    quote = plan.quote_ccy
    lines = [f"### {spec}: approve this plan?",
             f"{len(plan.orders)} order(s) on {venue}, {format_decimal(round(plan_notional(plan), 2))} {quote} in "
             f"all: above `risk.approve_above` {format_decimal(approve_above)} {quote}. Nothing is sent until it "
             f"is approved; without an answer within {timeout_s} s the run ends with nothing placed.", "",
             "| leg | side | size | instrument | limit | notional |", "|---|---|---|---|---|---|"]
    for o in plan.orders:
        px = format_decimal(o.px) if o.px is not None else "market"
        lines.append(f"| {o.leg} | {o.side} | {format_decimal(o.sz)} | {o.inst_id} | {px} | "
                     f"{format_decimal(round(o.notional, 2))} {quote} |")
    return "\n".join(lines)


def await_approval(spec: str, venue: str, plan: Plan, approve_above: Decimal, timeout_s: int, log: object) -> str:
    """Block until the plan is approved (returns the note) or raise ``NotApproved``."""
    total = f"{format_decimal(round(plan_notional(plan), 2))} {plan.quote_ccy}"
    if FlowRunContext.get() is None:
        raise NotApproved(f"{spec}: the plan ({total}) is above risk.approve_above and needs approval, which only "
                          "a flow run can wait for -- nothing placed")
    if not PREFECT_API_URL.value():
        # Ephemeral mode: the temporary server's API dies with this process and nobody can
        # reach it to answer, so waiting would only ever time out.
        raise NotApproved(f"{spec}: the plan ({total}) is above risk.approve_above and needs approval, which needs "
                          "a Prefect server to give it on (set PREFECT_API_URL, or run the spec's deployment) -- "
                          "nothing placed")
    form = Approval.with_initial_data(description=describe(spec, venue, plan, approve_above, timeout_s),
                                      approve=False)
    try:
        answer = pause_flow_run(wait_for_input=form, timeout=timeout_s, poll_interval=POLL_S, key="okx-approval")
    except FlowPauseTimeout:
        raise NotApproved(f"{spec}: the plan was not approved within {timeout_s} s -- nothing placed") from None
    note = " ".join(answer.note.split())
    if not answer.approve:
        raise NotApproved(f"{spec}: the plan was rejected{f' ({note})' if note else ''} -- nothing placed")
    log.info("plan approved%s", f": {note}" if note else "")  # type: ignore[attr-defined]
    return note
