"""The start every single-instrument plan shares: weights before, the instrument and its top of
book, and the fee rate it is planned with."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from okx_strategies.base import Market, StrategySpec
from okx_strategies.plan import Plan, SkippedLeg, portfolio_weights
from okx_wire.models import Instrument, OrderBook
from okx_wire.orders import OrdType

ZERO = Decimal(0)


def mids_of(books: Mapping[str, OrderBook]) -> dict[str, Decimal]:
    """Mid price per base currency, from books keyed by instrument id."""
    return {inst_id.split("-", 1)[0]: b.mid for inst_id, b in books.items() if b.mid is not None}


def single_instrument_plan(strategy: StrategySpec, market: Market, ord_type: OrdType = "limit"
                           ) -> tuple[Plan, OrderBook | None, Instrument | None]:
    """An empty plan with the weights before and the fee rate its ``ord_type`` orders pay, plus
    the strategy's instrument and top of book (None, with the reason already in the plan's notes,
    when the venue has either missing)."""
    need = strategy.needs()
    mids = mids_of(market.tops(need.inst_ids))
    inst_id: str = strategy.inst_id  # type: ignore[attr-defined]
    fee = market.fee(inst_id)
    view = Plan(kind=strategy.kind, fee_rates={inst_id: fee.of(ord_type)}, fee_source=fee.source,
                quote_ccy=need.quote_ccy, mids=mids,
                weights_before=portfolio_weights(market.balances, mids, need.quote_ccy, list(need.ccys)),
                total_value=sum((market.balances.get(c, ZERO) * (mids.get(c, ZERO) if c != need.quote_ccy else 1)
                                 for c in need.ccys), ZERO))
    instrument = market.instruments.get(inst_id)
    book = market.top(inst_id)
    if instrument is None or book is None:
        view.skipped.append(SkippedLeg(leg="-", inst_id=inst_id,
                                       reason=f"{inst_id}: no instrument or order book on this venue"))
        return view, None, None
    return view, book, instrument
