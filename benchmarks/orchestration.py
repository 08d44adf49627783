"""Prefect pieces of the benchmarks: one Prefect server per benchmark run, the child process of
figures 5 and 6 (``flowbench.py``), and the deployment figure ("orchestration").

Every service comes from ``tests/support/services.py`` (PostgreSQL via ``postgres_server`` when it
is installed, else SQLite; ``prefect server start``; ``spawn``/``stop`` by process group), binds
127.0.0.1 only, lives in a temporary directory and is stopped by pid on exit, also on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import requests

from tests.support import services


@dataclass
class PrefectStack:
    api: str
    env: dict[str, str]  # client environment: PREFECT_API_URL, a scratch PREFECT_HOME, no DB URL
    database: str  # "postgresql" or "sqlite"
    root: Path
    startup_s: float


@contextlib.contextmanager
def prefect_stack(prefer_postgres: bool = True) -> Iterator[PrefectStack]:
    """``prefect server start`` over PostgreSQL (if installed and wanted) or SQLite."""
    root = Path(tempfile.mkdtemp(prefix="okx-bench-prefect-"))
    try:
        with contextlib.ExitStack() as stack:
            t0 = time.perf_counter()
            if prefer_postgres and services.postgres_available():
                db_url, database = stack.enter_context(services.postgres_server()), "postgresql"
            else:
                db_url, database = f"sqlite+aiosqlite:///{root / 'prefect.db'}", "sqlite"
            (root / "server").mkdir()
            api, env = stack.enter_context(services.prefect_server(db_url, root / "server"))
            client_home = root / "client"
            client_home.mkdir()
            env = {**env, "PREFECT_HOME": str(client_home)}
            yield PrefectStack(api, env, database, root, time.perf_counter() - t0)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def in_background(factory: Callable[[], contextlib.AbstractContextManager[Any]]) -> Iterator[Callable[[], Any]]:
    """Enter ``factory()`` on a thread now; yields a getter that waits for its value (or raises
    its error). Leaving the ``with`` exits the context on that thread (stopping its processes)."""
    ready, done = threading.Event(), threading.Event()
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            with factory() as value:
                box["value"] = value
                ready.set()
                done.wait()
        except BaseException as exc:
            box["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=body, name="prefect-stack", daemon=True)
    thread.start()

    def get() -> Any:
        ready.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]

    try:
        yield get
    finally:
        done.set()
        thread.join(timeout=120)


def run_child(stack: PrefectStack, args: list[str], timeout: float) -> dict[str, Any]:
    """``flowbench.py ARGS`` against the stack's server; its last stdout line is JSON."""
    log = stack.root / f"child-{int(time.time() * 1000)}.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(HERE / "flowbench.py"), *args], env=stack.env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        finally:
            services.stop(proc)  # by its process group: also its simulator if it was interrupted
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"flowbench {' '.join(args)} exited with {proc.returncode}:\n{tail}")
    return json.loads(lines[-1])


# -- a deployment run through a real server and a process worker -----------------------------

def _cli(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run([str(services.BIN / "prefect"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def _state_times(client: Any, flow_run_id: Any) -> dict[str, float]:
    """First timestamp (epoch s) of each state type in the run's history."""
    times: dict[str, float] = {}
    for state in sorted(client.read_flow_run_states(flow_run_id), key=lambda s: s.timestamp):
        times.setdefault(state.type.value, state.timestamp.timestamp())
    return times


def bench_orchestration(quick: bool, runs: int = 5, deployment: str = "btc-dca") -> dict[str, Any]:
    """Scheduled -> pending -> running -> completed of ``deployment`` runs, medians over ``runs``."""
    if quick:
        return {"status": "skipped",
                "note": "skipped in --quick mode: starts PostgreSQL, a Prefect server, a process worker and a "
                        "simulator, then follows 5 deployment runs (about 45 s); run "
                        "`benchmarks/run.py --only orchestration`"}
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    creds = {"OKX_API_KEY": "bench-orch-key", "OKX_SECRET_KEY": "BenchOrchSecret0000000000000001",
             "OKX_PASSPHRASE": "BenchOrch-1"}
    stages: dict[str, float] = {}
    t_all = time.perf_counter()
    with prefect_stack() as stack, services.processes() as started:
        stages["server_start_s"] = stack.startup_s
        sim_port = services.free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        sim_log = stack.root / "sim.log"
        sim = services.spawn([str(services.BIN / "okx-flows"), "sim", "--port", str(sim_port), "--state",
                              str(stack.root / "sim.sqlite3")], env={**os.environ, **creds}, log=sim_log)
        started.append(sim)
        services.wait_until(lambda: requests.get(f"{sim_url}/api/v5/public/time", timeout=2).ok, 60,
                            "okx-flows sim", sim, sim_log)
        t0 = time.perf_counter()
        _cli("work-pool", "create", "okx-process", "--type", "process", env=stack.env)
        _cli("--no-prompt", "deploy", "--all", env=stack.env, timeout=300)
        stages["deploy_s"] = time.perf_counter() - t0
        worker_home = stack.root / "worker"
        worker_home.mkdir()
        worker_log = stack.root / "worker.log"
        worker_env = {**stack.env, **creds, "OKX_BASE_URL": sim_url, "PREFECT_HOME": str(worker_home),
                      "OKX_FLOWS_JOURNAL_URL": f"sqlite:///{worker_home / 'journal.sqlite3'}",
                      "PREFECT_WORKER_QUERY_SECONDS": "1"}
        worker = services.spawn([str(services.BIN / "prefect"), "worker", "start", "--pool", "okx-process",
                                 "--name", "bench-worker"], env=worker_env, log=worker_log, cwd=ROOT)
        started.append(worker)
        rows: list[dict[str, Any]] = []
        with temporary_settings(updates={PREFECT_API_URL: stack.api}), get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name(f"dca/{deployment}")
            t0 = time.perf_counter()
            services.wait_until(lambda: any(w.status.value == "ONLINE" for w in client.read_workers_for_work_pool(
                "okx-process")), 60, "prefect worker", worker, worker_log)
            stages["worker_online_s"] = time.perf_counter() - t0
            for _ in range(runs):
                run = client.create_flow_run_from_deployment(dep.id)  # Scheduled, expected to start now
                deadline = time.monotonic() + 180
                while True:
                    state = client.read_flow_run(run.id).state
                    if state is not None and state.is_final():
                        break
                    if time.monotonic() > deadline or worker.poll() is not None:
                        tail = worker_log.read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"run {run.id} not final ({state}):\n{tail}")
                    time.sleep(0.25)
                fr = client.read_flow_run(run.id)
                t = _state_times(client, run.id)
                scheduled = max(t.get("SCHEDULED", 0.0), fr.expected_start_time.timestamp()
                                if fr.expected_start_time else 0.0)
                rows.append({"state": fr.state.type.value if fr.state else None,
                             "scheduled_to_pending_s": round(t["PENDING"] - scheduled, 3),
                             "pending_to_running_s": round(t["RUNNING"] - t["PENDING"], 3),
                             "running_to_completed_s": round(t["COMPLETED"] - t["RUNNING"], 3)
                             if "COMPLETED" in t else None,
                             "scheduled_to_completed_s": round(t["COMPLETED"] - scheduled, 3)
                             if "COMPLETED" in t else None})
                time.sleep(0.5)
        sim_state = requests.get(f"{sim_url}/__sim__/state", timeout=5).json()["data"][0]
        database = stack.database
    failed = [r for r in rows if r["state"] != "COMPLETED"]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(rows)} runs did not complete: {failed}")

    def med(key: str, rs: list[dict[str, Any]] = rows) -> float:
        return round(statistics.median(r[key] for r in rs), 3)

    keys = ("scheduled_to_pending_s", "pending_to_running_s", "running_to_completed_s", "scheduled_to_completed_s")
    later = rows[1:] or rows
    return {"deployment": f"dca/{deployment}", "database": database, "runs": len(rows),
            "median": {k: med(k) for k in keys},
            "median_after_first": {k: med(k, later) for k in keys},
            "per_run": rows,
            "setup": {k: round(v, 2) for k, v in stages.items()},
            "sim_balances_usdt": sim_state["balances"].get("USDT"),
            "total_s": round(time.perf_counter() - t_all, 1),
            "note": (f"prefect server start over {database}, `prefect --no-prompt deploy --all` (prefect.yaml), "
                     "one `prefect worker start --pool okx-process` with PREFECT_WORKER_QUERY_SECONDS=1 and "
                     "OKX_* + OKX_BASE_URL of an `okx-flows sim` process; each run created with "
                     "create_flow_run_from_deployment (Scheduled, start now) and followed to Completed; "
                     "times from the server's state history. The flow runs with the heartbeat on (the deployment "
                     "default); its ~1 s join at exit comes after the Completed state, so it lengthens the "
                     "process, not these figures")}
