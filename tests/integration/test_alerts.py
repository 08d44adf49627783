"""Alerts and the halt switch on a real Prefect server, through deployment runs and the CLI.

A local capture server stands in for Telegram: a ``CustomWebhookNotificationBlock`` posts each
message to ``/bot<token>/sendMessage`` on it (the token is the block's secret, as Telegram's bot
token is). After ``okx-flows alerts apply``:

* a run that fails (its spec names an instrument the venue does not list) sends exactly one
  message, within ``MESSAGE_BOUND_S`` of its Failed state (the delay is printed);
* a run that ends partial (one of its two buys refused: the funds it planned with were frozen by
  another order while it waited for approval) sends exactly one;
* a deployment whose schedule fires every 12 s, in a work pool nobody serves, sends exactly one
  missed-schedule message in its first window (interval + grace), and, as Prefect's Proactive
  triggers do, one more every window after that until a run completes (both measured);
* a circuit-breaker event pauses the account's deployments and says so;
* ``okx-flows halt`` cancels the resting ladder and pauses every deployment of the account,
  ``okx-flows resume`` un-pauses them.

No byte any block sent holds the OKX secret or passphrase, and the block's own token appears only
where the block puts it (the request path), never in a message.

The stack is shared: every test removes the automations it installed, resumes what it paused and
deletes what it created.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from okx_strategies.pipeline import order_tag
from tests.support.capture import Captured, CaptureServer, capture_server
from tests.support.services import BIN
from tests.support.stack import API_KEY, PASSPHRASE, ROOT, SECRET, Stack, api_client, run_deployment, wait_state

pytestmark = pytest.mark.integration

BLOCK = "it-alerts-telegram"
BOT_TOKEN = "77001:AAtelegramBotTokenDoNotLeak"
#: A message is expected this soon after the event that causes it (measured: a few seconds).
MESSAGE_BOUND_S = 30
#: How long to keep listening for a second message about the same thing.
QUIET_S = 6
ACCOUNT = "main"


# -- helpers ---------------------------------------------------------------------------------------


def okx_flows(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / "okx-flows"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    print(f"$ okx-flows {' '.join(args)}\n{done.stdout}{done.stderr}")
    return done


def text(request: Captured) -> str:
    return str(json.loads(request.body)["text"])


def messages(capture: CaptureServer, about: Callable[[str], bool]) -> list[Captured]:
    return [r for r in list(capture.requests) if about(text(r))]


def wait_messages(capture: CaptureServer, about: Callable[[str], bool], count: int = 1,
                  timeout: float = MESSAGE_BOUND_S) -> list[Captured]:
    deadline = time.monotonic() + timeout
    while len(found := messages(capture, about)) < count:
        assert time.monotonic() < deadline, f"{count} message(s) expected, got: {[text(r) for r in capture.requests]}"
        time.sleep(0.2)
    return found



def assert_no_secret(capture: CaptureServer) -> None:
    assert capture.requests
    for request in capture.requests:
        raw = request.target.encode() + repr(request.headers).encode() + request.body
        assert SECRET.encode() not in raw and PASSPHRASE.encode() not in raw, raw
        # The token is the block's, in the path where the block puts it: never in a message.
        assert request.target.startswith(f"/bot{BOT_TOKEN}/")
        assert BOT_TOKEN.encode() not in request.body and BOT_TOKEN not in repr(request.headers)


def spec(stack: Stack, name: str, body: dict[str, Any]) -> Path:
    path = stack.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "venue": "sim", **body}, sort_keys=False))
    return path


def okx(stack: Stack) -> Any:
    from okx_wire.auth import ApiCredentials
    from okx_wire.client import OkxClient

    return OkxClient(ApiCredentials(api_key=API_KEY, secret_key=SECRET, passphrase=PASSPHRASE),
                     base_url=stack.sim_url)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def telegram(stack: Stack) -> Iterator[CaptureServer]:
    """The capture server and the block pointing at it; every okx-flows automation is removed
    afterwards."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with capture_server() as capture:
        capture.default = lambda _request: (200, {"ok": True, "result": {}})
        with temporary_settings(updates={PREFECT_API_URL: stack.api}):
            CustomWebhookNotificationBlock(
                name="telegram", url=capture.base_url + "/bot{{token}}/sendMessage",
                json_data={"chat_id": "4242", "text": "{{subject}}\n{{body}}"},
                secrets={"token": BOT_TOKEN}).save(BLOCK, overwrite=True)
        try:
            yield capture
        finally:
            removed = okx_flows(stack.env, "alerts", "remove")
            assert removed.returncode == 0, removed.stderr


def apply(stack: Stack, *args: str) -> str:
    done = okx_flows(stack.env, "alerts", "apply", "--block", BLOCK, *args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def unserved(stack: Stack) -> Iterator[Any]:
    """A deployment due every 12 s in a work pool no worker serves (no run ever completes), of
    its own account; deleted afterwards with its pool (other tests count the deployments)."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate, WorkPoolCreate
    from prefect.client.schemas.schedules import IntervalSchedule

    pool = f"it-unserved-{uuid.uuid4().hex[:6]}"
    with api_client(stack.api) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        flow_id = client.create_flow_from_name("it-missed")
        deployment_id = client.create_deployment(
            flow_id=flow_id, name="every-12s", work_pool_name=pool, entrypoint="flows/dca.py:dca",
            parameters={"spec_path": "specs/dca.yaml"}, tags=["okx", "okx-account:it-missed"],
            schedules=[DeploymentScheduleCreate(schedule=IntervalSchedule(interval=dt.timedelta(seconds=12)),
                                                active=True)])
        try:
            yield client.read_deployment(deployment_id)
        finally:
            client.delete_deployment(deployment_id)
            client.delete_flow(flow_id)
            client.delete_work_pool(pool)


# -- tests -----------------------------------------------------------------------------------------


def test_a_failing_run_sends_one_message(stack: Stack, telegram: CaptureServer) -> None:
    out = apply(stack)
    assert "created okx-flows:failed:all" in out and "okx-flows:partial:all" in out
    bad = spec(stack, "it-alerts-fail", {
        "risk": {"max_order_notional": 1000, "max_run_notional": 1000, "allowed_instruments": ["NOPE-USDT"]},
        "strategy": {"kind": "rebalance", "quote_ccy": "USDT", "targets": {"NOPE": 0.5, "USDT": 0.5}}})
    with api_client(stack.api) as client:
        run = run_deployment(client, "core-rebalance", spec_path=str(bad))
        final = wait_state(client, run.id, lambda s: s.is_final(), 120, "failing run")
    assert final.state.is_failed(), final.state
    failed_at = final.state.timestamp.timestamp()

    [message] = wait_messages(telegram, lambda t: final.name in t)
    delay = message.at - failed_at
    time.sleep(QUIET_S)
    assert len(messages(telegram, lambda t: final.name in t)) == 1
    body = text(message)
    assert f"okx-flows: {final.name} FAILED" in body
    assert "spec: " + str(bad) in body and "NOPE-USDT" in body
    assert f"/runs/flow-run/{run.id}" in body
    assert delay < MESSAGE_BOUND_S
    assert_no_secret(telegram)
    print(f"ALERTS failure -> message: {delay:.1f} s (Failed state {final.state.timestamp.isoformat()})")


def test_a_partial_run_sends_one_message(stack: Stack, telegram: CaptureServer) -> None:
    apply(stack, "--account", ACCOUNT)
    name = "it-alerts-partial"
    path = spec(stack, name, {
        "capital": {"quote": 20000},
        "risk": {"max_order_notional": 50000, "max_run_notional": 100000,
                 "allowed_instruments": ["BTC-USDT", "ETH-USDT"], "approve_above": 100,
                 "approval_timeout_seconds": 120},
        "strategy": {"kind": "rebalance", "quote_ccy": "USDT", "targets": {"BTC": 0.5, "ETH": 0.5, "USDT": 0},
                     "drift_band": 0.01, "min_trade_quote": 10}})
    with api_client(stack.api) as client, okx(stack) as venue:
        run = run_deployment(client, "core-rebalance", spec_path=str(path))
        paused = wait_state(client, run.id, lambda s: s.is_paused(), 120, "waiting for approval")
        # While it waits, freeze all but 15,000 USDT: the first 10,000 buy goes through, the second is refused.
        from okx_wire.orders import OrderRequest

        book = venue.order_book("ETH-USDT")
        instrument = venue.instruments(inst_id="ETH-USDT")[0]
        px = (book.mid / 2).quantize(instrument.tick_sz, rounding=ROUND_DOWN)
        free = venue.balance(["USDT"]).available("USDT") - Decimal(15000)
        sz = (free / px / instrument.lot_sz).to_integral_value(rounding=ROUND_DOWN) * instrument.lot_sz
        freeze = venue.place_order(OrderRequest(inst_id="ETH-USDT", side="buy", ord_type="post_only", sz=sz, px=px,
                                                cl_ord_id="itfreeze" + uuid.uuid4().hex[:8]))
        try:
            client.resume_flow_run(paused.id, run_input={"approve": True, "note": "it"})
            final = wait_state(client, run.id, lambda s: s.is_final(), 120, "after approval")
        finally:
            venue.cancel_order("ETH-USDT", ord_id=freeze.ord_id)
    assert final.state.is_completed(), final.state
    ended = final.state.timestamp.timestamp()

    [message] = wait_messages(telegram, lambda t: f"{name} PARTIAL" in t)
    delay = message.at - ended
    time.sleep(QUIET_S)
    assert len(messages(telegram, lambda t: name in t)) == 1
    body = text(message)
    assert "1 refused" in body and "placed 1 of 2 order(s)" in body, body
    assert f"/runs/flow-run/{run.id}" in body and "deployment core-rebalance" in body
    assert_no_secret(telegram)
    print(f"ALERTS partial run -> message: {delay:.1f} s")


def test_a_missed_schedule_sends_one_message_per_window_and_the_breaker_pauses(
        stack: Stack, telegram: CaptureServer, unserved: Any) -> None:
    grace = 3
    window = 12 + grace
    out = apply(stack, "--account", "it-missed", "--grace", str(grace))
    applied = time.time()
    assert "created okx-flows:missed:it-missed/every-12s" in out and f"within {window} s" in out
    assert "created okx-flows:breaker:account=it-missed" in out
    shown = okx_flows(stack.env, "alerts", "show")
    assert shown.returncode == 0 and "okx-flows:missed:it-missed/every-12s  [enabled]" in shown.stdout

    missed = lambda t: "it-missed/every-12s missed its schedule" in t  # noqa: E731
    [first] = wait_messages(telegram, missed, timeout=window + 30)
    first_after = first.at - applied
    time.sleep(window - 3)
    assert len(messages(telegram, missed)) == 1, "one message in the first window"
    assert f"completed in the last {window} s" in text(first)
    # Prefect's Proactive trigger opens the next window as it fires: the alert repeats while
    # nothing completes (documented in docs/alerts.md).
    second = wait_messages(telegram, missed, count=2, timeout=20)[1]
    print(f"ALERTS missed schedule: first message {first_after:.1f} s after apply (window {window} s), "
          f"repeated {second.at - first.at:.1f} s later")

    # The account's circuit breaker (as a tripped run emits it): pause, then say so.
    tripped = {"id": str(uuid.uuid4()), "occurred": dt.datetime.now(dt.UTC).isoformat(),
               "event": "okx-flows.breaker.tripped",
               "resource": {"prefect.resource.id": "okx-flows.spec.it-missed", "prefect.resource.name": "it-missed"},
               "related": [{"prefect.resource.id": f"prefect.tag.{tag}", "prefect.resource.role": "tag"}
                           for tag in ("okx", "okx-account:it-missed")],
               "payload": {"spec": "it-missed", "reason": "drawdown 30% > 20%",
                           "summary": "it-missed: circuit breaker tripped -- drawdown 30% > 20%"}}
    assert requests.post(f"{stack.api}/events", json=[tripped], timeout=10).status_code == 204
    with api_client(stack.api) as client:
        deadline = time.monotonic() + MESSAGE_BOUND_S
        while not client.read_deployment(unserved.id).paused:
            assert time.monotonic() < deadline, "the breaker did not pause the deployment"
            time.sleep(0.3)
        [said] = wait_messages(telegram, lambda t: "circuit breaker tripped" in t)
        assert "it-missed/every-12s" in text(said) and "drawdown 30% > 20%" in text(said)
        resumed = okx_flows(stack.env, "resume", "--account", "it-missed", "--all-paused")
        assert resumed.returncode == 0, resumed.stderr
        assert not client.read_deployment(unserved.id).paused
    assert_no_secret(telegram)


def test_halt_cancels_the_resting_ladder_and_pauses_the_account_then_resume(
        stack: Stack, telegram: CaptureServer) -> None:
    apply(stack, "--account", ACCOUNT)
    tag = order_tag("eth-ladder")
    with api_client(stack.api) as client:
        account = [d for d in client.read_deployments() if f"okx-account:{ACCOUNT}" in (d.tags or [])]
        paused_before = {d.id for d in account if d.paused}
        run = run_deployment(client, "eth-ladder")
        final = wait_state(client, run.id, lambda s: s.is_final(), 120, "ladder run")
        assert final.state.is_completed(), final.state
        with okx(stack) as venue:
            resting = [o for o in venue.pending_orders("ETH-USDT") if o.tag == tag]
            assert len(resting) >= 1 and all(o.ord_type == "post_only" for o in resting)
            try:
                halted = okx_flows(stack.worker_env, "halt", "--account", ACCOUNT)
                assert halted.returncode == 0, halted.stdout + halted.stderr
                assert [o for o in venue.pending_orders("ETH-USDT") if o.tag == tag] == []
                assert all(client.read_deployment(d.id).paused for d in account)
                for order in resting:
                    assert f"(ordId {order.ord_id}) of eth-ladder" in halted.stdout
                assert "a halt must not leave a position unprotected" in halted.stdout
                assert "disabled the missed-schedule alert okx-flows:missed:rebalance/core-rebalance" in halted.stdout
                assert "Traceback" not in halted.stderr

                resumed = okx_flows(stack.env, "resume", "--account", ACCOUNT)
                assert resumed.returncode == 0, resumed.stderr
                assert {d.id for d in account if client.read_deployment(d.id).paused} == paused_before
                assert "enabled the missed-schedule alert okx-flows:missed:rebalance/core-rebalance" in resumed.stdout
            finally:
                for d in account:
                    if d.id not in paused_before and client.read_deployment(d.id).paused:
                        client.resume_deployment(d.id)
                requests.delete(f"{stack.api}/variables/name/okx_flows_halted", timeout=10)
