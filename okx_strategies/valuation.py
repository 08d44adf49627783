"""What an account and a run are worth in one quote currency, from what the venue said.

Pure functions over the venue's own answers (a balance sheet, tickers, fills), so the reports,
the ledger and ``okx-flows report`` agree to the cent and every figure can be recomputed from
the journal.

Prices are mids (the average of best bid and best ask) from the one ``market/tickers`` read a
run makes anyway. A currency is priced through its pair with the quote (``BTC-USDT``), the
inverse pair (``USDT-BRL`` for a BRL quote), or through USDT (``ABC-USDT`` times ``USDT-EUR``);
one the venue cannot price is listed as unpriced and left out of the total, never counted at 0
silently.

Costs of a run are measured from fills, not from the plan:

* traded notional: the sum of ``fill price * fill size`` (in each instrument's quote, converted);
* fees in quote: each fill's fee (OKX reports a cost as a negative amount in ``feeCcy``, a
  rebate as a positive one) converted at the fill price when it is the base, else at the mids;
* implementation shortfall: how much worse than the plan's mid each fill traded, weighted by
  notional, in basis points (positive is a cost): buys above mid and sells below mid cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from okx_wire.models import Balance, Fill, Ticker

ZERO: Final = Decimal(0)
BRIDGE: Final = "USDT"


def mid_of(ticker: Ticker | None) -> Decimal | None:
    """The ticker's mid, or None without a two-sided market."""
    if ticker is None or not ticker.bid_px or not ticker.ask_px or ticker.bid_px <= 0 or ticker.ask_px <= 0:
        return None
    return (ticker.bid_px + ticker.ask_px) / 2


def prices_in(quote: str, tickers: Mapping[str, Ticker], ccys: Iterable[str]) -> dict[str, Decimal]:
    """The price of one unit of each of ``ccys`` in ``quote`` (the quote itself is 1); a currency
    the tickers cannot price is left out."""
    def direct(base: str, counter: str) -> Decimal | None:
        if base == counter:
            return Decimal(1)
        mid = mid_of(tickers.get(f"{base}-{counter}"))
        if mid is not None:
            return mid
        inverse = mid_of(tickers.get(f"{counter}-{base}"))
        return None if inverse is None else 1 / inverse

    found: dict[str, Decimal] = {}
    for ccy in dict.fromkeys(ccys):
        price = direct(ccy, quote)
        if price is None and BRIDGE not in (ccy, quote):
            via, onward = direct(ccy, BRIDGE), direct(BRIDGE, quote)
            price = via * onward if via is not None and onward is not None else None
        if price is not None:
            found[ccy] = price
    return found


@dataclass(frozen=True)
class Holding:
    """One currency of the account: what is free to trade, what resting orders hold, its value."""

    ccy: str
    available: Decimal
    frozen: Decimal
    price: Decimal | None

    @property
    def total(self) -> Decimal:
        return self.available + self.frozen

    @property
    def value(self) -> Decimal | None:
        return None if self.price is None else self.total * self.price

    @property
    def frozen_value(self) -> Decimal | None:
        return None if self.price is None else self.frozen * self.price


@dataclass(frozen=True)
class AccountValue:
    """The whole account in ``quote``: equity is every priced currency, available plus frozen."""

    quote: str
    holdings: tuple[Holding, ...]
    ts_ms: int | None = None

    @property
    def equity(self) -> Decimal:
        return sum((h.value for h in self.holdings if h.value is not None), ZERO)

    @property
    def frozen(self) -> Decimal:
        return sum((h.frozen_value for h in self.holdings if h.frozen_value is not None), ZERO)

    @property
    def unpriced(self) -> list[str]:
        return [h.ccy for h in self.holdings if h.price is None and h.total != 0]

    def totals(self) -> dict[str, Decimal]:
        return {h.ccy: h.total for h in self.holdings}

    def prices(self) -> dict[str, Decimal]:
        return {h.ccy: h.price for h in self.holdings if h.price is not None}


def value_account(sheet: Balance, tickers: Mapping[str, Ticker], quote: str) -> AccountValue:
    """Every currency on the balance sheet, valued at the tickers' mids in ``quote``."""
    rows = []
    for detail in sheet.details:
        available = detail.avail_bal or ZERO
        frozen = detail.frozen_bal if detail.frozen_bal is not None else (
            (detail.cash_bal or detail.eq or ZERO) - available)
        if available == 0 and frozen == 0:
            continue
        rows.append((detail.ccy, available, max(frozen, ZERO)))
    prices = prices_in(quote, tickers, [ccy for ccy, _, _ in rows])
    holdings = tuple(Holding(ccy, available, frozen, prices.get(ccy)) for ccy, available, frozen in sorted(rows))
    return AccountValue(quote=quote, holdings=holdings, ts_ms=sheet.u_time)


def value_of(holdings: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> Decimal:
    """Holdings at ``prices`` (a currency without a price counts nothing: see ``unpriced``)."""
    return sum((amount * prices[ccy] for ccy, amount in holdings.items() if ccy in prices), ZERO)


def unpriced(holdings: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> list[str]:
    return sorted(ccy for ccy, amount in holdings.items() if amount != 0 and ccy not in prices)


def apply_fills(holdings: Mapping[str, Decimal], fills: Iterable[Fill]) -> dict[str, Decimal]:
    """Holdings after ``fills``: a buy adds base and pays quote, a sell the reverse; each fee
    (negative for a cost) lands in its own currency."""
    after = dict(holdings)
    for f in fills:
        base, quote = f.inst_id.split("-", 1)
        sz, px = f.fill_sz or ZERO, f.fill_px or ZERO
        sign = 1 if f.side == "buy" else -1
        after[base] = after.get(base, ZERO) + sign * sz
        after[quote] = after.get(quote, ZERO) - sign * sz * px
        if f.fee and f.fee_ccy:
            after[f.fee_ccy] = after.get(f.fee_ccy, ZERO) + f.fee
    return after


@dataclass(frozen=True)
class RunCosts:
    """What a run's fills cost, in the quote currency."""

    traded_notional: Decimal = ZERO
    fees: Decimal = ZERO
    #: Notional-weighted distance of the fills from the plan's mids, in bps (None: no fill).
    shortfall_bps: Decimal | None = None
    fills: int = 0
    #: Per instrument: (notional, fees, shortfall in bps or None).
    by_instrument: dict[str, tuple[Decimal, Decimal, Decimal | None]] = field(default_factory=dict)


def fee_in_quote(fill: Fill, prices: Mapping[str, Decimal]) -> Decimal:
    """A fill's fee as a positive cost (a rebate negative) in the prices' quote currency."""
    if not fill.fee or not fill.fee_ccy:
        return ZERO
    base, counter = fill.inst_id.split("-", 1)
    cost = -fill.fee
    if fill.fee_ccy == base and fill.fill_px:
        return cost * fill.fill_px * prices.get(counter, Decimal(1))
    price = prices.get(fill.fee_ccy)
    return ZERO if price is None else cost * price


def run_costs(fills: Sequence[Fill], mids: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> RunCosts:
    """Costs of ``fills`` against ``mids`` (base currency -> the mid the plan priced it at);
    ``prices`` converts an instrument's own quote into the report's quote."""
    per: dict[str, list[Decimal]] = {}
    for f in fills:
        base, counter = f.inst_id.split("-", 1)
        sz, px = f.fill_sz or ZERO, f.fill_px or ZERO
        to_quote = prices.get(counter, Decimal(1))
        notional = sz * px * to_quote
        row = per.setdefault(f.inst_id, [ZERO, ZERO, ZERO, ZERO])  # notional, fees, shortfall*notional, weight
        row[0] += notional
        row[1] += fee_in_quote(f, prices)
        mid = mids.get(base)
        if mid and mid > 0:
            sign = 1 if f.side == "buy" else -1
            row[2] += sign * (px - mid) / mid * 10_000 * notional
            row[3] += notional
    by_instrument = {inst_id: (n, fees, (s / w) if w else None) for inst_id, (n, fees, s, w) in sorted(per.items())}
    weight = sum((r[3] for r in per.values()), ZERO)
    shortfall = sum((r[2] for r in per.values()), ZERO) / weight if weight else None
    return RunCosts(traded_notional=sum((r[0] for r in per.values()), ZERO),
                    fees=sum((r[1] for r in per.values()), ZERO), shortfall_bps=shortfall, fills=len(fills),
                    by_instrument=by_instrument)


def max_drift(weights: Mapping[str, Decimal], targets: Mapping[str, Decimal]) -> Decimal | None:
    """The largest distance of a weight from its target (None without targets)."""
    if not targets:
        return None
    return max(abs(weights.get(ccy, ZERO) - target) for ccy, target in targets.items())
