"""Scale-out on Prefect itself, end to end, with real processes:

PostgreSQL -> ``prefect server start`` -> a process work pool -> ``prefect deploy --all`` from
prefect.yaml -> two ``prefect worker`` processes -> deployment runs of several example specs
against an ``okx-flows sim`` process that enforces OKX's rate limits, every worker drawing from
one Redis-held budget (``okx-flows limits apply``).

Trading runs of one account take turns (the account lock, a global concurrency limit on this
server); the two big rebalances run as dry runs, which do not take the account, so they overlap
and drive the shared book budget: every leg of theirs is larger than any top of book the
simulator shows, so each reads the book of every one of its 24 legs for depth (a rebalance reads
a book only for a leg beyond its top of book, ``okx_strategies.pipeline.market``). Every run
writes the run journal in the server's PostgreSQL.

Checked through Prefect's client API: every run Completed, each published its artifacts, no task
was retried; through the simulator: it refused nothing, and the shared budget was really used;
through the journal (PostgreSQL): the trading runs completed with their orders recorded.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prefect.states import Scheduled

from tests.support.stack import ROOT, Stack, api_client

pytestmark = pytest.mark.integration

ASSETS_PER_SPEC = 24  # two specs at once want 48 order books in a burst: more than 40 per 2 s
#: Each leg's share of the 2,000,000 USDT account: 40,000 USDT, more than the simulator ever shows
#: at a best price (a level holds 25,000 USD times 0.05 to 1.5), so every leg reads its book.
LEG_WEIGHT = Decimal("0.02")
#: Long enough to create every run before any is due.
START_AHEAD_S = 4


def big_rebalance_spec(path: Path, name: str, assets: list[str]) -> Path:
    weight = LEG_WEIGHT
    spec = {
        "name": name, "venue": "sim",
        # No cap scales a leg back under its top of book: 24 legs of 40,000 fit both limits.
        "risk": {"max_order_notional": 50000, "max_run_notional": 1000000,
                 "allowed_instruments": [f"{a}-USDT" for a in assets], "max_slippage_bps": 100},
        "strategy": {"kind": "rebalance", "quote_ccy": "USDT",
                     "targets": {**{a: str(weight) for a in assets},
                                 "USDT": str(Decimal(1) - weight * len(assets))},
                     "drift_band": "0.005", "min_trade_quote": 10},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_deployment_runs_on_two_workers_share_one_budget(stack: Stack) -> None:
    catalogue = requests.get(f"{stack.sim_url}/api/v5/public/instruments?instType=SPOT", timeout=5).json()["data"]
    bases = [i["baseCcy"] for i in catalogue if i["quoteCcy"] == "USDT" and i["baseCcy"] not in ("BTC", "ETH", "USDC")]
    assert len(bases) >= 2 * ASSETS_PER_SPEC
    spec_a = big_rebalance_spec(stack.root / "alts-a.yaml", "alts-a", bases[:ASSETS_PER_SPEC])
    spec_b = big_rebalance_spec(stack.root / "alts-b.yaml", "alts-b", bases[ASSETS_PER_SPEC:2 * ASSETS_PER_SPEC])

    with api_client(stack.api) as client:
        deployments = {d.name: d for d in client.read_deployments()}
        prefect_yaml = yaml.safe_load((ROOT / "prefect.yaml").read_text())
        assert set(deployments) == {d["name"] for d in prefect_yaml["deployments"]}
        rebalances = [d for d in prefect_yaml["deployments"] if d["entrypoint"].endswith(":rebalance")]
        assert len(rebalances) >= 2, "prefect.yaml needs two rebalance deployments for this test"
        wanted = [(rebalances[0]["name"], {"spec_path": str(spec_a), "dry_run": True}),
                  (rebalances[1]["name"], {"spec_path": str(spec_b), "dry_run": True}),
                  ("btc-dca", {}), ("eth-ladder", {})]
        # Every run is due at one moment a little ahead, so the workers' polls (every second,
        # two seconds ahead) start them together: created one by one as due now, the first was
        # picked up alone and its burst of book reads was over before the other rebalance began.
        due = datetime.now(UTC) + timedelta(seconds=START_AHEAD_S)
        started = time.monotonic()
        runs = [client.create_flow_run_from_deployment(deployments[name].id, parameters=params,
                                                       state=Scheduled(scheduled_time=due))
                for name, params in wanted]
        final: dict[Any, Any] = {}
        deadline = time.monotonic() + 420
        while len(final) < len(runs):
            assert time.monotonic() < deadline, f"runs not final: {[client.read_flow_run(r.id).state for r in runs]}"
            for run in runs:
                state = client.read_flow_run(run.id).state
                if run.id not in final and state is not None and state.is_final():
                    final[run.id] = (state, time.monotonic() - started)
            time.sleep(1)
        states = {client.read_flow_run(r.id).name: final[r.id][0].type.value for r in runs}
        failures = {client.read_flow_run(r.id).name: final[r.id][0].message for r in runs
                    if not final[r.id][0].is_completed()}
        assert not failures, failures

        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        ids = FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in runs]))
        task_runs = client.read_task_runs(flow_run_filter=ids)
        assert task_runs and max(t.run_count for t in task_runs) == 1, "a task was retried"
        workers_used = {client.read_flow_run(r.id).work_queue_name for r in runs}
        assert workers_used
        artifacts = client.read_artifacts(flow_run_filter=ids)
        keys = {a.key for a in artifacts if a.key}
        for name in ("alts-a", "alts-b", "btc-dca", "eth-ladder"):
            assert any(k.startswith(f"{name}-") for k in keys), (name, keys)

    from okx_wire.journal import Journal

    journal = Journal(stack.journal_url)
    ours = {str(r.id) for r in runs}  # the stack is shared: other tests run these specs too
    for name in ("btc-dca", "eth-ladder"):
        account = _account_of(journal, name)
        [run] = [r for r in journal.runs(name, account) if r.run_id in ours]
        assert run.status == "completed", run
        assert journal.orders(run.run_id), f"{name}: no order in the journal"
    state = stack.sim_state()
    assert state["rateLimitRefusals"] == 0
    books_use = state["peakBudgetUse"].get("market/books", 0)
    report = {"runs": len(runs), "states": states, "seconds_to_final": [round(v[1], 1) for v in final.values()],
              "task_runs": len(task_runs), "peak_budget_use": state["peakBudgetUse"], "refusals": 0}
    print("SCALE-OUT " + json.dumps(report))
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)
    (ROOT / ".pytest_cache" / "scale_out_report.json").write_text(json.dumps(report, indent=2))
    assert books_use >= 0.8, state["peakBudgetUse"]


def _account_of(journal: Any, spec: str) -> str:
    import sqlalchemy as sa

    from okx_wire.journal import runs_table

    with journal._engine.connect() as db:  # noqa: SLF001 - the test reads the store it checks
        return str(db.execute(sa.select(runs_table.c.account).where(runs_table.c.spec == spec)).scalar())
