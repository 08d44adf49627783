"""Numbers as a trader reads them: money to the cent of its quote currency with thousands
separators and the unit named, prices to the instrument's tick, sizes to its lot, rates in bps.

Everything takes ``Decimal`` and rounds half-even only for display; nothing here feeds an order.
A number too long to read (``149.9200088853370305655593851``) is a bug in the caller, so every
function returns a bounded number of digits whatever it is given.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

#: Quote currencies whose "cent" is not 0.01: stablecoins and fiat are, crypto quotes are not.
_QUOTE_PLACES: dict[str, int] = {"BTC": 8, "ETH": 6}
_DEFAULT_QUOTE_PLACES = 2


def quote_places(currency: str) -> int:
    """Decimal places of one "cent" of a quote currency (USDT 2, BTC 8)."""
    return _QUOTE_PLACES.get(currency.upper(), _DEFAULT_QUOTE_PLACES)


def _grouped(value: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_EVEN)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0.00"
    return f"{rounded:,.{places}f}"


def money(value: Decimal, currency: str, *, signed: bool = False) -> str:
    """``1,234.56 USDT``; ``+12.30 USDT`` with ``signed`` (P&L, changes)."""
    text = _grouped(value, quote_places(currency))
    if signed and not text.startswith("-") and value.quantize(Decimal(1).scaleb(-quote_places(currency))) != 0:
        text = "+" + text
    return f"{text} {currency}"


def _places_of(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def price(value: Decimal, tick: Decimal, currency: str | None = None) -> str:
    """A price to its instrument's tick (``64,210.5``), with the quote currency if given."""
    text = _grouped(value, _places_of(tick))
    return f"{text} {currency}" if currency else text


def size(value: Decimal, lot: Decimal, currency: str | None = None) -> str:
    """A size to its instrument's lot (``0.0312 BTC``); no grouping below 1000 lots."""
    text = _grouped(value, _places_of(lot))
    return f"{text} {currency}" if currency else text


def bps(value: Decimal | float) -> str:
    """Basis points with one decimal and a sign: ``+3.2 bps``."""
    number = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    if number == 0:
        return "0.0 bps"
    return f"{number:+,.1f} bps"


def percent(value: Decimal | float, places: int = 2) -> str:
    """A share as a percentage: ``45.90 %`` (from 0.459)."""
    number = (Decimal(str(value)) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if number == 0:
        number = abs(number)
    return f"{number:,.{places}f} %"
