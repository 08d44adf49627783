"""Capital per strategy: the part of a shared account a spec owns (its sleeve).

Several specs trade one account. Without sleeves each would count the whole USDT balance as its
own: one rebalance buys alts with the cash another rebalance holds for BTC, and the next run of
the first sells them back. A sleeve gives each spec its own holdings, so its weights, caps and
reports are computed on what is its own, and the sleeves add up to the account:

* ``capital: {quote: 5000}``: the sleeve starts as 5000 of the spec's quote currency (it buys
  its assets from there);
* ``capital: {share: 0.25}``: the sleeve starts as a quarter of the account's equity in the
  currencies the spec trades: a quarter of each of their balances, taken in kind (so a sleeve of
  an existing portfolio does not have to trade to fund itself).

A sleeve is funded only from what no other sleeve holds ("unclaimed"), so sleeves never
overdraw; a spec without ``capital`` trades what is unclaimed. After each run the sleeve moves by
exactly its run's fills (``valuation.apply_fills``: sizes, prices and fees as the venue reported
them), and the ledger keeps it. What a run may trade is the smaller of its sleeve and what the
account has available (frozen funds and funds moved outside okx-flows are never traded).

Changing ``capital`` in the spec resizes the sleeve at the next run: a quote budget by the
difference in quote, a share in proportion; growth again only from unclaimed funds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from pydantic import model_validator

from okx_strategies.base import Strict
from okx_strategies.fields import Amount, Weight, problem, show
from okx_strategies.plan import Plan, PlannedOrder, SkippedLeg
from okx_wire.errors import OkxError

ZERO: Final = Decimal(0)


class Capital(Strict):
    """The ``capital:`` section of a spec: exactly one of a quote budget or a share."""

    quote: Amount | None = None
    share: Weight | None = None

    @model_validator(mode="after")
    def _one(self) -> Capital:
        if (self.quote is None) == (self.share is None):
            raise problem("give exactly one of quote (an amount of the quote currency) or share (0 < share <= 1)"
                          " -- e.g. capital: {quote: 5000}")
        if self.quote is not None and self.quote <= 0:
            raise problem(f"{show(self.quote)} is not a positive amount -- give the sleeve's starting quote",
                          "quote")
        if self.share is not None and self.share <= 0:
            raise problem(f"{show(self.share)} is not a share above 0 -- use e.g. 0.25 for a quarter", "share")
        return self

    def text(self) -> str:
        """How the ledger remembers the definition (to notice a change)."""
        return f"quote={self.quote}" if self.quote is not None else f"share={self.share}"


class SleeveError(OkxError):
    """A sleeve that cannot be funded or resized as the spec asks (one line, nothing traded)."""


@dataclass(frozen=True)
class Sleeve:
    """A spec's own holdings in a shared account, as the ledger keeps them."""

    spec: str
    capital: str
    holdings: dict[str, Decimal]

    def nonzero(self) -> dict[str, Decimal]:
        return {ccy: amount for ccy, amount in self.holdings.items() if amount != 0}


def unclaimed(totals: Mapping[str, Decimal], others: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """What no other sleeve holds, per currency (never below zero)."""
    left = dict(totals)
    for holdings in others:
        for ccy, amount in holdings.items():
            left[ccy] = left.get(ccy, ZERO) - amount
    return {ccy: max(amount, ZERO) for ccy, amount in left.items()}


def _short(ccy: str, wanted: Decimal, free: Decimal, spec: str) -> SleeveError:
    return SleeveError(f"spec {spec!r}: capital needs {show(wanted)} {ccy} but only {show(free)} {ccy} of the "
                       f"account is not held by other specs' sleeves -- lower capital or free funds first")


def fund(spec: str, capital: Capital, ccys: Sequence[str], quote_ccy: str, totals: Mapping[str, Decimal],
         free: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """A new sleeve's holdings: a quote budget, or ``share`` of the account's total of each
    currency the spec trades (in kind). Only unclaimed funds can fund it; raises when they are
    short, naming the currency."""
    wanted = ({quote_ccy: capital.quote} if capital.quote is not None else
              {ccy: totals.get(ccy, ZERO) * (capital.share or ZERO) for ccy in ccys if totals.get(ccy, ZERO) > 0})
    for ccy, amount in wanted.items():
        if amount > free.get(ccy, ZERO):
            raise _short(ccy, amount, free.get(ccy, ZERO), spec)
    return wanted


def resize(spec: str, before: Sleeve, capital: Capital, quote_ccy: str,
           free: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The sleeve's holdings under a changed ``capital``: a quote budget moves its quote by the
    difference, a share scales every holding; growth only from unclaimed funds."""
    holdings = dict(before.holdings)
    old = _parse(before.capital)
    if capital.quote is not None and old[0] == "quote":
        delta = capital.quote - old[1]
        if delta > free.get(quote_ccy, ZERO):
            raise _short(quote_ccy, delta, free.get(quote_ccy, ZERO), spec)
        holdings[quote_ccy] = max(holdings.get(quote_ccy, ZERO) + delta, ZERO)
        return holdings
    if capital.share is not None and old[0] == "share" and old[1] > 0:
        factor = capital.share / old[1]
        grown = {ccy: amount * factor for ccy, amount in holdings.items()}
        for ccy, amount in grown.items():
            extra = amount - holdings.get(ccy, ZERO)
            if extra > free.get(ccy, ZERO):
                raise _short(ccy, extra, free.get(ccy, ZERO), spec)
        return grown
    raise SleeveError(f"spec {spec!r}: capital changed from {before.capital} to {capital.text()}, a different kind "
                      "of sleeve -- keep the kind (quote or share) or give the spec a new name")


def _parse(text: str) -> tuple[str, Decimal]:
    kind, _, amount = text.partition("=")
    return kind, Decimal(amount or 0)


def tradeable(holdings: Mapping[str, Decimal], available: Mapping[str, Decimal],
              ccys: Sequence[str]) -> dict[str, Decimal]:
    """What a run of the sleeve may trade: its holding, at most what the account has available."""
    return {ccy: max(min(holdings.get(ccy, ZERO), available.get(ccy, ZERO)), ZERO) for ccy in ccys}


def within_funds(plan: Plan, balances: Mapping[str, Decimal]) -> Plan:
    """The plan without the legs the spec cannot pay for from ``balances`` (its sleeve, or what
    no sleeve holds): sells first (their proceeds, at the limit price less the fee, fund buys,
    as the rebalance counts on), then buys in plan order; a leg that does not fit is left out
    with the reason, never sent to be refused by the exchange or paid from another sleeve."""
    left = dict(balances)
    fee = max(plan.fee_rates.values(), default=ZERO)
    kept: list[PlannedOrder] = []
    skipped = list(plan.skipped)
    for order in sorted(plan.orders, key=lambda o: o.side != "sell"):
        base, quote = order.inst_id.split("-", 1)
        ccy, amount = (base, order.sz) if order.side == "sell" else (quote, order.notional)
        have = left.get(ccy, ZERO)
        if amount > have:
            skipped.append(SkippedLeg(order.leg, order.inst_id, (
                f"{order.inst_id}: {order.side} needs {show(amount)} {ccy}, the spec holds only "
                f"{show(have.normalize())} {ccy} (what its capital allows) -- add capital or trade less")))
            continue
        left[ccy] = have - amount
        if order.side == "sell" and order.px is not None:
            left[quote] = left.get(quote, ZERO) + order.sz * order.px * (1 - fee)
        kept.append(order)
    if len(kept) == len(plan.orders):
        return plan
    order_of = {id(o): i for i, o in enumerate(plan.orders)}
    kept.sort(key=lambda o: order_of[id(o)])
    return plan.model_copy(update={"orders": kept, "skipped": skipped})
