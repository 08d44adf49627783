"""What a run of a spec would trade, from market data already fetched: no I/O, no Prefect.

The flows and ``okx-flows plan`` share these functions, so the plan a user previews is the
plan a run computes from the same balances and books. The money-moving math itself lives in
``okx_strategies.plan``; this module only adapts a validated spec to it and describes the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from flows.spec import Dca, Ladder, Rebalance, Spec, Twap
from okx_wire.models import Instrument, OrderBook
from okx_strategies.plan import (PlannedOrder, SkippedLeg, limit_price, order_notional, plan_dca, plan_ladder,
                            plan_rebalance, portfolio_weights, twap_slices)
from okx_wire.precision import format_decimal, round_price

ZERO = Decimal(0)
#: Order-book depth fetched for planning (the planners use the top of book; 5 levels are shown).
BOOK_DEPTH = 5


class PlannedLeg(BaseModel):
    """One order a run places (or would place): ``leg`` becomes part of its clOrdId."""

    model_config = ConfigDict(frozen=True)

    leg: str
    inst_id: str
    side: str
    ord_type: str
    sz: Decimal
    px: Decimal | None = None
    notional: Decimal = ZERO
    reason: str = ""
    #: When planned for a slice of time (TWAP): seconds after the run starts.
    at_s: Decimal | None = None

    @classmethod
    def of(cls, order: PlannedOrder, at_s: Decimal | None = None) -> PlannedLeg:
        return cls(leg=order.leg, inst_id=order.inst_id, side=order.side, ord_type=order.ord_type, sz=order.sz,
                   px=order.px, notional=order.notional, reason=order.reason, at_s=at_s)


class Skipped(BaseModel):
    model_config = ConfigDict(frozen=True)

    leg: str
    inst_id: str
    reason: str

    @classmethod
    def of(cls, skipped: SkippedLeg) -> Skipped:
        return cls(leg=skipped.leg, inst_id=skipped.inst_id, reason=skipped.reason)


class PlanView(BaseModel):
    """A strategy's decision, the same shape for every kind (what the plan artifact shows)."""

    kind: str
    orders: list[PlannedLeg] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    quote_ccy: str = ""
    mids: dict[str, Decimal] = Field(default_factory=dict)
    weights_before: dict[str, Decimal] = Field(default_factory=dict)
    targets: dict[str, Decimal] = Field(default_factory=dict)
    drift: dict[str, Decimal] = Field(default_factory=dict)
    total_value: Decimal = ZERO
    needs_trading: bool = True
    drift_band: Decimal | None = None
    #: TWAP only: seconds between slices.
    interval_s: Decimal | None = None

    @property
    def sells(self) -> list[PlannedLeg]:
        return [o for o in self.orders if o.side == "sell"]

    @property
    def buys(self) -> list[PlannedLeg]:
        return [o for o in self.orders if o.side == "buy"]


@dataclass(frozen=True)
class Needs:
    """The market data a plan needs: balances of ``ccys`` and books of ``inst_ids``."""

    ccys: list[str]
    inst_ids: list[str]
    quote_ccy: str


def needs(spec: Spec) -> Needs:
    strategy = spec.strategy
    if isinstance(strategy, Rebalance):
        ccys = sorted(strategy.targets)
        return Needs(ccys, [f"{c}-{strategy.quote_ccy}" for c in ccys if c != strategy.quote_ccy], strategy.quote_ccy)
    base, quote = strategy.inst_id.split("-", 1)
    return Needs([base, quote], [strategy.inst_id], quote)


def mids_of(books: Mapping[str, OrderBook]) -> dict[str, Decimal]:
    """Mid price per base currency, from books keyed by instrument id."""
    return {inst_id.split("-", 1)[0]: b.mid for inst_id, b in books.items() if b.mid is not None}


def weights(balances: Mapping[str, Decimal], mids: Mapping[str, Decimal], quote_ccy: str,
            ccys: Sequence[str]) -> dict[str, Decimal]:
    return portfolio_weights(balances, mids, quote_ccy, list(ccys))


def make_plan(spec: Spec, balances: Mapping[str, Decimal], books: Mapping[str, OrderBook],
              instruments: Mapping[str, Instrument]) -> PlanView:
    """The plan for ``spec`` given available balances, books (by instrument id) and instruments."""
    strategy, risk = spec.strategy, spec.risk_limits()
    need = needs(spec)
    mids = mids_of(books)
    before = weights(balances, mids, need.quote_ccy, need.ccys)
    if isinstance(strategy, Rebalance):
        plan = plan_rebalance(balances=balances, books=books, instruments=instruments, targets=strategy.targets,
                              quote_ccy=strategy.quote_ccy, drift_band=strategy.drift_band,
                              min_trade_quote=strategy.min_trade_quote, risk=risk)
        return PlanView(kind="rebalance", orders=[PlannedLeg.of(o) for o in plan.orders],
                        skipped=[Skipped.of(s) for s in plan.skipped], quote_ccy=strategy.quote_ccy,
                        mids=dict(plan.mids), weights_before=dict(plan.weights_before), targets=dict(plan.targets),
                        drift=dict(plan.drift), total_value=plan.total_value, needs_trading=plan.needs_trading,
                        drift_band=strategy.drift_band)
    view = PlanView(kind=strategy.kind, quote_ccy=need.quote_ccy, mids=mids, weights_before=before,
                    total_value=sum((balances.get(c, ZERO) * (mids.get(c, ZERO) if c != need.quote_ccy else 1)
                                     for c in need.ccys), ZERO))
    instrument = instruments.get(strategy.inst_id)
    book = books.get(strategy.inst_id)
    if instrument is None or book is None:
        view.skipped.append(Skipped(leg="-", inst_id=strategy.inst_id,
                                    reason=f"{strategy.inst_id}: no instrument or order book on this venue"))
        return view
    if isinstance(strategy, Dca):
        found = plan_dca(book=book, instrument=instrument, quote_amount=strategy.quote_amount,
                         max_price=strategy.max_price, risk=risk)
        if isinstance(found, SkippedLeg):
            view.skipped.append(Skipped.of(found))
        else:
            view.orders.append(PlannedLeg.of(found))
    elif isinstance(strategy, Ladder):
        ladder = plan_ladder(book=book, instrument=instrument, side=strategy.side, levels=strategy.levels,
                             step_bps=strategy.step_bps, total_quote=strategy.total_quote, risk=risk)
        view.orders += [PlannedLeg.of(o) for o in ladder.orders]
        view.skipped += [Skipped.of(s) for s in ladder.skipped]
    elif isinstance(strategy, Twap):
        _plan_twap(view, strategy, spec, book, instrument)
    return view


def _plan_twap(view: PlanView, strategy: Twap, spec: Spec, book: OrderBook, instrument: Instrument) -> None:
    sizes = twap_slices(strategy.total_size, strategy.slices, instrument)
    if not sizes:
        view.skipped.append(Skipped(leg="s1", inst_id=strategy.inst_id, reason=(
            f"{strategy.inst_id}: total_size {format_decimal(strategy.total_size)} is under the minimum size "
            f"{format_decimal(instrument.min_sz)}; nothing to slice")))
        return
    interval = strategy.window_seconds / len(sizes)
    view.interval_s = interval
    if len(sizes) < strategy.slices:
        view.skipped.append(Skipped(leg="-", inst_id=strategy.inst_id, reason=(
            f"{strategy.inst_id}: {strategy.slices} slices would be under the minimum size "
            f"{format_decimal(instrument.min_sz)}; using {len(sizes)} larger slices")))
    run_left = spec.risk.max_run_notional
    for i, sz in enumerate(sizes):
        found = twap_slice(spec, book, instrument, f"s{i + 1}", sz, run_left, at_s=interval * i)
        if isinstance(found, Skipped):
            view.skipped.append(found)
        else:
            view.orders.append(found)
            run_left = None if run_left is None else run_left - found.notional


def twap_slice(spec: Spec, book: OrderBook, instrument: Instrument, leg: str, sz: Decimal,
               run_left: Decimal | None, at_s: Decimal | None = None) -> PlannedLeg | Skipped:
    """One TWAP slice priced against ``book`` now: a marketable limit bounded by max slippage
    (and by the spec's ``limit_price``), within the order and run notional limits."""
    strategy = spec.strategy
    assert isinstance(strategy, Twap)
    risk = spec.risk_limits()
    inst_id, side = strategy.inst_id, strategy.side
    mid = book.mid
    if mid is None or mid <= 0:
        return Skipped(leg=leg, inst_id=inst_id, reason=f"{inst_id}: the order book has no bids or no asks")
    px = limit_price(mid, side, risk.slippage, instrument.tick_sz)
    if px is None:
        return Skipped(leg=leg, inst_id=inst_id, reason=f"{inst_id}: the limit price rounds to 0")
    if strategy.limit_price is not None:
        bound = round_price(strategy.limit_price, instrument.tick_sz, side)
        px = min(px, bound) if side == "buy" else max(px, bound)
        reachable = book.best_ask if side == "buy" else book.best_bid
        if reachable is not None and ((side == "buy" and reachable > px) or (side == "sell" and reachable < px)):
            return Skipped(leg=leg, inst_id=inst_id, reason=(
                f"{inst_id}: best {'ask' if side == 'buy' else 'bid'} {format_decimal(reachable)} is beyond the "
                f"limit price {format_decimal(strategy.limit_price)}; slice {leg} not sent"))
    notional = order_notional(sz, px, mid, "limit")
    for limit, name in ((risk.max_order_notional, "max_order_notional"), (run_left, "what is left of max_run_notional")):
        if limit is not None and notional > limit:
            return Skipped(leg=leg, inst_id=inst_id, reason=(
                f"{inst_id}: slice {leg} worth up to {format_decimal(notional.quantize(Decimal('0.01')))} is over "
                f"{name} {format_decimal(limit)}"))
    return PlannedLeg(leg=leg, inst_id=inst_id, side=side, ord_type="limit", sz=sz, px=px, notional=notional,
                      reason=f"TWAP slice {leg}: {side} {format_decimal(sz)} at a limit of {format_decimal(px)}",
                      at_s=at_s)
