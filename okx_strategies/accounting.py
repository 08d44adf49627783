"""A run's books: whose money it trades (the spec's sleeve), what that and the account are worth
before and after, what the run cost, and the ledger row that keeps it.

``open_books`` runs after the market snapshot and before the plan: it catches up fills of earlier
runs' orders that filled after their run ended (a resting ladder), resolves the spec's sleeve
(``okx_strategies.sleeve``) and narrows the snapshot's balances to what the spec may trade.
``close_books`` runs after the strategy's body (or after it failed): it reads the account once
more (one ``account/balance`` and one ``market/tickers`` request), moves the sleeve by the run's
fills, measures the costs from those fills and, for a trading run, writes the ledger row, the
fills and the sleeve in one transaction (``okx_wire.ledger``).

Valuation (``okx_strategies.valuation``): before at the snapshot's mids, after at fresh mids;
the weights after are valued at the plan's mids, so that only trading moves them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from okx_strategies.base import Market, Venue
from okx_strategies.plan import Plan, portfolio_weights, simulate_fills
from okx_strategies.protection import attachment_id
from okx_strategies.sleeve import Capital, Sleeve, fund, resize, tradeable, unclaimed
from okx_strategies.valuation import (
    AccountValue,
    RunCosts,
    apply_fills,
    max_drift,
    prices_in,
    run_costs,
    value_account,
    value_of,
)
from okx_wire.ledger import Ledger, LedgerRow
from okx_wire.models import Fill

ZERO: Final = Decimal(0)
#: How far back a run looks for fills of earlier runs' orders it has not recorded yet.
LATE_FILL_DAYS: Final = 30


@dataclass
class Books:
    """What a run knows of its capital before it plans."""

    spec: str
    account: str
    quote: str
    ccys: list[str]
    capital: Capital | None
    #: The spec's own holdings before the run: its sleeve, or (no sleeve) what no sleeve holds.
    own_before: dict[str, Decimal]
    account_before: AccountValue
    prices_before: dict[str, Decimal]
    started_ms: int
    late_fills: list[tuple[str, Fill]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    other_sleeves: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def value_before(self) -> Decimal:
        return value_of(self.own_before, self.prices_before)


@dataclass
class Closing:
    """What the run's books say after it."""

    account_after: AccountValue
    own_after: dict[str, Decimal]
    prices_after: dict[str, Decimal]
    costs: RunCosts
    weights_after: dict[str, Decimal]
    projected: bool
    row: LedgerRow | None = None
    #: The spec's runs on this account, oldest first (this one included), for "since it started".
    history: list[LedgerRow] = field(default_factory=list)
    sleeves: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def value_after(self) -> Decimal:
        return value_of(self.own_after, self.prices_after)


def _late_fills(ledger: Ledger, venue: Venue, spec: str, account: str) -> list[tuple[str, Fill]]:
    """Fills of earlier runs' orders that the ledger has not recorded (orders that filled while
    resting after their run): one fills read, only when the journal says some exist."""
    since = int(time.time() * 1000) - LATE_FILL_DAYS * 86_400_000
    missing = ledger.unrecorded_fills(spec, account, since_ms=since)
    if not missing:
        return []
    begin = min(started for _, _, started in missing.values())
    return [(missing[f.ord_id][0], f) for f in venue.fills_since(begin - 1) if f.ord_id in missing]


def _protection_fills(ledger: Ledger, venue: Venue, spec: str, account: str) -> tuple[list[tuple[str, Fill]],
                                                                                     list[str]]:
    """Fills of the orders the venue placed when a protection of the spec's fills triggered (a
    stop-loss that sold while no run was watching), and the protections now settled. One algo
    read per protection still open; one fills read when some triggered."""
    found: dict[str, tuple[str, int]] = {}  # child ordId -> (run id, armed ms)
    settled: list[str] = []
    for algo_cl_ord_id, run_id, _inst_id, armed_ms in ledger.open_protections(spec, account):
        algo = venue.protection(algo_cl_ord_id)
        if algo is None or algo.is_pending:
            continue
        settled.append(algo_cl_ord_id)
        for ord_id in algo.ord_id_list or ([algo.ord_id] if algo.ord_id else []):
            found[ord_id] = (run_id, armed_ms)
    if not found:
        return [], settled
    begin = min(armed for _, armed in found.values())
    return [(found[f.ord_id][0], f) for f in venue.fills_since(begin - 1) if f.ord_id in found], settled


def open_books(spec: Any, market: Market, ledger: Ledger, venue: Venue, account: str, *, dry: bool,
               capital: Capital | None) -> tuple[Books, Market]:
    """Resolve whose money the run trades and narrow ``market.balances`` to it."""
    need = spec.strategy.needs()
    quote, ccys = need.quote_ccy, list(need.ccys)
    sheet = market.sheet
    assert sheet is not None, "the market snapshot carries the balance sheet"
    account_before = value_account(sheet, market.tickers, quote)
    late = _late_fills(ledger, venue, spec.name, account)
    triggered, settled = _protection_fills(ledger, venue, spec.name, account)
    late += ledger.unrecorded_pairs(triggered)
    if not dry:
        if late:
            ledger.add_fills(spec.name, account, late)
        ledger.settle_protections(settled)
    records = {s.spec: s for s in ledger.sleeves(account)}
    mine = records.pop(spec.name, None)
    others = {name: dict(s.holdings) for name, s in records.items()}
    totals = account_before.totals()
    available = {d.ccy: d.avail_bal or ZERO for d in sheet.details}
    free = unclaimed(totals, others.values())
    notes: list[str] = []
    if capital is None:
        own = {ccy: free.get(ccy, ZERO) for ccy in ccys}
        if others:
            notes.append(f"no capital set: trading what the {len(others)} sleeve(s) on this account do not hold")
    else:
        if mine is None:
            own = fund(spec.name, capital, ccys, quote, totals, free)
            notes.append(f"sleeve opened with {capital.text().replace('=', ' ')}")
        else:
            own = dict(mine.holdings)
            if late:
                own = apply_fills(own, [f for _, f in late])
                notes.append(f"{len(late)} fill(s) of earlier runs' resting orders or triggered protections "
                             "added to the sleeve")
            if mine.capital != capital.text():
                own = resize(spec.name, Sleeve(spec.name, mine.capital, own), capital, quote, free)
                notes.append(f"sleeve resized from {mine.capital} to {capital.text()}")
    prices = prices_in(quote, market.tickers, [*ccys, *own, *totals])
    books = Books(spec=spec.name, account=account, quote=quote, ccys=ccys, capital=capital, own_before=own,
                  account_before=account_before, prices_before=prices, started_ms=int(time.time() * 1000),
                  late_fills=late, notes=notes, other_sleeves=others)
    return books, replace(market, balances=tradeable(own, available, ccys))


def close_books(books: Books, plan: Plan, fills: Sequence[Fill], venue: Venue, ledger: Ledger, *, dry: bool,
                status: str, kind: str, run_id: str, venue_label: str, intended: int, placed: int,
                filled_orders: int, detail: str = "") -> Closing:
    """Value the account and the spec after the run and, for a trading run, write its ledger row."""
    # Only fills no run has recorded yet move the sleeve and count as this run's costs (a rerun
    # or a DCA slot's second run adopts orders whose fills an earlier run recorded).
    fills = fills if dry else ledger.unrecorded(fills)
    sheet = venue.balance_sheet()
    tickers = venue.tickers("SPOT")
    account_after = value_account(sheet, tickers, books.quote)
    projected = dry and bool(plan.orders) and all(o.ord_type != "post_only" for o in plan.orders)
    if dry:
        fee = max(plan.fee_rates.values(), default=ZERO)
        own_after = simulate_fills(books.own_before, plan.orders, fee) if projected else dict(books.own_before)
    elif books.capital is not None:
        own_after = apply_fills(books.own_before, fills)
    else:
        free = unclaimed(account_after.totals(), books.other_sleeves.values())
        own_after = {ccy: free.get(ccy, ZERO) for ccy in books.ccys}
    prices_after = prices_in(books.quote, tickers, [*books.ccys, *own_after, *books.own_before])
    costs = run_costs(fills, plan.mids, prices_after)
    mids = plan.mids or books.prices_before
    weights_after = portfolio_weights(own_after, mids, books.quote, books.ccys)
    closing = Closing(account_after=account_after, own_after=own_after, prices_after=prices_after, costs=costs,
                      weights_after=weights_after, projected=projected)
    if not dry:
        row = LedgerRow(
            run_id=run_id, spec=books.spec, account=books.account, kind=kind, quote_ccy=books.quote, status=status,
            started_ms=books.started_ms, ended_ms=int(time.time() * 1000),
            equity_before=books.account_before.equity, equity_after=account_after.equity,
            value_before=books.value_before, value_after=value_of(own_after, prices_after),
            traded_notional=costs.traded_notional, fees=costs.fees, shortfall_bps=costs.shortfall_bps,
            drift_before=max_drift(plan.weights_before, plan.targets), drift_after=max_drift(weights_after,
                                                                                              plan.targets),
            intended=intended, placed=placed, filled=filled_orders, holdings_before=books.own_before,
            holdings_after=own_after, prices_after=prices_after, venue=venue_label, detail=detail[:2000])
        sleeve = (books.capital.text(), own_after) if books.capital is not None else None
        ledger.record_run(row, fills, sleeve, protections=_armed(plan, fills))
        closing.row = row
    closing.history = ledger.history(books.spec, books.account)
    closing.sleeves = {**books.other_sleeves, **({books.spec: own_after} if books.capital is not None else {})}
    return closing


def _armed(plan: Plan, fills: Sequence[Fill]) -> list[tuple[str, str]]:
    """(instId, algoClOrdId) of the protections this run's fills armed (``strategy.protect``)."""
    if not any(o.tp_sl is not None for o in plan.orders):
        return []
    return sorted({(f.inst_id, attachment_id(f.cl_ord_id)) for f in fills if f.cl_ord_id})


@dataclass(frozen=True)
class Performance:
    """A spec's history on one account: the NAV after each run against holding its start."""

    times: list[datetime]
    nav: list[Decimal]
    held: list[Decimal]
    fees: Decimal
    turnover: Decimal
    runs: int

    @property
    def pnl(self) -> Decimal | None:
        return self.nav[-1] - self.nav[0] if self.nav else None

    @property
    def vs_held(self) -> Decimal | None:
        return self.nav[-1] - self.held[-1] if self.nav else None


def performance(history: Sequence[LedgerRow]) -> Performance:
    """NAV series, P&L against holding the first run's starting holdings, fees and turnover."""
    if not history:
        return Performance([], [], [], ZERO, ZERO, 0)
    start = history[0]
    times = [datetime.fromtimestamp(start.started_ms / 1000, UTC)]
    nav = [start.value_before]
    held = [start.value_before]
    for row in history:
        times.append(datetime.fromtimestamp(row.ended_ms / 1000, UTC))
        nav.append(row.value_after)
        held.append(value_of(start.holdings_before, row.prices_after))
    return Performance(times=times, nav=nav, held=held, fees=sum((r.fees for r in history), ZERO),
                       turnover=sum((r.traded_notional for r in history), ZERO), runs=len(history))


def sleeve_table(account: AccountValue, sleeves: Mapping[str, Mapping[str, Decimal]]
                 ) -> list[tuple[str, Decimal]]:
    """Each sleeve's value at the account's prices, then what no sleeve holds: they add up to
    the account's equity."""
    prices = account.prices()
    rows = [(name, value_of(holdings, prices)) for name, holdings in sorted(sleeves.items())]
    rest = account.equity - sum((v for _, v in rows), ZERO)
    return [*rows, ("(not in a sleeve)", rest)]
