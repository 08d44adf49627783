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
    TradeFee,
)

#: Real captured OKX payloads (and the documentation's examples, named ``*_docs_example``).
SAMPLES = Path(__file__).resolve().parent / "samples"


def data(name: str) -> list[dict[str, object]]:
    sample = json.loads((SAMPLES / name).read_text())
    # The newer samples wrap the payload: {"_source", "request", "response": {...}}.
    return sample["response"]["data"] if "response" in sample else sample["data"]


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


def test_trade_fee_sample() -> None:
    fee = TradeFee.model_validate(data("account_trade_fee_spot.json")[0])
    assert (fee.level, fee.inst_type, fee.ts, fee.category, fee.rule_type) == ("Lv1", "SPOT", 1763979985847,
                                                                               "1", "normal")
    group = fee.fee_group[0]
    assert (group.group_id, group.maker, group.taker, group.elp_maker) == (
        "1", Decimal("-0.0008"), Decimal("-0.001"), Decimal("-0.0008"))
    assert (fee.maker, fee.taker) == (Decimal("-0.0008"), Decimal("-0.001"))  # deprecated, still parsed
    assert fee.maker_u is fee.taker_u is fee.maker_usdc is fee.taker_usdc is fee.delivery is None
    assert fee.fiat == []
    # OKX's "-0.001" is a fee paid: a cost of 0.001 per unit of notional.
    assert (fee.taker_rate, fee.maker_rate) == (Decimal("0.001"), Decimal("0.0008"))


def test_trade_fee_rates_prefer_the_fee_group_then_the_top_level() -> None:
    both = TradeFee.model_validate({"instType": "SPOT", "maker": "-0.0008", "taker": "-0.001",
                                    "feeGroup": [{"groupId": "1", "maker": "-0.0006", "taker": "-0.0009",
                                                  "elpMaker": ""}]})
    assert (both.taker_rate, both.maker_rate) == (Decimal("0.0009"), Decimal("0.0006"))
    assert both.fee_group[0].elp_maker is None
    # The 2021 shape (no feeGroup; ccxt's own comment shows it) falls back to the top-level fields.
    old = TradeFee.model_validate({"category": "1", "delivery": "", "exercise": "", "instType": "SPOT",
                                   "level": "Lv1", "maker": "-0.0008", "taker": "-0.001", "ts": "1639043138472"})
    assert (old.taker_rate, old.maker_rate) == (Decimal("0.001"), Decimal("0.0008"))


def test_trade_fee_rebate_is_a_negative_cost_and_zero_stays_zero() -> None:
    fee = TradeFee.model_validate({"instType": "SPOT", "feeGroup": [{"maker": "0.00005", "taker": "0"}]})
    assert fee.maker_rate == Decimal("-0.00005")
    assert fee.taker_rate == 0 and str(fee.taker_rate) == "0"


def test_trade_fee_derivatives_fall_back_on_the_usdt_margined_rates() -> None:
    swap = TradeFee.model_validate({"instType": "SWAP", "maker": "", "taker": "", "makerU": "-0.0002",
                                    "takerU": "-0.0005", "makerUSDC": "-0.0002", "takerUSDC": "-0.0005"})
    assert (swap.taker_rate, swap.maker_rate) == (Decimal("0.0005"), Decimal("0.0002"))
    assert swap.taker_usdc == Decimal("-0.0005")
    with pytest.raises(ValueError, match="no taker rate"):
        _ = TradeFee.model_validate({"instType": "OPTION", "taker": ""}).taker_rate
