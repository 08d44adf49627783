"""The models parse every real captured OKX payload in samples/ beside this file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from okx_wire.models import (
    AccountConfig,
    Balance,
    Fill,
    Instrument,
    Order,
    OrderAck,
    OrderBook,
    OrderState,
    ServerTime,
    Ticker,
)

#: Real captured OKX payloads (and the documentation's examples, named ``*_docs_example``).
SAMPLES = Path(__file__).resolve().parent / "samples"


def data(name: str) -> list[dict[str, object]]:
    return json.loads((SAMPLES / name).read_text())["data"]


def test_balance() -> None:
    balance = Balance.model_validate(data("account_balance.json")[0])
    assert balance.available("BTC") == Decimal("0.6612664522199999")
    assert balance.available("NOPE") == 0
    assert all(isinstance(d.eq, Decimal) for d in balance.details)


def test_config_permissions() -> None:
    config = AccountConfig.model_validate(data("account_config.json")[0])
    assert config.perm == ["read_only", "withdraw", "trade"] and config.can_withdraw and config.ip == []


@pytest.mark.parametrize("name", ["market_books_spot.json", "market_books_swap.json"])
def test_books(name: str) -> None:
    book = OrderBook.model_validate(data(name)[0])
    assert book.best_ask is not None and book.best_bid is not None and book.best_ask > book.best_bid


def test_spot_book_exact() -> None:
    book = OrderBook.model_validate(data("market_books_spot.json")[0])
    assert book.asks[0].px == Decimal("67973.4") and book.asks[0].orders == 7 and book.ts == 1712265035051


def test_ticker() -> None:
    ticker = Ticker.model_validate(data("market_ticker_spot.json")[0])
    assert ticker.last == Decimal("73384.8") and ticker.vol24h == Decimal("21266.19145051")


@pytest.mark.parametrize("name", ["public_instruments_spot_docs_example_2026.json",
                                  "public_instruments_spot_entry_2021.json"])
def test_instruments(name: str) -> None:
    inst = Instrument.model_validate(data(name)[0])
    assert inst.lot_sz == Decimal("0.00000001") and inst.min_sz == Decimal("0.00001") and inst.is_live


def test_acks_and_failures() -> None:
    assert OrderAck.model_validate(data("trade_batch_orders_ack.json")[0]).ok
    for name in ("error_order_all_failed_51155.json", "error_order_insufficient_51119.json",
                 "error_order_param_51000_python_okx.json"):
        assert not OrderAck.model_validate(data(name)[0]).ok


def test_orders_and_fills() -> None:
    filled = Order.model_validate(data("trade_order_details_spot_market_filled.json")[0])
    assert filled.state is OrderState.FILLED and filled.is_final and filled.px is None
    assert filled.avg_px == Decimal("101.58")
    pending = Order.model_validate(data("trade_orders_pending_swap_post_only.json")[0])
    assert not pending.is_final and pending.avg_px is None
    fill = Fill.model_validate(data("trade_fills_spot.json")[0])
    assert fill.fee == Decimal("-0.0001") and fill.exec_type == "T"
    assert ServerTime.model_validate(data("public_time.json")[0]).ts == 1712250348676
