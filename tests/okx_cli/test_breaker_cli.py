"""``okx-flows breaker show|reset``: the reading a run checks, and a reset that lets it trade."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from flows.rebalance import rebalance
from okx_cli.main import main
from okx_sim import SimConfig
from tests.support.breaker import raise_the_high_water_mark

RISK = {"max_order_notional": 50000, "max_run_notional": 250000, "max_drawdown": "0.25"}


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    return SimConfig(state_path=tmp_path / "sim.sqlite3",
                     balances={"USDT": Decimal("50000"), "BTC": Decimal("2"), "ETH": Decimal("10")})


def test_show_says_tripped_and_reset_clears_it(sim, spec_file, capsys):  # type: ignore[no-untyped-def]
    path = str(spec_file("rebalance", risk=RISK))
    assert main(["breaker", "show", path]) == 0
    assert "0 run(s) in the ledger" in capsys.readouterr().out
    first = rebalance(spec_path=path)
    raise_the_high_water_mark(first.spec_name, 2)

    assert main(["breaker", "show", path]) == 0
    out = capsys.readouterr().out
    # About 50 % below the mark the earlier run set (the walk moves the NAV a little meanwhile).
    drawdown = re.search(r"drawdown ([0-9.]+) % \(limit 25 %\)", out)
    assert drawdown is not None and 45 < float(drawdown.group(1)) < 55, out
    assert "tripped: drawdown" in out
    orders = len(sim.exchange.all_orders())
    assert main(["run", path]) == 1
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("okx-flows: error: ")]
    assert "circuit breaker tripped" in error and "Traceback" not in err
    assert len(sim.exchange.all_orders()) == orders

    assert main(["breaker", "reset", path]) == 0
    assert "circuit breaker reset" in capsys.readouterr().out
    assert main(["breaker", "show", path]) == 0
    assert "not tripped" in capsys.readouterr().out


def test_an_unknown_spec_is_one_line(capsys):  # type: ignore[no-untyped-def]
    assert main(["breaker", "show", "no/such.yaml"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no/such.yaml" in err
