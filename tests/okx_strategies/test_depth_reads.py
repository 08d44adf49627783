"""How the reads behind depth and settling are made: books several at a time in one task run (a
failed read retried on its own), and order states from the order history, 100 a request, with
every order it does not list read on its own."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

from okx_strategies import direct
from okx_strategies.direct import DirectVenue, read_books, read_order_states
from okx_wire.errors import ExchangeUnavailable, InvalidRequest
from okx_wire.models import Order, OrderBook


def order_row(ord_id: str, state: str, inst_id: str = "BTC-USDT") -> dict[str, Any]:
    return {"instId": inst_id, "ordId": ord_id, "clOrdId": f"c{ord_id}", "side": "buy", "ordType": "limit",
            "sz": "1", "px": "1", "state": state, "accFillSz": "1" if state == "filled" else "0"}


class OrdersClient:
    """The account's order history (newest ordId first, paged by ``after``) and single reads."""

    def __init__(self, history: list[dict[str, Any]], live: dict[str, dict[str, Any]] | None = None,
                 history_fails: bool = False) -> None:
        self.history = sorted(history, key=lambda r: int(r["ordId"]), reverse=True)
        self.live = live or {}
        self.history_fails = history_fails
        self.calls: list[str] = []

    def request(self, method: str, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        assert (method, path, params["instType"]) == ("GET", "/api/v5/trade/orders-history", "SPOT")
        self.calls.append("history")
        if self.history_fails:
            raise ExchangeUnavailable("busy")
        rows = self.history
        if params.get("after") is not None:
            rows = [r for r in rows if int(r["ordId"]) < int(params["after"])]
        return rows[:params["limit"]]

    def order(self, inst_id: str, ord_id: str | None = None) -> Order:
        self.calls.append(f"order {ord_id}")
        assert ord_id is not None
        row = self.live.get(ord_id) or next((r for r in self.history if r["ordId"] == ord_id), None)
        if row is None:
            raise ExchangeUnavailable("not yet")
        return Order.model_validate(row)


def refs(*ids: int) -> list[tuple[str, str]]:
    return [("BTC-USDT", str(i)) for i in ids]


def test_a_poll_of_many_orders_reads_the_history_and_only_the_rest_one_by_one() -> None:
    ids = range(1000, 1250)  # 250 orders of this run: 249 filled, 1 still live
    history = [order_row(str(i), "filled") for i in ids if i != 1100]
    history += [order_row(str(i), "filled") for i in range(500, 700)]  # earlier orders of the account
    client = OrdersClient(history, live={"1100": order_row("1100", "live")})
    states = read_order_states(client, refs(*ids))
    assert [s.ord_id for s in states if isinstance(s, Order)] == [str(i) for i in ids]
    assert [s.state.value for s in states if isinstance(s, Order)].count("live") == 1
    assert client.calls == ["history"] * 3 + ["order 1100"]  # 3 pages of 100 reach order 1000


def test_a_few_orders_are_read_one_by_one() -> None:
    client = OrdersClient([order_row("7", "filled")])
    states = read_order_states(client, refs(7))
    assert client.calls == ["order 7"] and isinstance(states[0], Order)
    assert direct.HISTORY_FROM > 1


def test_a_history_that_cannot_be_read_costs_requests_not_states() -> None:
    ids = range(1, 21)
    client = OrdersClient([order_row(str(i), "filled") for i in ids], history_fails=True)
    states = read_order_states(client, refs(*ids))
    assert all(isinstance(s, Order) and s.is_final for s in states)
    assert client.calls == ["history"] + [f"order {i}" for i in ids]


def test_an_order_not_listed_yet_is_read_and_its_transient_failure_kept_in_its_place() -> None:
    ids = list(range(1, 21))
    client = OrdersClient([order_row(str(i), "filled") for i in ids if i != 5])
    states = read_order_states(client, refs(*ids))
    assert isinstance(states[4], ExchangeUnavailable)  # neither listed nor readable yet: polled again
    assert all(isinstance(s, Order) for i, s in enumerate(states) if i != 4)


def test_a_busy_history_is_paged_no_further_than_reading_each_order_would_cost() -> None:
    ids = list(range(1, 21))
    others = [order_row(str(i), "filled") for i in range(1000, 2000)]  # 1000 newer orders of other runs
    client = OrdersClient([order_row(str(i), "filled") for i in ids] + others)
    states = read_order_states(client, refs(*ids))
    assert all(isinstance(s, Order) for s in states)
    assert client.calls.count("history") == len(ids) // direct.HISTORY_PAGE + 2
    assert client.calls.count("history") + sum(c.startswith("order") for c in client.calls) == 2 + len(ids)


def test_an_order_of_another_instrument_with_the_same_id_is_not_taken() -> None:
    ids = list(range(1, 21))
    client = OrdersClient([order_row(str(i), "filled", "ETH-USDT" if i == 3 else "BTC-USDT") for i in ids],
                          live={"3": order_row("3", "live")})
    states = read_order_states(client, refs(*ids))
    assert isinstance(states[2], Order) and states[2].state.value == "live" and "order 3" in client.calls


# -- books ---------------------------------------------------------------------------------------


class BooksClient:
    def __init__(self, failing: dict[str, Exception]) -> None:
        self.failing = failing
        self.read: list[tuple[str, int]] = []

    def order_book(self, inst_id: str, depth: int = 1) -> OrderBook:
        self.read.append((inst_id, depth))
        if inst_id in self.failing:
            raise self.failing[inst_id]
        return OrderBook(inst_id=inst_id, asks=[["2", "1"]], bids=[["1", "1"]], ts=1)


def test_books_are_read_at_once_and_a_transient_failure_comes_back_in_its_place() -> None:
    inst_ids = [f"C{i}-USDT" for i in range(30)]
    client = BooksClient({"C7-USDT": ExchangeUnavailable("busy")})
    books = read_books(client, inst_ids, 100)
    assert sorted(client.read) == sorted((i, 100) for i in inst_ids)
    assert isinstance(books[7], ExchangeUnavailable)
    assert [b.inst_id for b in books if isinstance(b, OrderBook)] == [i for i in inst_ids if i != "C7-USDT"]


def test_a_book_that_can_never_be_read_raises() -> None:
    with pytest.raises(InvalidRequest):
        read_books(BooksClient({"C1-USDT": InvalidRequest("no such instrument")}), ["C0-USDT", "C1-USDT"], 5)


def test_the_direct_binding_raises_a_failed_book_read() -> None:
    """No retries without Prefect: a failed read fails the plan, as a failed single read did."""
    with pytest.raises(ExchangeUnavailable):
        DirectVenue(BooksClient({"C1-USDT": ExchangeUnavailable("busy")})).books(["C0-USDT", "C1-USDT"], 5)


def test_the_prefect_binding_reads_again_on_its_own_only_what_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    from okx_tasks import tasks
    from okx_tasks.venue import PrefectVenue

    book = OrderBook(inst_id="A-USDT", asks=[["2", "1"]], bids=[["1", "1"]], ts=1)
    again: list[str] = []

    class Future:
        def __init__(self, inst_id: str) -> None:
            self.inst_id = inst_id

        def result(self) -> OrderBook:
            return book.model_copy(update={"inst_id": self.inst_id})

    class OneBook:
        @staticmethod
        def submit(credentials: Any, inst_id: str, depth: int) -> Future:
            again.append(inst_id)
            return Future(inst_id)

    monkeypatch.setattr(tasks, "get_order_books",
                        lambda credentials, inst_ids, depth: [book, ExchangeUnavailable("busy"), book])
    monkeypatch.setattr(tasks, "get_order_book", OneBook)
    books = PrefectVenue(None).books(["A-USDT", "B-USDT", "C-USDT"], 100)  # type: ignore[arg-type]
    assert again == ["B-USDT"] and list(books) == ["A-USDT", "B-USDT", "C-USDT"]
    assert books["B-USDT"].inst_id == "B-USDT"


# -- what the order-state task says --------------------------------------------------------------


def test_the_order_state_log_counts_failed_reads_apart(caplog: pytest.LogCaptureFixture) -> None:
    from okx_tasks import tasks

    client = OrdersClient([order_row("1", "filled")], live={"2": order_row("2", "live")})

    class Credentials:
        @staticmethod
        def get_client() -> OrdersClient:
            return client

    with caplog.at_level(logging.INFO, logger="okx_tasks.tasks"):
        states = tasks.get_order_states.fn(Credentials(), refs(1, 2, 3))  # type: ignore[arg-type]
    assert [type(s).__name__ for s in states] == ["Order", "Order", "ExchangeUnavailable"]
    assert "1 order(s) final, 1 still live; 1 read(s) failed (polled again)" in caplog.text
    assert Decimal(1) == states[0].filled  # type: ignore[union-attr]
