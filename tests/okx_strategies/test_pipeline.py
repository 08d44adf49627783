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

    def wait_pushed(self, refs: list[tuple[str, str]], timeout_s: float) -> None:
        return None  # no order stream: the pipeline polls order_states

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


def test_an_order_never_read_by_the_deadline_or_its_grace_raises_its_error() -> None:
    venue = FakeVenue([[ExchangeUnavailable("1"), _order("2", "filled")]])
    with pytest.raises(ExchangeUnavailable):
        pipeline.wait_final(venue, _placed("1", "2"), timeout_s=0.3, first_poll_s=0.1,  # type: ignore[arg-type]
                            unread_grace_s=0.3)


def test_an_outage_right_after_placing_is_ridden_out_past_the_deadline() -> None:
    """The venue goes down as the order is placed: no read succeeds before the (short) deadline,
    yet the wait keeps polling that order instead of failing the run."""
    down = [ExchangeUnavailable("1")]
    venue = FakeVenue([down, down, down, [_order("1", "filled")]])
    orders = pipeline.wait_final(venue, _placed("1"), timeout_s=0.0, first_poll_s=0.01,  # type: ignore[arg-type]
                                 sleep=lambda s: None)
    assert [o.state.value for o in orders] == ["filled"] and len(venue.asked) == 4


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


# -- market: one tickers read prices everything, one fee read, books only where needed ------------


def _ticker(inst_id: str, bid: str | None, ask: str | None) -> Any:
    from okx_wire.models import Ticker

    return Ticker.model_validate({"instType": "SPOT", "instId": inst_id, "bidPx": bid or "", "bidSz": "5",
                                  "askPx": ask or "", "askSz": "5", "ts": "1"})


def _fee(taker: str = "-0.001", maker: str = "-0.0008") -> Any:
    from okx_wire.models import TradeFee

    return TradeFee.model_validate({"instType": "SPOT", "level": "Lv1", "ts": "1",
                                    "feeGroup": [{"groupId": "1", "taker": taker, "maker": maker}]})


class _MarketClient:
    """The OKX client calls the direct binding makes while reading a market, counted."""

    def __init__(self, tickers: list[Any]) -> None:
        self._tickers = tickers
        self.calls: list[tuple[str, Any]] = []

    def balance(self, ccys: list[str] | None = None) -> Any:
        from okx_wire.models import Balance

        self.calls.append(("balance", tuple(ccys or ())))
        return Balance.model_validate({"details": [{"ccy": "USDT", "availBal": "100000"},
                                                   {"ccy": "BTC", "availBal": "1"}, {"ccy": "ETH", "availBal": "10"}]})

    def tickers(self, inst_type: str = "SPOT") -> list[Any]:
        self.calls.append(("tickers", inst_type))
        return self._tickers

    def order_book(self, inst_id: str, depth: int = 1) -> Any:
        from okx_wire.models import OrderBook

        self.calls.append(("order_book", inst_id))
        return OrderBook(inst_id=inst_id, asks=[["3000.01", "5"]], bids=[["2999.99", "5"]], ts=1)

    def trade_fee(self, inst_type: str = "SPOT", inst_id: str | None = None) -> Any:
        self.calls.append(("trade_fee", (inst_type, inst_id)))
        return _fee()


def _rebalance_spec(risk: dict[str, Any] | None = None, targets: dict[str, str] | None = None) -> Any:
    import yaml

    from flows.spec import parse_spec

    targets = targets or {"BTC": "0.4", "ETH": "0.3", "USDT": "0.3"}
    return parse_spec(yaml.safe_dump({
        "name": "t", "venue": "sim", "risk": risk or {},
        "strategy": {"kind": "rebalance", "quote_ccy": "USDT", "targets": targets},
    }), "t.yaml")


def _dca_spec(inst_id: str) -> Any:
    import yaml

    from flows.spec import parse_spec

    return parse_spec(yaml.safe_dump({
        "name": "t", "venue": "sim", "risk": {},
        "strategy": {"kind": "dca", "inst_id": inst_id, "quote_amount": "100"}}), "t.yaml")


def _instruments() -> dict[str, Any]:
    from okx_wire.models import Instrument

    return {i: Instrument(inst_type="SPOT", inst_id=i, base_ccy=i.split("-")[0], quote_ccy="USDT", tick_sz="0.01",
                          lot_sz="0.000001", min_sz="0.0001", state="live") for i in ("BTC-USDT", "ETH-USDT")}


def test_a_market_is_priced_by_one_tickers_read_and_one_fee_read() -> None:
    from okx_strategies.direct import DirectVenue

    client = _MarketClient([_ticker("BTC-USDT", "89999.99", "90000.01"), _ticker("ETH-USDT", "2999.99", "3000.01"),
                            _ticker("SOL-USDT", "149.99", "150.01")])
    market = pipeline.market(DirectVenue(client), _dca_spec("BTC-USDT"), _instruments())
    assert [name for name, _ in client.calls] == ["balance", "tickers", "trade_fee"]
    assert ("trade_fee", ("SPOT", None)) in client.calls
    assert market.books == {}
    assert set(market.tickers) == {"BTC-USDT", "ETH-USDT", "SOL-USDT"}  # every spot ticker, kept for valuation
    assert market.top("ETH-USDT").mid == Decimal("3000")  # type: ignore[union-attr]
    fee = market.fee("BTC-USDT")
    assert (fee.taker, fee.maker) == (Decimal("0.001"), Decimal("0.0008"))
    assert "Lv1" in fee.source


def test_a_book_is_read_only_where_the_ticker_cannot_price() -> None:
    from okx_strategies.direct import DirectVenue

    client = _MarketClient([_ticker("BTC-USDT", "89999.99", "90000.01"), _ticker("ETH-USDT", "2999.99", None)])
    market = pipeline.market(DirectVenue(client), _dca_spec("ETH-USDT"), _instruments())
    assert [arg for name, arg in client.calls if name == "order_book"] == ["ETH-USDT"]
    assert set(market.books) == {"ETH-USDT"}
    assert market.top("ETH-USDT") is market.books["ETH-USDT"]


def test_a_rebalance_reads_only_the_books_of_legs_beyond_the_top_of_book() -> None:
    """BTC's sell (0.022) is within the 5 the ticker shows at the best bid; ETH's buy (12) is
    not: only ETH's book is read (tests/okx_strategies/test_depth.py has the rule in detail)."""
    from okx_strategies.direct import DirectVenue

    client = _MarketClient([_ticker("BTC-USDT", "89999.99", "90000.01"), _ticker("ETH-USDT", "2999.99", "3000.01")])
    market = pipeline.market(DirectVenue(client), _rebalance_spec(), _instruments())
    assert [arg for name, arg in client.calls if name == "order_book"] == ["ETH-USDT"]
    assert set(market.books) == {"ETH-USDT"}


def test_a_plan_priced_by_tickers_is_the_plan_priced_by_books() -> None:
    from okx_strategies.base import Market
    from okx_strategies.plan import FeeRate
    from okx_wire.models import OrderBook

    spec = _rebalance_spec({"max_order_notional": 5000, "max_run_notional": 20000})
    tickers = {"BTC-USDT": _ticker("BTC-USDT", "89999.99", "90000.01"),
               "ETH-USDT": _ticker("ETH-USDT", "2999.99", "3000.01")}
    books = {i: OrderBook(inst_id=i, asks=[[str(t.ask_px), "5"], [str(t.ask_px * 2), "9"]],
                          bids=[[str(t.bid_px), "5"], [str(t.bid_px / 2), "9"]], ts=1) for i, t in tickers.items()}
    fees = {i: FeeRate(Decimal("0.001"), Decimal("0.0008"), "test") for i in tickers}
    balances = {"USDT": Decimal(100000), "BTC": Decimal(1), "ETH": Decimal(10)}
    by_books = pipeline.plan(spec, Market(_instruments(), balances, books, {}, fees))
    by_tickers = pipeline.plan(spec, Market(_instruments(), balances, {}, tickers, fees))
    def trades(plan: Any) -> list[tuple[Any, ...]]:
        return [(o.leg, o.inst_id, o.side, o.ord_type, o.sz, o.px, o.notional) for o in plan.orders]

    assert by_tickers.orders and trades(by_tickers) == trades(by_books)
    assert by_tickers.mids == by_books.mids
    # The books only add what they say about each leg's fill.
    assert all(o.depth is not None for o in by_books.orders)
    assert all(o.depth is None for o in by_tickers.orders)
    assert by_tickers.fee_rates == {"BTC-USDT": Decimal("0.001"), "ETH-USDT": Decimal("0.001")}


def test_the_plan_uses_the_accounts_fee_rate() -> None:
    from okx_strategies.base import Market
    from okx_strategies.plan import FeeRate

    # Selling BTC is all that funds the ETH buy: a higher fee leaves less to buy with.
    spec = _rebalance_spec(targets={"BTC": "0.5", "ETH": "0.5"})
    tickers = {"BTC-USDT": _ticker("BTC-USDT", "89999.99", "90000.01"),
               "ETH-USDT": _ticker("ETH-USDT", "2999.99", "3000.01")}
    balances = {"USDT": Decimal(0), "BTC": Decimal(1), "ETH": Decimal(0)}

    def eth_bought(taker: str) -> Decimal:
        fees = {i: FeeRate(Decimal(taker), Decimal(0), "test") for i in tickers}
        plan = pipeline.plan(spec, Market(_instruments(), balances, {}, tickers, fees))
        return next(o.sz for o in plan.orders if o.inst_id == "ETH-USDT")

    assert eth_bought("0.0005") > eth_bought("0.001") > eth_bought("0.002")


def test_a_market_without_a_fee_rate_refuses_to_plan() -> None:
    from okx_strategies.base import Market

    spec = _rebalance_spec()
    tickers = {"BTC-USDT": _ticker("BTC-USDT", "1", "2"), "ETH-USDT": _ticker("ETH-USDT", "1", "2")}
    with pytest.raises(KeyError, match="no fee rate"):
        pipeline.plan(spec, Market(_instruments(), {"USDT": Decimal(1)}, {}, tickers, {}))
