"""Fault injection against a real ``okx-flows sim`` process: 30% of the replies to private requests
dropped AFTER the request was applied, 10% server errors (503 50001 / 500 50026) before it, and
added latency. A rebalance, a DCA and a TWAP each complete (the tasks retry), every intended
order exists exactly once on the exchange (counted by clOrdId in the simulator's order history),
and the rebalance ends inside its drift band.

The three flows run at once (one simulator each, so each sees its own seeded fault sequence);
the counts are printed as ``FAULTS {...}`` for the report.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flows.dca import dca
from flows.rebalance import rebalance
from flows.twap import twap
from okx_wire.orders import client_order_id
from tests.reliability.conftest import FaultCounter
from tests.reliability.simproc import (
    BALANCE_ARGS,
    SimProcess,
    dca_spec,
    rebalance_spec,
    sim_process,
    twap_spec,
    write_spec,
)

FAULT_ARGS = ("--drop-rate", "0.3", "--error-rate", "0.1", "--latency-ms", "20", "--no-rate-limits")
#: Each flow must finish within this (the default retry delays are 2, 4, 8, 16 s for trades).
FLOW_DEADLINE_S = 90
#: Shifts every simulator seed (RELIABILITY_SEED=n replays another fault sequence).
SEED = int(os.environ.get("RELIABILITY_SEED", "0"))


@pytest.fixture(autouse=True)
def _prefect(prefect_db: Path) -> None:
    """The session's Prefect test server, heartbeat off."""


def intended_ids(result: Any, name: str) -> set[str]:
    legs = [o.leg for o in result.plan.orders]
    if result.kind == "twap":
        legs = [p.cl_ord_id for p in result.placements]  # slices get their ids as they are sent
        return set(legs)
    assert all(result.cl_ord_ids[leg] == client_order_id(result.flow_run_id, name, leg)
               for leg in legs if result.kind != "dca")  # a DCA's id is its schedule slot's
    return {result.cl_ord_ids[leg] for leg in legs}


def check_exactly_once(sim: SimProcess, result: Any, name: str) -> int:
    ids = intended_ids(result, name)
    assert ids, "the run planned no order"
    assert {p.cl_ord_id for p in result.placements} == ids
    assert all(p.ok for p in result.placements), [p.error for p in result.placements if not p.ok]
    for cl_ord_id in ids:
        found = sim.orders(cl_ord_id)
        assert len(found) == 1, (cl_ord_id, found)
    # ...and nothing else was placed on this account.
    assert {o["clOrdId"] for o in sim.orders()} == ids
    assert sim.conserved()
    return len(ids)


def test_flows_complete_under_dropped_replies_errors_and_latency(tmp_path: Path, okx_env: dict[str, str],
                                                                 faults_seen: FaultCounter,
                                                                 more_attempts: None) -> None:
    with sim_process(tmp_path / "reb", *FAULT_ARGS, *BALANCE_ARGS, "--seed", str(11 + SEED)) as reb_sim, \
            sim_process(tmp_path / "dca", *FAULT_ARGS, "--seed", str(12 + SEED)) as dca_sim, \
            sim_process(tmp_path / "twap", *FAULT_ARGS, "--seed", str(13 + SEED)) as twap_sim:
        reb_spec = write_spec(tmp_path / "reb.yaml", rebalance_spec("fault-rebalance", reb_sim.url))
        dca_path = write_spec(tmp_path / "dca.yaml", dca_spec("fault-dca", dca_sim.url))
        twap_path = write_spec(tmp_path / "twap.yaml", twap_spec("fault-twap", twap_sim.url))

        def timed(flow: Any, path: Path) -> tuple[Any, float]:
            started = time.monotonic()
            return flow(spec_path=str(path)), time.monotonic() - started

        with ThreadPoolExecutor(3) as pool:
            futures = {"rebalance": pool.submit(timed, rebalance, reb_spec),
                       "dca": pool.submit(timed, dca, dca_path),
                       "twap": pool.submit(timed, twap, twap_path)}
            done = {kind: future.result(timeout=240) for kind, future in futures.items()}

        seconds = {kind: round(elapsed, 1) for kind, (_, elapsed) in done.items()}
        reb, dca_result, twap_result = done["rebalance"][0], done["dca"][0], done["twap"][0]
        checked = check_exactly_once(reb_sim, reb, "fault-rebalance")
        checked += check_exactly_once(dca_sim, dca_result, "fault-dca")
        checked += check_exactly_once(twap_sim, twap_result, "fault-twap")

        # Rebalance: inside the band after one run.
        band = reb.plan.drift_band
        for ccy, target in reb.plan.targets.items():
            assert abs(reb.weights_after[ccy] - target) <= band, (ccy, reb.weights_after[ccy], target)
        # TWAP: every slice sold, each exactly once.
        assert len(twap_result.placements) == 4
        sold = twap_result.balances_before["BTC"] - twap_result.balances_after["BTC"]
        assert sold == Decimal("0.04")

        report = {"seconds": seconds, "orders_checked": checked, **faults_seen.seen}
        print("FAULTS " + json.dumps(report))
        assert faults_seen["dropped"] > 0 and faults_seen["server_errors"] > 0
        for kind, elapsed in seconds.items():
            assert elapsed < FLOW_DEADLINE_S, f"{kind} took {elapsed} s under faults"
