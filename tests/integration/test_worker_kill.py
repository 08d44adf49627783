"""A worker machine dies mid-run (SIGKILL of the worker and its flow-run process), the operator
marks the run crashed and retries it with ``prefect flow-run retry``: another worker runs it
again under the same flow-run id, finds the orders the dead one placed by their clOrdIds, and
places nothing twice."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from decimal import Decimal

import pytest
import yaml

from tests.support.services import BIN
from tests.support.stack import ROOT, Stack, api_client, wait_state

pytestmark = pytest.mark.integration

TOTAL, SLICES, WINDOW = Decimal("0.06"), 12, 24  # one slice every 2 s



def test_rerun_after_a_worker_is_killed_places_nothing_twice(stack: Stack) -> None:
    from prefect.states import Crashed

    spec = stack.root / "twap-kill.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "twap-kill", "venue": "sim",
        "risk": {"max_order_notional": 20000, "max_run_notional": 100000, "allowed_instruments": ["BTC-USDT"],
                 "max_slippage_bps": 100},
        "strategy": {"kind": "twap", "inst_id": "BTC-USDT", "side": "sell", "total_size": str(TOTAL),
                     "slices": SLICES, "window_seconds": WINDOW},
    }, sort_keys=False))
    tagged = lambda: [o for o in stack.sim_orders() if o["tag"].startswith("twapkill")]  # noqa: E731

    with api_client(stack.api) as client:
        deployment = next(d for d in client.read_deployments() if d.name == "btc-twap-sell")
        run = client.create_flow_run_from_deployment(deployment.id, parameters={"spec_path": str(spec)})
        wait_state(client, run.id, lambda s: s.is_running(), 90, "start")
        deadline = time.monotonic() + 60
        while len(tagged()) < 3:  # a few slices out, the rest still to come
            assert time.monotonic() < deadline, "no slices placed"
            time.sleep(0.2)
        stack.kill_workers()
        placed_by_the_dead = {o["clOrdId"] for o in tagged()}
        time.sleep(6)  # past any expTime the dead run sent: a delayed original can no longer execute
        assert {o["clOrdId"] for o in tagged()} == placed_by_the_dead  # it really is dead

        # What an operator does: mark the orphaned run crashed, retry it through Prefect.
        client.set_flow_run_state(run.id, Crashed(message="worker machine lost"), force=True)
        retried = subprocess.run([str(BIN / "prefect"), "flow-run", "retry", str(run.id)], env=stack.env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
        assert retried.returncode == 0, retried.stdout + retried.stderr
        stack.start_worker("it-worker-3")
        stack.start_worker("it-worker-4")
        final = wait_state(client, run.id, lambda s: s.is_final(), 180, "rerun")
        assert final.state.is_completed(), final.state
        assert final.run_count >= 2

    orders = tagged()
    per_id = Counter(o["clOrdId"] for o in orders)
    assert per_id and set(per_id.values()) == {1}, per_id  # nothing placed twice
    assert placed_by_the_dead <= set(per_id)  # the rerun adopted what the dead run placed
    sold = sum(Decimal(o["accFillSz"]) for o in orders)
    assert sold <= TOTAL and len(per_id) <= SLICES
    print(f"WORKER-KILL orders={len(orders)} placed_before_kill={len(placed_by_the_dead)} sold={sold}")
