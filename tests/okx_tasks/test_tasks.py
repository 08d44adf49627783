"""The tasks inside real Prefect flows: retry policy, idempotent placement under faults."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prefect import flow
from prefect.context import FlowRunContext

from okx_sim import SimConfig, running_simulator
from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials, drop_cached_clients
from okx_wire import errors
from okx_wire.orders import OrderRequest, client_order_id
from tests.conftest import PASSPHRASE, SECRET
from tests.support.capture import CaptureServer

pytestmark = pytest.mark.usefixtures("prefect_db")


@pytest.fixture(autouse=True)
def _fresh_clients() -> None:
    drop_cached_clients()


def capture_block(capture: CaptureServer) -> OkxCredentials:
    capture.serve_time = True  # the client's clock sync is not what these tests script
    return OkxCredentials(api_key="k-retry", secret_key=SECRET, passphrase=PASSPHRASE,  # type: ignore[arg-type]
                          base_url=capture.base_url)


@flow
def balance_flow(block: OkxCredentials) -> object:
    return tasks.get_balance.with_options(retry_delay_seconds=0)(block)


def test_5xx_is_retried_until_it_succeeds(capture: CaptureServer) -> None:
    capture.reply(503, b"<html>busy</html>")
    capture.reply(500, {"code": "50026", "msg": "System error. Try again later", "data": []})
    capture.reply(200, {"code": "0", "msg": "", "data": [{"details": [{"ccy": "USDT", "availBal": "5"}]}]})
    result = balance_flow(capture_block(capture))
    assert result.available("USDT") == Decimal(5)  # type: ignore[attr-defined]
    assert len(capture.requests) == 3


def test_bad_passphrase_stops_at_once(capture: CaptureServer) -> None:
    capture.default = lambda _: (401, {"code": "50105", "msg": 'Request header "OK-ACCESS-PASSPHRASE" incorrect.',
                                       "data": []})
    with pytest.raises(errors.InvalidPassphrase):
        balance_flow(capture_block(capture))
    assert len(capture.requests) == 1  # no retry of what cannot improve


def test_retries_give_up_after_the_configured_attempts(capture: CaptureServer) -> None:
    capture.default = lambda _: (503, {"code": "50001", "msg": "Service temporarily unavailable", "data": []})
    with pytest.raises(errors.ExchangeUnavailable):
        balance_flow(capture_block(capture))
    assert len(capture.requests) == 1 + tasks.get_balance.retries


def test_every_intended_order_exists_exactly_once_under_drops_and_errors() -> None:
    config = SimConfig(drop_rate=0.4, error_rate=0.15, rate_limits=False, seed=3)
    with running_simulator(config) as sim:
        block = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)

        @flow
        def place_many(block: OkxCredentials, n: int) -> list[object]:
            run_id = str(FlowRunContext.get().flow_run.id)  # type: ignore[union-attr]
            place = tasks.place_order.with_options(retries=20, retry_delay_seconds=0)
            batch = tasks.place_batch_orders.with_options(retries=20, retry_delay_seconds=0)
            # Market buys of 20 USDT fill at once: a blind resend would be accepted again.
            singles = [place(block, OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="market", sz=Decimal(20),
                                                 cl_ord_id=client_order_id(run_id, "faults", f"s{i}")),
                             exp_window_ms=300) for i in range(n)]
            legs = [OrderRequest(inst_id=inst, side="buy", ord_type="market", sz=Decimal(20),
                                 cl_ord_id=client_order_id(run_id, "faults", f"b{i}"))
                    for i, inst in enumerate(["ETH-USDT", "SOL-USDT", "XRP-USDT"] * 3)]
            return singles + list(batch(block, legs, exp_window_ms=300))

        placements = place_many(block, 15)
        assert len(placements) == 24 and all(p.ok for p in placements)  # type: ignore[attr-defined]
        counts = {p.cl_ord_id: len(sim.exchange.orders_by_client_id(p.cl_ord_id)) for p in placements}  # type: ignore[attr-defined]
        assert set(counts.values()) == {1}, counts
        assert sim.faults.drops_injected > 0 and sim.faults.errors_injected > 0


def test_cancel_is_idempotent_and_amend_absolute() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        block = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)

        @flow
        def cancel_twice(block: OkxCredentials) -> tuple[object, object, object]:
            book = tasks.get_order_book(block, "BTC-USDT")
            low = (book.best_bid * Decimal("0.8")).quantize(Decimal("0.1"))
            placed = tasks.place_order(block, OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit",
                                                           sz=Decimal("0.01"), px=low, cl_ord_id="cx1"))
            amended = tasks.amend_order(block, "BTC-USDT", ord_id=placed.ord_id, new_px=low - 1)
            first = tasks.cancel_order(block, "BTC-USDT", ord_id=placed.ord_id)
            second = tasks.cancel_order(block, "BTC-USDT", ord_id=placed.ord_id)
            return amended, first, second

        amended, first, second = cancel_twice(block)
        assert amended.px is not None and first.state.value == "canceled" == second.state.value  # type: ignore[attr-defined]


def test_orders_are_checked_against_the_instrument_before_sending() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        block = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)

        @flow
        def tiny(block: OkxCredentials) -> object:
            inst = tasks.get_instruments(block, "SPOT", "BTC-USDT")[0]
            order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("0.0000001"),
                                 px=Decimal("100"), cl_ord_id="tiny1")
            return tasks.place_order(block, order, instrument=inst)

        with pytest.raises(errors.InvalidOrder, match="under the minimum size"):
            tiny(block)
        assert sim.exchange.orders_by_client_id("tiny1") == []


def test_the_prefect_venue_reads_the_fee_tier_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from okx_tasks.venue import PrefectVenue

    calls: list[tuple[str, str | None]] = []
    real = tasks.get_trade_fee

    def counted(block: OkxCredentials, inst_type: str = "SPOT", inst_id: str | None = None) -> object:
        calls.append((inst_type, inst_id))
        return real(block, inst_type, inst_id)

    monkeypatch.setattr(tasks, "get_trade_fee", counted)
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        block = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)

        @flow
        def reads(block: OkxCredentials) -> tuple[object, object, object]:
            venue = PrefectVenue(block)
            first = venue.fee_rates(["BTC-USDT", "ETH-USDT"])
            again = venue.fee_rates(["SOL-USDT"])
            return first, again, venue.tickers()

        first, again, tickers = reads(block)
    assert calls == [("SPOT", None)]  # one read for every instrument of the run
    assert first["BTC-USDT"].taker == Decimal("0.001") and first["ETH-USDT"].maker == Decimal("0.0008")  # type: ignore[index]
    assert again["SOL-USDT"] == first["BTC-USDT"]  # type: ignore[index]
    assert {"BTC-USDT", "ETH-USDT", "SOL-USDT"} <= set(tickers)  # type: ignore[arg-type]


def test_get_trade_fee_returns_the_rates_as_costs() -> None:
    with running_simulator(SimConfig(rate_limits=False)) as sim:
        block = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)
        fee = tasks.get_trade_fee.fn(block, "SPOT")
    assert (fee.taker_rate, fee.maker_rate, fee.level) == (Decimal("0.001"), Decimal("0.0008"), "Lv1")
