"""The circuit breaker and plan approval on a real Prefect server, through deployment runs:

* a DCA whose NAV is far below its high-water mark (an earlier run, in the shared PostgreSQL
  ledger, saw it twice as rich) places nothing, fails with one line, and the automation that
  ``okx-flows alerts apply --account main`` installed pauses every deployment of the account and
  says so through the notification block (a local capture server standing in for Slack);
* a DCA whose buy is above ``risk.approve_above`` waits Paused until it is approved through
  Prefect's API (then it buys), or refused (then it fails with nothing placed).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from okx_strategies.pipeline import order_tag
from tests.support.breaker import raise_the_high_water_mark
from tests.support.capture import CaptureServer, capture_server
from tests.support.services import BIN
from tests.support.stack import PASSPHRASE, ROOT, SECRET, Stack, api_client, run_deployment, wait_state

pytestmark = pytest.mark.integration

ACCOUNT = "main"
BLOCK = "it-breaker-capture"


def dca_spec(stack: Stack, name: str, **risk: Any) -> Path:
    path = stack.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "venue": "sim", "capital": {"quote": 3000},
        "risk": {"max_order_notional": 500, "max_run_notional": 500, "allowed_instruments": ["BTC-USDT"], **risk},
        "strategy": {"kind": "dca", "inst_id": "BTC-USDT", "quote_amount": 100, "slot_seconds": 86400},
    }, sort_keys=False))
    return path



def tagged(stack: Stack, spec: str) -> list[dict[str, Any]]:
    return [o for o in stack.sim_orders() if o["tag"] == order_tag(spec)]


def okx_flows(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "okx-flows"), *args], env=stack.env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def alerts(stack: Stack) -> Iterator[CaptureServer]:
    """The account's alerts, delivered to a capture server; removed, and the account's
    deployments resumed, afterwards (the stack is shared)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    with capture_server() as capture, api_client(stack.api) as client:
        capture.default = lambda _request: (200, {"ok": True})
        CustomWebhookNotificationBlock(name="capture", url=capture.base_url + "/hook",
                                       json_data={"subject": "{{subject}}", "body": "{{body}}"}
                                       ).save(BLOCK, overwrite=True)
        applied = okx_flows(stack, "alerts", "apply", "--block", BLOCK, "--account", ACCOUNT)
        assert applied.returncode == 0, applied.stderr
        try:
            yield capture
        finally:
            okx_flows(stack, "alerts", "remove")
            for d in client.read_deployments():
                if f"okx-account:{ACCOUNT}" in (d.tags or []) and d.paused:
                    client.resume_deployment(d.id)


def test_a_breached_drawdown_places_nothing_and_pauses_the_accounts_deployments(
        stack: Stack, alerts: CaptureServer) -> None:
    spec = dca_spec(stack, "it-breaker", max_drawdown="0.2")
    with api_client(stack.api) as client:
        first = run_deployment(client, "btc-dca", spec_path=str(spec))
        wait_state(client, first.id, lambda s: s.is_final(), 120, "first run")
        assert client.read_flow_run(first.id).state.is_completed()
        assert len(tagged(stack, "it-breaker")) == 1
        raise_the_high_water_mark("it-breaker", 2, stack.journal_url)

        second = run_deployment(client, "btc-dca", spec_path=str(spec))
        final = wait_state(client, second.id, lambda s: s.is_final(), 120, "breached run")
        assert final.state.is_failed()
        assert "circuit breaker tripped" in (final.state.message or "")
        assert len(tagged(stack, "it-breaker")) == 1, "a breached run must place nothing"

        account = [d for d in client.read_deployments() if f"okx-account:{ACCOUNT}" in (d.tags or [])]
        assert len(account) >= 5
        deadline = time.monotonic() + 60
        while not all(client.read_deployment(d.id).paused for d in account):
            assert time.monotonic() < deadline, {d.name: client.read_deployment(d.id).paused for d in account}
            time.sleep(0.5)
        paused_after = time.monotonic()

    deadline = time.monotonic() + 30
    while not [r for r in alerts.requests if b"circuit breaker" in r.body]:
        assert time.monotonic() < deadline, [r.body[:200] for r in alerts.requests]
        time.sleep(0.5)
    [tripped] = [r for r in alerts.requests if b"circuit breaker" in r.body]
    assert b"it-breaker" in tripped.body
    for request in alerts.requests:
        raw = request.body + repr(request.headers).encode() + request.target.encode()
        assert SECRET.encode() not in raw and PASSPHRASE.encode() not in raw
    print(f"BREAKER paused {len(account)} deployment(s); message {time.monotonic() - paused_after:.1f} s later")


@pytest.mark.parametrize("approve", [True, False])
def test_a_plan_above_approve_above_waits_for_an_answer_through_prefects_api(stack: Stack, approve: bool) -> None:
    name = f"it-approve-{'yes' if approve else 'no'}"
    spec = dca_spec(stack, name, approve_above=50, approval_timeout_seconds=300)
    with api_client(stack.api) as client:
        run = run_deployment(client, "btc-dca", spec_path=str(spec))
        paused = wait_state(client, run.id, lambda s: s.is_paused(), 120, "waiting for approval")
        assert tagged(stack, name) == [], "nothing is sent before the answer"
        client.resume_flow_run(paused.id, run_input={"approve": approve, "note": "desk"})
        final = wait_state(client, run.id, lambda s: s.is_final(), 120, "after the answer")
    if approve:
        assert final.state.is_completed(), final.state
        [order] = tagged(stack, name)
        assert order["state"] == "filled"
    else:
        assert final.state.is_failed() and "rejected (desk) -- nothing placed" in (final.state.message or "")
        assert tagged(stack, name) == []
