"""Fixtures for the flow and CLI tests (imported by their conftest files): one in-process simulator
per test (state in tmp_path),
spec copies pointing at it, and the session's Prefect test server for every test here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.runtime import RUNTIME

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"


@pytest.fixture(autouse=True)
def prefect_for_every_test(prefect_db: Path) -> Iterator[None]:
    """Every test here may run a flow: share the session's Prefect server (heartbeat off). The
    process settings are read afresh from each test's environment (and forgotten after it)."""
    RUNTIME.reset()
    yield
    RUNTIME.reset()


def fresh_settings() -> None:
    """Call after changing OKX_* variables in a test: the flows read settings, not the env."""
    RUNTIME.reset()


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    return SimConfig(state_path=tmp_path / "sim.sqlite3")


@pytest.fixture
def sim(sim_config: SimConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SimulatorHandle]:
    """A simulator for this test; the OKX_* variables hold its trade key (as a user's shell would)."""
    with running_simulator(sim_config) as handle:
        monkeypatch.setenv("OKX_API_KEY", handle.credentials.api_key)
        monkeypatch.setenv("OKX_SECRET_KEY", handle.credentials.secret_key.get_secret_value())
        monkeypatch.setenv("OKX_PASSPHRASE", handle.credentials.passphrase.get_secret_value())
        monkeypatch.delenv("OKX_BASE_URL", raising=False)
        monkeypatch.delenv("OKX_DEMO", raising=False)
        monkeypatch.setenv("OKX_SIM_STATE", str(tmp_path / "embedded-sim.sqlite3"))
        fresh_settings()
        yield handle


def _merge(data: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            _merge(data[key], value)
        elif value is None:
            data.pop(key, None)
        else:
            data[key] = value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral() else int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.fixture
def spec_file(tmp_path: Path, sim: SimulatorHandle) -> Callable[..., Path]:
    """``spec_file("rebalance", risk={...})``: a copy of specs/<example>.yaml aimed at ``sim``."""

    def make(example: str, **changes: Any) -> Path:
        data = yaml.safe_load((SPECS / f"{example}.yaml").read_text())
        data["base_url"] = sim.base_url
        _merge(data, _plain(changes))
        path = tmp_path / f"{example}-{len(list(tmp_path.glob('*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return make
