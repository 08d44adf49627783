"""The ledger: one row per run with what it was worth and what it cost, its fills, and the sleeves.

It lives in the run journal's database (``okx_wire.journal``: SQLite by default, PostgreSQL for
workers that share it), so a strategy's history is wherever its orders' history is. The tables:

* ``okx_flows_ledger``: per trading run, the account's equity and the spec's own value before and
  after, traded notional, fees in quote, implementation shortfall against the plan's mids, drift
  before and after, orders intended / placed / filled, and the holdings and prices they were
  computed from (so ``okx-flows report`` recomputes P&L against holding the starting portfolio
  without asking the venue);
* ``okx_flows_fills``: every fill a run traded, as the venue reported it (the ledger's costs are
  sums over these rows, which is how a report reconciles with the venue);
* ``okx_flows_sleeves``: each spec's own holdings in a shared account (``okx_strategies.sleeve``);
* ``okx_flows_protections``: protections of filled orders whose outcome is not known yet;
* ``okx_flows_breaker_resets``: when each spec's circuit breaker was last reset.

A run's row, its fills and its sleeve are written in one transaction, inside the account lock
(one trading run per account), so sleeves are never read half-updated. Amounts are stored as
decimal text: nothing is ever rounded through a float. Nothing here holds a secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa

from okx_wire.journal import Journal, create_tables, open_journal, orders_table, runs_table
from okx_wire.models import Fill
from okx_wire.runtime import RUNTIME, Registry

_metadata = sa.MetaData()
_money = sa.String(48)

ledger_table = sa.Table(
    "okx_flows_ledger", _metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("spec", sa.String(64), nullable=False),
    sa.Column("account", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("venue", sa.String(120), nullable=False, default=""),
    sa.Column("quote_ccy", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_ms", sa.BigInteger, nullable=False),
    sa.Column("ended_ms", sa.BigInteger, nullable=False),
    sa.Column("equity_before", _money, nullable=False),
    sa.Column("equity_after", _money, nullable=False),
    sa.Column("value_before", _money, nullable=False),
    sa.Column("value_after", _money, nullable=False),
    sa.Column("traded_notional", _money, nullable=False),
    sa.Column("fees", _money, nullable=False),
    sa.Column("shortfall_bps", _money),
    sa.Column("drift_before", _money),
    sa.Column("drift_after", _money),
    sa.Column("intended", sa.Integer, nullable=False),
    sa.Column("placed", sa.Integer, nullable=False),
    sa.Column("filled", sa.Integer, nullable=False),
    sa.Column("holdings_before", sa.Text, nullable=False),
    sa.Column("holdings_after", sa.Text, nullable=False),
    sa.Column("prices_after", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Index("okx_flows_ledger_by_spec", "spec", "account", "ended_ms"),
)
fills_table = sa.Table(
    "okx_flows_fills", _metadata,
    sa.Column("inst_id", sa.String(40), primary_key=True),
    sa.Column("trade_id", sa.String(40), primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("spec", sa.String(64), nullable=False),
    sa.Column("account", sa.String(32), nullable=False),
    sa.Column("ord_id", sa.String(40), nullable=False),
    sa.Column("cl_ord_id", sa.String(40), nullable=False, default=""),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("px", _money, nullable=False),
    sa.Column("sz", _money, nullable=False),
    sa.Column("fee", _money, nullable=False),
    sa.Column("fee_ccy", sa.String(16), nullable=False, default=""),
    sa.Column("ts_ms", sa.BigInteger),
    sa.Index("okx_flows_fills_by_run", "run_id"),
)
#: The TP/SL protections of the spec's filled orders (``strategy.protect``) whose outcome is not
#: known yet: when the venue triggers one, it places an order of its own (no clOrdId of ours) and
#: that order's fills belong to the spec's sleeve like any other.
protections_table = sa.Table(
    "okx_flows_protections", _metadata,
    sa.Column("algo_cl_ord_id", sa.String(40), primary_key=True),
    sa.Column("spec", sa.String(64), nullable=False),
    sa.Column("account", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("inst_id", sa.String(40), nullable=False),
    #: The start of the run that placed the protected order: its child can fill from then on.
    sa.Column("armed_ms", sa.BigInteger, nullable=False),
    sa.Index("okx_flows_protections_by_spec", "spec", "account"),
)
sleeves_table = sa.Table(
    "okx_flows_sleeves", _metadata,
    sa.Column("account", sa.String(32), primary_key=True),
    sa.Column("spec", sa.String(64), primary_key=True),
    sa.Column("capital", sa.String(80), nullable=False),
    sa.Column("holdings", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)
#: When each spec's circuit breaker was last reset on an account (``okx_strategies.breaker``):
#: runs that ended before it no longer count towards its high-water mark or its day.
breaker_resets_table = sa.Table(
    "okx_flows_breaker_resets", _metadata,
    sa.Column("account", sa.String(32), primary_key=True),
    sa.Column("spec", sa.String(64), primary_key=True),
    sa.Column("reset_ms", sa.BigInteger, nullable=False),
)

ZERO: Final = Decimal(0)


def _dumps(values: Mapping[str, Decimal]) -> str:
    return json.dumps({k: str(v) for k, v in sorted(values.items())}, separators=(",", ":"))


def _loads(text: str | None) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in json.loads(text or "{}").items()}


def _dec(text: str | None) -> Decimal | None:
    return None if text is None or text == "" else Decimal(text)


@dataclass(frozen=True)
class LedgerRow:
    """One trading run's figures, all in ``quote_ccy`` (drifts and shortfall are shares / bps)."""

    run_id: str
    spec: str
    account: str
    kind: str
    quote_ccy: str
    status: str
    started_ms: int
    ended_ms: int
    equity_before: Decimal
    equity_after: Decimal
    value_before: Decimal
    value_after: Decimal
    traded_notional: Decimal
    fees: Decimal
    shortfall_bps: Decimal | None
    drift_before: Decimal | None
    drift_after: Decimal | None
    intended: int
    placed: int
    filled: int
    holdings_before: dict[str, Decimal] = field(default_factory=dict)
    holdings_after: dict[str, Decimal] = field(default_factory=dict)
    prices_after: dict[str, Decimal] = field(default_factory=dict)
    venue: str = ""
    detail: str = ""

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        for key in ("holdings_before", "holdings_after", "prices_after"):
            row[key] = _dumps(row[key])
        for key, value in list(row.items()):
            if isinstance(value, Decimal):
                row[key] = str(value)
        return row


def _ledger_row(row: Any) -> LedgerRow:
    return LedgerRow(
        run_id=row.run_id, spec=row.spec, account=row.account, kind=row.kind, quote_ccy=row.quote_ccy,
        status=row.status, started_ms=row.started_ms, ended_ms=row.ended_ms,
        equity_before=Decimal(row.equity_before), equity_after=Decimal(row.equity_after),
        value_before=Decimal(row.value_before), value_after=Decimal(row.value_after),
        traded_notional=Decimal(row.traded_notional), fees=Decimal(row.fees), shortfall_bps=_dec(row.shortfall_bps),
        drift_before=_dec(row.drift_before), drift_after=_dec(row.drift_after), intended=row.intended,
        placed=row.placed, filled=row.filled, holdings_before=_loads(row.holdings_before),
        holdings_after=_loads(row.holdings_after), prices_after=_loads(row.prices_after), venue=row.venue or "",
        detail=row.detail or "")


def _fill_row(run_id: str, spec: str, account: str, f: Fill) -> dict[str, Any]:
    return {"inst_id": f.inst_id, "trade_id": f.trade_id, "run_id": run_id, "spec": spec, "account": account,
            "ord_id": f.ord_id, "cl_ord_id": f.cl_ord_id, "side": f.side, "px": str(f.fill_px),
            "sz": str(f.fill_sz), "fee": str(f.fee or ZERO), "fee_ccy": f.fee_ccy, "ts_ms": f.ts}


def _fill(row: Any) -> Fill:
    return Fill(inst_id=row.inst_id, trade_id=row.trade_id, ord_id=row.ord_id, cl_ord_id=row.cl_ord_id,
                side=row.side, fill_px=Decimal(row.px), fill_sz=Decimal(row.sz), fee=Decimal(row.fee),
                fee_ccy=row.fee_ccy, ts=row.ts_ms)


def _continued(first: LedgerRow, again: LedgerRow) -> LedgerRow:
    """A flow run's row after a rerun: it began where the first attempt began, and its costs are
    both attempts' (the rerun counts only fills the first attempt had not recorded)."""
    return replace(again, started_ms=first.started_ms, equity_before=first.equity_before,
                   value_before=first.value_before, holdings_before=first.holdings_before,
                   traded_notional=first.traded_notional + again.traded_notional, fees=first.fees + again.fees,
                   drift_before=first.drift_before, intended=max(first.intended, again.intended))


@dataclass(frozen=True)
class SleeveRecord:
    account: str
    spec: str
    capital: str
    holdings: dict[str, Decimal]
    run_id: str
    updated_ms: int


class Ledger:
    """The ledger tables of one journal database."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._engine = journal.engine
        create_tables(self._engine, _metadata)

    def __repr__(self) -> str:
        return f"Ledger({self.journal.display_url!r})"

    def record_run(self, row: LedgerRow, fills: Sequence[Fill], sleeve: tuple[str, Mapping[str, Decimal]] | None,
                   protections: Sequence[tuple[str, str]] = ()) -> None:
        """The run's row, its fills and (for a spec with a sleeve) the sleeve after it, at once.
        A rerun of the same flow run replaces its row; a fill any run recorded already is kept once."""
        now = int(time.time() * 1000)
        with self._engine.begin() as db:
            earlier = db.execute(sa.select(ledger_table).where(ledger_table.c.run_id == row.run_id)).first()
            if earlier is not None:  # a rerun of the same flow run: one row, from the first start
                row = _continued(_ledger_row(earlier), row)
                db.execute(ledger_table.delete().where(ledger_table.c.run_id == row.run_id))
            db.execute(ledger_table.insert().values(row.as_row()))
            known = self._known(db, fills)
            fresh = [_fill_row(row.run_id, row.spec, row.account, f) for f in fills
                     if (f.inst_id, f.trade_id) not in known]
            if fresh:
                db.execute(fills_table.insert(), fresh)
            for inst_id, algo_cl_ord_id in protections:
                t = protections_table
                if not db.execute(sa.select(t.c.spec).where(t.c.algo_cl_ord_id == algo_cl_ord_id)).first():
                    db.execute(t.insert().values(algo_cl_ord_id=algo_cl_ord_id, spec=row.spec, account=row.account,
                                                 run_id=row.run_id, inst_id=inst_id, armed_ms=row.started_ms))
            if sleeve is not None:
                capital, holdings = sleeve
                values = {"capital": capital, "holdings": _dumps(holdings), "run_id": row.run_id, "updated_ms": now}
                key = (sleeves_table.c.account == row.account) & (sleeves_table.c.spec == row.spec)
                if db.execute(sa.select(sleeves_table.c.spec).where(key)).first():
                    db.execute(sleeves_table.update().where(key).values(values))
                else:
                    db.execute(sleeves_table.insert().values(account=row.account, spec=row.spec, **values))

    @staticmethod
    def _known(db: sa.Connection, fills: Sequence[Fill]) -> set[tuple[str, str]]:
        wanted = {(f.inst_id, f.trade_id) for f in fills}
        if not wanted:
            return set()
        t = fills_table
        query = sa.select(t.c.inst_id, t.c.trade_id).where(t.c.trade_id.in_(sorted({tid for _, tid in wanted})))
        return {(r.inst_id, r.trade_id) for r in db.execute(query)} & wanted

    def unrecorded_pairs(self, pairs: Sequence[tuple[str, Fill]]) -> list[tuple[str, Fill]]:
        """``unrecorded`` over (run id, fill) pairs."""
        fresh = {(f.inst_id, f.trade_id) for f in self.unrecorded([f for _, f in pairs])}
        return [(run_id, f) for run_id, f in pairs if (f.inst_id, f.trade_id) in fresh]

    def unrecorded(self, fills: Sequence[Fill]) -> list[Fill]:
        """The fills not recorded by any run yet: a rerun of a run (or a DCA slot's second run,
        which adopts the slot's order) must not count a fill twice in a sleeve or a ledger."""
        with self._engine.connect() as db:
            known = self._known(db, fills)
        return [f for f in fills if (f.inst_id, f.trade_id) not in known]

    def history(self, spec: str, account: str | None = None, *, since_ms: int | None = None) -> list[LedgerRow]:
        """A spec's runs, oldest first (on one account, or every account it ran on)."""
        t = ledger_table
        query = sa.select(t).where(t.c.spec == spec)
        if account is not None:
            query = query.where(t.c.account == account)
        if since_ms is not None:
            query = query.where(t.c.ended_ms >= since_ms)
        with self._engine.connect() as db:
            return [_ledger_row(r) for r in db.execute(query.order_by(t.c.ended_ms, t.c.run_id))]

    def first(self, spec: str, account: str) -> LedgerRow | None:
        """The spec's first run on the account: its holdings before are the portfolio "held"."""
        t = ledger_table
        query = sa.select(t).where(t.c.spec == spec, t.c.account == account).order_by(t.c.ended_ms).limit(1)
        with self._engine.connect() as db:
            found = db.execute(query).first()
        return _ledger_row(found) if found else None

    def fills_by_run(self, run_ids: Sequence[str]) -> dict[str, list[Fill]]:
        """The recorded fills of these runs (late fills included), per run, oldest first."""
        found: dict[str, list[Fill]] = {}
        t = fills_table
        with self._engine.connect() as db:
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start:start + 500])
                for r in db.execute(sa.select(t).where(t.c.run_id.in_(chunk)).order_by(t.c.ts_ms, t.c.trade_id)):
                    found.setdefault(r.run_id, []).append(_fill(r))
        return found

    def unrecorded_fills(self, spec: str, account: str, *, since_ms: int) -> dict[str, tuple[str, str, int]]:
        """Orders of the spec's runs since ``since_ms`` that the journal saw fill more than the
        fills recorded here (a resting order that filled after its run ended): ordId ->
        (run id, instId, run start). Their fills belong to the spec's sleeve all the same."""
        o, r, f = orders_table, runs_table, fills_table
        query = (sa.select(o.c.run_id, o.c.ord_id, o.c.inst_id, o.c.filled, r.c.started_ms)
                 .join(r, r.c.run_id == o.c.run_id)
                 .where(r.c.spec == spec, r.c.account == account, r.c.started_ms >= since_ms,
                        o.c.ord_id.is_not(None), o.c.filled != "0"))
        with self._engine.connect() as db:
            filled = {row.ord_id: row for row in db.execute(query)}
            if not filled:
                return {}
            recorded: dict[str, Decimal] = {}
            for row in db.execute(sa.select(f.c.ord_id, f.c.sz).where(f.c.ord_id.in_(list(filled)))):
                recorded[row.ord_id] = recorded.get(row.ord_id, ZERO) + Decimal(row.sz)
        return {ord_id: (row.run_id, row.inst_id, row.started_ms) for ord_id, row in filled.items()
                if Decimal(row.filled) > recorded.get(ord_id, ZERO)}

    def open_protections(self, spec: str, account: str) -> list[tuple[str, str, str, int]]:
        """(algoClOrdId, run id, instId, armed ms) of the spec's protections not yet settled."""
        t = protections_table
        query = sa.select(t.c.algo_cl_ord_id, t.c.run_id, t.c.inst_id, t.c.armed_ms).where(
            t.c.spec == spec, t.c.account == account).order_by(t.c.armed_ms)
        with self._engine.connect() as db:
            return [(r.algo_cl_ord_id, r.run_id, r.inst_id, r.armed_ms) for r in db.execute(query)]

    def settle_protections(self, algo_cl_ord_ids: Sequence[str]) -> None:
        """Protections whose outcome is final (triggered and filled, cancelled or failed)."""
        if algo_cl_ord_ids:
            with self._engine.begin() as db:
                db.execute(protections_table.delete().where(protections_table.c.algo_cl_ord_id.in_(
                    list(algo_cl_ord_ids))))

    def add_fills(self, spec: str, account: str, fills: Sequence[tuple[str, Fill]]) -> None:
        """(run id, fill) pairs found after their run ended, each recorded once."""
        with self._engine.begin() as db:
            for run_id, fill in fills:
                exists = db.execute(sa.select(fills_table.c.trade_id).where(
                    fills_table.c.inst_id == fill.inst_id, fills_table.c.trade_id == fill.trade_id)).first()
                if not exists:
                    db.execute(fills_table.insert().values(_fill_row(run_id, spec, account, fill)))

    def sleeves(self, account: str) -> list[SleeveRecord]:
        t = sleeves_table
        with self._engine.connect() as db:
            return [SleeveRecord(account=r.account, spec=r.spec, capital=r.capital, holdings=_loads(r.holdings),
                                 run_id=r.run_id, updated_ms=r.updated_ms)
                    for r in db.execute(sa.select(t).where(t.c.account == account).order_by(t.c.spec))]

    def breaker_reset_ms(self, spec: str, account: str) -> int | None:
        t = breaker_resets_table
        with self._engine.connect() as db:
            found = db.execute(sa.select(t.c.reset_ms).where(t.c.account == account, t.c.spec == spec)).scalar()
        return int(found) if found is not None else None

    def reset_breaker(self, spec: str, account: str, now_ms: int | None = None) -> int:
        """Start a new high-water mark and day for the spec's breaker on the account, from now."""
        when = int(time.time() * 1000) if now_ms is None else now_ms
        t = breaker_resets_table
        key = (t.c.account == account) & (t.c.spec == spec)
        with self._engine.begin() as db:
            if db.execute(sa.select(t.c.spec).where(key)).first():
                db.execute(t.update().where(key).values(reset_ms=when))
            else:
                db.execute(t.insert().values(account=account, spec=spec, reset_ms=when))
        return when

    def specs(self) -> list[str]:
        with self._engine.connect() as db:
            return [r.spec for r in db.execute(sa.select(ledger_table.c.spec).distinct().order_by(ledger_table.c.spec))]


_LEDGERS: Final[Registry[str, Ledger]] = RUNTIME.registry("ledgers")


def open_ledger(url: str | None = None) -> Ledger:
    """The process's ledger in the journal database ``open_journal(url)`` opens."""
    journal = open_journal(url)
    return _LEDGERS.get(journal.url, lambda: Ledger(journal))
