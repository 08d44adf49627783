"""The exchange dies mid-run: the ``okx-flows sim`` process is SIGKILLed while a TWAP is placing
its slices, and restarted on the same state file and port.

* short outage (restart after ~2 s): the tasks' retries ride it out and the run completes;
* long outage (restart only after the run gave up, with one retry per task): the run fails
  cleanly with an ``OkxError`` naming the connection problem.

Either way the same flow run is then run again (same flow run id, so the same clOrdIds) and
completes: every slice exists exactly once on the exchange and exactly the TWAP's total was sold.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prefect import flow

from flows.twap import twap
from okx_wire.errors import OkxError
from okx_wire.orders import client_order_id
from tests.reliability.simproc import SimProcess, sim_process, twap_spec, write_spec

SLICES = 6
TOTAL = Decimal("0.06")


@pytest.fixture(autouse=True)
def _prefect(prefect_db: Path) -> None:
    """The session's Prefect test server, heartbeat off."""


def kill_when_placing(sim: SimProcess, restart_after: float | None, events: dict[str, Any]) -> threading.Thread:
    """SIGKILL the simulator once it holds 2 orders; restart it after ``restart_after`` s (or when told)."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(sim.orders()) < 2:
            time.sleep(0.05)
        events["orders_at_kill"] = len(sim.orders())
        sim.kill()
        events["killed"] = time.monotonic()
        if restart_after is None:
            events["restart"].wait(120)
        else:
            time.sleep(restart_after)
        sim.start()
        events["restarted"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("outage", ["short", "long"])
def test_simulator_killed_mid_twap_then_rerun_places_nothing_twice(tmp_path: Path, okx_env: dict[str, str],
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   outage: str) -> None:
    if outage == "long":  # give up fast: one retry per task (the defaults take ~30 s to give up)
        from okx_tasks import tasks
        from tests.reliability.conftest import READ_TASKS, TRADE_TASKS

        for name in (*READ_TASKS, *TRADE_TASKS):
            monkeypatch.setattr(tasks, name, getattr(tasks, name).with_options(retries=1, retry_delay_seconds=0.5))
    with sim_process(tmp_path / "sim", "--no-rate-limits", "--seed", "31") as sim:
        spec = write_spec(tmp_path / "twap.yaml", twap_spec("restart-twap", sim.url, slices=SLICES,
                                                            window_seconds=4.5, total_size=float(TOTAL)))
        btc_before = Decimal(sim.state()["balances"]["BTC"]["cash"])
        events: dict[str, Any] = {"restart": threading.Event()}
        killer = kill_when_placing(sim, 2.0 if outage == "short" else None, events)
        outcome: dict[str, Any] = {}

        @flow(name="twap-run-and-rerun", persist_result=False)
        def run_and_rerun() -> tuple[Any, Any]:
            try:
                outcome["first"] = twap.fn(spec_path=str(spec))
            except OkxError as exc:
                outcome["first_error"] = exc
            events["restart"].set()
            killer.join(timeout=120)
            # The same flow run again: same flow run id, so the same clOrdIds.
            return outcome.get("first"), twap.fn(spec_path=str(spec))

        first, second = run_and_rerun()
        assert not killer.is_alive() and sim.starts == 2

        if outage == "short":
            assert first is not None, f"the run did not ride out a 2 s outage: {outcome.get('first_error')!r}"
        else:
            error = outcome.get("first_error")
            assert first is None and error is not None, "the run should have given up during the outage"
            message = str(error)
            assert "\n" not in message and ("connection" in message or "Connection" in message), message

        ids = {client_order_id(second.flow_run_id, "restart-twap", f"s{i}") for i in range(1, SLICES + 1)}
        if first is not None:
            assert first.flow_run_id == second.flow_run_id
            assert {p.cl_ord_id for p in first.placements} == ids
        assert {p.cl_ord_id for p in second.placements} == ids
        assert all(p.adopted for p in second.placements[:events["orders_at_kill"]])
        for cl_ord_id in ids:
            assert len(sim.orders(cl_ord_id)) == 1, cl_ord_id
        assert {o["clOrdId"] for o in sim.orders()} == ids
        btc_after = Decimal(sim.state()["balances"]["BTC"]["cash"])
        assert btc_before - btc_after == TOTAL
        assert sim.conserved()
        print("RESTART " + json.dumps({"outage": outage, "orders_at_kill": events["orders_at_kill"],
                                       "down_s": round(events["restarted"] - events["killed"], 1),
                                       "first": "completed" if first else type(outcome["first_error"]).__name__,
                                       "orders_checked": len(ids)}))
