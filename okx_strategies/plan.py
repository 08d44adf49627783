"""Pure order planning: what to trade, decided from balances, books and rules, with no I/O.

Every function here is deterministic and side-effect free so the money-moving decisions can be
property-tested without a network, a simulator or Prefect. Whatever cannot be traded comes back as
a ``SkippedLeg`` with a sentence a human can act on; only programmer errors raise.

Conventions shared by every planner:

* Prices are rounded to the tick in the direction that never worsens the bound
  (``precision.round_price``), sizes are rounded down to the lot (``precision.round_size``).
* ``PlannedOrder.notional`` is an upper bound on the quote value the order can move: ``sz * px``
  for post-only orders (they only ever fill at ``px``) and ``sz * max(px, mid)`` for marketable
  ones (a marketable sell fills at or below the best bid, so at most ``mid``; a buy at most ``px``).
  All risk limits are checked against this bound.
* Fees are the account's, passed in as a ``FeeRate`` (read from the venue once per run): the
  taker rate for marketable orders, the maker rate for post-only ones. No rate is assumed here.
* Orders larger than ``RiskLimits.max_order_notional`` are SPLIT into up to ``MAX_SPLITS`` orders
  of near-equal size (legs "BTC", "BTC2", "BTC3"...), never silently capped; whatever is left
  beyond ``MAX_SPLITS`` pieces is reported as skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from okx_wire.models import BookLevel, Instrument, OrderBook
from okx_wire.orders import OrdType, TpSl
from okx_wire.precision import Side, format_decimal, round_price, round_size

BPS: Final = Decimal(10000)
#: More pieces than this for one currency means max_order_notional is far too small for the job.
MAX_SPLITS: Final = 20
ZERO: Final = Decimal(0)


@dataclass(frozen=True)
class RiskLimits:
    """Hard limits every planner obeys; ``None`` means "no limit"."""

    max_order_notional: Decimal | None = None
    max_run_notional: Decimal | None = None
    allowed_instruments: frozenset[str] | None = None
    max_slippage_bps: Decimal = Decimal(50)

    def __post_init__(self) -> None:
        if self.max_slippage_bps < 0 or self.max_slippage_bps >= BPS:
            raise ValueError(f"max_slippage_bps must be in [0, 10000), got {self.max_slippage_bps}")
        for name in ("max_order_notional", "max_run_notional"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")

    @property
    def slippage(self) -> Decimal:
        return self.max_slippage_bps / BPS

    def allows(self, inst_id: str) -> bool:
        return self.allowed_instruments is None or inst_id in self.allowed_instruments


@dataclass(frozen=True)
class FeeRate:
    """What a fill costs per unit of notional, as positive fractions (``0.001`` is 0.1%).

    ``source`` says where the rates come from, for the plan's summary (e.g. the account's fee
    tier as the venue reported it)."""

    taker: Decimal
    maker: Decimal
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("taker", "maker"):
            value = getattr(self, name)
            if not -1 < value < 1:
                raise ValueError(f"{name} fee rate must be a fraction of the notional, got {value}")

    def of(self, ord_type: OrdType) -> Decimal:
        """The rate an order pays: maker for post-only (it only ever rests), taker otherwise."""
        return self.maker if ord_type == "post_only" else self.taker


@dataclass(frozen=True)
class DepthCheck:
    """What the order book held for a marketable order within its limit price, as read before
    placing (``with_depth``): a forecast of the fill, not a bound (the limit price is the bound).

    ``fillable`` is the part of ``sz`` that the book's levels at or better than the limit price
    hold, after the instrument's earlier orders of the same side in the plan took theirs (split
    pieces are sent together and sweep one book); ``avg_px`` is its average price (None when
    nothing fits). ``conclusive`` is False when every level read was within the limit and they
    ran out before ``sz`` was covered: the book may hold more beyond the ``levels`` read, so
    ``fillable`` is then a lower bound."""

    sz: Decimal
    fillable: Decimal
    avg_px: Decimal | None
    levels: int
    conclusive: bool

    @property
    def short(self) -> bool:
        """The book provably cannot fill the whole order within its limit price."""
        return self.conclusive and self.fillable < self.sz


@dataclass(frozen=True)
class PlannedOrder:
    """One order to send. ``leg`` is letters/digits only: it becomes part of an OKX clOrdId."""

    leg: str
    inst_id: str
    side: Side
    ord_type: OrdType
    sz: Decimal
    px: Decimal | None
    notional: Decimal
    reason: str
    #: When planned for a slice of time (TWAP): seconds after the run starts.
    at_s: Decimal | None = None
    #: What the book held within ``px`` when one was read for this order (``with_depth``).
    depth: DepthCheck | None = None
    #: The take-profit / stop-loss the venue arms once the order fills (``strategy.protect``).
    tp_sl: TpSl | None = None


@dataclass(frozen=True)
class SkippedLeg:
    """Something the plan wanted to do but will not do as asked, and why, in one sentence.

    ``scaled`` is True when the leg is still traded, only smaller than asked (a cap or the
    funding scaled it down); False when it is not traded at all."""

    leg: str
    inst_id: str
    reason: str
    scaled: bool = False


@dataclass(frozen=True)
class OrderPlan:
    """Orders plus what was left out; iterates, indexes and measures like its order list."""

    orders: tuple[PlannedOrder, ...] = ()
    skipped: tuple[SkippedLeg, ...] = ()

    def __iter__(self) -> Iterator[PlannedOrder]:
        return iter(self.orders)

    def __len__(self) -> int:
        return len(self.orders)

    def __getitem__(self, index: int) -> PlannedOrder:
        return self.orders[index]


class Plan(BaseModel):
    """A run's decision, the same shape for every strategy: what ``okx-flows plan`` prints, what
    the plan artifact shows and what the run places. ``drift_band`` and ``targets`` are set only
    by strategies that trade towards target weights; ``interval_s`` only by time-sliced ones."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: str
    orders: list[PlannedOrder] = Field(default_factory=list)
    skipped: list[SkippedLeg] = Field(default_factory=list)
    quote_ccy: str = ""
    mids: dict[str, Decimal] = Field(default_factory=dict)
    weights_before: dict[str, Decimal] = Field(default_factory=dict)
    targets: dict[str, Decimal] = Field(default_factory=dict)
    drift: dict[str, Decimal] = Field(default_factory=dict)
    total_value: Decimal = ZERO
    needs_trading: bool = True
    drift_band: Decimal | None = None
    #: Time-sliced strategies: seconds between slices.
    interval_s: Decimal | None = None
    #: The fee rate each planned instrument was planned with (taker for marketable orders, maker
    #: for post-only), and where the rates came from: the summary names them.
    fee_rates: dict[str, Decimal] = Field(default_factory=dict)
    fee_source: str = ""

    @property
    def sells(self) -> list[PlannedOrder]:
        return [o for o in self.orders if o.side == "sell"]

    @property
    def buys(self) -> list[PlannedOrder]:
        return [o for o in self.orders if o.side == "buy"]


@dataclass(frozen=True)
class RebalancePlan:
    """The rebalance decision with everything needed to explain and audit it."""

    orders: tuple[PlannedOrder, ...]
    skipped: tuple[SkippedLeg, ...]
    weights_before: dict[str, Decimal]
    targets: dict[str, Decimal]
    drift: dict[str, Decimal]
    total_value: Decimal
    needs_trading: bool
    quote_ccy: str = ""
    mids: dict[str, Decimal] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)
    #: The taker rate the plan counted on every fill (its orders are all marketable).
    fee_rate: Decimal = Decimal(0)
    #: The share of each wanted trade kept under ``max_run_notional`` (1: not capped).
    scale: Decimal = Decimal(1)

    def weights_after_fill(self, fee_rate: Decimal | None = None) -> dict[str, Decimal]:
        """Weights if every order filled at its limit price (the worst case the plan allows),
        paying ``fee_rate`` (default: the rate the plan was made with)."""
        after = simulate_fills(self.balances, self.orders, fee_rate=self.fee_rate if fee_rate is None else fee_rate)
        return portfolio_weights(after, self.mids, self.quote_ccy, self.targets)


# ---------------------------------------------------------------------------------------------
# Small shared helpers


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.01'))}%"


def _amount(value: Decimal) -> str:
    """Human amount for sentences: at most two decimals, never in exponent form."""
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return format_decimal(value)


def limit_price(mid: Decimal, side: Side, slippage: Decimal, tick_sz: Decimal) -> Decimal | None:
    """Marketable but bounded: buys never above mid*(1+slip), sells never below mid*(1-slip)."""
    raw = mid * (1 + slippage) if side == "buy" else mid * (1 - slippage)
    px = round_price(raw, tick_sz, side)
    return px if px > 0 else None


def order_notional(sz: Decimal, px: Decimal, mid: Decimal, ord_type: OrdType) -> Decimal:
    """Upper bound on the quote value an order can move (see the module docstring)."""
    return sz * px if ord_type == "post_only" else sz * max(px, mid)


def max_size_within(budget: Decimal, unit_price: Decimal, lot_sz: Decimal) -> Decimal:
    """Largest lot-multiple size whose ``size * unit_price`` stays within ``budget``.

    The guard loop covers the 28-digit division rounding the quotient up past a lot boundary.
    """
    if budget <= 0 or unit_price <= 0:
        return ZERO * lot_sz
    sz = round_size(budget / unit_price, lot_sz)
    while sz > 0 and sz * unit_price > budget:
        sz -= lot_sz
    return sz


def _even_split(total: Decimal, pieces: int, lot_sz: Decimal) -> list[Decimal]:
    """``pieces`` lot multiples summing exactly to ``total``; the remainder goes to the first ones."""
    units = int(total / lot_sz)
    per, extra = divmod(units, pieces)
    return [round_size((per + 1) * lot_sz if i < extra else per * lot_sz, lot_sz) for i in range(pieces)]


def _ceil_div(a: Decimal, b: Decimal) -> int:
    return int((a / b).to_integral_value(rounding=ROUND_CEILING))


def _leg_names(base: str, count: int) -> list[str]:
    return [base if i == 0 else f"{base}{i + 1}" for i in range(count)]


def _check_instrument(inst_id: str, instrument: Instrument | None, risk: RiskLimits) -> str | None:
    """Why ``inst_id`` cannot be traded at all, or None."""
    if not risk.allows(inst_id):
        allowed = ", ".join(sorted(risk.allowed_instruments or ()))
        return f"{inst_id}: not in the allowed instruments ({allowed})"
    if instrument is None:
        return f"{inst_id}: no such instrument on this venue"
    if not instrument.is_live:
        return f"{inst_id}: instrument is {instrument.state.value}, not live"
    return None


def _split_by_order_limit(
    *, leg: str, inst_id: str, sz: Decimal, unit_price: Decimal, instrument: Instrument, risk: RiskLimits,
) -> tuple[list[Decimal], list[SkippedLeg]]:
    """Sizes of at most ``max_order_notional`` each that add up to ``sz`` (or report the rest)."""
    if risk.max_order_notional is None or sz * unit_price <= risk.max_order_notional:
        return [sz], []
    chunk = max_size_within(risk.max_order_notional, unit_price, instrument.lot_sz)
    if chunk < instrument.min_sz:
        return [], [SkippedLeg(leg, inst_id, (
            f"{inst_id}: max_order_notional {format_decimal(risk.max_order_notional)} buys less than the "
            f"minimum size {format_decimal(instrument.min_sz)} at {format_decimal(unit_price)}"))]
    skipped: list[SkippedLeg] = []
    count = _ceil_div(sz, chunk)
    if count > MAX_SPLITS:
        kept = chunk * MAX_SPLITS
        skipped.append(SkippedLeg(leg, inst_id, (
            f"{inst_id}: only {MAX_SPLITS} orders of at most {format_decimal(risk.max_order_notional)} are "
            f"planned per run; {format_decimal(sz - kept)} of {format_decimal(sz)} left for a later run")))
        sz, count = kept, MAX_SPLITS
    sizes = _even_split(sz, count, instrument.lot_sz)
    if min(sizes) >= instrument.min_sz:
        return sizes, skipped
    # Pieces near minSz: keep full chunks and report the remainder rather than break a rule.
    full = int(sz / chunk)
    rest = sz - chunk * full
    sizes = [chunk] * full
    if rest >= instrument.min_sz:
        sizes.append(rest)
    elif rest > 0:
        skipped.append(SkippedLeg(leg, inst_id, (
            f"{inst_id}: the last {format_decimal(rest)} after splitting is under the minimum size "
            f"{format_decimal(instrument.min_sz)}")))
    return sizes, skipped


# ---------------------------------------------------------------------------------------------
# Portfolio valuation and fill simulation


def portfolio_values(balances: Mapping[str, Decimal], mids: Mapping[str, Decimal], quote_ccy: str,
                     currencies: Sequence[str] | Mapping[str, object]) -> dict[str, Decimal]:
    """Quote value of each of ``currencies``; currencies without a mid are worth 0 here."""
    values: dict[str, Decimal] = {}
    for ccy in currencies:
        balance = balances.get(ccy, ZERO)
        values[ccy] = balance if ccy == quote_ccy else balance * mids.get(ccy, ZERO)
    return values


def portfolio_weights(balances: Mapping[str, Decimal], mids: Mapping[str, Decimal], quote_ccy: str,
                      currencies: Sequence[str] | Mapping[str, object]) -> dict[str, Decimal]:
    """Share of each currency in the portfolio made of ``currencies``, valued at ``mids``."""
    values = portfolio_values(balances, mids, quote_ccy, currencies)
    total = sum(values.values(), ZERO)
    return {ccy: (value / total if total > 0 else ZERO) for ccy, value in values.items()}


def simulate_fills(balances: Mapping[str, Decimal], orders: Sequence[PlannedOrder] | OrderPlan,
                   fee_rate: Decimal) -> dict[str, Decimal]:
    """Balances after every order fills completely at its limit price, fees as OKX spot takes them.

    OKX charges a spot buy's fee in the base currency received and a sell's in the quote received.
    """
    after = {ccy: Decimal(amount) for ccy, amount in balances.items()}
    for order in orders:
        if order.px is None:
            raise ValueError(f"{order.leg}: cannot simulate an order without a price")
        base, quote = order.inst_id.split("-", 1)
        cost = order.sz * order.px
        if order.side == "buy":
            after[quote] = after.get(quote, ZERO) - cost
            after[base] = after.get(base, ZERO) + order.sz * (1 - fee_rate)
        else:
            after[base] = after.get(base, ZERO) - order.sz
            after[quote] = after.get(quote, ZERO) + cost * (1 - fee_rate)
    return after


# ---------------------------------------------------------------------------------------------
# Rebalance


@dataclass(frozen=True)
class _Leg:
    """A currency's trade before the run budget, funding and the per-order limit are applied."""

    ccy: str
    inst_id: str
    side: Side
    sz: Decimal
    px: Decimal
    mid: Decimal
    instrument: Instrument
    reason: str

    @property
    def unit_price(self) -> Decimal:
        return max(self.px, self.mid)


def _complete_targets(targets: Mapping[str, Decimal], quote_ccy: str) -> dict[str, Decimal]:
    """Targets with the quote currency's implied weight (0 when not listed); must sum to 1."""
    full = {ccy: Decimal(weight) for ccy, weight in targets.items()}
    full.setdefault(quote_ccy, ZERO)
    if any(weight < 0 or weight > 1 for weight in full.values()):
        raise ValueError(f"target weights must be in [0, 1], got {full}")
    total = sum(full.values(), ZERO)
    if total != 1:
        raise ValueError(f"target weights must sum to exactly 1, got {total}")
    return full


def _mids(targets: Mapping[str, Decimal], balances: Mapping[str, Decimal], books: Mapping[str, OrderBook],
          quote_ccy: str) -> tuple[dict[str, Decimal], list[SkippedLeg]]:
    """Mid price of each target currency; a currency that matters but has no mid blocks the run."""
    mids: dict[str, Decimal] = {}
    missing: list[SkippedLeg] = []
    for ccy in targets:
        if ccy == quote_ccy:
            continue
        inst_id = f"{ccy}-{quote_ccy}"
        book = books.get(inst_id)
        mid = book.mid if book is not None else None
        if mid is not None and mid > 0:
            mids[ccy] = mid
        elif balances.get(ccy, ZERO) > 0 or targets[ccy] > 0:
            missing.append(SkippedLeg(ccy, inst_id, (
                f"{inst_id}: no order book with both bids and asks, so {ccy} cannot be valued; "
                f"no rebalance orders were planned")))
    return mids, missing


def _candidate_leg(*, ccy: str, delta: Decimal, mid: Decimal, balance: Decimal, instrument: Instrument | None,
                   quote_ccy: str, min_trade_quote: Decimal, risk: RiskLimits, weight: Decimal,
                   target: Decimal) -> _Leg | SkippedLeg | None:
    """The unconstrained trade that brings ``ccy`` to its target, or why there is none."""
    inst_id = f"{ccy}-{quote_ccy}"
    side: Side = "buy" if delta > 0 else "sell"
    amount = abs(delta)
    if amount == 0:
        return None
    problem = _check_instrument(inst_id, instrument, risk)
    if problem is not None:
        return SkippedLeg(ccy, inst_id, problem)
    assert instrument is not None
    if amount < min_trade_quote:
        return SkippedLeg(ccy, inst_id, (
            f"{inst_id}: {_amount(amount)} {quote_ccy} to {side} is under the minimum trade of "
            f"{format_decimal(min_trade_quote)} {quote_ccy}"))
    px = limit_price(mid, side, risk.slippage, instrument.tick_sz)
    if px is None:
        return SkippedLeg(ccy, inst_id, f"{inst_id}: the limit price rounds to 0 at tick size "
                                        f"{format_decimal(instrument.tick_sz)}")
    sz = round_size(amount / mid, instrument.lot_sz)
    if side == "sell":
        sz = min(sz, round_size(balance, instrument.lot_sz))
    if sz < instrument.min_sz:
        return SkippedLeg(ccy, inst_id, (
            f"{inst_id}: {_amount(amount)} {quote_ccy} to {side} is {format_decimal(sz)} {ccy} on the lot size, "
            f"under the minimum size of {format_decimal(instrument.min_sz)} {ccy}"))
    reason = f"{ccy} is at {_pct(weight)} against a target of {_pct(target)}"
    return _Leg(ccy, inst_id, side, sz, px, mid, instrument, reason)


def _scale(leg: _Leg, factor: Decimal, run_factor: Decimal, what: str, quote_ccy: str,
           min_trade_quote: Decimal) -> tuple[Decimal, SkippedLeg | None]:
    """``leg.sz`` scaled by ``factor`` (rounded down to the lot), with the note that says so.

    The size stays within ``factor`` of both the leg's notional and, for a buy, of its cost at the
    limit price, whatever the rounding. A leg scaled under the minimum size or the minimum trade is
    not traded, and its note says it was scaled down to that."""
    if factor >= 1:
        return leg.sz, None
    lot = leg.instrument.lot_sz
    sz = max_size_within(leg.sz * leg.unit_price * run_factor, leg.unit_price, lot)
    sz = min(sz, max_size_within(leg.sz * leg.px * factor, leg.px, lot))
    share = f"{_pct(factor)} of the trade"
    if sz < leg.instrument.min_sz:
        return ZERO, SkippedLeg(leg.ccy, leg.inst_id, (
            f"{leg.inst_id}: {leg.side} of {format_decimal(leg.sz)} {leg.ccy} scaled down to {share} to stay within "
            f"{what} is {format_decimal(sz)} {leg.ccy}, under the minimum size of "
            f"{format_decimal(leg.instrument.min_sz)} {leg.ccy}; not traded"))
    if sz * leg.unit_price < min_trade_quote:
        return ZERO, SkippedLeg(leg.ccy, leg.inst_id, (
            f"{leg.inst_id}: {leg.side} of {format_decimal(leg.sz)} {leg.ccy} scaled down to {share} to stay within "
            f"{what} is worth {_amount(sz * leg.unit_price)} {quote_ccy}, under the minimum trade of "
            f"{format_decimal(min_trade_quote)} {quote_ccy}; not traded"))
    return sz, SkippedLeg(leg.ccy, leg.inst_id, (
        f"{leg.inst_id}: {leg.side} scaled down from {format_decimal(leg.sz)} to {format_decimal(sz)} {leg.ccy} "
        f"({share}) to stay within {what}"), scaled=True)


def _share(budget: Decimal, wanted: Decimal) -> Decimal:
    """``budget / wanted`` rounded down (so the share of anything never exceeds the budget), at most 1."""
    if wanted <= budget:
        return Decimal(1)
    if budget <= 0:
        return ZERO
    return (budget / wanted).quantize(Decimal("1e-12"), rounding=ROUND_FLOOR)


def _emit(leg: _Leg, sz: Decimal, risk: RiskLimits) -> tuple[list[PlannedOrder], list[SkippedLeg]]:
    """Turn a sized leg into one or more orders within ``max_order_notional``."""
    sizes, skipped = _split_by_order_limit(leg=leg.ccy, inst_id=leg.inst_id, sz=sz, unit_price=leg.unit_price,
                                           instrument=leg.instrument, risk=risk)
    orders = [
        PlannedOrder(leg=name, inst_id=leg.inst_id, side=leg.side, ord_type="limit", sz=size, px=leg.px,
                     notional=order_notional(size, leg.px, leg.mid, "limit"),
                     reason=f"{leg.reason}: {leg.side} {format_decimal(size)} {leg.ccy}"
                            + (f" (part {i + 1} of {len(sizes)})" if len(sizes) > 1 else ""))
        for i, (name, size) in enumerate(zip(_leg_names(leg.ccy, len(sizes)), sizes, strict=True))
    ]
    return orders, skipped


def plan_rebalance(
    *,
    balances: Mapping[str, Decimal],
    books: Mapping[str, OrderBook],
    instruments: Mapping[str, Instrument],
    targets: Mapping[str, Decimal],
    quote_ccy: str,
    drift_band: Decimal,
    min_trade_quote: Decimal,
    risk: RiskLimits,
    fee_rate: Decimal,
) -> RebalancePlan:
    """Orders that bring the target currencies back to their weights, sells first.

    Only currencies in ``targets`` are valued and traded (others in ``balances`` are left alone);
    the quote currency is implied at weight 0 when absent. Trading starts only when some weight is
    strictly more than ``drift_band`` away from its target; then every currency is brought to its
    target. ``books`` gives each instrument's top of book (a one-level book made from its ticker
    serves as well as a deep one: only the best bid and ask are read).

    Sells are planned first (largest first) and fund the buys (largest first), counting sells at
    their limit price less ``fee_rate`` (the account's taker rate: every order is marketable).
    Caps are pro rata, never first come first served: under ``max_run_notional`` every leg is
    scaled by the same share, so the run's notional fits the cap and every currency still moves
    toward its target; the buys are scaled further, again all by one share, when the quote held
    plus what the sells bring cannot pay for them. Each scaled leg gets a note (``scaled=True``);
    one scaled under the minimum size or ``min_trade_quote`` is not traded and its note says why.
    """
    full_targets = _complete_targets(targets, quote_ccy)
    mids, blocked = _mids(full_targets, balances, books, quote_ccy)
    values = portfolio_values(balances, mids, quote_ccy, full_targets)
    total = sum(values.values(), ZERO)
    weights = {ccy: (value / total if total > 0 else ZERO) for ccy, value in values.items()}
    drift = {ccy: weights[ccy] - full_targets[ccy] for ccy in full_targets}
    needs_trading = not blocked and total > 0 and any(abs(d) > drift_band for d in drift.values())

    def plan(orders: Sequence[PlannedOrder] = (), skipped: Sequence[SkippedLeg] = (),
             scale: Decimal = Decimal(1)) -> RebalancePlan:
        return RebalancePlan(orders=tuple(orders), skipped=tuple(skipped), weights_before=weights,
                             targets=full_targets, drift=drift, total_value=total, needs_trading=needs_trading,
                             quote_ccy=quote_ccy, mids=mids, balances=dict(balances), fee_rate=fee_rate, scale=scale)

    if blocked:
        return plan(skipped=blocked)
    if total <= 0:
        return plan(skipped=[SkippedLeg(quote_ccy, "", f"the portfolio is worth 0 {quote_ccy}; nothing to rebalance")])
    if not needs_trading:
        return plan()

    legs: list[_Leg] = []
    skipped: list[SkippedLeg] = []
    for ccy in sorted(full_targets):
        if ccy == quote_ccy:
            continue
        found = _candidate_leg(ccy=ccy, delta=full_targets[ccy] * total - values[ccy], mid=mids[ccy],
                               balance=balances.get(ccy, ZERO), instrument=instruments.get(f"{ccy}-{quote_ccy}"),
                               quote_ccy=quote_ccy, min_trade_quote=min_trade_quote, risk=risk,
                               weight=weights[ccy], target=full_targets[ccy])
        if isinstance(found, SkippedLeg):
            skipped.append(found)
        elif found is not None:
            legs.append(found)
    sells = sorted((leg for leg in legs if leg.side == "sell"), key=lambda g: (-g.sz * g.mid, g.ccy))
    buys = sorted((leg for leg in legs if leg.side == "buy"), key=lambda g: (-g.sz * g.mid, g.ccy))

    orders: list[PlannedOrder] = []
    # One share of every leg under the run cap, so a capped run moves every currency toward its target.
    run_factor = Decimal(1)
    run_what = ""
    if risk.max_run_notional is not None:
        run_factor = _share(risk.max_run_notional, sum((g.sz * g.unit_price for g in legs), ZERO))
        run_what = f"max_run_notional {format_decimal(risk.max_run_notional)}"
    cash = balances.get(quote_ccy, ZERO)
    for leg in sells:
        sz, note = _scale(leg, run_factor, run_factor, run_what, quote_ccy, min_trade_quote)
        skipped += [note] if note else []
        if sz > 0:
            new_orders, notes = _emit(leg, sz, risk)
            orders += new_orders
            skipped += notes
            cash += sum((o.sz * leg.px for o in new_orders), ZERO) * (1 - fee_rate)
    # The buys share what the sells bring (net of the fee) and the quote already held, pro rata too.
    cash_factor = _share(cash, sum((g.sz * g.px for g in buys), ZERO))
    buy_factor, buy_what = min((run_factor, run_what), (cash_factor, f"the {quote_ccy} available after the sells"),
                               key=lambda pair: pair[0])
    for leg in buys:
        sz, note = _scale(leg, buy_factor, run_factor, buy_what, quote_ccy, min_trade_quote)
        skipped += [note] if note else []
        if sz > 0:
            new_orders, notes = _emit(leg, sz, risk)
            orders += new_orders
            skipped += notes
    return plan(orders, skipped, run_factor)


# ---------------------------------------------------------------------------------------------
# DCA, TWAP, ladder


def plan_dca(*, book: OrderBook, instrument: Instrument, quote_amount: Decimal, max_price: Decimal | None,
             risk: RiskLimits, leg: str = "dca") -> PlannedOrder | SkippedLeg:
    """One marketable buy worth ``quote_amount``, never paying more than ``max_price``.

    A DCA amount is the user's decision, so a risk violation skips the buy rather than resizing it.
    """
    inst_id = instrument.inst_id
    problem = _check_instrument(inst_id, instrument, risk)
    if problem is not None:
        return SkippedLeg(leg, inst_id, problem)
    mid, best_ask = book.mid, book.best_ask
    if mid is None or best_ask is None or mid <= 0:
        return SkippedLeg(leg, inst_id, f"{inst_id}: the order book has no bids or no asks; no price to buy at")
    if max_price is not None and best_ask > max_price:
        return SkippedLeg(leg, inst_id, (f"{inst_id}: best ask {format_decimal(best_ask)} is above the maximum "
                                         f"price {format_decimal(max_price)}; no buy this time"))
    px = limit_price(mid, "buy", risk.slippage, instrument.tick_sz)
    if px is not None and max_price is not None:
        px = min(px, round_price(max_price, instrument.tick_sz, "buy"))
    if px is None or px <= 0:
        return SkippedLeg(leg, inst_id, f"{inst_id}: the limit price rounds to 0 at tick size "
                                        f"{format_decimal(instrument.tick_sz)}")
    sz = max_size_within(quote_amount, px, instrument.lot_sz)
    if sz < instrument.min_sz:
        return SkippedLeg(leg, inst_id, (
            f"{inst_id}: {format_decimal(quote_amount)} {instrument.quote_ccy or 'quote'} buys "
            f"{format_decimal(sz)} at {format_decimal(px)}, "
            f"under the minimum size {format_decimal(instrument.min_sz)}"))
    notional = order_notional(sz, px, mid, "limit")
    for limit, name in ((risk.max_order_notional, "max_order_notional"), (risk.max_run_notional, "max_run_notional")):
        if limit is not None and notional > limit:
            return SkippedLeg(leg, inst_id, (f"{inst_id}: buy worth up to {_amount(notional)} is over "
                                             f"{name} {format_decimal(limit)}"))
    return PlannedOrder(leg=leg, inst_id=inst_id, side="buy", ord_type="limit", sz=sz, px=px, notional=notional,
                        reason=f"DCA: buy {format_decimal(quote_amount)} {instrument.quote_ccy} of "
                               f"{instrument.base_ccy or inst_id} at up to {format_decimal(px)}")


def twap_slices(total_sz: Decimal, slices: int, instrument: Instrument) -> list[Decimal]:
    """Slice sizes on the lot summing exactly to ``total_sz`` rounded down to the lot.

    When ``slices`` equal pieces would fall under minSz the slice count is reduced until every
    slice meets it (fewer, larger slices rather than breaking an exchange rule); an empty list
    means even one slice would be under minSz.
    """
    if slices < 1:
        raise ValueError(f"slices must be >= 1, got {slices}")
    total = round_size(total_sz, instrument.lot_sz)
    if total <= 0 or total < instrument.min_sz:
        return []
    units = int(total / instrument.lot_sz)
    min_units = max(1, _ceil_div(instrument.min_sz, instrument.lot_sz))
    count = max(1, min(slices, units // min_units))
    return _even_split(total, count, instrument.lot_sz)


def plan_ladder(*, book: OrderBook, instrument: Instrument, side: Side, levels: int, step_bps: Decimal,
                total_quote: Decimal, risk: RiskLimits) -> OrderPlan:
    """Post-only orders stepping away from mid (below for buys, above for sells), equal quote each.

    Returns an ``OrderPlan`` (iterable like a list of orders) so dropped levels are reported too.
    Levels are kept from the one nearest to mid outwards while ``max_run_notional`` allows.
    """
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    inst_id = instrument.inst_id
    problem = _check_instrument(inst_id, instrument, risk)
    if problem is not None:
        return OrderPlan(skipped=(SkippedLeg("L1", inst_id, problem),))
    mid = book.mid
    if mid is None or mid <= 0:
        return OrderPlan(skipped=(SkippedLeg("L1", inst_id, f"{inst_id}: the order book has no bids or no asks; "
                                                            f"no mid to build a ladder around"),))
    per_level = total_quote / levels
    orders: list[PlannedOrder] = []
    skipped: list[SkippedLeg] = []
    run_left = risk.max_run_notional
    for i in range(1, levels + 1):
        name = f"L{i}"
        offset = step_bps * i / BPS
        raw = mid * (1 - offset) if side == "buy" else mid * (1 + offset)
        px = round_price(raw, instrument.tick_sz, side) if raw > 0 else ZERO
        if px <= 0:
            skipped.append(SkippedLeg(name, inst_id, f"{inst_id}: level {i} is {format_decimal(step_bps * i)} bps "
                                                     f"below mid, at or under a price of 0"))
            continue
        sz = max_size_within(per_level, px, instrument.lot_sz)
        note = _ladder_level_problem(inst_id, i, sz, px, instrument, risk, run_left)
        if note is not None:
            skipped.append(SkippedLeg(name, inst_id, note))
            continue
        notional = order_notional(sz, px, mid, "post_only")
        run_left = None if run_left is None else run_left - notional
        orders.append(PlannedOrder(leg=name, inst_id=inst_id, side=side, ord_type="post_only", sz=sz, px=px,
                                   notional=notional,
                                   reason=f"ladder level {i} of {levels}: {side} {format_decimal(sz)} at "
                                          f"{format_decimal(px)}, {format_decimal(step_bps * i)} bps from mid"))
    return OrderPlan(orders=tuple(orders), skipped=tuple(skipped))


def _ladder_level_problem(inst_id: str, level: int, sz: Decimal, px: Decimal, instrument: Instrument,
                          risk: RiskLimits, run_left: Decimal | None) -> str | None:
    if sz < instrument.min_sz:
        return (f"{inst_id}: level {level} is {format_decimal(sz)} at {format_decimal(px)}, under the minimum "
                f"size {format_decimal(instrument.min_sz)}")
    notional = sz * px
    if risk.max_order_notional is not None and notional > risk.max_order_notional:
        return (f"{inst_id}: level {level} is worth {_amount(notional)}, over max_order_notional "
                f"{format_decimal(risk.max_order_notional)}")
    if run_left is not None and notional > run_left:
        return (f"{inst_id}: level {level} is worth {_amount(notional)}, more than the {_amount(max(run_left, ZERO))} "
                f"left of max_run_notional")
    return None


def fee_text(plan: Plan) -> str:
    """The fee rate(s) a plan was made with and where they came from, e.g. ``0.1% (the account's
    SPOT fee tier Lv1)``; instruments are named only when their rates differ."""
    rates = sorted(set(plan.fee_rates.values()))
    shown = ", ".join(f"{(rate * 100).normalize():f}%" for rate in rates) if len(rates) == 1 else ", ".join(
        f"{inst_id} {(rate * 100).normalize():f}%" for inst_id, rate in sorted(plan.fee_rates.items()))
    return shown + (f" ({plan.fee_source})" if plan.fee_source else "")


# ---------------------------------------------------------------------------------------------
# Depth: what a book holds within a marketable order's limit price


def taken_levels(book: OrderBook, side: Side) -> list[BookLevel]:
    """The side of ``book`` a marketable order of ``side`` takes from, best first (asks for a buy)."""
    return list(book.asks if side == "buy" else book.bids)


def top_size(book: OrderBook, side: Side) -> Decimal:
    """The size shown at the best price on the side an order of ``side`` takes (0 if none)."""
    levels = taken_levels(book, side)
    return levels[0].sz if levels else ZERO


def _marketable(order: PlannedOrder) -> bool:
    return order.ord_type != "post_only" and order.px is not None


def _sweeps(orders: Sequence[PlannedOrder]) -> dict[tuple[str, Side], Decimal]:
    """Total size per (instrument, side) of the marketable orders: split pieces of one leg are
    sent in one batch and take from one book together."""
    total: dict[tuple[str, Side], Decimal] = {}
    for order in orders:
        if _marketable(order):
            key = (order.inst_id, order.side)
            total[key] = total.get(key, ZERO) + order.sz
    return total


def beyond_top(orders: Sequence[PlannedOrder], tops: Mapping[str, OrderBook]) -> list[tuple[str, Decimal]]:
    """Instruments whose marketable orders take more than the size shown at the best price on
    their side, with the quote value of the size beyond it (at the best price), largest first.

    These are the only orders whose fill a book can tell more about than the ticker: an order
    within the top size fills at the best price. ``tops`` is each instrument's top of book (its
    ticker's best bid and ask are enough); an instrument without one is not listed."""
    found: dict[str, Decimal] = {}
    for (inst_id, side), sz in _sweeps(orders).items():
        top = tops.get(inst_id)
        levels = taken_levels(top, side) if top is not None else []
        if not levels:
            continue
        excess = sz - levels[0].sz
        if excess > 0:
            found[inst_id] = found.get(inst_id, ZERO) + excess * levels[0].px
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))


def _fill_within(levels: Sequence[BookLevel], side: Side, px: Decimal, skip: Decimal,
                 sz: Decimal) -> tuple[Decimal, Decimal, bool]:
    """Size and quote value ``sz`` gets from ``levels`` at or better than ``px`` once ``skip``
    (what earlier orders took) is gone, and whether the levels reached past ``px``."""
    got = cost = ZERO
    for level in levels:
        if (side == "buy" and level.px > px) or (side == "sell" and level.px < px):
            return got, cost, True
        available = level.sz
        if skip > 0:
            used = min(skip, available)
            skip -= used
            available -= used
        take = min(available, sz - got)
        got += take
        cost += take * level.px
        if got >= sz:
            return got, cost, True
    return got, cost, False


def check_depth(orders: Sequence[PlannedOrder], books: Mapping[str, OrderBook]) -> dict[str, DepthCheck]:
    """Per leg, what its instrument's book holds within the leg's limit price (legs whose
    instrument has a book in ``books``; post-only legs rest, so they are not checked). Legs of one
    instrument and side take from the book in plan order."""
    taken: dict[tuple[str, Side], Decimal] = {}
    checks: dict[str, DepthCheck] = {}
    for order in orders:
        book = books.get(order.inst_id)
        if book is None or order.px is None or not _marketable(order):
            continue
        key = (order.inst_id, order.side)
        levels = taken_levels(book, order.side)
        got, cost, conclusive = _fill_within(levels, order.side, order.px, taken.get(key, ZERO), order.sz)
        taken[key] = taken.get(key, ZERO) + order.sz
        checks[order.leg] = DepthCheck(sz=order.sz, fillable=got, avg_px=cost / got if got > 0 else None,
                                       levels=len(levels), conclusive=conclusive)
    return checks


def _px_text(value: Decimal, like: Decimal) -> str:
    """``value`` shown to ``like``'s decimal places (an average price next to its limit price)."""
    exponent = like.as_tuple().exponent
    places = exponent if isinstance(exponent, int) and exponent < 0 else 0
    return format_decimal(value.quantize(Decimal(1).scaleb(places - 2), rounding=ROUND_HALF_EVEN))


def depth_note(order: PlannedOrder, check: DepthCheck | None, top: OrderBook | None) -> str:
    """One clause for the leg's reason: what its book holds within its limit, or, for a leg
    beyond the top of book whose book was not read, that only its limit price bounds it ("" for
    a leg within the top of book, which fills at the best price)."""
    if order.px is None or not _marketable(order):
        return ""
    px = format_decimal(order.px)
    sz = format_decimal(order.sz)
    if check is None:
        shown = top_size(top, order.side) if top is not None else ZERO
        if top is None or order.sz <= shown:
            return ""
        best = "ask" if order.side == "buy" else "bid"
        ratio = (order.sz / shown).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN) if shown > 0 else None
        times = f"{ratio}x" if ratio is not None else "more than"
        return (f"{times} the size at the best {best}; book not read: it fills up to the limit price {px}, and "
                f"what does not fill is cancelled when the run settles")
    avg = ""
    if check.avg_px is not None:
        avg = f" at {_px_text(check.avg_px, order.px)} on average"
        mid = top.mid if top is not None else None
        if mid is not None and mid > 0:
            cost = (check.avg_px - mid if order.side == "buy" else mid - check.avg_px) / mid * BPS
            avg += f" ({format_decimal(cost.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN))} bps from mid)"
    if check.fillable >= check.sz:
        return f"the book fills it within the limit price {px}{avg}"
    held = format_decimal(check.fillable)
    if check.conclusive:
        return (f"SHORT: the book holds only {held} of {sz} within the limit price {px}{avg}; the rest would rest "
                f"until the run settles and then be cancelled")
    return (f"the {check.levels} levels read hold {held} of {sz} within the limit price {px}{avg}, and the book "
            f"may hold more beyond them")


def with_depth(orders: Sequence[PlannedOrder], books: Mapping[str, OrderBook],
               tops: Mapping[str, OrderBook]) -> list[PlannedOrder]:
    """``orders`` with what the books say about their fill: ``depth`` set (``check_depth``) and
    ``depth_note`` added to the reason. The orders themselves (size, price, notional) are
    unchanged: the limit price is what bounds an order's cost; the book only forecasts its fill."""
    checks = check_depth(orders, books)
    out = []
    for order in orders:
        check = checks.get(order.leg)
        note = depth_note(order, check, tops.get(order.inst_id))
        out.append(order if not note and check is None
                   else replace(order, depth=check, reason=f"{order.reason}; {note}" if note else order.reason))
    return out
