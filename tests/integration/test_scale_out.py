"""Scale-out on Prefect itself, end to end, with real processes:

PostgreSQL -> ``prefect server start`` -> a process work pool -> ``prefect deploy --all`` from
prefect.yaml -> two ``prefect worker`` processes -> deployment runs of several example specs
against an ``okx-flows sim`` process that enforces OKX's rate limits, every worker drawing from
one Redis-held budget (``okx-flows limits apply``).

Checked through Prefect's client API: every run Completed, each published its artifacts, no task
was retried; and through the simulator: it refused nothing, and the shared budget was really used.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.support.services import (BIN, free_port, postgres_available, postgres_server, prefect_server, processes,
                                    redis_available, redis_server, spawn, wait_until)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (postgres_available() and redis_available()),
                       reason="needs PostgreSQL and redis-server (.ci/run installs them)"),
]

ROOT = Path(__file__).resolve().parents[2]
API_KEY, SECRET, PASSPHRASE = "it-key-1", "ItSecret0000scaleout9931", "ItPassphrase-4471"
ASSETS_PER_SPEC = 24  # two specs at once want 48+ order books in a burst: more than 40 per 2 s


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def big_rebalance_spec(path: Path, name: str, assets: list[str]) -> Path:
    weight = Decimal("0.01")
    spec = {
        "name": name, "venue": "sim",
        "risk": {"max_order_notional": 50000, "max_run_notional": 500000,
                 "allowed_instruments": [f"{a}-USDT" for a in assets], "max_slippage_bps": 100},
        "strategy": {"kind": "rebalance", "quote_ccy": "USDT",
                     "targets": {**{a: str(weight) for a in assets},
                                 "USDT": str(Decimal(1) - weight * len(assets))},
                     "drift_band": "0.005", "min_trade_quote": 10},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    """Every service of the test, started once; all stopped by pid at the end, pass or fail."""
    with tempfile.TemporaryDirectory(prefix="okxflows-it-") as tmp, redis_server() as redis_url, \
            postgres_server() as db_url, processes() as started:
        root = Path(tmp)
        (root / "server").mkdir()
        with prefect_server(db_url, root / "server") as (api, prefect_env):
            sim_port = free_port()
            sim_url = f"http://127.0.0.1:{sim_port}"
            sim_env = {**os.environ, "OKX_API_KEY": API_KEY, "OKX_SECRET_KEY": SECRET, "OKX_PASSPHRASE": PASSPHRASE}
            sim_log = root / "sim.log"
            sim = spawn([str(BIN / "okx-flows"), "sim", "--port", str(sim_port), "--state", str(root / "sim.sqlite3"),
                         "--instruments", "80", "--balance", "USDT=2000000", "--balance", "BTC=2", "--balance",
                         "ETH=20", "--seed", "3"], env=sim_env, log=sim_log)
            started.append(sim)
            wait_until(lambda: requests.get(f"{sim_url}/api/v5/public/time", timeout=2).ok, 60, "okx-flows sim",
                       sim, sim_log)
            limits = subprocess.run([str(BIN / "okx-flows"), "limits", "apply", "--redis", redis_url, "--name", "it"],
                                    capture_output=True, text=True, timeout=60)
            assert limits.returncode == 0, limits.stderr
            worker_env = {**prefect_env, "OKX_API_KEY": API_KEY, "OKX_SECRET_KEY": SECRET,
                          "OKX_PASSPHRASE": PASSPHRASE, "OKX_BASE_URL": sim_url, "OKX_RATE_LIMIT_URL": redis_url,
                          "OKX_RATE_LIMIT_NAME": "it", "PREFECT_WORKER_QUERY_SECONDS": "1",
                          "PREFECT_WORKER_PREFETCH_SECONDS": "2"}
            cli("work-pool", "create", "okx-process", "--type", "process", env=prefect_env)
            cli("--no-prompt", "deploy", "--all", env=prefect_env, timeout=300)
            for n in (1, 2):
                home = root / f"worker{n}"
                home.mkdir()
                log = root / f"worker{n}.log"
                worker = spawn([str(BIN / "prefect"), "worker", "start", "--pool", "okx-process", "--name",
                                f"it-worker-{n}"], env={**worker_env, "PREFECT_HOME": str(home)}, log=log, cwd=ROOT)
                started.append(worker)
            yield {"api": api, "env": prefect_env, "sim_url": sim_url, "root": root, "workers": started[1:],
                   "redis": redis_url}


def _client(api: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    class Session:
        def __enter__(self) -> Any:
            self._settings = temporary_settings(updates={PREFECT_API_URL: api})
            self._settings.__enter__()
            self._client = get_client(sync_client=True)
            return self._client.__enter__()

        def __exit__(self, *exc: object) -> None:
            self._client.__exit__(*exc)
            self._settings.__exit__(*exc)

    return Session()


def sim_state(sim_url: str) -> dict[str, Any]:
    return requests.get(f"{sim_url}/__sim__/state", timeout=5).json()["data"][0]


def test_deployment_runs_on_two_workers_share_one_budget(stack: dict[str, Any]) -> None:
    catalogue = requests.get(f"{stack['sim_url']}/api/v5/public/instruments?instType=SPOT", timeout=5).json()["data"]
    bases = [i["baseCcy"] for i in catalogue if i["quoteCcy"] == "USDT" and i["baseCcy"] not in ("BTC", "ETH", "USDC")]
    assert len(bases) >= 2 * ASSETS_PER_SPEC
    spec_a = big_rebalance_spec(stack["root"] / "alts-a.yaml", "alts-a", bases[:ASSETS_PER_SPEC])
    spec_b = big_rebalance_spec(stack["root"] / "alts-b.yaml", "alts-b", bases[ASSETS_PER_SPEC:2 * ASSETS_PER_SPEC])

    with _client(stack["api"]) as client:
        deployments = {d.name: d for d in client.read_deployments()}
        prefect_yaml = yaml.safe_load((ROOT / "prefect.yaml").read_text())
        assert set(deployments) == {d["name"] for d in prefect_yaml["deployments"]}
        rebalances = [d for d in prefect_yaml["deployments"] if d["entrypoint"].endswith(":rebalance")]
        assert len(rebalances) >= 2, "prefect.yaml needs two rebalance deployments for this test"
        wanted = [(rebalances[0]["name"], {"spec_path": str(spec_a)}),
                  (rebalances[1]["name"], {"spec_path": str(spec_b)}),
                  ("btc-dca", {}), ("eth-ladder", {})]
        started = time.monotonic()
        runs = [client.create_flow_run_from_deployment(deployments[name].id, parameters=params)
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

    state = sim_state(stack["sim_url"])
    assert state["rateLimitRefusals"] == 0
    books_use = state["peakBudgetUse"].get("market/books", 0)
    report = {"runs": len(runs), "states": states, "seconds_to_final": [round(v[1], 1) for v in final.values()],
              "task_runs": len(task_runs), "peak_budget_use": state["peakBudgetUse"], "refusals": 0}
    print("SCALE-OUT " + json.dumps(report))
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)
    (ROOT / ".pytest_cache" / "scale_out_report.json").write_text(json.dumps(report, indent=2))
    assert books_use >= 0.8, state["peakBudgetUse"]
