"""Figures with units, rounded for reading and never with runaway digits."""

from decimal import Decimal

import pytest

from okx_reports.units import bps, money, percent, price, quote_places, size


@pytest.mark.parametrize(("value", "currency", "expected"), [
    (Decimal("149.9200088853370305655593851"), "USDT", "149.92 USDT"),
    (Decimal("1234567.005"), "USDT", "1,234,567.00 USDT"),  # half-even at the cent
    (Decimal("1234567.015"), "USDT", "1,234,567.02 USDT"),
    (Decimal("-0.001"), "USDT", "0.00 USDT"),
    (Decimal("0.000123456789"), "BTC", "0.00012346 BTC"),
])
def test_money_rounds_to_the_cent_of_its_quote(value: Decimal, currency: str, expected: str) -> None:
    assert money(value, currency) == expected


def test_signed_money_marks_gains_and_not_zero() -> None:
    assert money(Decimal("12.3"), "USDT", signed=True) == "+12.30 USDT"
    assert money(Decimal("-12.3"), "USDT", signed=True) == "-12.30 USDT"
    assert money(Decimal("0.001"), "USDT", signed=True) == "0.00 USDT"


def test_prices_and_sizes_follow_tick_and_lot() -> None:
    assert price(Decimal("64210.5123"), Decimal("0.1")) == "64,210.5"
    assert price(Decimal("0.0000123"), Decimal("0.0000001"), "USDT") == "0.0000123 USDT"
    assert size(Decimal("0.03120000"), Decimal("0.0001"), "BTC") == "0.0312 BTC"
    assert size(Decimal("12"), Decimal("1")) == "12"
    assert price(Decimal("100"), Decimal("1E+1")) == "100"


def test_rates() -> None:
    assert bps(Decimal("3.24")) == "+3.2 bps"
    assert bps(-0.04) == "0.0 bps"
    assert bps(-12.26) == "-12.3 bps"
    assert percent(Decimal("0.459")) == "45.90 %"
    assert percent(0) == "0.00 %"


def test_quote_places() -> None:
    assert quote_places("usdt") == 2 and quote_places("BTC") == 8
