"""What every strategy module provides, and the two ports it is written against.

A strategy is one module (``okx_strategies/<kind>.py``) exposing ``STRATEGY``, a ``Strategy``:

* ``spec``: its section of a spec file (a ``StrategySpec`` subclass with ``kind: Literal[...]``),
  validated with the field types of ``okx_strategies.fields`` so its refusals are one line each;
* ``needs``: which reads the plan needs from the venue (balances of some currencies, prices of
  some instruments);
* ``plan``: pure math from those reads to a ``Plan`` (no I/O, property-testable);
* ``execute``: the part of a run specific to the strategy, written against ``Run`` (which places,
  settles and reads through a ``Venue``), never against Prefect.

``Venue`` is the exchange as the pipeline sees it. It has two bindings with the same behaviour:
``okx_tasks.venue.PrefectVenue`` (each call a retried Prefect task) and
``okx_strategies.direct.DirectVenue`` (the OKX client itself, no Prefect).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic_core import PydanticCustomError

from okx_strategies.breaker import BreakerLimits
from okx_strategies.fields import Amount, Bps, Drawdown, InstId, Whole, int_range, problem, show
from okx_strategies.plan import FeeRate, Plan, PlannedOrder, RiskLimits
from okx_wire.algo_orders import AlgoOrder
from okx_wire.models import Balance, BookLevel, Fill, Instrument, Order, OrderBook, Ticker, TradeFee
from okx_wire.orders import OrderRequest
from okx_wire.placement import Placement, SendLog

if TYPE_CHECKING:  # WebSocket is imported by the bindings that use it, not by every planner
    from okx_strategies.pushes import PushWait

#: Order-book depth fetched where a book is read (the planners use the top of book; 5 levels are shown).
BOOK_DEPTH: Final = 5


class Strict(BaseModel):
    """A spec section: unknown keys are refused (a typo must never be ignored), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: How long a run waits for its plan to be approved by default (``risk.approve_above``).
APPROVAL_TIMEOUT_S: Final = 3600


class Risk(Strict):
    max_order_notional: Amount | None = None
    max_run_notional: Amount | None = None
    allowed_instruments: list[InstId] | None = None
    max_slippage_bps: Bps = Decimal(50)
    #: The circuit breaker (``okx_strategies.breaker``): a fraction below the NAV's high-water
    #: mark, and quote lost since the UTC day began.
    max_drawdown: Drawdown | None = None
    max_daily_loss: Amount | None = None
    #: A plan whose notional (quote) is above this waits for a person to approve it in Prefect's
    #: UI (``flows.approval``) for up to ``approval_timeout_seconds``.
    approve_above: Amount | None = None
    approval_timeout_seconds: Annotated[Whole, int_range(10, 7 * 86_400, "approval_timeout_seconds")] = (
        APPROVAL_TIMEOUT_S)

    @field_validator("allowed_instruments")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise problem("an empty list allows no instrument at all -- list instruments or remove the key")
        return value

    @model_validator(mode="after")
    def _order_within_run(self) -> Risk:
        order, run = self.max_order_notional, self.max_run_notional
        if order is not None and run is not None and order > run:
            raise problem(f"{show(order)} is above max_run_notional {show(run)} -- lower it to at most "
                          f"{show(run)}", "max_order_notional")
        return self

    def breaker(self) -> BreakerLimits:
        return BreakerLimits(max_drawdown=self.max_drawdown, max_daily_loss=self.max_daily_loss)

    def limits(self) -> RiskLimits:
        allowed = frozenset(self.allowed_instruments) if self.allowed_instruments is not None else None
        return RiskLimits(max_order_notional=self.max_order_notional, max_run_notional=self.max_run_notional,
                          allowed_instruments=allowed, max_slippage_bps=self.max_slippage_bps)


@dataclass(frozen=True)
class Needs:
    """The market data a plan needs: balances of ``ccys``, prices of ``inst_ids`` (their tickers:
    best bid and ask), and ``depth``: the instruments whose book may be read where a leg is larger
    than the size its ticker shows at the best price (``pipeline.market`` decides which, after a
    first plan from the tickers; the rebalance names all of its own)."""

    ccys: list[str]
    inst_ids: list[str]
    quote_ccy: str
    depth: list[str] = field(default_factory=list)


class StrategySpec(Strict):
    """Base of every strategy's spec section; a subclass declares ``kind: Literal["<kind>"]``."""

    if TYPE_CHECKING:
        kind: str

    def instrument_paths(self) -> dict[str, str]:
        """Each instrument the strategy trades, with the spec path that names it."""
        return {self.inst_id: "strategy.inst_id"}  # type: ignore[attr-defined]

    def risk_problem(self, risk: Risk) -> PydanticCustomError | None:
        """Amounts that could never pass ``risk``; None when the strategy fits."""
        return None

    def quote_to_check(self) -> str | None:
        """A quote currency the venue must list instruments in (checked before each instrument)."""
        return None

    def needs(self) -> Needs:
        """Balances of the instrument's two currencies and its book (single-instrument strategies)."""
        base, quote = self.inst_id.split("-", 1)  # type: ignore[attr-defined]
        return Needs([base, quote], [self.inst_id], quote)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Market:
    """What the venue said before planning, so a plan is a pure function of it: live instruments,
    available balances, every instrument's ticker (from one ``market/tickers`` read), the books
    read where depth was needed, and the account's fee rate per instrument.

    ``balances`` is what the plan may trade: the spec's available funds (its sleeve's share, when
    the spec owns one). ``sheet`` is the whole account as the venue reported it (every currency,
    available and frozen), which the reports value; the planners never read it."""

    instruments: Mapping[str, Instrument]
    balances: Mapping[str, Decimal]
    books: Mapping[str, OrderBook]
    tickers: Mapping[str, Ticker]
    fees: Mapping[str, FeeRate]
    sheet: Balance | None = None

    def top(self, inst_id: str) -> OrderBook | None:
        """The instrument's top of book: its book when one was read, else its ticker's best bid
        and ask as a one-level book (None when neither is known)."""
        book = self.books.get(inst_id)
        if book is not None:
            return book
        ticker = self.tickers.get(inst_id)
        return None if ticker is None else top_of_book(ticker)

    def tops(self, inst_ids: Sequence[str]) -> dict[str, OrderBook]:
        """``top`` of each instrument that has one."""
        found = {inst_id: self.top(inst_id) for inst_id in inst_ids}
        return {inst_id: book for inst_id, book in found.items() if book is not None}

    def fee(self, inst_id: str) -> FeeRate:
        """The account's fee rate on ``inst_id``; a plan never guesses one."""
        try:
            return self.fees[inst_id]
        except KeyError:
            raise KeyError(f"{inst_id}: no fee rate was read for it") from None


def top_of_book(ticker: Ticker) -> OrderBook:
    """The ticker's best bid and ask (with their sizes) as a one-level book; a side the ticker
    leaves empty is an empty side, so such a book has no mid."""
    def level(px: Decimal | None, sz: Decimal | None) -> list[BookLevel]:
        return [] if px is None or px <= 0 else [BookLevel(px=px, sz=sz or Decimal(0))]

    return OrderBook(inst_id=ticker.inst_id, asks=level(ticker.ask_px, ticker.ask_sz),
                     bids=level(ticker.bid_px, ticker.bid_sz), ts=ticker.ts)


def fee_rate_of(fee: TradeFee, source: str) -> FeeRate:
    """The rates a planner adds up, from the venue's trade-fee answer (``taker_rate``/``maker_rate``:
    cost per unit of notional; a rebate is negative)."""
    return FeeRate(taker=fee.taker_rate, maker=fee.maker_rate, source=source)


class Venue(Protocol):
    """The exchange as a run uses it; every method is one OKX read or write (or one batch).

    ``balance_sheet`` is the whole account (one unfiltered ``account/balance`` read: every
    currency held, available and frozen). ``tickers`` is every instrument's ticker of a type,
    keyed by instId (one ``market/tickers`` read). ``fee_rates`` is the account's fee rate for
    each of ``inst_ids``; OKX sets the spot tier per instrument type, so a binding answers it with
    one ``account/trade-fee`` read (and reads it at most once per run: that endpoint's budget is 5
    requests per 2 s).

    Two methods may use the venue's WebSocket streams (``okx_strategies.pushes``), where the
    binding has them; each has a REST answer otherwise, so the pipeline never needs to know.
    ``wait_pushed`` blocks until the orders are final on the account's ``orders`` pushes (or
    the time is up) and returns how that went, or returns None at once where the binding has no
    order stream (the caller then polls ``order_states``); it decides only when to look, never
    what the orders' states are. ``live_book`` is the instrument's book from the public
    ``books`` stream (sequence and checksum checked) where there is one, else ``book``.
    """

    label: str

    def instruments(self) -> list[Instrument]: ...

    def balances(self, ccys: Sequence[str]) -> dict[str, Decimal]: ...

    def balance_sheet(self) -> Balance: ...

    def books(self, inst_ids: Sequence[str], depth: int) -> dict[str, OrderBook]: ...

    def tickers(self, inst_type: str = "SPOT") -> dict[str, Ticker]: ...

    def fee_rates(self, inst_ids: Sequence[str]) -> dict[str, FeeRate]: ...

    def book(self, inst_id: str, depth: int) -> OrderBook: ...

    def place_one(self, request: OrderRequest, instrument: Instrument | None,
                  sends: SendLog | None) -> Placement: ...

    def place_batch(self, requests: Sequence[OrderRequest], instruments: Mapping[str, Instrument], label: str,
                    sends: SendLog | None) -> list[Placement]: ...

    def order_states(self, refs: Sequence[tuple[str, str]]) -> list[Order | Exception]: ...

    def wait_pushed(self, refs: Sequence[tuple[str, str]], timeout_s: float) -> PushWait | None: ...

    def live_book(self, inst_id: str, depth: int) -> OrderBook: ...

    def order(self, inst_id: str, ord_id: str) -> Order: ...

    def cancel(self, inst_id: str, ord_id: str) -> Order: ...

    def pending(self, inst_id: str | None = None) -> list[Order]: ...

    def fills(self, inst_id: str) -> list[Fill]: ...

    def fills_since(self, begin_ms: int) -> list[Fill]: ...

    def cancel_all_after(self, timeout_s: int, tag: str) -> None: ...

    def protection(self, algo_cl_ord_id: str) -> AlgoOrder | None: ...


class Run(Protocol):
    """What a strategy's ``execute`` works with: the checked spec, its plan, and the run's own
    ways to place (journalled, deterministic clOrdIds), settle and read through its venue."""

    dry: bool
    plan: Plan
    instruments: dict[str, Instrument]
    result: Any  # flows.common.FlowResult: placements, orders, fills, notes
    settlement: Any  # flows.reconcile.Settlement: what settling earlier runs cancelled
    resumed: Any  # flows.reconcile.Progress | None: how far a resumed execution had got
    log: Any  # a logging.Logger or the run's logger adapter

    @property
    def strategy(self) -> Any: ...

    @property
    def risk(self) -> Risk: ...

    @property
    def spec_name(self) -> str: ...

    @property
    def venue(self) -> Venue: ...

    def place(self, legs: Sequence[PlannedOrder], label: str) -> list[Placement]: ...

    def settle(self, placements: Sequence[Placement], timeout_s: float = ...,
               cancel_rest: bool = True) -> list[Order]: ...

    def fills(self, orders: Sequence[Order]) -> list[Fill]: ...

    def leg_id(self, leg: str) -> str: ...

    def record(self, orders: Sequence[Order]) -> None: ...

    def progress(self, fraction: float, description: str) -> None: ...


#: How a run's orders are named: by its flow run (``run``), by its schedule slot (``slot``: one
#: run's worth per slot, e.g. one DCA buy a day), or by the run it resumes (``resumable``).
Identity = Literal["run", "slot", "resumable"]


@dataclass(frozen=True)
class Strategy:
    """One strategy, as the registry lists it (see the module docstring)."""

    kind: str
    spec: type[StrategySpec]
    plan: Callable[[Any, RiskLimits, Market], Plan]
    execute: Callable[[Run], None]
    summary: str
    #: ``module:function`` of its Prefect flow (the ``okx-flows run`` entry point).
    flow: str = ""
    identity: Identity = "run"
    #: Sorts the kinds in messages ("allowed: rebalance, dca, ..."); new strategies go last.
    position: int = 100

    @property
    def flow_ref(self) -> str:
        return self.flow or f"flows.{self.kind}:{self.kind}"
