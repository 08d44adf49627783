"""The endpoint table: every row is sent by the client, served by the simulator and budgeted by
both limiters, except where the row itself says otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_sim.server import INSPECTION_ROUTES
from okx_wire import endpoints, limits
from okx_wire.algo_orders import MARKET_PX, AlgoAmend, AlgoOrderRequest, AlgoRef
from okx_wire.client import OkxClient
from okx_wire.endpoints import BY_KEY, ENDPOINTS, PRIVATE, E, Endpoint
from okx_wire.orders import Amend, OrderRequest

#: The gaps the table declares (each row carries its reason in ``note``).
NO_CLIENT_METHOD = {("GET", "/api/v5/asset/currencies"), ("POST", "/api/v5/trade/cancel-batch-orders"),
                    ("GET", "/api/v5/trade/fills-history")}
NO_SIM_ROUTE: set[tuple[str, str]] = set()
NO_BUDGET = {("GET", "/api/v5/asset/currencies")}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False)) as handle:
        yield handle


def _sim_routes(sim: SimulatorHandle) -> set[tuple[str, str]]:
    return {(method, path) for path, methods in sim.app.routes.items() for method in methods}


def test_the_gaps_are_exactly_the_declared_ones(sim: SimulatorHandle) -> None:
    routes = _sim_routes(sim)
    no_client = {row.key for row in ENDPOINTS
                 if row.client is None or not callable(getattr(OkxClient, row.client, None))}
    no_route = {row.key for row in ENDPOINTS if row.key not in routes}
    no_budget = {row.key for row in ENDPOINTS if row.key not in limits.BUDGETS}
    assert (no_client, no_route, no_budget) == (NO_CLIENT_METHOD, NO_SIM_ROUTE, NO_BUDGET)
    assert all(BY_KEY[key].note for key in no_client | no_route | no_budget)


def test_the_simulator_serves_nothing_outside_the_table_but_its_inspection_routes(sim: SimulatorHandle) -> None:
    extra = _sim_routes(sim) - set(BY_KEY)
    assert extra == {("GET", path) for path in INSPECTION_ROUTES}
    assert all(not path.startswith("/api/") for _, path in extra)


def test_the_simulator_checks_what_the_row_says(sim: SimulatorHandle) -> None:
    for row in ENDPOINTS:
        route = sim.app.routes[row.path][row.method]
        assert (route.private, route.trade) == (row.private, row.trade), row.key


def test_both_limiters_read_their_budgets_from_the_table() -> None:
    assert {row.key: row.budget for row in ENDPOINTS if row.budget is not None} == limits.BUDGETS
    assert limits.SINGLE_ORDER_EQUIVALENT == {
        "/api/v5/trade/batch-orders": ("POST", "/api/v5/trade/order"),
        "/api/v5/trade/cancel-batch-orders": ("POST", "/api/v5/trade/cancel-order"),
        "/api/v5/trade/amend-batch-orders": ("POST", "/api/v5/trade/amend-order"),
    }
    budget = E.batch_orders.budget
    assert budget is not None and budget.counts_orders
    # The shared limiter draws the same demands: it takes them from limits.demands.
    wanted = limits.demands("POST", E.batch_orders.path, user="u", inst_ids=["BTC-USDT", "BTC-USDT", "ETH-USDT"])
    assert sorted((key, units) for key, _, units in wanted) == [("trade/batch-orders|u|BTC-USDT", 2),
                                                                ("trade/batch-orders|u|ETH-USDT", 1)]


def test_sub_account_order_cap_rows() -> None:
    counted = {row.name for row in ENDPOINTS if row.sub_account_orders}
    assert counted == {"place_order", "batch_orders", "amend_order", "amend_batch"}


@pytest.mark.parametrize("gap", [dict(budget=None), dict(client=None), dict(sim=False)])
def test_a_row_with_a_gap_must_say_why(gap: dict[str, Any]) -> None:
    row: dict[str, Any] = {**dict(name="x", method="GET", path="/api/v5/x", auth=PRIVATE, budget=E.balance.budget,
                                  client="balance"), **gap}
    with pytest.raises(ValueError, match="say why"):
        Endpoint(**row)
    Endpoint(**row, note="because")


def test_rows_are_read_by_attribute_and_by_key() -> None:
    assert E.balance is BY_KEY[("GET", "/api/v5/account/balance")]
    assert {row.name for row in ENDPOINTS} == {name for name in vars(endpoints.E)}


class _Recording(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((request.method or "", urlsplit(request.url or "").path))
        return super().send(request, **kwargs)


def _order(cl_ord_id: str) -> OrderRequest:
    return OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.001"), px=Decimal("1000"),
                        cl_ord_id=cl_ord_id)


#: One call of every client method the table names.
CALLS: dict[str, Callable[[OkxClient], object]] = {
    "server_time": lambda c: c.server_time(),
    "instruments": lambda c: c.instruments(),
    "ticker": lambda c: c.ticker("BTC-USDT"),
    "tickers": lambda c: c.tickers(),
    "order_book": lambda c: c.order_book("BTC-USDT", 5),
    "balance": lambda c: c.balance(["BTC"]),
    "account_config": lambda c: c.account_config(),
    "trade_fee": lambda c: c.trade_fee("SPOT", "BTC-USDT"),
    "place_order": lambda c: c.place_order(_order("epPlace1")),
    "place_batch_orders": lambda c: c.place_batch_orders([_order("epBatch1"), _order("epBatch2")]),
    "amend_order": lambda c: c.amend_order("BTC-USDT", cl_ord_id="epPlace1", new_px=Decimal("1001")),
    "amend_batch_orders": lambda c: c.amend_batch_orders([Amend(inst_id="BTC-USDT", cl_ord_id="epBatch1",
                                                                new_px=Decimal("1002"))]),
    "order": lambda c: c.order("BTC-USDT", cl_ord_id="epPlace1"),
    "cancel_order": lambda c: c.cancel_order("BTC-USDT", cl_ord_id="epPlace1"),
    "pending_orders": lambda c: c.pending_orders(),
    "order_history": lambda c: c.order_history(),
    "fills": lambda c: c.fills(),
    "candles": lambda c: c.candles("BTC-USDT", "1H"),
    "history_candles": lambda c: c.history_candles("BTC-USDT", "1D"),
    "trades": lambda c: c.trades("BTC-USDT"),
    "history_trades": lambda c: c.history_trades("BTC-USDT"),
    "system_status": lambda c: c.system_status(),
    "max_size": lambda c: c.max_size(["BTC-USDT"]),
    "max_avail_size": lambda c: c.max_avail_size(["BTC-USDT"]),
    "bills": lambda c: c.bills(),
    "bills_archive": lambda c: c.bills_archive(),
    "order_history_archive": lambda c: c.order_history_archive(),
    "cancel_all_after": lambda c: c.cancel_all_after(0),
    "place_algo_order": lambda c: c.place_algo_order(AlgoOrderRequest(
        inst_id="BTC-USDT", side="buy", ord_type="trigger", sz=Decimal("0.001"), trigger_px=Decimal("1000"),
        algo_cl_ord_id="epAlgo1")),
    "algo_order": lambda c: c.algo_order(algo_cl_ord_id="epAlgo1"),
    "pending_algo_orders": lambda c: c.pending_algo_orders(["trigger"]),
    "amend_algo_order": lambda c: c.amend_algo_order(AlgoAmend(inst_id="BTC-USDT", algo_cl_ord_id="epAlgo1",
                                                               new_trigger_px=Decimal("1001"), new_ord_px=MARKET_PX)),
    "cancel_algo_orders": lambda c: c.cancel_algo_orders([AlgoRef(inst_id="BTC-USDT", algo_cl_ord_id="epAlgo1")]),
    "algo_order_history": lambda c: c.algo_order_history(["trigger"], state="canceled"),
}


def test_every_client_method_sends_exactly_its_row(sim: SimulatorHandle) -> None:
    assert set(CALLS) == {row.client for row in ENDPOINTS if row.client is not None}
    session = _Recording()
    client = OkxClient(sim.credentials, base_url=sim.base_url, session=session)
    client.sync_time()
    by_method = {row.client: row for row in ENDPOINTS if row.client is not None}
    for method, call in CALLS.items():
        session.sent.clear()
        call(client)
        assert session.sent == [by_method[method].key], method


def test_the_escape_hatch_draws_the_rows_budget(sim: SimulatorHandle) -> None:
    from okx_wire.limits import SlidingWindowLimiter

    limiter = SlidingWindowLimiter()
    client = OkxClient(sim.credentials, base_url=sim.base_url, limiter=limiter)
    assert client.request("GET", "/api/v5/asset/currencies", params={"ccy": "BTC"})
    assert client.request("GET", "/api/v5/trade/fills-history", params={"instType": "SPOT"}) == []
    assert "trade/fills-history" in limiter.peak_use
