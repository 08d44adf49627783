"""The automations ``okx-flows alerts apply`` builds (``flows.alerts``), from made-up deployments:
their triggers, windows, actions and names; the messages rendered by Prefect's own sandboxed
template renderer, as the server renders them; and installing them on the session's Prefect
server twice, which replaces and never duplicates."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jinja2 import nodes
from prefect.automations import PauseDeployment, Posture, SendNotification
from prefect.client.schemas.objects import DeploymentSchedule
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule

from flows import alerts
from flows.alerts import AlertsError, Block, OkxDeployment

BLOCK = Block(uuid.uuid4(), "desk", "slack-webhook")
NOW = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)  # a Wednesday
GRACE = dt.timedelta(seconds=600)
SECRETS = ("cafe0000SECRETKEYdo-not-leak-7731", "Pass-phrase-do-not-leak-4412", "hooks.slack.com/services/T0/B0/XyZ")


def schedule(s: Any, active: bool = True) -> DeploymentSchedule:
    return DeploymentSchedule(schedule=s, active=active)


def deployment(name: str, *schedules: DeploymentSchedule, account: str | None = "main", paused: bool = False,
               tags: tuple[str, ...] = ("okx",)) -> OkxDeployment:
    return OkxDeployment(id=uuid.uuid4(), name=name, flow_name="rebalance", paused=paused, schedules=schedules,
                         tags=tags + ((f"okx-account:{account}",) if account else ()), work_pool="okx-process",
                         parameters={"spec_path": f"specs/{name}.yaml"})


HOURLY = schedule(CronSchedule(cron="0 * * * *", timezone="UTC"))
WEEKDAYS = schedule(CronSchedule(cron="30 15 * * 1-5", timezone="UTC"))


def by_name(plan: alerts.AlertPlan) -> dict[str, Any]:
    return {a.name: a for a in plan.automations}


# -- what is built ---------------------------------------------------------------------------------


def test_every_scope_gets_failed_partial_missed_and_breaker_automations() -> None:
    core = deployment("core", HOURLY)
    twap = deployment("twap", schedule(CronSchedule(cron="0 0 * * 1"), active=False))
    other = deployment("other", HOURLY, account="side")
    foreign = deployment("not-ours", HOURLY, tags=("etl",), account=None)
    plan = alerts.build([core, twap, other, foreign], BLOCK, now=NOW)
    assert sorted(by_name(plan)) == ["okx-flows:breaker:account=main", "okx-flows:breaker:account=side",
                                     "okx-flows:failed:all", "okx-flows:missed:rebalance/core",
                                     "okx-flows:missed:rebalance/other", "okx-flows:partial:all"]
    assert plan.notes == ["no missed-schedule alert for rebalance/twap: it has no active schedule"]

    failed = by_name(plan)["okx-flows:failed:all"].trigger
    assert failed.posture == Posture.Reactive and failed.threshold == 1 and failed.within == dt.timedelta(0)
    assert failed.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    assert dict(failed.match.root) == {"prefect.resource.id": "prefect.flow-run.*",
                                       "prefect.state-message": "!*circuit breaker tripped*"}
    assert [dict(r.root) for r in failed.match_related] == [
        {"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.okx"}]
    partial = by_name(plan)["okx-flows:partial:all"].trigger
    assert partial.expect == {"okx-flows.run.partial"}
    assert dict(partial.match.root) == {"prefect.resource.id": "okx-flows.spec.*"}


def test_a_run_the_breaker_stopped_gets_the_breakers_message_only_where_a_breaker_alert_covers_it() -> None:
    from prefect.server.events.schemas.events import Resource, ResourceSpecification

    def failed_for(*deployments: OkxDeployment) -> Any:
        return by_name(alerts.build(list(deployments), BLOCK, now=NOW))["okx-flows:failed:all"]

    def fires(automation: Any, message: str) -> bool:
        run = Resource.model_validate({"prefect.resource.id": f"prefect.flow-run.{uuid.uuid4()}",
                                       "prefect.state-message": message, "prefect.state-name": "Failed"})
        return ResourceSpecification.model_validate(automation.trigger.match.root).matches(run)

    covered = failed_for(deployment("core", HOURLY), deployment("dca", HOURLY, account="side"))
    assert fires(covered, "") and fires(covered, "core-rebalance: NOPE-USDT is not listed")
    assert not fires(covered, "Flow run encountered an exception: BreakerTripped: dca: circuit breaker tripped: "
                              "drawdown 31% > 20%")
    assert "(not those the circuit breaker stopped" in alerts.describe_trigger(covered)
    # A deployment with no account tag has no breaker alert: its failure message is the only one.
    uncovered = failed_for(deployment("core", HOURLY), deployment("loose", HOURLY, account=None))
    assert fires(uncovered, "loose: circuit breaker tripped: drawdown 31% > 20%")


def test_an_account_scope_matches_the_account_tag_and_leaves_other_accounts_out() -> None:
    main, side = deployment("core", HOURLY), deployment("other", HOURLY, account="side")
    plan = alerts.build([main, side], BLOCK, account="main", now=NOW, fills=True)
    assert sorted(by_name(plan)) == ["okx-flows:breaker:account=main", "okx-flows:failed:account=main",
                                     "okx-flows:fills:account=main", "okx-flows:missed:rebalance/core",
                                     "okx-flows:partial:account=main"]
    for automation in plan.automations:
        if automation.trigger.posture == Posture.Reactive:
            assert {"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.okx-account:main"} in [
                dict(r.root) for r in automation.trigger.match_related]
    assert by_name(plan)["okx-flows:fills:account=main"].trigger.expect == {"okx-flows.run.completed"}
    # Only runs that filled something: the run event's resource label, as flows.events sets it.
    assert by_name(plan)["okx-flows:fills:account=main"].trigger.match.get("okx-flows.filled") == ["true"]
    assert "okx-flows.filled" not in by_name(plan)["okx-flows:partial:account=main"].trigger.match
    with pytest.raises(AlertsError, match="no deployment is tagged okx and okx-account:nope"):
        alerts.build([main, side], BLOCK, account="nope", now=NOW)


def test_the_breaker_pauses_every_deployment_of_its_account_before_it_says_so() -> None:
    a, b, c = deployment("a", HOURLY), deployment("b"), deployment("c", HOURLY, account="side")
    breaker = by_name(alerts.build([a, b, c], BLOCK, now=NOW))["okx-flows:breaker:account=main"]
    assert breaker.trigger.expect == {"okx-flows.breaker.tripped"}
    *pauses, notify = breaker.actions
    assert [(p.source, p.deployment_id) for p in pauses if isinstance(p, PauseDeployment)] == [
        ("selected", a.id), ("selected", b.id)]
    assert isinstance(notify, SendNotification) and notify.block_document_id == BLOCK.id
    assert "rebalance/a, rebalance/b" in notify.body and "rebalance/c" not in notify.body


def test_no_account_tag_means_no_breaker_and_a_note() -> None:
    plan = alerts.build([deployment("core", HOURLY, account=None)], BLOCK, now=NOW)
    assert not [a for a in plan.automations if "breaker" in a.name]
    assert any("no circuit-breaker alert" in n for n in plan.notes)


@pytest.mark.parametrize(("schedules", "grace", "within"), [
    ((HOURLY,), GRACE, dt.timedelta(hours=1, minutes=10)),
    # Friday to Monday is the longest gap of a weekday schedule.
    ((WEEKDAYS,), GRACE, dt.timedelta(days=3, minutes=10)),
    ((schedule(IntervalSchedule(interval=dt.timedelta(seconds=12))),), dt.timedelta(seconds=3),
     dt.timedelta(seconds=15)),
    # Prefect's minimum window for a Proactive trigger.
    ((schedule(IntervalSchedule(interval=dt.timedelta(seconds=2))),), dt.timedelta(0), dt.timedelta(seconds=10)),
    # A minutely schedule beside a yearly one: the gaps are a minute, never a year.
    ((schedule(CronSchedule(cron="* * * * *")), schedule(CronSchedule(cron="0 0 1 1 *"))), dt.timedelta(0),
     dt.timedelta(minutes=1)),
    ((schedule(RRuleSchedule(rrule="DTSTART:20260101T000000\nFREQ=DAILY;INTERVAL=2")),), GRACE,
     dt.timedelta(days=2, minutes=10)),
])
def test_the_missed_schedule_window_is_the_longest_gap_plus_the_grace(
        schedules: tuple[DeploymentSchedule, ...], grace: dt.timedelta, within: dt.timedelta) -> None:
    d = deployment("core", *schedules)
    missed = by_name(alerts.build([d], BLOCK, now=NOW, grace=grace))["okx-flows:missed:rebalance/core"]
    trigger = missed.trigger
    assert trigger.posture == Posture.Proactive and trigger.threshold == 1 and trigger.within == within
    assert trigger.expect == {"prefect.flow-run.Completed"} and not trigger.after
    assert dict(trigger.match_related.root) == {"prefect.resource.role": "deployment",
                                                "prefect.resource.id": f"prefect.deployment.{d.id}"}


def test_a_paused_deployment_gets_its_missed_schedule_alert_disabled() -> None:
    plan = alerts.build([deployment("core", HOURLY, paused=True)], BLOCK, now=NOW)
    assert by_name(plan)["okx-flows:missed:rebalance/core"].enabled is False
    assert any("installed disabled" in n for n in plan.notes)
    assert all(a.enabled for a in plan.automations if "missed" not in a.name)


def test_scope_ownership_of_names() -> None:
    core = deployment("core")
    assert alerts.in_scope("okx-flows:failed:all", None, [])
    assert not alerts.in_scope("somebody-else", None, [])
    assert alerts.in_scope("okx-flows:breaker:account=main", "main", [])
    assert not alerts.in_scope("okx-flows:failed:all", "main", [core])
    assert alerts.in_scope("okx-flows:missed:rebalance/core", "main", [core])
    assert not alerts.in_scope("okx-flows:missed:rebalance/elsewhere", "main", [core])


def test_names_baked_into_templates_cannot_open_jinja() -> None:
    d = deployment("x{{ 7*7 }}{% raw %}", HOURLY, account="a{{b}}")
    for automation in alerts.build([d], BLOCK, now=NOW).automations:
        for action in automation.actions:
            if isinstance(action, SendNotification):
                assert "{{ 7*7 }}" not in action.subject + action.body and "{% raw" not in action.body
                assert "{{b}}" not in action.subject + action.body


# -- what the messages say ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def render() -> Iterator[Any]:
    from prefect.server.events.jinja_filters import all_filters
    from prefect.server.utilities.user_templates import register_user_template_filters, render_user_template_sync
    from prefect.settings import PREFECT_UI_URL, temporary_settings

    register_user_template_filters(all_filters)
    with temporary_settings(updates={PREFECT_UI_URL: "http://prefect.internal:4200"}):
        yield render_user_template_sync


def context(event: str, payload: dict[str, Any] | None = None, *, with_run: bool = True) -> dict[str, Any]:
    """What the server hands a template: the event, its flow run and deployment (as the server's
    own models), each also carrying a secret where a careless template could find it."""
    from prefect.server.events.schemas.events import ReceivedEvent
    from prefect.server.schemas.responses import DeploymentResponse, FlowRunResponse
    from prefect.server.schemas.states import State, StateType

    run_id = uuid.uuid4()
    flow_run = FlowRunResponse(
        id=run_id, name="core-rebalance-20260304-120000", flow_id=uuid.uuid4(),
        parameters={"spec_path": "specs/rebalance.yaml", "note": SECRETS[0]},
        state=State(type=StateType.FAILED, name="Failed", message="core-rebalance: NOPE-USDT is not listed"))
    deployment_ = DeploymentResponse(id=uuid.uuid4(), name="core-rebalance", flow_id=flow_run.flow_id,
                                     job_variables={"env": {"OKX_SECRET_KEY": SECRETS[0]}},
                                     description=SECRETS[1])
    received = ReceivedEvent(occurred=NOW, event=event, id=uuid.uuid4(), payload={**(payload or {}),
                                                                                   "extra": SECRETS[1]},
                             resource={"prefect.resource.id": f"prefect.flow-run.{run_id}"})
    return {"event": received, "flow_run": flow_run if with_run else None,
            "deployment": deployment_ if with_run else None}


PARTIAL = {"spec": "core-rebalance", "status": "partial", "headline": "1 of 2 order(s) placed, 1 filled, 1 refused",
           "error": "", "summary": "core-rebalance: partial -- 1 of 2 order(s) placed, 1 filled, 1 refused",
           "placed": 1, "intended": 2, "filled": 1, "resting": 0, "refused": 1, "resting_orders": "none",
           "traded": "10000 USDT", "fees": "8 USDT"}


def messages_of(plan: alerts.AlertPlan, name: str) -> list[SendNotification]:
    return [a for a in by_name(plan)[name].actions if isinstance(a, SendNotification)]


def test_the_failure_message_names_the_spec_the_state_the_error_and_links_the_run(render: Any) -> None:
    [action] = messages_of(alerts.build([deployment("core", HOURLY)], BLOCK, now=NOW), "okx-flows:failed:all")
    ctx = context("prefect.flow-run.Failed")
    subject, body = render(action.subject, ctx), render(action.body, ctx)
    assert subject == "okx-flows: core-rebalance-20260304-120000 FAILED"
    assert body.startswith("core-rebalance ended FAILED")
    assert "spec: specs/rebalance.yaml · deployment core-rebalance" in body
    assert "error: core-rebalance: NOPE-USDT is not listed" in body
    assert f"http://prefect.internal:4200/runs/flow-run/{ctx['flow_run'].id}" in body
    assert not [s for s in SECRETS if s in subject + body]
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    with temporary_settings(updates={PREFECT_UI_URL: None, PREFECT_API_URL: None}):  # a server with no URL of its own
        assert f"flow run core-rebalance-20260304-120000: id {ctx['flow_run'].id}" in render(action.body, ctx)
    # A run the server could not read any more still gives a readable message.
    bare = context("prefect.flow-run.Crashed", with_run=False)
    assert render(action.subject, bare) == "okx-flows: a flow run CRASHED"
    assert "None" not in render(action.body, bare)


def test_the_partial_message_says_what_was_placed_filled_and_rests(render: Any) -> None:
    plan = alerts.build([deployment("core", HOURLY)], BLOCK, now=NOW, fills=True)
    [action] = messages_of(plan, "okx-flows:partial:all")
    ctx = context("okx-flows.run.partial", PARTIAL)
    subject, body = render(action.subject, ctx), render(action.body, ctx)
    assert subject == "okx-flows: core-rebalance PARTIAL"
    assert "placed 1 of 2 order(s), 1 filled, 0 resting, 1 refused" in body
    assert "resting: none" in body and "traded 10000 USDT, fees 8 USDT" in body
    assert "deployment core-rebalance" in body and "/runs/flow-run/" in body
    assert not [s for s in SECRETS if s in subject + body]
    [fills] = messages_of(plan, "okx-flows:fills:all")
    assert render(fills.subject, context("okx-flows.run.completed", {**PARTIAL, "status": "completed"})) == \
        "okx-flows: core-rebalance COMPLETED"


def test_the_missed_schedule_and_breaker_messages(render: Any) -> None:
    d = deployment("core", HOURLY)
    plan = alerts.build([d], BLOCK, now=NOW, ui_url="http://prefect.internal:4200")
    [missed] = messages_of(plan, "okx-flows:missed:rebalance/core")
    # A Proactive trigger fires without an event: the message stands on what was baked in.
    body = render(missed.body, {"event": None})
    assert render(missed.subject, {}) == "okx-flows: rebalance/core missed its schedule"
    assert "No run of rebalance/core completed in the last 1 h 10 min" in body
    assert "due at most 1 h apart, plus a grace of 10 min" in body and "okx-process" in body
    assert f"http://prefect.internal:4200/deployments/deployment/{d.id}" in body
    [breaker] = messages_of(plan, "okx-flows:breaker:account=main")
    ctx = context("okx-flows.breaker.tripped", {"spec": "core-rebalance", "reason": "drawdown 31% > 20%",
                                                "summary": "core-rebalance: circuit breaker tripped -- drawdown"})
    assert render(breaker.subject, ctx) == "okx-flows: circuit breaker tripped: core-rebalance (account main)"
    body = render(breaker.body, ctx)
    assert "Paused every deployment of account main: rebalance/core" in body
    assert "okx-flows breaker reset specs/rebalance.yaml" in body and "--all-paused" in body
    assert not [s for s in SECRETS if s in body]


def test_templates_read_only_the_event_payload_and_the_runs_name_state_and_spec_path() -> None:
    """What a template may read, listed: nothing else of the event, the run, the deployment or
    the server (variables, blocks) can reach a message."""
    from prefect.server.utilities.user_templates import _template_environment

    allowed = ("event.payload.", "event.event", "event.occurred", "flow_run.name", "flow_run.state.name",
               "flow_run.state.message", "flow_run.parameters.spec_path", "flow_run.id", "deployment.name")
    plan = alerts.build([deployment("core", HOURLY)], BLOCK, now=NOW, fills=True)
    templates = [t for a in plan.automations for action in a.actions if isinstance(action, SendNotification)
                 for t in (action.subject, action.body)]
    assert len(templates) == 2 * len(plan.automations)
    for template in templates:
        tree = _template_environment.parse(template)
        local = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "store"}  # {% set link = ... %}
        assert {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"} - local <= {
            "event", "flow_run", "deployment"}
        # Subscripts only pick a piece of a split string, never a key of a mapping.
        assert all(isinstance(n.node, nodes.Call) for n in tree.find_all(nodes.Getitem)), template
        for node in tree.find_all(nodes.Getattr):
            path = _dotted(node)
            assert path is None or any(path.startswith(a) or a.startswith(path + ".") for a in allowed), path


def _dotted(node: nodes.Node) -> str | None:
    parts = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return ".".join([node.name, *reversed(parts)])


# -- on a server ---------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[Any]:
    """The session's Prefect server with one Slack block and two okx deployments of their own
    account; everything removed afterwards."""
    from prefect.blocks.notifications import SlackWebhook
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    account = f"unit-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        SlackWebhook(url=f"https://{SECRETS[2]}").save(f"desk-{account}", overwrite=True)
        flow_id = client.create_flow_from_name(f"alerts-{account}")
        ids = [client.create_deployment(flow_id=flow_id, name=name, tags=["okx", f"okx-account:{account}"],
                                        parameters={"spec_path": "specs/rebalance.yaml"},
                                        schedules=[DeploymentScheduleCreate(
                                            schedule=CronSchedule(cron="0 * * * *"), active=True)])
               for name in ("one", "two")]
        try:
            yield client, account
        finally:
            for automation in alerts.installed(client):
                client.delete_automation(automation.id)
            for ident in ids:
                client.delete_deployment(ident)
            client.delete_flow(flow_id)


def test_applying_twice_replaces_and_never_duplicates(server: Any) -> None:
    client, account = server
    block = alerts.find_block(client, f"desk-{account}")
    assert block.type_slug == "slack-webhook"

    def apply(**options: Any) -> list[str]:
        plan = alerts.build(alerts.read_deployments(client, account), block, account=account, now=NOW, **options)
        return alerts.apply(client, plan)

    first = apply(fills=True)
    assert sum(line.startswith("created ") for line in first) == 6
    names = [a.name for a in alerts.installed(client)]
    assert len(names) == len(set(names)) == 6
    second = apply()
    assert sum(line.startswith("updated ") for line in second) == 5
    assert f"deleted okx-flows:fills:account={account} (no longer wanted)" in second
    after = alerts.installed(client)
    assert sorted(a.name for a in after) == sorted(n for n in names if ":fills:" not in n)
    assert {a.id for a in after} <= {a.id for a in alerts.installed(client)}

    shown = alerts.show(client)
    assert len(shown) == 5
    assert any(line.startswith(f"okx-flows:breaker:account={account}  [enabled]  Reactive: on "
                               "okx-flows.breaker.tripped") and f"pause alerts-{account}/one" in line
               and f"notify via slack-webhook/desk-{account}" in line for line in shown), shown
    assert not [line for line in shown if SECRETS[2] in line]

    assert len(alerts.remove(client, account)) == 5
    assert alerts.installed(client) == []


def test_a_block_that_does_not_notify_or_does_not_exist_is_refused(server: Any) -> None:
    from prefect.blocks.system import Secret

    client, account = server
    Secret(value="x").save(f"not-a-notifier-{account}", overwrite=True)
    with pytest.raises(AlertsError, match="no notification block named 'nope-at-all'"):
        alerts.find_block(client, "nope-at-all")
    with pytest.raises(AlertsError, match="it is no notification block"):
        alerts.find_block(client, f"not-a-notifier-{account}")
