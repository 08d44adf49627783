"""The signals table: every signal a receiver accepted or refused, in the run journal's database.

Why a table and not memory: a sender may deliver one signal twice (a retry, a network replay,
an attacker), and the receiver may restart in between. The row keyed by (spec, signal id) is
the claim: inserting it is atomic on SQLite and PostgreSQL alike, so exactly one delivery of a
signal ever owns it, in any process. The row then records what became of the signal, and it is
the ``okx_wire.placement.SendLog`` of its order: the send's ``expTime`` is written before the
request leaves, so a later delivery (or a restarted executor) waits that out, looks the order up
by its clOrdId and adopts it instead of placing it again.

States: ``accepted`` (claimed, nothing sent), ``executing`` (an executor holds it until
``lease_ms``), ``sent`` (a send left; outcome unknown until answered), ``placed`` (the venue has
the order), ``refused`` (by the spec's checks or by the venue: nothing traded), ``unknown`` (the
send's outcome could not be learned; the next delivery looks it up).

Refusals before authentication (bad signature, malformed body) claim nothing (an unauthenticated
request must not be able to burn a signal id); they go to ``okx_flows_signal_refusals``.

No secret is ever written here: a ``Signal`` holds none, and refusal reasons never quote a body.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

import sqlalchemy as sa

from okx_wire.journal import Journal, create_tables, open_journal
from okx_wire.models import Order
from okx_wire.orders import OrderRequest
from okx_wire.runtime import RUNTIME, Registry

SignalState = Literal["accepted", "executing", "sent", "placed", "refused", "unknown"]
#: States after which a repeat of the signal id is a replay: the signal is done.
FINAL_STATES: Final = frozenset({"placed", "refused"})
#: How long an executor may hold a signal before another delivery may take it over.
LEASE_MS: Final = 30_000

_metadata = sa.MetaData()
signals_table = sa.Table(
    "okx_flows_signals", _metadata,
    sa.Column("spec", sa.String(64), primary_key=True),
    sa.Column("signal_id", sa.String(64), primary_key=True),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Column("signal_ms", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("inst_id", sa.String(40), nullable=False),
    sa.Column("price", sa.String(40)),
    sa.Column("path", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("lease_ms", sa.BigInteger),
    sa.Column("account", sa.String(32)),
    sa.Column("cl_ord_id", sa.String(32)),
    sa.Column("side", sa.String(4)),
    sa.Column("sz", sa.String(40)),
    sa.Column("px", sa.String(40)),
    sa.Column("exp_ms", sa.BigInteger),
    sa.Column("ord_id", sa.String(40)),
    sa.Column("filled", sa.String(40)),
    sa.Column("avg_px", sa.String(40)),
    sa.Column("fee", sa.String(40)),
    sa.Column("fee_ccy", sa.String(16)),
    sa.Column("settled", sa.Boolean, nullable=False, default=False),
    sa.Column("reason", sa.Text),
    sa.Column("run_id", sa.String(64)),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("okx_flows_signals_by_clordid", "cl_ord_id"),
    sa.Index("okx_flows_signals_by_time", "spec", "received_ms"),
)
refusals_table = sa.Table(
    "okx_flows_signal_refusals", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("spec", sa.String(64), nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("remote", sa.String(64)),
    sa.Index("okx_flows_signal_refusals_by_time", "spec", "received_ms"),
)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None or text == "" else Decimal(text)


@dataclass(frozen=True)
class SignalRecord:
    """One row of the signals table."""

    spec: str
    signal_id: str
    received_ms: int
    signal_ms: int
    action: str
    inst_id: str
    path: str
    state: str
    cl_ord_id: str | None = None
    side: str | None = None
    sz: Decimal | None = None
    px: Decimal | None = None
    exp_ms: int | None = None
    ord_id: str | None = None
    filled: Decimal | None = None
    avg_px: Decimal | None = None
    fee: Decimal | None = None
    fee_ccy: str = ""
    settled: bool = False
    reason: str = ""
    account: str = ""
    lease_ms: int | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def _record(row: Any) -> SignalRecord:
    return SignalRecord(spec=row.spec, signal_id=row.signal_id, received_ms=row.received_ms, signal_ms=row.signal_ms,
                        action=row.action, inst_id=row.inst_id, path=row.path, state=row.state,
                        cl_ord_id=row.cl_ord_id, side=row.side, sz=_dec(row.sz), px=_dec(row.px), exp_ms=row.exp_ms,
                        ord_id=row.ord_id, filled=_dec(row.filled), avg_px=_dec(row.avg_px), fee=_dec(row.fee),
                        fee_ccy=row.fee_ccy or "", settled=bool(row.settled), reason=row.reason or "",
                        account=row.account or "", lease_ms=row.lease_ms)


@dataclass(frozen=True)
class Refused:
    """One refusal before authentication (``okx_flows_signal_refusals``)."""

    spec: str
    received_ms: int
    status: int
    reason: str
    remote: str


class SignalStore:
    """The signals tables in one journal database; open it with ``open_signal_store``."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._engine = journal.engine
        create_tables(self._engine, _metadata)

    def __repr__(self) -> str:
        return f"SignalStore({self.journal.display_url!r})"

    # -- claiming -----------------------------------------------------------------------------

    def claim(self, *, spec: str, signal_id: str, signal_ms: int, action: str, inst_id: str, price: str | None,
              path: str) -> tuple[bool, SignalRecord]:
        """Insert the signal's row (``accepted``); (True, row) if this call made it, else
        (False, the row an earlier delivery made). Atomic: of two concurrent deliveries, one wins."""
        now = _now_ms()
        values = {"spec": spec, "signal_id": signal_id, "received_ms": now, "signal_ms": signal_ms, "action": action,
                  "inst_id": inst_id, "price": price, "path": path, "state": "accepted", "settled": False,
                  "updated_ms": now}
        try:
            with self._engine.begin() as db:
                db.execute(signals_table.insert().values(**values))
            return True, SignalRecord(spec=spec, signal_id=signal_id, received_ms=now, signal_ms=signal_ms,
                                      action=action, inst_id=inst_id, path=path, state="accepted")
        except sa.exc.IntegrityError:
            found = self.get(spec, signal_id)
            assert found is not None, "an integrity error on insert means the row exists"
            return False, found

    def take(self, spec: str, signal_id: str, *, run_id: str = "") -> SignalRecord | None:
        """Hold the signal for execution (``executing`` until a lease runs out), atomically: a
        row ``accepted``, or one whose earlier holder's lease has run out. None: another holder
        has it (or it is done)."""
        t, now = signals_table, _now_ms()
        free = sa.or_(t.c.state == "accepted",
                      sa.and_(t.c.state.in_(["executing", "sent", "unknown"]),
                              sa.or_(t.c.lease_ms.is_(None), t.c.lease_ms < now)))
        with self._engine.begin() as db:
            done = db.execute(t.update().where(t.c.spec == spec, t.c.signal_id == signal_id, free)
                              .values(lease_ms=now + LEASE_MS, run_id=run_id or None, updated_ms=now))
            if done.rowcount != 1:
                return None
            row = db.execute(sa.select(t).where(t.c.spec == spec, t.c.signal_id == signal_id)).first()
            db.execute(t.update().where(t.c.spec == spec, t.c.signal_id == signal_id, t.c.state == "accepted")
                       .values(state="executing"))
        return _record(row)

    def get(self, spec: str, signal_id: str) -> SignalRecord | None:
        t = signals_table
        with self._engine.connect() as db:
            row = db.execute(sa.select(t).where(t.c.spec == spec, t.c.signal_id == signal_id)).first()
        return _record(row) if row else None

    def signals(self, spec: str) -> list[SignalRecord]:
        """Every remembered signal of ``spec``, oldest first."""
        t = signals_table
        with self._engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.spec == spec).order_by(t.c.received_ms, t.c.signal_id))
            return [_record(row) for row in rows]

    # -- outcomes -----------------------------------------------------------------------------

    def _update(self, spec: str, signal_id: str, **values: Any) -> None:
        t = signals_table
        with self._engine.begin() as db:
            db.execute(t.update().where(t.c.spec == spec, t.c.signal_id == signal_id)
                       .values(updated_ms=_now_ms(), **values))

    def intend(self, spec: str, signal_id: str, order: OrderRequest, account: str) -> None:
        """The order the signal will send (before it is sent)."""
        self._update(spec, signal_id, cl_ord_id=order.cl_ord_id, side=order.side, sz=str(order.sz),
                     px=None if order.px is None else str(order.px), account=account)

    def refuse(self, spec: str, signal_id: str, reason: str) -> None:
        """Nothing traded, for ``reason`` (the spec's checks or the venue's answer)."""
        self._update(spec, signal_id, state="refused", reason=reason[:1000], lease_ms=None)

    def placed(self, spec: str, signal_id: str, ord_id: str, note: str = "") -> None:
        self._update(spec, signal_id, state="placed", ord_id=ord_id, lease_ms=None, reason=note[:1000])

    def unknown(self, spec: str, signal_id: str, error: str) -> None:
        """The send's outcome could not be learned: the next delivery looks the order up first."""
        self._update(spec, signal_id, state="unknown", reason=error[:1000], lease_ms=None)

    def record_order(self, spec: str, signal_id: str, order: Order) -> None:
        """What the venue says of the signal's order now (its fill, once it is final)."""
        self._update(spec, signal_id, filled=str(order.filled), avg_px=None if order.avg_px is None else
                     str(order.avg_px), fee=None if order.fee is None else str(order.fee), fee_ccy=order.fee_ccy,
                     settled=order.is_final)

    def sends(self, spec: str, signal_id: str) -> SignalSends:
        return SignalSends(self, spec, signal_id)

    # -- the spec's books -------------------------------------------------------------------------

    def unsettled(self, spec: str) -> list[SignalRecord]:
        """Placed orders whose final fill is not recorded yet."""
        t = signals_table
        with self._engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.spec == spec, t.c.state == "placed", t.c.settled.is_(False)))
            return [_record(row) for row in rows]

    def holdings(self, spec: str, base: str, quote: str) -> tuple[Decimal, Decimal]:
        """(base bought net of sells and base fees, quote spent net of sells and quote fees) over
        the spec's settled signal orders of ``base``-``quote``."""
        t = signals_table
        base_total, quote_spent = Decimal(0), Decimal(0)
        with self._engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.spec == spec, t.c.inst_id == f"{base}-{quote}",
                                                 t.c.state == "placed"))
            for row in rows:
                filled, avg, fee = _dec(row.filled) or Decimal(0), _dec(row.avg_px) or Decimal(0), _dec(row.fee)
                fee = fee or Decimal(0)  # OKX reports a charged fee as a negative amount
                sign = 1 if row.side == "buy" else -1
                base_total += sign * filled + (fee if row.fee_ccy == base else 0)
                quote_spent += sign * filled * avg - (fee if row.fee_ccy == quote else 0)
        return base_total, quote_spent

    def quote_spent(self, spec: str, quote: str) -> Decimal:
        """Quote the spec's signal orders spent, net, over every instrument (the sleeve's outflow)."""
        t = signals_table
        with self._engine.connect() as db:
            bases = {row.inst_id.split("-", 1)[0] for row in db.execute(
                sa.select(t.c.inst_id).where(t.c.spec == spec, t.c.state == "placed").distinct())}
        return sum((self.holdings(spec, base, quote)[1] for base in bases), Decimal(0))

    # -- refusals before authentication, and forgetting ------------------------------------------------

    def refusal(self, spec: str, status: int, reason: str, remote: str = "") -> None:
        with self._engine.begin() as db:
            db.execute(refusals_table.insert().values(spec=spec, received_ms=_now_ms(), status=status,
                                                      reason=reason[:1000], remote=remote[:64]))

    def refusals(self, spec: str) -> list[Refused]:
        t = refusals_table
        with self._engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.spec == spec).order_by(t.c.id))
            return [Refused(r.spec, r.received_ms, r.status, r.reason, r.remote or "") for r in rows]

    def forget(self, spec: str, older_than_ms: int) -> int:
        """Forget what is older than ``older_than_ms`` and traded nothing (refused signals and
        refusals). Rows that traded stay: they are the spec's books (its position)."""
        s, r = signals_table, refusals_table
        with self._engine.begin() as db:
            gone = db.execute(s.delete().where(s.c.spec == spec, s.c.received_ms < older_than_ms,
                                               s.c.state == "refused")).rowcount
            gone += db.execute(r.delete().where(r.c.spec == spec, r.c.received_ms < older_than_ms)).rowcount
        return int(gone)


class SignalSends:
    """One signal's row as the ``SendLog`` of its order (``okx_wire.placement``)."""

    def __init__(self, store: SignalStore, spec: str, signal_id: str) -> None:
        self.store, self.spec, self.signal_id = store, spec, signal_id

    def __repr__(self) -> str:
        return f"SignalSends({self.spec!r}, {self.signal_id!r})"

    def last_send_ms(self, cl_ord_id: str) -> int | None:
        row = self.store.get(self.spec, self.signal_id)
        return row.exp_ms if row is not None and row.cl_ord_id == cl_ord_id else None

    def record_sends(self, orders: Sequence[OrderRequest], exp_ms: int) -> None:
        self.store._update(self.spec, self.signal_id, state="sent", exp_ms=exp_ms)

    def record_refusal(self, orders: Sequence[OrderRequest], error: str) -> None:
        self.store.refuse(self.spec, self.signal_id, f"refused by the venue: {error}")


_STORES: Final[Registry[str, SignalStore]] = RUNTIME.registry("signal_stores")


def open_signal_store(url: str | None = None) -> SignalStore:
    """The process's signals tables, in the run journal's database (``open_journal``)."""
    journal = open_journal(url)
    return _STORES.get(journal.url, lambda: SignalStore(journal))
