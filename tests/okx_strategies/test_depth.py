"""The depth rule: a book is read only for a leg larger than the size its ticker shows at the
best price, at most one window of the books budget a run, and what it holds within the leg's
limit price is recorded on the leg (flagged where it cannot fill it). The orders themselves are
the same with or without the books."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
import yaml

from flows.spec import parse_spec
from okx_strategies import pipeline
from okx_strategies.base import Market
from okx_strategies.direct import DirectVenue
from okx_strategies.plan import PlannedOrder, beyond_top, check_depth, with_depth
from okx_wire.endpoints import E
from okx_wire.models import Balance, Instrument, OrderBook, Ticker, TradeFee

PRICES = {"BTC-USDT": ("89999.99", "90000.01"), "ETH-USDT": ("2999.99", "3000.01"), "SOL-USDT": ("149.99", "150.01")}


def ticker(inst_id: str, size: str = "5") -> Ticker:
    bid, ask = PRICES[inst_id]
    return Ticker.model_validate({"instType": "SPOT", "instId": inst_id, "bidPx": bid, "bidSz": size,
                                  "askPx": ask, "askSz": size, "ts": "1"})


def instruments() -> dict[str, Instrument]:
    return {i: Instrument(inst_type="SPOT", inst_id=i, base_ccy=i.split("-")[0], quote_ccy="USDT", tick_sz="0.01",
                          lot_sz="0.000001", min_sz="0.0001", state="live") for i in PRICES}


def spec(targets: dict[str, str] | None = None, risk: dict[str, Any] | None = None) -> Any:
    return parse_spec(yaml.safe_dump({
        "name": "t", "venue": "sim", "risk": risk or {},
        "strategy": {"kind": "rebalance", "quote_ccy": "USDT",
                     "targets": targets or {"BTC": "0.4", "ETH": "0.3", "USDT": "0.3"}},
    }), "t.yaml")


class Client:
    """The client calls of the direct binding, answered from ``tickers`` and ``books``, counted.

    Balances: 100,000 USDT, 1 BTC, 10 ETH; at 90,000 and 3,000 that is 220,000 USDT, so with
    targets BTC 0.4, ETH 0.3 the plan sells 0.0222 BTC and buys 12 ETH."""

    def __init__(self, tickers: list[Ticker], books: dict[str, OrderBook] | None = None) -> None:
        self._tickers = tickers
        self._books = books or {}
        self.books_read: list[tuple[str, int]] = []

    def balance(self, ccys: list[str] | None = None) -> Balance:
        return Balance.model_validate({"details": [{"ccy": "USDT", "availBal": "100000"},
                                                   {"ccy": "BTC", "availBal": "1"}, {"ccy": "ETH", "availBal": "10"}]})

    def tickers(self, inst_type: str = "SPOT") -> list[Ticker]:
        return self._tickers

    def order_book(self, inst_id: str, depth: int = 1) -> OrderBook:
        self.books_read.append((inst_id, depth))
        bid, ask = PRICES[inst_id]
        return self._books.get(inst_id) or OrderBook(inst_id=inst_id, asks=[[ask, "5"]], bids=[[bid, "5"]], ts=1)

    def trade_fee(self, inst_type: str = "SPOT", inst_id: str | None = None) -> TradeFee:
        return TradeFee.model_validate({"instType": "SPOT", "level": "Lv1", "ts": "1",
                                        "feeGroup": [{"groupId": "1", "taker": "-0.001", "maker": "-0.0008"}]})


def plan_of(client: Client, the_spec: Any | None = None) -> tuple[Any, Market]:
    the_spec = the_spec or spec()
    market = pipeline.market(DirectVenue(client), the_spec, instruments())
    return pipeline.plan(the_spec, market), market


def leg(plan: Any, inst_id: str) -> PlannedOrder:
    return next(o for o in plan.orders if o.inst_id == inst_id)


# -- which books are read -------------------------------------------------------------------------


def test_a_leg_beyond_the_top_of_book_reads_its_book_and_a_leg_within_it_does_not() -> None:
    client = Client([ticker("BTC-USDT"), ticker("ETH-USDT")])  # 5 at the best price of each
    plan, market = plan_of(client)
    assert leg(plan, "BTC-USDT").sz < 5 < leg(plan, "ETH-USDT").sz
    assert client.books_read == [("ETH-USDT", pipeline.DEPTH_LEVELS)]
    assert set(market.books) == {"ETH-USDT"}
    assert leg(plan, "ETH-USDT").depth is not None and leg(plan, "BTC-USDT").depth is None
    assert leg(plan, "BTC-USDT").reason.endswith("BTC")  # within the top: nothing to add


def test_no_book_is_read_when_every_leg_fits_the_top_of_book() -> None:
    client = Client([ticker("BTC-USDT", "100"), ticker("ETH-USDT", "100")])
    plan, market = plan_of(client)
    assert plan.orders and client.books_read == [] and market.books == {}
    assert all(o.depth is None for o in plan.orders)


def test_split_pieces_add_up_against_the_top_of_book() -> None:
    """max_order_notional splits ETH's 12 into pieces of at most 4,000 USDT (1.33 ETH each):
    each piece fits the 5 at the best ask, but they go out together and take 12 from one book."""
    client = Client([ticker("BTC-USDT"), ticker("ETH-USDT")])
    plan, _ = plan_of(client, spec(risk={"max_order_notional": 4000}))
    assert all(o.sz < 5 for o in plan.orders if o.inst_id == "ETH-USDT")
    assert len([o for o in plan.orders if o.inst_id == "ETH-USDT"]) > 3
    assert client.books_read == [("ETH-USDT", pipeline.DEPTH_LEVELS)]


def test_at_most_one_window_of_books_is_read_largest_excess_first(monkeypatch: pytest.MonkeyPatch) -> None:
    assert E.books.budget is not None and pipeline.DEPTH_READS == E.books.budget.limit == 40
    monkeypatch.setattr(pipeline, "DEPTH_READS", 1)
    # Both legs beyond their top: ETH by 7 ETH (21,000 USDT), SOL by much more in value.
    targets = {"BTC": "0.2", "ETH": "0.3", "SOL": "0.3", "USDT": "0.2"}
    client = Client([ticker("BTC-USDT", "100"), ticker("ETH-USDT"), ticker("SOL-USDT")])
    plan, market = plan_of(client, spec(targets))
    assert [i for i, _ in client.books_read] == ["SOL-USDT"] and set(market.books) == {"SOL-USDT"}
    eth = leg(plan, "ETH-USDT")
    assert eth.depth is None and "book not read" in eth.reason and "x the size at the best ask" in eth.reason


def test_a_one_sided_ticker_reads_its_book_to_price_it_and_that_book_serves_for_depth() -> None:
    one_sided = Ticker.model_validate({"instType": "SPOT", "instId": "ETH-USDT", "bidPx": "2999.99", "bidSz": "5",
                                       "askPx": "", "askSz": "", "ts": "1"})
    client = Client([ticker("BTC-USDT"), one_sided])
    plan, _ = plan_of(client)
    assert [i for i, _ in client.books_read] == ["ETH-USDT"]  # once, to price it; not again for depth
    assert leg(plan, "ETH-USDT").depth is not None


# -- what a book read for depth says --------------------------------------------------------------


def eth_book(*asks: tuple[str, str]) -> OrderBook:
    return OrderBook(inst_id="ETH-USDT", asks=[list(a) for a in asks], bids=[["2999.99", "5"]], ts=1)


def test_the_leg_is_flagged_when_its_book_cannot_fill_it_within_the_limit() -> None:
    """ETH's buy of 12 is limited at 3015 (mid 3000 + 50 bps): the book holds 5 + 3 up to it."""
    book = eth_book(("3000.01", "5"), ("3010", "3"), ("3020", "100"))
    plan, _ = plan_of(Client([ticker("BTC-USDT"), ticker("ETH-USDT")], {"ETH-USDT": book}))
    eth = leg(plan, "ETH-USDT")
    assert eth.px == D("3015") and eth.sz == 12
    assert eth.depth is not None and eth.depth.short and eth.depth.conclusive
    assert eth.depth.fillable == 8
    assert eth.depth.avg_px == (5 * D("3000.01") + 3 * D("3010")) / 8
    assert ("SHORT: the book holds only 8 of 12 within the limit price 3015 at 3003.7562 on average "
            "(12.5 bps from mid)") in eth.reason
    assert "cancelled" in eth.reason


def test_a_book_that_fills_the_leg_within_the_limit_says_so_with_its_cost() -> None:
    book = eth_book(("3000.01", "5"), ("3001", "10"))
    plan, _ = plan_of(Client([ticker("BTC-USDT"), ticker("ETH-USDT")], {"ETH-USDT": book}))
    eth = leg(plan, "ETH-USDT")
    assert eth.depth is not None and not eth.depth.short and eth.depth.fillable == eth.depth.sz == 12
    assert "the book fills it within the limit price 3015 at" in eth.reason and "bps from mid" in eth.reason


def test_a_book_that_ends_inside_the_limit_is_a_lower_bound_not_a_flag() -> None:
    book = eth_book(("3000.01", "5"), ("3001", "2"))  # every level read is within 3015, 7 in all
    plan, _ = plan_of(Client([ticker("BTC-USDT"), ticker("ETH-USDT")], {"ETH-USDT": book}))
    eth = leg(plan, "ETH-USDT")
    assert eth.depth is not None and not eth.depth.conclusive and not eth.depth.short
    assert eth.depth.fillable == 7 and "may hold more beyond them" in eth.reason


def test_the_orders_and_mids_come_from_the_tickers_whatever_the_books_say() -> None:
    """A book read a moment after the tickers may have moved: it forecasts, it does not price."""
    moved = OrderBook(inst_id="ETH-USDT", asks=[["3100", "1"]], bids=[["3099", "1"]], ts=2)
    with_book, _ = plan_of(Client([ticker("BTC-USDT"), ticker("ETH-USDT")], {"ETH-USDT": moved}))
    without, _ = plan_of(Client([ticker("BTC-USDT", "100"), ticker("ETH-USDT", "100")]))

    def trades(plan: Any) -> list[tuple[Any, ...]]:
        return [(o.leg, o.inst_id, o.side, o.sz, o.px, o.notional) for o in plan.orders]

    assert trades(with_book) == trades(without) and with_book.mids == without.mids
    assert leg(with_book, "ETH-USDT").depth.fillable == 0  # type: ignore[union-attr]  # 3100 > 3015


# -- the pure functions ---------------------------------------------------------------------------


def order(leg_name: str, side: str, sz: str, px: str, ord_type: str = "limit") -> PlannedOrder:
    return PlannedOrder(leg=leg_name, inst_id="ETH-USDT", side=side, ord_type=ord_type,  # type: ignore[arg-type]
                        sz=D(sz), px=D(px), notional=D(sz) * D(px), reason="r")


BOOK = OrderBook(inst_id="ETH-USDT", asks=[["100", "2"], ["101", "2"], ["103", "9"]],
                 bids=[["99", "2"], ["98", "2"], ["96", "9"]], ts=1)


def test_pieces_of_one_side_take_from_the_book_in_plan_order() -> None:
    checks = check_depth([order("ETH", "buy", "3", "102"), order("ETH2", "buy", "3", "102")], {"ETH-USDT": BOOK})
    assert (checks["ETH"].fillable, checks["ETH"].short) == (D(3), False)
    assert (checks["ETH2"].fillable, checks["ETH2"].short) == (D(1), True)  # 4 within 102, 3 taken already


def test_a_sell_takes_the_bids_down_to_its_limit() -> None:
    check = check_depth([order("ETH", "sell", "5", "97.5")], {"ETH-USDT": BOOK})["ETH"]
    assert (check.fillable, check.avg_px, check.short) == (D(4), D("98.5"), True)


def test_post_only_orders_rest_so_their_depth_is_never_asked() -> None:
    resting = [order("L1", "buy", "50", "90", "post_only")]
    assert check_depth(resting, {"ETH-USDT": BOOK}) == {}
    assert beyond_top(resting, {"ETH-USDT": BOOK}) == []
    assert with_depth(resting, {"ETH-USDT": BOOK}, {"ETH-USDT": BOOK}) == resting


def test_beyond_top_ranks_by_quote_value_past_the_best_price() -> None:
    sol = OrderBook(inst_id="SOL-USDT", asks=[["10", "1"]], bids=[["9", "1"]], ts=1)
    orders = [order("ETH", "buy", "3", "102"),  # 1 past the top at 100: 100 USDT
              PlannedOrder(leg="SOL", inst_id="SOL-USDT", side="buy", ord_type="limit", sz=D(30), px=D(11),
                           notional=D(330), reason="r")]  # 29 past the top at 10: 290 USDT
    assert beyond_top(orders, {"ETH-USDT": BOOK, "SOL-USDT": sol}) == [("SOL-USDT", D(290)), ("ETH-USDT", D(100))]
    assert beyond_top([order("ETH", "buy", "2", "102")], {"ETH-USDT": BOOK}) == []  # exactly the top size


def test_with_depth_changes_only_the_reason_and_the_depth() -> None:
    """Everything a run sends is the planner's: the depth clause goes into the reason only."""
    plain = order("ETH", "buy", "3", "102")
    [checked] = with_depth([plain], {"ETH-USDT": BOOK}, {"ETH-USDT": BOOK})
    assert (checked.leg, checked.inst_id, checked.side, checked.ord_type, checked.sz, checked.px,
            checked.notional) == (plain.leg, plain.inst_id, plain.side, plain.ord_type, plain.sz, plain.px,
                                  plain.notional)
    assert checked.reason.startswith("r; ") and checked.depth is not None and plain.depth is None
