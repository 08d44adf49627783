"""Money safety when the network and the clocks misbehave, with real processes: ``okx-flows run``
CLI processes against an ``okx-flows sim`` process, through a fault proxy.

* The client's clock is 20 s ahead of the exchange's (inside OKX's 30 s window, so nothing
  refuses it) and the first order request is stuck in the network past the client's read
  timeout, then arrives. The original must be discarded by its expTime, in exchange time: one
  order, 100 USDT spent for a 100 USDT DCA (without exchange time both fill: 199 USDT).
* The exchange's clock is 15 s ahead: orders are accepted (an expTime in local time would be in
  the past for the exchange, every order refused with 50037, and the run would still exit 0).
* The order reaches the exchange, its reply is lost and the network stays down past every retry:
  the run fails saying the order may be live; the rerun, a new flow run, adopts it instead of
  buying again.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from tests.reliability.simproc import BALANCE_ARGS, LONGEST_SLOT, dca_spec, sim_process, write_spec
from tests.reliability.test_money_safety import cli_env, filled_quote, run_cli, tagged, wait_for
from tests.support.fault_proxy import FaultProxy

ORDER = ("POST", "/api/v5/trade/order")


def test_client_clock_ahead_and_a_delayed_original_buy_once(tmp_path: Path) -> None:
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "61", "--clock-skew", "-20") as sim, \
            FaultProxy(sim.url) as proxy:
        spec = write_spec(tmp_path / "dca.yaml",
                          dca_spec("skew-dca", proxy.url, quote_amount=100, slot_seconds=LONGEST_SLOT))
        # Held past the client's 10 s read timeout and its first retry, then delivered.
        proxy.delay_request(*ORDER, seconds=22)
        done = run_cli(["run", str(spec)], cli_env(tmp_path))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Orders: 1 placed" in done.stdout
        wait_for(lambda: proxy.forwarded[ORDER] >= 2, 60, "the delayed original to reach the exchange")
        time.sleep(1.0)
        orders = tagged(sim, "skewdca")
        filled = [o for o in orders if Decimal(o["accFillSz"] or 0) > 0]
        spent = filled_quote(orders, "buy")
        print(f"SCENARIO clock-ahead+delayed: intended 1 order / 100 USDT; on the exchange {len(filled)} filled, "
              f"{spent:.2f} USDT")
        assert len(filled) == 1, f"{len(filled)} orders filled for one DCA buy, {spent} USDT spent"
        assert Decimal("99") < spent <= Decimal("100.01"), spent


def test_exchange_clock_ahead_still_trades(tmp_path: Path) -> None:
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "62", "--clock-skew", "15") as sim:
        spec = write_spec(tmp_path / "dca.yaml",
                          dca_spec("ahead-dca", sim.url, quote_amount=100, slot_seconds=LONGEST_SLOT))
        done = run_cli(["run", str(spec)], cli_env(tmp_path))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        orders = tagged(sim, "aheaddca")
        print(f"SCENARIO exchange-ahead: intended 1 order / 100 USDT; on the exchange {len(orders)} "
              f"({[o['state'] for o in orders]}), {filled_quote(orders, 'buy'):.2f} USDT")
        assert len(orders) == 1 and orders[0]["state"] == "filled"
        assert Decimal("99") < filled_quote(orders, "buy") <= Decimal("100.01")


def test_lost_reply_and_network_down_then_rerun_buys_once(tmp_path: Path) -> None:
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "63") as sim, FaultProxy(sim.url) as proxy:
        spec = write_spec(tmp_path / "dca.yaml",
                          dca_spec("lost-dca", proxy.url, quote_amount=100, slot_seconds=LONGEST_SLOT))
        env = cli_env(tmp_path)
        proxy.drop_reply(*ORDER, then_refuse=True)
        failed = run_cli(["run", str(spec)], env)
        assert failed.returncode == 1
        error = [line for line in failed.stderr.splitlines() if line.startswith("okx-flows: error:")]
        assert len(error) == 1 and "may be live" in error[0] and "next run" in error[0], failed.stderr[-3000:]
        assert len(tagged(sim, "lostdca")) == 1  # it did reach the exchange

        proxy.refuse(False)  # the network is back; the user reruns the spec
        rerun = run_cli(["run", str(spec)], env)
        assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
        assert "adopted" in rerun.stdout
        orders = tagged(sim, "lostdca")
        print(f"SCENARIO lost-reply+rerun: intended 1 order / 100 USDT; on the exchange {len(orders)}, "
              f"{filled_quote(orders, 'buy'):.2f} USDT")
        assert len(orders) == 1, f"{len(orders)} orders for one DCA buy"
        assert Decimal("99") < filled_quote(orders, "buy") <= Decimal("100.01")
