"""Rebalance: bring a portfolio back to its target weights, sells first.

Spec: ``quote_ccy``, ``targets`` (weights adding up to exactly 1; the quote currency may be
left out and then counts as 0), ``drift_band`` and ``min_trade_quote``. Needs: the balance of
every target currency, the price of each against the quote (its ticker) and the account's fee
rate. Plan: ``plan.plan_rebalance`` (caps pro rata over every leg).
Run: place the sells (one batch), wait, cancel what rests; then the buys likewise.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import ValidationInfo, field_validator

from okx_strategies.base import Market, Needs, Run, Strategy, StrategySpec, top_of_book
from okx_strategies.fields import Amount, Band, Ccy, Weight, problem, show
from okx_strategies.plan import Plan, RiskLimits, plan_rebalance, with_depth
from okx_wire.models import OrderBook


class Rebalance(StrategySpec):
    kind: Literal["rebalance"]
    quote_ccy: Ccy
    targets: dict[Ccy, Weight]
    drift_band: Band = Decimal("0.02")
    min_trade_quote: Amount = Decimal(10)

    @field_validator("targets")
    @classmethod
    def _weights(cls, targets: dict[str, Decimal], info: ValidationInfo) -> dict[str, Decimal]:
        quote = info.data.get("quote_ccy")
        if not targets:
            raise problem("no targets -- list currencies with weights, e.g. {BTC: 0.5, USDT: 0.5}")
        total = sum(targets.values(), Decimal(0))
        if total != 1:
            implied = f" ({quote} is not listed, so it counts as 0)" if quote and quote not in targets else ""
            raise problem(f"weights sum to {show(total)}, not 1 -- make the weights add up to exactly 1{implied}")
        if quote and not set(targets) - {quote}:
            raise problem(f"only the quote currency {quote} is listed -- add at least one currency to hold")
        if quote and quote not in targets:
            targets = {**targets, quote: Decimal(0)}
        return targets

    def instrument_paths(self) -> dict[str, str]:
        return {f"{ccy}-{self.quote_ccy}": f"strategy.targets.{ccy}" for ccy in self.targets if ccy != self.quote_ccy}

    def quote_to_check(self) -> str | None:
        return self.quote_ccy

    def needs(self) -> Needs:
        # Every instrument may need depth (a leg may be larger than the size its ticker shows at
        # the best price), but a book is read only for a leg that is: ``pipeline.market`` plans
        # from the tickers first and reads the books of the legs beyond the top of book.
        ccys = sorted(self.targets)
        inst_ids = [f"{c}-{self.quote_ccy}" for c in ccys if c != self.quote_ccy]
        return Needs(ccys, inst_ids, self.quote_ccy, depth=list(inst_ids))


def plan(strategy: Rebalance, risk: RiskLimits, market: Market) -> Plan:
    inst_ids = strategy.needs().inst_ids
    fees = {inst_id: market.fee(inst_id) for inst_id in inst_ids}
    # Every order is marketable: the taker rate, the highest of them if the instruments differ.
    fee_rate = max(fee.taker for fee in fees.values())
    # Priced from the tickers where they show a bid and an ask (every instrument valued at one
    # instant, the one market/tickers read), else from the book read to price it: a book read for
    # depth never moves a mid or an order, it only forecasts the fill.
    tops: dict[str, OrderBook] = {}
    for inst_id in inst_ids:
        ticker = market.tickers.get(inst_id)
        top = top_of_book(ticker) if ticker is not None else None
        if top is None or top.mid is None or top.mid <= 0:
            top = market.top(inst_id)
        if top is not None:
            tops[inst_id] = top
    found = plan_rebalance(balances=market.balances, books=tops, instruments=market.instruments,
                           targets=strategy.targets, quote_ccy=strategy.quote_ccy, drift_band=strategy.drift_band,
                           min_trade_quote=strategy.min_trade_quote, risk=risk, fee_rate=fee_rate)
    # What the books read for depth say about each leg's fill (the orders themselves are unchanged).
    orders = with_depth(found.orders, market.books, tops)
    return Plan(kind="rebalance", fee_rates={inst_id: fee_rate for inst_id in inst_ids},
                fee_source=", ".join(sorted({fee.source for fee in fees.values() if fee.source})),
                orders=orders, skipped=list(found.skipped), quote_ccy=strategy.quote_ccy,
                mids=dict(found.mids), weights_before=dict(found.weights_before), targets=dict(found.targets),
                drift=dict(found.drift), total_value=found.total_value, needs_trading=found.needs_trading,
                drift_band=strategy.drift_band)


def execute(run: Run) -> None:
    plan_ = run.plan
    if not plan_.needs_trading:
        run.log.info("every weight is within the %s band: nothing to trade", plan_.drift_band)
    if run.dry or not plan_.orders:
        return
    for side, legs in (("sell", plan_.sells), ("buy", plan_.buys)):
        if not legs:
            continue
        run.log.info("placing %d %s order(s)", len(legs), side)
        placements = run.place(legs, label=f"{run.spec_name}-{side}s")
        run.result.placements += placements
        run.result.orders += run.settle(placements)
    run.result.fills = run.fills(run.result.orders)


STRATEGY = Strategy(kind="rebalance", spec=Rebalance, plan=plan, execute=execute, position=10,
                    summary="keep a portfolio at its target weights (sells first, then buys)")
