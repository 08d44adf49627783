"""The algo-order tasks inside real Prefect flows: placed once however often retried, and the
reads, amendments and cancellations as the client does them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prefect import flow

from okx_sim import SimConfig, running_simulator
from okx_tasks import algo_orders as tasks
from okx_tasks.blocks import OkxCredentials, drop_cached_clients
from okx_tasks.tasks import READ, TRADE
from okx_wire.algo_orders import AlgoAmend, AlgoOrderRequest, AlgoRef
from okx_wire.orders import MARKET_PX, TpSl

pytestmark = pytest.mark.usefixtures("prefect_db")


@pytest.fixture(autouse=True)
def _fresh_clients() -> None:
    drop_cached_clients()


def test_the_tasks_follow_the_project_conventions() -> None:
    for name in ("place_algo_order", "cancel_algo_orders", "amend_algo_order", "get_algo_order", "find_algo_order",
                 "get_pending_algo_orders", "get_algo_order_history"):
        task = getattr(tasks, name)
        assert task.name.startswith("okx-") and task.persist_result is False
        assert task.retries == (TRADE if name == "place_algo_order" else READ)["retries"]


def test_algo_orders_through_prefect_are_placed_once_under_drops() -> None:
    with running_simulator(SimConfig(rate_limits=False, seed=5, drop_rate=0.3)) as sim:
        block = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)

        @flow
        def protect(block: OkxCredentials) -> tuple[object, ...]:
            last = sim.exchange.market.ticker(sim.exchange.catalogue.get("BTC-USDT"),  # type: ignore[arg-type]
                                              sim.exchange.market.step_at(sim.exchange.clock()))["last"]
            sl, tp = ((Decimal(last) * Decimal(f)).quantize(Decimal("0.1")) for f in ("0.8", "1.2"))
            request = AlgoOrderRequest(inst_id="BTC-USDT", side="sell", ord_type="oco", sz=Decimal("0.01"),
                                       td_mode="cash", algo_cl_ord_id="flowOco1",
                                       tp_sl=TpSl(tp_trigger_px=tp, sl_trigger_px=sl))
            place = tasks.place_algo_order.with_options(retries=20, retry_delay_seconds=0)
            read = {"retries": 20, "retry_delay_seconds": 0}
            first = place(block, request)
            second = place(block, request)
            pending = tasks.get_pending_algo_orders.with_options(**read)(block)
            amended = tasks.amend_algo_order.with_options(**read)(block, AlgoAmend(
                inst_id="BTC-USDT", algo_cl_ord_id="flowOco1", new_sl_trigger_px=sl - 100, new_sl_ord_px=MARKET_PX))
            cancelled = tasks.cancel_algo_orders.with_options(**read)(block, [AlgoRef(inst_id="BTC-USDT",
                                                                                      algo_cl_ord_id="flowOco1")])
            found = tasks.find_algo_order.with_options(**read)(block, "flowOco1")
            history = tasks.get_algo_order_history.with_options(**read)(block, ["oco"], state="canceled")
            return first, second, pending, amended, cancelled, found, history, sl

        first, second, pending, amended, cancelled, found, history, sl = protect(block)
        assert second.adopted and second.algo_id == first.algo_id  # type: ignore[attr-defined]
        assert [a.algo_id for a in pending] == [first.algo_id]  # type: ignore[attr-defined]
        assert amended.sl_trigger_px == sl - 100  # type: ignore[attr-defined,operator]
        assert found.state.value == "canceled"  # type: ignore[attr-defined]
        assert [a.algo_id for a in history] == [first.algo_id]  # type: ignore[attr-defined]
        assert sum(1 for a in sim.exchange.algos.all_algos() if a["algoClOrdId"] == "flowOco1") == 1
