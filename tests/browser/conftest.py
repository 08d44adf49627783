"""What the browser tests stand on: a Prefect server with its UI, the three CLI runs whose reports
they look at, headless Chromium (Debian's ``chromium``, driven by the ``playwright`` package of the
test extra; Playwright's own browser download is never used) and the directory the screenshots go to.

Everything is started once for the package and stopped by process id when it ends, pass or fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.services import BIN, free_port, prefect_env, processes, spawn, wait_until
from tests.support.stack import api_client

ROOT = Path(__file__).resolve().parents[2]
MAIN_SPEC = "specs/rebalance.yaml"
SPEC_NAME = "core-rebalance"
#: The failing run's venue: a simulator whose key may read but not trade.
RO_KEY, RO_SECRET, RO_PASSPHRASE = "browser-ro-key", "BrowserReadOnly0000secret77", "Browser-RO-4471"
INSTALL_CHROMIUM = "sudo apt-get install -y chromium (Debian's package; .ci/run installs it)"


def chromium_executable() -> str:
    """Debian's chromium (``OKX_FLOWS_CHROMIUM`` names another binary); fails the test if missing."""
    named = os.environ.get("OKX_FLOWS_CHROMIUM", "").strip()
    found = named if named and os.access(named, os.X_OK) else \
        shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(f"the browser tests need Chromium and none was found on PATH: {INSTALL_CHROMIUM}", pytrace=False)
    return found


def screenshot_dir() -> Path:
    """``OKX_FLOWS_SCREENSHOTS``, else test-output/screenshots/ of the repository (git-ignored)."""
    named = os.environ.get("OKX_FLOWS_SCREENSHOTS", "").strip()
    path = Path(named).expanduser() if named else ROOT / "test-output" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class CliRun:
    """One ``okx-flows run`` through the CLI: its exit, output and the flow run it made."""

    label: str
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)
    flow_run_id: str
    seconds: float

    def describe(self) -> str:
        return (f"{self.label}: exit {self.returncode} in {self.seconds:.1f} s\n"
                f"stdout:\n{self.stdout[-2000:]}\nstderr:\n{self.stderr[-3000:]}")


@dataclass
class Reports:
    """The server the runs reported to, with its UI, and the three runs."""

    server: str
    api: str
    runs: dict[str, CliRun] = field(default_factory=dict)

    def artifact(self, run: str, key: str | None = None, prefix: str | None = None) -> Any:
        """The newest artifact of ``run``'s flow run with this key (or key prefix)."""
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
        from prefect.client.schemas.sorting import ArtifactSort

        flow_run_id = self.runs[run].flow_run_id
        keys = ArtifactFilterKey(any_=[key]) if key else ArtifactFilterKey(like_=f"{prefix}%")
        with api_client(self.api) as client:
            found = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=keys, flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
                sort=ArtifactSort.CREATED_DESC)
            if not found:
                every = client.read_artifacts(artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
        assert found, (f"the {run} run (flow run {flow_run_id}) has no artifact with key "
                       f"{key or prefix + '...'}; its artifacts: {sorted(str(a.key) for a in every)}")
        return found[0]

    def artifact_url(self, artifact: Any) -> str:
        return f"{self.server}/artifacts/artifact/{artifact.id}"


def _flow_run_ids(api: str) -> set[str]:
    with api_client(api) as client:
        return {str(run.id) for run in client.read_flow_runs(limit=200)}


def _run_cli(label: str, args: list[str], env: dict[str, str], api: str) -> CliRun:
    before = _flow_run_ids(api)
    started = time.monotonic()
    done = subprocess.run([str(BIN / "okx-flows"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    seconds = time.monotonic() - started
    new = sorted(_flow_run_ids(api) - before)
    assert len(new) == 1, f"{label}: expected one new flow run on the server, found {new}\n{done.stderr[-3000:]}"
    return CliRun(label, done.returncode, done.stdout, done.stderr, new[0], seconds)


@pytest.fixture(scope="package")
def chromium_path() -> str:
    return chromium_executable()


@pytest.fixture(scope="package")
def reports(chromium_path: str) -> Iterator[Reports]:
    """A Prefect server with its UI, then, through the CLI, the main job, a dry run of it and a run
    of the same spec that fails after planning (its venue's key may read but not trade). Asks for
    Chromium first: without it the package fails at once instead of after the runs."""
    with tempfile.TemporaryDirectory(prefix="okxflows-browser-") as tmp, processes() as started:
        root = Path(tmp)
        port, sim_port = free_port(), free_port()
        server, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/api"
        (root / "server").mkdir()
        server_env = prefect_env(root / "server", api, PREFECT_SERVER_UI_ENABLED="true", PREFECT_UI_API_URL=api)
        server_log = root / "server" / "server.log"
        prefect = spawn([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                        env=server_env, log=server_log)
        started.append(prefect)
        # The failing run's venue starts beside the server (two cores: the server mostly waits on SQLite).
        plain = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OKX_"))}
        sim_log = root / "sim.log"
        sim = spawn([str(BIN / "okx-flows"), "sim", "--port", str(sim_port), "--state", str(root / "ro-sim.sqlite3"),
                     "--read-only", "--api-key", RO_KEY, "--secret-key", RO_SECRET, "--passphrase", RO_PASSPHRASE],
                    env=plain, log=sim_log)
        started.append(sim)
        wait_until(lambda: requests.get(f"{api}/health", timeout=2).status_code == 200, 120, "prefect server",
                   prefect, server_log)
        wait_until(lambda: requests.get(f"{server}/", timeout=2).ok, 30, "the Prefect UI", prefect, server_log)
        wait_until(lambda: requests.get(f"http://127.0.0.1:{sim_port}/api/v5/public/time", timeout=2).ok, 60,
                   "okx-flows sim --read-only", sim, sim_log)

        client_env = {**plain, "HOME": str(root / "home"), "XDG_DATA_HOME": str(root / "data"),
                      "PREFECT_HOME": str(root / "client"), "PREFECT_API_URL": api,
                      "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1",
                      "OKX_FLOWS_JOURNAL_URL": f"sqlite:///{root / 'journal.sqlite3'}"}
        sim_state = str(root / "sim.sqlite3")
        found = Reports(server, api)
        found.runs["main"] = _run_cli("okx-flows run (the main job)", ["run", MAIN_SPEC, "--sim-state", sim_state],
                                      client_env, api)
        found.runs["dry"] = _run_cli("okx-flows run --dry-run", ["run", MAIN_SPEC, "--dry-run", "--sim-state",
                                                                 sim_state], client_env, api)
        failing_env = {**client_env, "OKX_BASE_URL": f"http://127.0.0.1:{sim_port}", "OKX_API_KEY": RO_KEY,
                       "OKX_SECRET_KEY": RO_SECRET, "OKX_PASSPHRASE": RO_PASSPHRASE}
        found.runs["failed"] = _run_cli("okx-flows run (a key without Trade permission)", ["run", MAIN_SPEC],
                                        failing_env, api)
        yield found


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Any]:
    """Headless Chromium: Debian's binary driven by the playwright package (no browser download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail('the browser tests drive Chromium with playwright, from the test extra: pip install -e ".[test]"',
                    pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True,
                                              args=["--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="package")
def screenshots() -> Path:
    return screenshot_dir()
