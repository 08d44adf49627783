"""The alerts ``okx-flows alerts apply`` installs: automations on the Prefect server itself.

Why Prefect's automations rather than a hook in the flows: a hook runs only in a flow run alive
enough to run it. A worker that died, a run that crashed, a schedule that never fired are the
failures nobody sees; the server sees every one of them (its own ``prefect.flow-run.*`` events,
or the absence of a ``Completed`` one) and sends the message itself, through a notification block
the user made (Slack, a custom webhook for Telegram or Discord, email).

What is installed, for a *scope*: ``all`` (every deployment tagged ``okx``) or ``account=NAME``
(those also tagged ``okx-account:NAME``):

* ``okx-flows:failed:<scope>``: a run ended Failed or Crashed (Prefect's own events);
* ``okx-flows:partial:<scope>``: a run ended partial (``okx-flows.run.partial``, ``flows.events``);
* ``okx-flows:fills:<scope>`` (``--fills``): a run ended completed with fills (``okx-flows.run.completed``
  whose resource is labelled ``okx-flows.filled: true``);
* ``okx-flows:missed:<flow>/<deployment>``: no run of a scheduled deployment completed within the
  longest gap of its schedules plus a grace (a Proactive trigger; see ``missed_within``);
* ``okx-flows:breaker:account=NAME``: the account's circuit breaker tripped
  (``okx-flows.breaker.tripped``): pause every deployment of the account, then say so.

Ours are the automations named ``okx-flows:...``. Applying a scope updates ours of that scope by
name, creates what is missing and deletes the rest of the scope, so re-running never duplicates
(``all`` covers every account, so it also replaces what an ``--account`` apply installed).

Failed, partial and fills match runs by their tags (related resources ``prefect.tag.okx``), so a
deployment added later is covered at once; missed-schedule and breaker automations name
deployments by id and need ``alerts apply`` again after a ``prefect deploy`` that adds one.

The templates are Jinja the server renders (``prefect.server.events.actions``) with the
triggering ``event`` and the ``flow_run`` and ``deployment`` it relates to. They show the event's
payload (the run's report figures, ``flows.events``) and the flow run's name, state and
``spec_path``: never a secret, and nothing of the block (its URL or token stays in the block).
Names baked into a template are stripped of Jinja's ``{ } %`` first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from prefect.automations import (
    AutomationCore,
    EventTrigger,
    PauseDeployment,
    Posture,
    ResourceSpecification,
    SendNotification,
)

from flows.events import ACCOUNT_TAG_PREFIX, BREAKER_EVENT, FILLED_LABEL, RUN_EVENTS, SPEC_RESOURCE_PREFIX

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.events.schemas.automations import Automation

PREFIX: Final = "okx-flows:"
#: The tag every okx-flows deployment carries (prefect.yaml).
OKX_TAG: Final = "okx"
#: Also set on ours, so the UI can filter them.
AUTOMATION_TAG: Final = "okx-flows"
DEFAULT_GRACE_S: Final = 600
#: Prefect refuses a Proactive trigger's ``within`` below 10 s.
MIN_WITHIN: Final = dt.timedelta(seconds=10)
#: Fire times sampled per schedule to find its longest gap (covers weekends, month ends, DST).
PERIOD_SAMPLES: Final = 100
_PAGE: Final = 200


class AlertsError(Exception):
    """A problem the user can fix (no deployment, no such block), said in one line."""


@dataclass(frozen=True)
class OkxDeployment:
    """What the alerts and the halt need of a deployment (built from Prefect's, or by a test)."""

    id: UUID
    name: str
    flow_name: str
    tags: tuple[str, ...] = ()
    paused: bool = False
    #: ``prefect.client.schemas.objects.DeploymentSchedule`` objects (``schedule``, ``active``).
    schedules: tuple[Any, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    work_pool: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(t.removeprefix(ACCOUNT_TAG_PREFIX) for t in self.tags if t.startswith(ACCOUNT_TAG_PREFIX))

    def trades(self, account: str | None) -> bool:
        """An okx-flows deployment (of ``account``, when one is named)."""
        return OKX_TAG in self.tags and (account is None or ACCOUNT_TAG_PREFIX + account in self.tags)


@dataclass(frozen=True)
class Block:
    """The notification block the messages go through (its id and how the user named it)."""

    id: UUID
    name: str
    type_slug: str

    @property
    def label(self) -> str:
        return f"{self.type_slug}/{self.name}"


@dataclass
class AlertPlan:
    """The automations a scope wants, and one line for each deployment left without an alert."""

    account: str | None
    automations: list[AutomationCore]
    notes: list[str] = field(default_factory=list)
    #: Every deployment of the scope, alerted or not (a stale missed-schedule alert is theirs).
    deployments: list[OkxDeployment] = field(default_factory=list)


# -- names ---------------------------------------------------------------------------------------


def subject(account: str | None) -> str:
    return "all" if account is None else f"account={account}"


def failed_name(account: str | None) -> str:
    return f"{PREFIX}failed:{subject(account)}"


def partial_name(account: str | None) -> str:
    return f"{PREFIX}partial:{subject(account)}"


def fills_name(account: str | None) -> str:
    return f"{PREFIX}fills:{subject(account)}"


def missed_name(deployment: OkxDeployment) -> str:
    return f"{PREFIX}missed:{deployment.full_name}"


def breaker_name(account: str) -> str:
    return f"{PREFIX}breaker:{subject(account)}"


def is_ours(name: str) -> bool:
    return name.startswith(PREFIX)


def in_scope(name: str, account: str | None, deployments: Iterable[OkxDeployment]) -> bool:
    """Whether applying (or removing) ``account``'s scope owns the automation named ``name``."""
    if not is_ours(name):
        return False
    if account is None:
        return True
    return name.endswith(":" + subject(account)) or name in {missed_name(d) for d in deployments}


# -- templates -------------------------------------------------------------------------------------


def _literal(text: str) -> str:
    """``text`` safe to bake into a Jinja template (no ``{``, ``}`` or ``%`` to start a tag)."""
    return re.sub(r"[{}%]", "", text)


#: The run's link needs the server's PREFECT_UI_URL (or PREFECT_API_URL); without, its id.
_RUN_LINK: Final = ("{% if flow_run %}{% set link = flow_run|ui_url %}flow run {{ flow_run.name }}: "
                    "{{ link if link else 'id ' ~ flow_run.id }}{% endif %}")
_DEPLOYMENT: Final = "{% if deployment %}deployment {{ deployment.name }}{% else %}no deployment{% endif %}"

FAILED_SUBJECT: Final = ("okx-flows: {% if flow_run %}{{ flow_run.name }} {{ flow_run.state.name|upper }}"
                         "{% else %}a flow run {{ event.event.split('.')[-1]|upper }}{% endif %}")
FAILED_BODY: Final = (
    "{% if flow_run %}{{ flow_run.name.rsplit('-', 2)[0] }}{% else %}A run{% endif %} ended "
    "{{ event.event.split('.')[-1]|upper }} ({{ event.occurred }}).\n"
    "spec: {{ flow_run.parameters.spec_path }} · " + _DEPLOYMENT + "\n"
    "error: {{ flow_run.state.message or 'none given' }}\n"
    "What it placed, filled and left resting is in the run's report (artifact "
    "{% if flow_run %}{{ flow_run.name.rsplit('-', 2)[0] }}{% else %}<spec>{% endif %}-report); "
    "the next run of the spec settles any order it left open.\n" + _RUN_LINK)

RUN_SUBJECT: Final = "okx-flows: {{ event.payload.spec }} {{ event.payload.status|upper }}"
RUN_BODY: Final = (
    "{{ event.payload.summary }}\n"
    "placed {{ event.payload.placed }} of {{ event.payload.intended }} order(s), "
    "{{ event.payload.filled }} filled, {{ event.payload.resting }} resting, "
    "{{ event.payload.refused }} refused\n"
    "resting: {{ event.payload.resting_orders }}\n"
    "traded {{ event.payload.traded or 'nothing' }}, fees {{ event.payload.fees or 'none' }}\n"
    + _DEPLOYMENT + "\n" + _RUN_LINK)


def breaker_subject(account: str) -> str:
    return f"okx-flows: circuit breaker tripped: {{{{ event.payload.spec }}}} (account {_literal(account)})"


def breaker_body(account: str, deployments: Sequence[OkxDeployment]) -> str:
    names = ", ".join(_literal(d.full_name) for d in deployments)
    account = _literal(account)
    spec_file = "{{ flow_run.parameters.spec_path or event.payload.spec }}"
    return ("{{ event.payload.summary }}\n"
            f"Paused every deployment of account {account}: {names}. "
            f"Orders already resting were left as they are (`okx-flows halt --account {account}` cancels them). "
            f"After a review: `okx-flows breaker reset {spec_file}`, then "
            f"`okx-flows resume --account {account} --all-paused`.\n" + _RUN_LINK)


def missed_subject(deployment: OkxDeployment) -> str:
    return f"okx-flows: {_literal(deployment.full_name)} missed its schedule"


def missed_body(deployment: OkxDeployment, period: dt.timedelta, within: dt.timedelta,
                ui_url: str | None) -> str:
    name = _literal(deployment.full_name)
    pool = _literal(deployment.work_pool) or "its work pool"
    link = f"\ndeployment: {_literal(ui_url)}/deployments/deployment/{deployment.id}" if ui_url else ""
    return (f"No run of {name} completed in the last {_seconds(within)} (its runs are due at most "
            f"{_seconds(period)} apart, plus a grace of {_seconds(within - period)}). Is a worker serving "
            f"{pool}? Did its runs fail (see the failure alerts)? This repeats every {_seconds(within)} "
            "until a run completes." + link)


def _seconds(delta: dt.timedelta) -> str:
    """``3 d 10 min``, ``15 s``: a duration as a person reads it."""
    seconds = int(delta.total_seconds())
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size or (size == 1 and not parts):
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts)


# -- schedules -------------------------------------------------------------------------------------


def fire_times(schedule: Any, start: dt.datetime, n: int = PERIOD_SAMPLES) -> list[dt.datetime]:
    """The next ``n`` fire times of a schedule, as Prefect's scheduler computes them (its own
    server-side schedule classes: interval, cron with ``day_or`` and time zone, rrule)."""
    from prefect.server.schemas import schedules as server
    from prefect.utilities.asyncutils import run_coro_as_sync

    model = getattr(server, type(schedule).__name__, None)
    if model is None:
        return []
    dates = run_coro_as_sync(model.model_validate(schedule.model_dump()).get_dates(n=n, start=start))
    return list(dates or [])


def schedule_period(schedules: Iterable[Any], start: dt.datetime) -> dt.timedelta | None:
    """The longest time between two consecutive fire times of the active schedules, or None
    when they fire fewer than twice. Sampled over the horizon every schedule's sample covers, so
    a minutely schedule beside a yearly one does not make up a year-long gap."""
    samples = [fire_times(s.schedule, start) for s in schedules if getattr(s, "active", True)]
    samples = [s for s in samples if s]
    if not samples:
        return None
    horizon = min(s[-1] for s in samples)
    times = sorted({t for s in samples for t in s if t <= horizon})
    if len(times) < 2:
        return None
    return max(b - a for a, b in zip(times, times[1:], strict=False))


def missed_within(period: dt.timedelta, grace: dt.timedelta) -> dt.timedelta:
    """The Proactive trigger's window. A run due at some time in any window of ``period`` should
    be Completed ``grace`` later, so every window of ``period + grace`` holds a Completed event
    while the runs keep up; at least Prefect's minimum of 10 s."""
    return max(period + grace, MIN_WITHIN)


# -- the automations --------------------------------------------------------------------------------


def _tags(account: str | None) -> list[ResourceSpecification | dict[str, str | list[str]]]:
    tags = [OKX_TAG] + ([ACCOUNT_TAG_PREFIX + account] if account is not None else [])
    return [{"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{tag}"} for tag in tags]


# ``update_automation`` sends only the fields that were set (``exclude_unset``): a ``type`` left
# to its default would be missing, and the server would read a PauseDeployment as the first
# action type its fields fit (RunDeployment). So every trigger and action sets its type.


def _trigger(**fields: Any) -> EventTrigger:
    return EventTrigger(type="event", **fields)


def _pause(deployment: OkxDeployment) -> PauseDeployment:
    return PauseDeployment(type="pause-deployment", source="selected", deployment_id=deployment.id)


def _notify(block: Block, subject_: str, body: str) -> SendNotification:
    return SendNotification(type="send-notification", block_document_id=block.id, subject=subject_, body=body)


def _automation(name: str, description: str, trigger: EventTrigger, actions: list[Any],
                enabled: bool = True) -> AutomationCore:
    return AutomationCore(name=name, description=description, enabled=enabled, tags=[AUTOMATION_TAG],
                          trigger=trigger, actions=actions)


#: What the state message of a run the circuit breaker stopped says (``flows.common.BreakerTripped``).
BREAKER_MESSAGE: Final = "circuit breaker tripped"


def failed_automation(block: Block, account: str | None, *, breaker_covered: bool = False) -> AutomationCore:
    """Every Failed or Crashed run. When every deployment of the scope has a breaker automation
    (``breaker_covered``), a run the breaker stopped is left to that one: one message, the one
    that says what was paused (matched on the state message the flow-run event carries)."""
    match = {"prefect.resource.id": "prefect.flow-run.*"}
    if breaker_covered:
        match["prefect.state-message"] = f"!*{BREAKER_MESSAGE}*"
    trigger = _trigger(expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}, match=match,
                       match_related=_tags(account), posture=Posture.Reactive, threshold=1, within=dt.timedelta(0))
    return _automation(failed_name(account), "A run of an okx-flows deployment ended Failed or Crashed.",
                       trigger, [_notify(block, FAILED_SUBJECT, FAILED_BODY)])


def run_event_automation(block: Block, account: str | None, status: str) -> AutomationCore:
    """The run ended with ``status`` (``partial``, or ``completed`` for ``--fills``)."""
    name = partial_name(account) if status == "partial" else fills_name(account)
    match = {"prefect.resource.id": SPEC_RESOURCE_PREFIX + "*"}
    if status == "completed":  # --fills: only runs that traded
        match[FILLED_LABEL] = "true"
    trigger = _trigger(expect={RUN_EVENTS[status]}, match=match,
                           match_related=_tags(account), posture=Posture.Reactive, threshold=1,
                           within=dt.timedelta(0))
    return _automation(name, f"A run of an okx-flows deployment ended {status}.", trigger,
                       [_notify(block, RUN_SUBJECT, RUN_BODY)])


def missed_automation(block: Block, deployment: OkxDeployment, period: dt.timedelta, grace: dt.timedelta,
                      ui_url: str | None = None) -> AutomationCore:
    """Proactive: expect one ``Completed`` of the deployment in every window of period + grace.
    Disabled while the deployment is paused (``okx-flows resume`` enables it again)."""
    within = missed_within(period, grace)
    trigger = _trigger(expect={"prefect.flow-run.Completed"},
                           match={"prefect.resource.id": "prefect.flow-run.*"},
                           match_related={"prefect.resource.role": "deployment",
                                          "prefect.resource.id": f"prefect.deployment.{deployment.id}"},
                           posture=Posture.Proactive, threshold=1, within=within)
    return _automation(missed_name(deployment), f"No run of {deployment.full_name} completed within "
                       f"{_seconds(within)}.", trigger,
                       [_notify(block, missed_subject(deployment), missed_body(deployment, period, within, ui_url))],
                       enabled=not deployment.paused)


def breaker_automation(block: Block, account: str, deployments: Sequence[OkxDeployment]) -> AutomationCore:
    """Pause first (a message may fail; the pause must not), then notify."""
    trigger = _trigger(expect={BREAKER_EVENT}, match={"prefect.resource.id": SPEC_RESOURCE_PREFIX + "*"},
                           match_related=_tags(account), posture=Posture.Reactive, threshold=1,
                           within=dt.timedelta(0))
    pauses: list[Any] = [_pause(d) for d in deployments]
    return _automation(breaker_name(account), f"The circuit breaker of a spec on account {account} tripped: "
                       "pause the account's deployments.", trigger,
                       [*pauses, _notify(block, breaker_subject(account), breaker_body(account, deployments))])


def build(deployments: Sequence[OkxDeployment], block: Block, *, account: str | None = None,
          grace: dt.timedelta = dt.timedelta(seconds=DEFAULT_GRACE_S), fills: bool = False,
          now: dt.datetime | None = None, ui_url: str | None = None) -> AlertPlan:
    """Every automation of ``account``'s scope (None: all okx deployments), from the deployments
    the server has; pure, so a test builds it from made-up deployments."""
    now = now or dt.datetime.now(dt.UTC)
    scope = sorted((d for d in deployments if d.trades(account)), key=lambda d: d.full_name)
    if not scope:
        tags = OKX_TAG + (f" and {ACCOUNT_TAG_PREFIX}{account}" if account else "")
        raise AlertsError(f"no deployment is tagged {tags} -- deploy first (prefect --no-prompt deploy --all)"
                          + (f" and tag the account's deployments {ACCOUNT_TAG_PREFIX}{account}" if account else ""))
    covered = all(d.accounts for d in scope)
    plan = AlertPlan(account, [failed_automation(block, account, breaker_covered=covered),
                               run_event_automation(block, account, "partial")], deployments=scope)
    if fills:
        plan.automations.append(run_event_automation(block, account, "completed"))
    for d in scope:
        period = schedule_period(d.schedules, now)
        if period is None:
            plan.notes.append(f"no missed-schedule alert for {d.full_name}: it has no active schedule")
            continue
        plan.automations.append(missed_automation(block, d, period, grace, ui_url))
        if d.paused:
            plan.notes.append(f"the missed-schedule alert of {d.full_name} is installed disabled: the deployment "
                              "is paused (okx-flows resume enables it)")
    accounts = [account] if account is not None else sorted({a for d in scope for a in d.accounts})
    for name in accounts:
        plan.automations.append(breaker_automation(block, name, [d for d in scope if d.trades(name)]))
    if not accounts:
        plan.notes.append(f"no circuit-breaker alert: no okx deployment is tagged {ACCOUNT_TAG_PREFIX}NAME "
                          "(tag each deployment with the account it trades)")
    return plan


# -- against the server -------------------------------------------------------------------------------


def read_deployments(client: SyncPrefectClient, account: str | None = None) -> list[OkxDeployment]:
    """Every deployment tagged ``okx`` (and ``okx-account:<account>``), all pages."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    tags = [OKX_TAG] + ([ACCOUNT_TAG_PREFIX + account] if account is not None else [])
    found: list[Any] = []
    while True:
        page = client.read_deployments(deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=tags)),
                                       limit=_PAGE, offset=len(found))
        found += page
        if len(page) < _PAGE:
            break
    flows: dict[UUID, str] = {}
    result = []
    for d in found:
        if d.flow_id not in flows:
            flows[d.flow_id] = client.read_flow(d.flow_id).name
        result.append(OkxDeployment(id=d.id, name=d.name, flow_name=flows[d.flow_id], tags=tuple(d.tags),
                                    paused=bool(d.paused), schedules=tuple(d.schedules),
                                    parameters=dict(d.parameters or {}), work_pool=d.work_pool_name or ""))
    return result


def find_block(client: SyncPrefectClient, name: str) -> Block:
    """The notification block named ``name`` (or ``type-slug/name``), read without its secrets."""
    slug, _, bare = name.rpartition("/")
    found = []
    offset = 0
    while True:
        page = client.read_block_documents(offset=offset, limit=_PAGE, include_secrets=False)
        offset += len(page)
        found += [b for b in page if b.name == bare and (not slug or (b.block_type and b.block_type.slug == slug))]
        if len(page) < _PAGE:
            break
    notifiers = [b for b in found if b.block_schema is not None and "notify" in (b.block_schema.capabilities or [])]
    if not notifiers:
        other = f" (there is a block of that name, but it is no notification block: {found[0].block_type_name})" \
            if found else ""
        raise AlertsError(f"no notification block named {name!r}{other} -- make one first, see docs/alerts.md "
                          "(e.g. SlackWebhook(url=...).save(NAME))")
    if len(notifiers) > 1:
        kinds = ", ".join(f"{b.block_type.slug}/{b.name}" for b in notifiers if b.block_type)
        raise AlertsError(f"several notification blocks are named {name!r}: {kinds} -- pass one as TYPE/NAME")
    block = notifiers[0]
    assert block.id is not None
    return Block(block.id, block.name or bare, block.block_type.slug if block.block_type else "?")


def installed(client: SyncPrefectClient) -> list[Automation]:
    """Ours on the server (named ``okx-flows:...``), by name."""
    found: list[Automation] = []
    offset = 0
    while True:
        page = client.read_automations(limit=_PAGE, offset=offset)
        offset += len(page)
        found += [a for a in page if is_ours(a.name)]
        if len(page) < _PAGE:
            return sorted(found, key=lambda a: a.name)


def apply(client: SyncPrefectClient, plan: AlertPlan) -> list[str]:
    """Install ``plan``: update ours of its scope by name, create the missing, delete the rest."""
    lines = []
    existing: dict[str, list[Automation]] = {}
    for a in installed(client):
        if in_scope(a.name, plan.account, plan.deployments):
            existing.setdefault(a.name, []).append(a)
    for automation in plan.automations:
        same = existing.pop(automation.name, [])
        if same:
            client.update_automation(same[0].id, automation)
            lines.append(f"updated {automation.name}: {describe_trigger(automation)}")
            for extra in same[1:]:
                client.delete_automation(extra.id)
                lines.append(f"deleted a duplicate of {automation.name}")
        else:
            client.create_automation(automation)
            lines.append(f"created {automation.name}: {describe_trigger(automation)}")
    for name, stale in sorted(existing.items()):
        for a in stale:
            client.delete_automation(a.id)
        lines.append(f"deleted {name} (no longer wanted)")
    if plan.account is not None:
        broader = [a.name for a in installed(client) if a.name in (failed_name(None), partial_name(None))]
        if broader:
            lines.append(f"note: {', '.join(broader)} also cover account {plan.account}: its runs get a message from "
                         "each (okx-flows alerts apply without --account replaces both)")
    return lines


def remove(client: SyncPrefectClient, account: str | None = None) -> list[str]:
    """Delete ours (of ``account``'s scope, when one is named)."""
    deployments = read_deployments(client, account) if account is not None else []
    lines = []
    for a in installed(client):
        if in_scope(a.name, account, deployments):
            client.delete_automation(a.id)
            lines.append(f"deleted {a.name}")
    return lines or ["nothing to remove: no okx-flows automation" + (f" of account {account}" if account else "")]


def set_missed_enabled(client: SyncPrefectClient, deployment: OkxDeployment, enabled: bool) -> str | None:
    """Switch the deployment's missed-schedule alert (a paused deployment misses every run by
    design); a line saying so, or None when it has none or it already is so."""
    changed = None
    for a in installed(client):
        if a.name == missed_name(deployment) and a.enabled != enabled:
            (client.resume_automation if enabled else client.pause_automation)(a.id)
            changed = f"{'enabled' if enabled else 'disabled'} the missed-schedule alert {a.name}"
    return changed


# -- what show prints ------------------------------------------------------------------------------------


def describe_trigger(automation: AutomationCore) -> str:
    """The trigger in one line: posture, events, and which runs."""
    trigger = automation.trigger
    if not isinstance(trigger, EventTrigger):
        return trigger.describe_for_cli().strip()
    events = "|".join(sorted(trigger.expect))
    related = trigger.match_related if isinstance(trigger.match_related, list) else [trigger.match_related]
    where = []
    for spec in related:
        for value in spec.get("prefect.resource.id") or []:
            kind, _, ident = value.rpartition(".")
            where.append(f"tag {ident}" if kind == "prefect.tag" else f"{kind.removeprefix('prefect.')} {ident}")
    runs = f" of runs with {' and '.join(where)}" if where else ""
    if BREAKER_MESSAGE in str(trigger.match.get("prefect.state-message")):
        runs += " (not those the circuit breaker stopped: its own alert says so)"
    if trigger.posture == Posture.Proactive:
        return f"Proactive: alert unless {events}{runs} within {_seconds(trigger.within)}"
    return f"Reactive: on {events}{runs}"


def describe_actions(automation: Any, names: Callable[[str, UUID], str]) -> str:
    """The actions in one line; ``names(kind, id)`` names a block or a deployment."""
    parts = []
    for action in automation.actions:
        if isinstance(action, SendNotification):
            parts.append(f"notify via {names('block', action.block_document_id)}")
        elif isinstance(action, PauseDeployment) and action.deployment_id is not None:
            parts.append(f"pause {names('deployment', action.deployment_id)}")
        else:
            parts.append(action.describe_for_cli())
    return ", ".join(parts)


def show(client: SyncPrefectClient) -> list[str]:
    """One line per installed automation of ours: name, enabled, trigger, actions."""
    cache: dict[tuple[str, UUID], str] = {}

    def names(kind: str, ident: UUID) -> str:
        if (kind, ident) not in cache:
            try:
                if kind == "block":
                    doc = client.read_block_document(ident, include_secrets=False)
                    cache[kind, ident] = f"{doc.block_type.slug if doc.block_type else 'block'}/{doc.name}"
                else:
                    d = client.read_deployment(ident)
                    cache[kind, ident] = f"{client.read_flow(d.flow_id).name}/{d.name}"
            except Exception:  # noqa: BLE001 - deleted since: say so rather than fail the listing
                cache[kind, ident] = f"{kind} {ident} (not found)"
        return cache[kind, ident]

    lines = []
    for a in installed(client):
        lines.append(f"{a.name}  [{'enabled' if a.enabled else 'disabled'}]  {describe_trigger(a)}  -> "
                     f"{describe_actions(a, names)}")
    return lines or ["no okx-flows automation installed (okx-flows alerts apply --block NAME)"]
