"""A flow on a Multi-currency margin account: its spot orders go out with tdMode cross."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.dca import dca
from okx_sim import SimConfig


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    return SimConfig(state_path=tmp_path / "sim.sqlite3", acct_lv="3")


def test_dca_on_a_multi_currency_margin_account(sim, spec_file):
    result = dca(spec_path=str(spec_file("dca")))
    assert result.status == "completed" and result.placed
    assert [o["tdMode"] for o in sim.exchange.all_orders()] == ["cross"]
