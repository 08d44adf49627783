"""Field types of a spec: each refuses a bad value with one "problem -- fix" sentence.

Shared by the spec loader (``flows.spec``) and every strategy's own spec section
(``okx_strategies.<kind>``), so a strategy module declares its fields with the same types and
its refusals read like every other line of the golden error files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from okx_wire.precision import Side, format_decimal

__all__ = ["Amount", "Band", "BlockName", "Bps", "Ccy", "InstId", "Name", "Number", "OddNumber", "Seconds", "Side",
           "Url", "Weight", "Whole", "exact", "int_range", "number_problem", "problem", "show"]

MAX_AMOUNT: Final = Decimal("1e12")
MAX_DECIMALS: Final = 18
MAX_NAME_CHARS: Final = 64
MAX_URL_CHARS: Final = 200


def problem(text: str, path: str | None = None) -> PydanticCustomError:
    """A pydantic error carrying our sentence verbatim (and optionally a sub-path below the loc)."""
    context: dict[str, Any] = {"text": text}
    if path:
        context["path"] = path
    return PydanticCustomError("spec", "{text}", context)


@dataclass(frozen=True, repr=False)
class OddNumber:
    """A scalar YAML 1.1 resolves as a number but that is not spelt as a plain decimal.

    It is kept as its text, so no field can ever receive the value YAML 1.1 would give it
    (``0100`` as 64); number fields refuse it with the plain spelling, text fields as a number.
    Frozen, so it can still be a mapping key and duplicate keys are still found.
    """

    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:  # pydantic puts a mapping key's repr in an error's path
        return self.text


PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
PLAIN_DECIMAL = re.compile(r"[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_PREFIXED: Final = (
    (re.compile(r"([-+]?)0[xX]([0-9a-fA-F_]+)"), 16, "a hexadecimal"),
    (re.compile(r"([-+]?)0[oO]([0-7_]+)"), 8, "an octal"),
    (re.compile(r"([-+]?)0[bB]([01_]+)"), 2, "a binary"),
)
_SEXAGESIMAL = re.compile(r"([-+]?)([0-9][0-9_]*(?::[0-5]?[0-9])+)(\.[0-9_]*)?")
_SPECIAL = re.compile(r"([-+]?)\.(inf|nan)", re.IGNORECASE | re.ASCII)
_DIGITS = re.compile(r"([-+]?)([0-9_]*)(\.[0-9_]*)?([eE][-+]?[0-9]+)?")
#: Words YAML 1.1 reads as booleans; the loader keeps them as text, so say why they are not numbers.
_BOOL_WORDS: Final = {"yes": "true", "y": "true", "on": "true", "no": "false", "n": "false", "off": "false"}
_SHOWN_DIGITS: Final = 40


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN_DIGITS else text[:_SHOWN_DIGITS] + "..."


def number_problem(text: str, example: str) -> str | None:
    """Why ``text`` is not a plain decimal number, as "problem -- fix"; None for plain numbers and
    for text that is no number at all (the field's own type error says that better)."""
    if PLAIN_DECIMAL.fullmatch(text):
        return None
    shown = _clip(text)
    for pattern, base, name in _PREFIXED:
        match = pattern.fullmatch(text)
        if match:
            sign, digits = match.group(1), match.group(2).replace("_", "")
            if digits and len(digits) <= _SHOWN_DIGITS:
                value = int(digits, base)
                return f"{shown} is {name} number -- write it in decimal: {'-' if sign == '-' else ''}{value}"
            return f"{shown} is {name} number -- write it in decimal"
    match = _SEXAGESIMAL.fullmatch(text)
    if match:
        sign, whole, fraction = match.group(1), match.group(2).replace("_", ""), (match.group(3) or "").replace("_", "")
        if len(text) > _SHOWN_DIGITS:
            return f"{shown} is a base-60 number -- write it as a plain decimal number"
        total = Decimal(0)
        for part in whole.split(":"):
            total = total * 60 + Decimal(part)
        total += Decimal(f"0{fraction}") if fraction not in ("", ".") else Decimal(0)
        plain = f"{'-' if sign == '-' else ''}{exact(total)}"
        return f"{shown} is a base-60 number, which YAML 1.1 reads as {plain} -- write the plain number you mean, " \
               f"e.g. {plain}"
    match = _SPECIAL.fullmatch(text)
    if match:
        name = "NaN" if match.group(2).lower() == "nan" else f"{'-' if match.group(1) == '-' else ''}Infinity"
        return f"expected a finite number, got {name} -- write a plain number such as 100 or 0.25"
    match = _DIGITS.fullmatch(text)
    if match and any(ch.isdigit() for ch in text):
        sign, whole, fraction, exponent = (part or "" for part in match.groups())
        digits = whole.replace("_", "")
        plain = sign + (digits.lstrip("0") or ("0" if digits else "")) + fraction.replace("_", "") + exponent
        if PLAIN_DECIMAL.fullmatch(plain):
            problem = "underscores" if "_" in text else "a leading zero"
            return f"{shown} has {problem} -- write {_clip(plain)}"
    if text.lower() in _BOOL_WORDS:
        return (f"expected a number, got {show(text)}, which YAML 1.1 reads as {_BOOL_WORDS[text.lower()]} -- "
                f"write a plain number such as {example}")
    return None


def exact(value: Decimal) -> str:
    """Every digit the user wrote: ``format_decimal`` normalizes to 28 digits, which could show
    0.99999999999999999999999999999 as 1 in the very message that complains about it."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def show(value: Any) -> str:
    """A user value quoted for a one-line message: ASCII only, never too long."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return exact(value) if value.is_finite() and abs(value.adjusted()) < 40 else str(value)
    if isinstance(value, OddNumber):
        return ascii(_clip(value.text))[1:-1]
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    return ascii(text[:40] + "...") if len(text) > 40 else ascii(text)


def _plain_text(value: str, what: str, limit: int) -> str:
    if not value.isascii():
        raise problem(f"{show(value)} contains non-ASCII characters -- write {what} in plain ASCII")
    if len(value) > limit:
        raise problem(f"{what} is {len(value)} characters long, over the limit of {limit} -- shorten it")
    return value


_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CCY = re.compile(r"^[A-Z0-9]{1,15}$")
_INST = re.compile(r"^[A-Z0-9]{1,15}-[A-Z0-9]{1,15}$")


def _slug(value: str, what: str) -> str:
    _plain_text(value, what, MAX_NAME_CHARS)
    if not _SLUG.match(value):
        suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "my-strategy"
        raise problem(f"{show(value)} is not a valid {what} -- use lowercase letters, digits and single "
                       f"dashes, e.g. '{suggestion}'")
    return value


def _name(value: str) -> str:
    return _slug(value, "name")


def _block_name(value: str) -> str:
    return _slug(value, "block name")


def _ccy(value: str) -> str:
    _plain_text(value, "a currency code", 15)
    if not _CCY.match(value):
        fixed = re.sub(r"[^A-Z0-9]", "", value.upper())
        example = f"'{fixed}'" if _CCY.match(fixed) else "'BTC'"
        raise problem(f"{show(value)} is not a currency code -- use uppercase letters and digits, e.g. {example}")
    return value


def _inst_id(value: str) -> str:
    _plain_text(value, "an instrument id", 31)
    if not _INST.match(value):
        fixed = re.sub(r"[/_ ]", "-", value.upper())
        example = f"'{fixed}'" if _INST.match(fixed) else "'BTC-USDT'"
        raise problem(f"{show(value)} is not a spot instrument id -- use BASE-QUOTE in uppercase, e.g. {example}")
    return value


def _url(value: str) -> str:
    _plain_text(value, "base_url", MAX_URL_CHARS)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in value):
        raise problem(f"{show(value)} is not an http(s) URL -- use e.g. 'https://www.okx.com'")
    return value.rstrip("/")


def _decimal_places_ok(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return not isinstance(exponent, int) or exponent >= -MAX_DECIMALS


def _amount(value: Decimal) -> Decimal:
    if value <= 0:
        raise problem(f"must be more than 0, got {show(value)} -- use a positive amount")
    if value > MAX_AMOUNT:
        raise problem(f"{show(value)} is too large; the limit is {format_decimal(MAX_AMOUNT)} "
                       f"-- check for extra zeros")
    if not _decimal_places_ok(value):
        raise problem(f"{show(value)} has more than {MAX_DECIMALS} decimal places -- round it")
    return value


def _weight(value: Decimal) -> Decimal:
    if value < 0 or value > 1:
        raise problem(f"weight {show(value)} is outside 0..1 -- use a fraction such as 0.25 for 25%")
    if not _decimal_places_ok(value):
        raise problem(f"weight {show(value)} has more than {MAX_DECIMALS} decimal places -- round it")
    return value


def _band(value: Decimal) -> Decimal:
    if value < 0 or value > Decimal("0.5"):
        raise problem(f"drift band {show(value)} is outside 0..0.5 -- use a fraction such as 0.02 "
                       f"(2 percentage points)")
    return value


def _bps(value: Decimal) -> Decimal:
    if value <= 0 or value > 1000:
        raise problem(f"{show(value)} bps is outside 0..1000 (exclusive of 0) -- use e.g. 50 for 0.5%")
    return value


def _drawdown(value: Decimal) -> Decimal:
    if value <= 0 or value >= 1:
        raise problem(f"drawdown {show(value)} is outside 0..1 (exclusive) -- use a fraction such as 0.2 for 20%")
    return value


def _number_input(example: str) -> BeforeValidator:
    """Refuse, before pydantic converts it, what would be a number only by accident: a boolean
    (pydantic reads ``true`` as 1), an odd YAML 1.1 spelling such as ``0100``, or text such as
    ``'1_000'`` or ``yes`` that pydantic would parse or report without saying how to write it."""
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise problem(f"expected a number, got {show(value)} -- write a plain number such as 5")
        if isinstance(value, OddNumber):
            raise problem(number_problem(value.text, example)
                           or f"{show(value)} is not a plain number -- write a plain number such as {example}")
        if isinstance(value, str):
            found = number_problem(value, example)
            if found:
                raise problem(found)
        return value
    return BeforeValidator(check)


def int_range(low: int, high: int, what: str) -> Any:
    def check(value: int) -> int:
        if value < low:
            raise problem(f"{what} must be at least {low}, got {value} -- use {low} or more")
        if value > high:
            raise problem(f"{what} must be at most {high}, got {value} -- use {high} or fewer")
        return value
    return AfterValidator(check)


def _seconds(value: Decimal) -> Decimal:
    if value <= 0 or value > 86400:
        raise problem(f"window of {show(value)} s is outside 0..86400 (exclusive of 0) "
                       f"-- use a positive number of seconds up to one day")
    return value


Number = Annotated[Decimal, _number_input("100 or 0.25")]
Whole = Annotated[int, _number_input("5")]
Name = Annotated[str, AfterValidator(_name)]
BlockName = Annotated[str, AfterValidator(_block_name)]
Ccy = Annotated[str, AfterValidator(_ccy)]
InstId = Annotated[str, AfterValidator(_inst_id)]
Url = Annotated[str, AfterValidator(_url)]
Amount = Annotated[Number, AfterValidator(_amount)]
Weight = Annotated[Number, AfterValidator(_weight)]
Band = Annotated[Number, AfterValidator(_band)]
Bps = Annotated[Number, AfterValidator(_bps)]
Seconds = Annotated[Number, AfterValidator(_seconds)]
Drawdown = Annotated[Number, AfterValidator(_drawdown)]

