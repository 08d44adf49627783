"""The integration stack: PostgreSQL, a Prefect server, Redis, an ``okx-flows sim`` process
enforcing OKX's limits, the deployments of prefect.yaml and two process workers, all real
processes on loopback, all stopped by pid when the context exits (pass or fail)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.services import (
    BIN,
    free_port,
    postgres_server,
    prefect_server,
    processes,
    redis_server,
    spawn,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
API_KEY, SECRET, PASSPHRASE = "it-key-1", "ItSecret0000scaleout9931", "ItPassphrase-4471"
POOL = "okx-process"


@dataclass
class Stack:
    api: str
    env: dict[str, str]
    sim_url: str
    root: Path
    redis: str
    worker_env: dict[str, str]
    started: list[subprocess.Popen[bytes]]
    #: The run journal every worker shares: Prefect's own PostgreSQL.
    journal_url: str = ""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        home = self.root / name
        home.mkdir(exist_ok=True)
        worker = spawn([str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--name", name],
                       env={**self.worker_env, "PREFECT_HOME": str(home)}, log=self.root / f"{name}.log", cwd=ROOT)
        self.started.append(worker)
        self.workers.append(worker)
        return worker

    def kill_workers(self) -> None:
        """SIGKILL every worker with its process group (its flow-run children die with it), as
        when a worker machine is lost: no chance to report anything to Prefect."""
        for worker in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        self.workers.clear()

    def sim_state(self) -> dict[str, Any]:
        return requests.get(f"{self.sim_url}/__sim__/state", timeout=5).json()["data"][0]

    def sim_orders(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.sim_url}/__sim__/orders", timeout=5).json()["data"]


def prefect_cli(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def run_deployment(client: Any, name: str, **parameters: Any) -> Any:
    """A flow run of the deployment called ``name`` (any flow), created due now."""
    deployment = next(d for d in client.read_deployments() if d.name == name)
    return client.create_flow_run_from_deployment(deployment.id, parameters=parameters)


def wait_state(client: Any, run_id: Any, done: Callable[[Any], bool], timeout: float, what: str) -> Any:
    """The flow run once ``done(its state)``; fails naming ``what`` and the state it is stuck in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state is not None and done(run.state):
            return run
        time.sleep(0.3)
    raise AssertionError(f"{what}: flow run still {client.read_flow_run(run_id).state}")


@contextmanager
def api_client(api: str) -> Iterator[Any]:
    """Prefect's sync client pointed at ``api`` (the test process has no PREFECT_API_URL)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        yield client


@contextmanager
def integration_stack() -> Iterator[Stack]:
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
            journal_url = db_url.replace("postgresql+asyncpg://", "postgresql+psycopg://")
            worker_env = {**prefect_env, "OKX_FLOWS_JOURNAL_URL": journal_url, "OKX_API_KEY": API_KEY,
                          "OKX_SECRET_KEY": SECRET,
                          "OKX_PASSPHRASE": PASSPHRASE, "OKX_BASE_URL": sim_url, "OKX_RATE_LIMIT_URL": redis_url,
                          "OKX_RATE_LIMIT_NAME": "it", "PREFECT_WORKER_QUERY_SECONDS": "1",
                          "PREFECT_WORKER_PREFETCH_SECONDS": "2"}
            prefect_cli("work-pool", "create", POOL, "--type", "process", env=prefect_env)
            prefect_cli("--no-prompt", "deploy", "--all", env=prefect_env, timeout=300)
            stack = Stack(api, prefect_env, sim_url, root, redis_url, worker_env, started, journal_url=journal_url)
            stack.start_worker("it-worker-1")
            stack.start_worker("it-worker-2")
            yield stack
