"""The durable path of signals on a real Prefect server: a signed signal to a ``--durable``
receiver -> the ``okx-flows.signal.received`` event -> the ``tv-btc-signals`` deployment's
trigger -> a flow run on a process worker -> exactly one order on the venue, also when the same
signal is delivered again."""

from __future__ import annotations

import json
import time

import pytest
import requests

from flows.signals.auth import sign
from okx_strategies.signal import signal_cl_ord_id
from tests.support.services import BIN, free_port, spawn, wait_until
from tests.support.stack import PASSPHRASE, ROOT, SECRET, Stack, api_client

pytestmark = pytest.mark.integration

SPEC = "tv-btc-signals"
HMAC = "it-signal-hmac-secret-3310"


def test_a_signal_becomes_one_deployment_run_and_one_order(stack: Stack) -> None:
    port = free_port()
    log = stack.root / "signals-durable.log"
    env = {**stack.worker_env, "OKX_FLOWS_SIGNAL_HMAC": HMAC, "OKX_FLOWS_SIGNAL_TOKEN": "it-token-unused"}
    receiver = spawn([str(BIN / "okx-flows"), "signals", "serve", "specs/signal.yaml", "--durable", "--port",
                      str(port)], env=env, log=log, cwd=ROOT)
    stack.started.append(receiver)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/health", timeout=2).ok, 60, "signal receiver", receiver, log)
    signal_id = f"it-{int(time.time())}"
    body = json.dumps({"id": signal_id, "time": int(time.time() * 1000), "action": "buy",
                       "instrument": "BTCUSDT"}).encode()
    headers = {"content-type": "application/json", "x-signature": sign(HMAC.encode(), body)}
    answer = requests.post(f"{url}/signals/{SPEC}", data=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    cl_ord_id = signal_cl_ord_id(SPEC, signal_id)

    deadline = time.monotonic() + 120
    while not [o for o in stack.sim_orders() if o["clOrdId"] == cl_ord_id]:
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.5)
    with api_client(stack.api) as client:
        deployment = next(d for d in client.read_deployments() if d.name == SPEC)
        runs = [r for r in client.read_flow_runs() if r.deployment_id == deployment.id]
        assert len(runs) == 1
        run = runs[0]
        assert run.parameters["signal"]["signal_id"] == signal_id
        assert "token" not in json.dumps(run.parameters) and HMAC not in json.dumps(run.parameters)
        while not client.read_flow_run(run.id).state.is_final():
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert client.read_flow_run(run.id).state.is_completed()

    again = requests.post(f"{url}/signals/{SPEC}", data=body, headers=headers, timeout=10)
    assert again.status_code == 401 and "replayed" in again.json()["error"]
    time.sleep(3)
    assert len([o for o in stack.sim_orders() if o["clOrdId"] == cl_ord_id]) == 1
    for secret in (HMAC, SECRET, PASSPHRASE):
        assert secret not in log.read_text()
