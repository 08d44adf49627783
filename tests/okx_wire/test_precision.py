from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okx_wire.errors import InvalidOrder
from okx_wire.precision import check_order_size, check_price, format_decimal, is_multiple, round_price, round_size


def test_rounding_directions() -> None:
    assert round_size(D("0.123456789"), D("0.00000001")) == D("0.12345678")
    assert round_price(D("100.07"), D("0.1"), "buy") == D("100.0")
    assert round_price(D("100.07"), D("0.1"), "sell") == D("100.1")
    assert round_size(D("7"), D("5")) == D("5")


@given(st.decimals(min_value=D("0.00000001"), max_value=D("1000000"), places=8),
       st.sampled_from([D("0.00000001"), D("0.0001"), D("0.1"), D("1"), D("5")]))
def test_rounded_values_are_multiples_and_never_worse(value: D, step: D) -> None:
    down = round_size(value, step)
    assert is_multiple(down, step) or down == 0
    assert down <= value < down + step
    assert round_price(value, step, "sell") >= value


def test_checks_refuse_before_sending() -> None:
    rules = {"lot_size": D("0.0001"), "min_size": D("0.001"), "inst_id": "ETH-USDT"}
    with pytest.raises(InvalidOrder, match="under the minimum"):
        check_order_size(D("0.0005"), **rules)
    with pytest.raises(InvalidOrder, match="lot size"):
        check_order_size(D("0.00105"), **rules)
    with pytest.raises(InvalidOrder, match="positive"):
        check_order_size(D("-1"), **rules)
    with pytest.raises(InvalidOrder, match="tick size 0.01; use 3000.01 or 3000.02"):
        check_price(D("3000.011"), tick_size=D("0.01"), inst_id="ETH-USDT")
    check_order_size(D("0.0011"), **rules)


def test_format_decimal() -> None:
    assert format_decimal(D("2.000")) == "2"
    assert format_decimal(D("1E-8")) == "0.00000001"
    assert format_decimal(D("1E+3")) == "1000"
