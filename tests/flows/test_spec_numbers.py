"""Spec numbers are read from their text exactly, or refused with the plain spelling.

YAML 1.1 reads ``0100`` as 64, ``0x1F`` as 31 and ``1:30`` as 90; a spec that moves money must
never act on such a reading. The golden files in tests/flows/bad_specs/ lock one message per form;
these tests cover each form in every kind of field and check that plain numbers are unchanged.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.spec import SpecError, parse_spec
from okx_strategies.rebalance import Rebalance
from okx_strategies.twap import Twap

DCA = "name: btc-dca\nstrategy:\n  kind: dca\n  inst_id: BTC-USDT\n  quote_amount: {}\n"
TWAP = ("name: btc-twap\nstrategy:\n  kind: twap\n  inst_id: BTC-USDT\n  side: buy\n  total_size: 1\n"
        "  slices: {}\n  window_seconds: 20\n")
PREFIX = "n.yaml:5: strategy.quote_amount: "


def amount(text: str) -> Any:
    """The loaded quote_amount for ``quote_amount: <text>``."""
    return parse_spec(DCA.format(text), "n.yaml").strategy.quote_amount  # type: ignore[union-attr]


def amount_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(DCA.format(text), "n.yaml")
    return str(info.value)


@pytest.mark.parametrize(("text", "value"), [
    ("100", D(100)), ("0.5", D("0.5")), ("70000", D(70000)), ("+5", D(5)), (".5", D("0.5")), ("5.", D(5)),
    ("0.000000000000000001", D("1e-18")), ("'100'", D(100)), ('"0.25"', D("0.25")),
    ("!!float 2.5", D("2.5")), ("!!int 7", D(7)),
])
def test_plain_numbers_are_read_exactly(text: str, value: D) -> None:
    loaded = amount(text)
    assert isinstance(loaded, D) and loaded == value


def test_exponents_stay_accepted_and_exact() -> None:
    """``1e3`` and ``1.5e+3`` have one reading in every YAML version and in Decimal."""
    assert amount("1e3") == D(1000) and amount("1.5e+3") == D(1500) and amount("2.5E-1") == D("0.25")
    assert amount_error("1e99") == (PREFIX + "1E+99 is too large; the limit is 1000000000000 -- check for extra "
                                    "zeros")


def test_negative_and_zero_are_read_as_written() -> None:
    assert amount_error("-5") == PREFIX + "must be more than 0, got -5 -- use a positive amount"
    assert amount_error("0") == PREFIX + "must be more than 0, got 0 -- use a positive amount"
    assert amount_error("-0.5") == PREFIX + "must be more than 0, got -0.5 -- use a positive amount"


def test_whole_numbers_stay_int() -> None:
    strategy = parse_spec(TWAP.format(4), "t.yaml").strategy
    assert isinstance(strategy, Twap) and strategy.slices == 4 and type(strategy.slices) is int
    assert parse_spec(TWAP.format("'4'"), "t.yaml").strategy.slices == 4  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "message"), [
    ("0100", "0100 has a leading zero -- write 100"),
    ("070000", "070000 has a leading zero -- write 70000"),
    ("-0100", "-0100 has a leading zero -- write -100"),
    ("09", "09 has a leading zero -- write 9"),
    ("00.5", "00.5 has a leading zero -- write 0.5"),
    ("0o17", "0o17 is an octal number -- write it in decimal: 15"),
    ("0x1F", "0x1F is a hexadecimal number -- write it in decimal: 31"),
    ("-0x1f", "-0x1f is a hexadecimal number -- write it in decimal: -31"),
    ("0b1", "0b1 is a binary number -- write it in decimal: 1"),
    ("0b1_0", "0b1_0 is a binary number -- write it in decimal: 2"),
    ("1_000", "1_000 has underscores -- write 1000"),
    ("1_000.5", "1_000.5 has underscores -- write 1000.5"),
    ("0_100", "0_100 has underscores -- write 100"),
    ("1:30", "1:30 is a base-60 number, which YAML 1.1 reads as 90 -- write the plain number you mean, e.g. 90"),
    ("190:20:30.15", "190:20:30.15 is a base-60 number, which YAML 1.1 reads as 685230.15 -- write the plain "
                     "number you mean, e.g. 685230.15"),
    (".inf", "expected a finite number, got Infinity -- write a plain number such as 100 or 0.25"),
    ("+.inf", "expected a finite number, got Infinity -- write a plain number such as 100 or 0.25"),
    ("-.inf", "expected a finite number, got -Infinity -- write a plain number such as 100 or 0.25"),
    (".NaN", "expected a finite number, got NaN -- write a plain number such as 100 or 0.25"),
    ("!!int 0100", "0100 has a leading zero -- write 100"),
    ("!!float 1_0", "1_0 has underscores -- write 10"),
    ("'0100'", "0100 has a leading zero -- write 100"),
    ("'1_000'", "1_000 has underscores -- write 1000"),
    ("'0x1F'", "0x1F is a hexadecimal number -- write it in decimal: 31"),
])
def test_odd_spellings_are_refused_with_the_plain_one(text: str, message: str) -> None:
    assert amount_error(text) == PREFIX + message


@pytest.mark.parametrize(("word", "reading"), [
    ("yes", "true"), ("Yes", "true"), ("on", "true"), ("y", "true"), ("Y", "true"),
    ("no", "false"), ("NO", "false"), ("off", "false"), ("n", "false"), ("'yes'", "true"),
])
def test_yes_no_on_off_are_not_numbers(word: str, reading: str) -> None:
    shown = word.strip("'")
    assert amount_error(word) == (PREFIX + f"expected a number, got '{shown}', which YAML 1.1 reads as {reading} -- "
                                  "write a plain number such as 100 or 0.25")


@pytest.mark.parametrize(("text", "message"), [
    ("0100", "0100 has a leading zero -- write 100"),
    ("0x4", "0x4 is a hexadecimal number -- write it in decimal: 4"),
    ("1_0", "1_0 has underscores -- write 10"),
    ("1:30", "1:30 is a base-60 number, which YAML 1.1 reads as 90 -- write the plain number you mean, e.g. 90"),
    ("off", "expected a number, got 'off', which YAML 1.1 reads as false -- write a plain number such as 5"),
])
def test_whole_number_fields_refuse_the_same_spellings(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(TWAP.format(text), "t.yaml")
    assert str(info.value) == f"t.yaml:7: strategy.slices: {message}"


@pytest.mark.parametrize(("text", "line"), [
    ("name: 0100\nstrategy: {kind: dca, inst_id: BTC-USDT, quote_amount: 1}\n",
     "n.yaml:1: name: expected text, got the number 0100 -- put it in quotes"),
    ("name: x\ndry_run: 0x1\nstrategy: {kind: dca, inst_id: BTC-USDT, quote_amount: 1}\n",
     "n.yaml:2: dry_run: expected true or false, got 0x1 -- write true or false"),
    ("name: x\nstrategy:\n  kind: rebalance\n  quote_ccy: USDT\n  targets:\n    0100: 0.5\n    USDT: 0.5\n",
     "n.yaml:6: strategy.targets.0100: expected text, got the number 0100 -- put it in quotes"),
    ("name: x\nstrategy:\n  kind: rebalance\n  quote_ccy: USDT\n  targets:\n    0100: 0.5\n    0100: 0.5\n",
     "n.yaml:7: duplicate key 0100 -- keep only one of them"),
    ("name: x\nstrategy:\n  kind: rebalance\n  quote_ccy: USDT\n  targets: {BTC: 0_5, USDT: .5}\n",
     "n.yaml:5: strategy.targets.BTC: 0_5 has underscores -- write 5"),
])
def test_odd_numbers_elsewhere_are_shown_as_written(text: str, line: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "n.yaml")
    assert str(info.value) == line


def test_weights_are_exact_decimals() -> None:
    spec = parse_spec("name: x\nstrategy:\n  kind: rebalance\n  quote_ccy: USDT\n"
                      "  targets: {BTC: 0.1, ETH: .2, USDT: 0.70}\n", "w.yaml")
    assert isinstance(spec.strategy, Rebalance)
    assert spec.strategy.targets == {"BTC": D("0.1"), "ETH": D("0.2"), "USDT": D("0.7")}


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=D("0.000001"), max_value=D("999999999999"), places=6, allow_nan=False))
def test_any_plain_decimal_is_read_exactly(value: D) -> None:
    text = format(value, "f")
    assert amount(text) == D(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**11), st.integers(min_value=1, max_value=3))
def test_a_leading_zero_is_never_read_as_another_number(value: int, zeros: int) -> None:
    written = "0" * zeros + str(value)
    assert amount_error(written) == PREFIX + f"{written} has a leading zero -- write {value}"
