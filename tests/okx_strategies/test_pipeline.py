"""The shared pipeline over a fake venue, and the direct binding's promise: no Prefect."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from okx_strategies import pipeline
from okx_wire.errors import ExchangeUnavailable, InvalidRequest
from okx_wire.models import Order
from okx_wire.placement import Placement


def _order(ord_id: str, state: str) -> Order:
    return Order.model_validate({"instId": "BTC-USDT", "ordId": ord_id, "clOrdId": f"c{ord_id}", "side": "buy",
                                 "ordType": "limit", "sz": "1", "px": "1", "state": state, "accFillSz": "0"})


class FakeVenue:
    """Answers ``order_states`` from a script: one list of answers per poll."""

    def __init__(self, polls: list[list[Any]]) -> None:
        self.polls = polls
        self.asked: list[list[tuple[str, str]]] = []
        self.cancelled: list[str] = []

    def order_states(self, refs: list[tuple[str, str]]) -> list[Any]:
        self.asked.append(list(refs))
        answers = self.polls[min(len(self.asked), len(self.polls)) - 1]
        by_id = {a.ord_id if isinstance(a, Order) else str(a.args[0]): a for a in answers}
        return [by_id[ord_id] for _, ord_id in refs]

    def cancel(self, inst_id: str, ord_id: str) -> Order:
        self.cancelled.append(ord_id)
        return _order(ord_id, "canceled")


def _placed(*ids: str) -> list[Placement]:
    return [Placement(inst_id="BTC-USDT", cl_ord_id=f"c{i}", ord_id=i) for i in ids]


def test_polls_until_final_and_asks_only_for_what_still_waits() -> None:
    venue = FakeVenue([[_order("1", "live"), _order("2", "filled")], [_order("1", "filled")]])
    orders = pipeline.wait_final(venue, _placed("1", "2"), timeout_s=5, sleep=lambda s: None)  # type: ignore[arg-type]
    assert [o.state.value for o in orders] == ["filled", "filled"]
    assert venue.asked == [[("BTC-USDT", "1"), ("BTC-USDT", "2")], [("BTC-USDT", "1")]]


def test_a_transient_failure_of_one_read_only_delays_that_order() -> None:
    venue = FakeVenue([[ExchangeUnavailable("1"), _order("2", "filled")], [_order("1", "filled")]])
    orders = pipeline.wait_final(venue, _placed("1", "2"), timeout_s=5, sleep=lambda s: None)  # type: ignore[arg-type]
    assert [o.ord_id for o in orders] == ["1", "2"]


def test_an_order_never_read_by_the_deadline_raises_its_error() -> None:
    venue = FakeVenue([[ExchangeUnavailable("1"), _order("2", "filled")]])
    with pytest.raises(ExchangeUnavailable):
        pipeline.wait_final(venue, _placed("1", "2"), timeout_s=0.3, first_poll_s=0.1)  # type: ignore[arg-type]


def test_settle_cancels_what_still_rests() -> None:
    venue = FakeVenue([[_order("1", "live"), _order("2", "filled")]])
    orders = pipeline.settle(venue, _placed("1", "2"), timeout_s=0.01)  # type: ignore[arg-type]
    assert venue.cancelled == ["1"] and [o.state.value for o in orders] == ["canceled", "filled"]


def test_a_refused_single_order_comes_back_as_a_placement() -> None:
    class Refusing:
        def place_one(self, request: Any, instrument: Any, sends: Any) -> Placement:
            raise InvalidRequest("bad size", code="51000")

    request = pipeline.to_request(
        pipeline.PlannedOrder("BTC", "BTC-USDT", "buy", "limit", Decimal(1), Decimal(1), Decimal(1), "r"), "cid")
    [placement] = pipeline.place(Refusing(), [request], {}, label="x")  # type: ignore[arg-type]
    assert not placement.ok and placement.error_code == "51000"


def test_the_direct_binding_and_the_strategies_import_no_prefect() -> None:
    code = ("import sys; from okx_strategies import direct, pipeline, registry; registry.strategies(); "
            "import flows.spec; bad = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'okx_tasks')); "
            "print(bad); raise SystemExit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
