"""The run journal: a durable record of every order a run meant to send and what became of it.

Why it exists: an exchange answer can be lost, a process can be killed, and a user can rerun a
spec from another terminal. What the exchange knows is the truth, but only the journal knows
which clOrdIds to ask about. So:

* an order's *intent* (run, leg, clOrdId, instrument, side, size, price) is written before it
  is sent, and the send itself (with its ``expTime``, in exchange time) is written before the
  request leaves: a crash at any point leaves a row that says "maybe sent, ask the exchange";
* outcomes are written as they become known (placed, refused, filled, cancelled, absent);
* the next run of the same spec on the same account reads the rows still open, looks their
  clOrdIds up, and plans from what it finds (``flows.reconcile``).

Rows hold no secret: the account is a digest (``account_id``), never a key. The default store
is SQLite in the user data directory; any SQLAlchemy URL works (``postgresql+psycopg://...``,
for example the PostgreSQL a Prefect server already uses), so several workers share one.

The journal implements ``okx_wire.placement.SendLog``: a resend in another process, or a
rerun days later, waits out the last send's ``expTime`` exactly like a retry in the same
process.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from okx_wire.errors import ConfigurationError
from okx_wire.models import Order
from okx_wire.orders import OrderRequest
from okx_wire.runtime import RUNTIME, Registry
from okx_wire.settings import ENV_JOURNAL_URL

RunStatus = Literal["running", "completed", "failed", "interrupted", "abandoned", "resumed"]
#: intended: recorded, not sent; sent: a send left, its outcome unknown until answered or
#: looked up; live: on the book; filled / canceled: final on the exchange; refused: the
#: exchange said no; absent: looked up once no send could still execute, and not there.
OrderState = Literal["intended", "sent", "live", "filled", "canceled", "refused", "absent"]
OPEN_STATES: Final = frozenset({"intended", "sent", "live"})
UNFINISHED_RUNS: Final = frozenset({"running", "failed", "interrupted"})

_metadata = sa.MetaData()
runs_table = sa.Table(
    "okx_flows_runs", _metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("spec", sa.String(64), nullable=False),
    sa.Column("account", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("slot", sa.String(40)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_ms", sa.BigInteger, nullable=False),
    sa.Column("ended_ms", sa.BigInteger),
    sa.Column("resumes", sa.String(64)),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Index("okx_flows_runs_by_spec", "spec", "account", "started_ms"),
)
orders_table = sa.Table(
    "okx_flows_orders", _metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("cl_ord_id", sa.String(32), primary_key=True),
    sa.Column("leg", sa.String(32), nullable=False),
    sa.Column("inst_id", sa.String(40), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("ord_type", sa.String(16), nullable=False),
    sa.Column("sz", sa.String(40), nullable=False),
    sa.Column("px", sa.String(40)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("exp_ms", sa.BigInteger),
    sa.Column("ord_id", sa.String(40)),
    sa.Column("filled", sa.String(40), nullable=False, default="0"),
    sa.Column("avg_px", sa.String(40)),
    sa.Column("error", sa.Text),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("okx_flows_orders_by_clordid", "cl_ord_id"),
)


def account_id(venue: str, uid: str) -> str:
    """A stable, non-secret name for one account on one venue (16 hex digits).

    ``venue`` is the normalised REST host (plus ``demo``), or the state file of an embedded
    simulator; ``uid`` is OKX's account uid (``account/config``), so two keys of one account
    share the journal and the one-run-per-account lock.
    """
    return hashlib.sha256(f"okx-flows-account\x1f{venue}\x1f{uid}".encode()).hexdigest()[:16]


def default_url() -> str:
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('okx-flows')) / 'journal.sqlite3'}"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    spec: str
    account: str
    kind: str
    status: str
    started_ms: int
    slot: str | None = None
    ended_ms: int | None = None
    resumes: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class OrderRecord:
    run_id: str
    cl_ord_id: str
    leg: str
    inst_id: str
    side: str
    ord_type: str
    sz: Decimal
    px: Decimal | None
    state: str
    exp_ms: int | None
    ord_id: str | None
    filled: Decimal
    avg_px: Decimal | None
    error: str | None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


def _now_ms() -> int:
    return int(time.time() * 1000)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None or value == "" else Decimal(value)


def _order_record(row: Any) -> OrderRecord:
    return OrderRecord(run_id=row.run_id, cl_ord_id=row.cl_ord_id, leg=row.leg, inst_id=row.inst_id, side=row.side,
                       ord_type=row.ord_type, sz=Decimal(row.sz), px=_dec(row.px), state=row.state,
                       exp_ms=row.exp_ms, ord_id=row.ord_id, filled=Decimal(row.filled or "0"),
                       avg_px=_dec(row.avg_px), error=row.error)


def _run_record(row: Any) -> RunRecord:
    return RunRecord(run_id=row.run_id, spec=row.spec, account=row.account, kind=row.kind, status=row.status,
                     started_ms=row.started_ms, slot=row.slot, ended_ms=row.ended_ms, resumes=row.resumes,
                     detail=row.detail or "")


def order_state(order: Order) -> OrderState:
    """The journal's word for an exchange order's state."""
    if not order.is_final:
        return "live"
    return "filled" if order.state == "filled" else "canceled"


class Journal:
    """One journal store (one SQLAlchemy engine). Thread-safe; open it with ``open_journal``."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._engine: Engine = _engine(url)
            create_tables(self._engine, _metadata)
        except sa.exc.ArgumentError as exc:
            raise ConfigurationError(f"journal URL is not a database URL ({exc.__class__.__name__}) -- set "
                                     f"{ENV_JOURNAL_URL} to e.g. sqlite:////path/journal.sqlite3") from None
        except (sa.exc.OperationalError, ModuleNotFoundError) as exc:
            raise ConfigurationError(f"cannot open the run journal at {self.display_url}: "
                                     f"{' '.join(str(exc).split())[:200]} -- check {ENV_JOURNAL_URL}") from None

    @property
    def display_url(self) -> str:
        """The URL with any password masked (safe to log)."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Journal({self.display_url!r})"

    @property
    def engine(self) -> Engine:
        """The store's engine: the ledger (``okx_wire.ledger``) keeps its tables in the same database."""
        return self._engine

    def close(self) -> None:
        """Release the engine's pooled connections (a journal from ``open_journal`` stays open)."""
        self._engine.dispose()

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self, run_id: str, *, spec: str, account: str, kind: str, slot: str | None = None,
                  resumes: str | None = None) -> None:
        """Record that a run started (again, for a Prefect rerun of the same flow run)."""
        t = runs_table
        with self._engine.begin() as db:
            exists = db.execute(sa.select(t.c.run_id).where(t.c.run_id == run_id)).first()
            if exists:
                db.execute(t.update().where(t.c.run_id == run_id).values(status="running", ended_ms=None))
            else:
                db.execute(t.insert().values(run_id=run_id, spec=spec, account=account, kind=kind, slot=slot,
                                             status="running", started_ms=_now_ms(), resumes=resumes, detail=""))

    def finish_run(self, run_id: str, status: RunStatus, detail: str = "") -> None:
        t = runs_table
        with self._engine.begin() as db:
            db.execute(t.update().where(t.c.run_id == run_id).values(status=status, ended_ms=_now_ms(),
                                                                       detail=detail[:2000]))

    def run(self, run_id: str) -> RunRecord | None:
        with self._engine.connect() as db:
            row = db.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).first()
        return _run_record(row) if row else None

    def runs(self, spec: str, account: str, *, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Runs of a spec on an account, newest first."""
        t = runs_table
        query = sa.select(t).where(t.c.spec == spec, t.c.account == account)
        if kind is not None:
            query = query.where(t.c.kind == kind)
        query = query.order_by(t.c.started_ms.desc(), t.c.run_id.desc()).limit(limit)
        with self._engine.connect() as db:
            return [_run_record(row) for row in db.execute(query)]

    # -- orders ---------------------------------------------------------------------------------

    def intend(self, run_id: str, legs: Iterable[tuple[str, OrderRequest]]) -> None:
        """Record each (leg, order) this run means to send, once (a rerun keeps the first rows)."""
        rows = [_intent_row(run_id, leg, order) for leg, order in legs]
        if not rows:
            return
        t = orders_table
        with self._engine.begin() as db:
            known = {r.cl_ord_id for r in db.execute(sa.select(t.c.cl_ord_id).where(t.c.run_id == run_id))}
            fresh = [row for row in rows if row["cl_ord_id"] not in known]
            if fresh:
                db.execute(t.insert(), fresh)

    def record_sends(self, run_id: str, orders: Sequence[OrderRequest], exp_ms: int) -> None:
        """Before the request leaves: these orders may exist from now on, and not after ``exp_ms``
        (exchange time) unless the exchange accepted them by then."""
        t = orders_table
        now = _now_ms()
        with self._engine.begin() as db:
            known = {r.cl_ord_id for r in db.execute(sa.select(t.c.cl_ord_id).where(t.c.run_id == run_id))}
            for order in orders:
                cl_ord_id = order.cl_ord_id or ""
                if cl_ord_id in known:
                    db.execute(t.update().where(t.c.run_id == run_id, t.c.cl_ord_id == cl_ord_id)
                               .values(state="sent", exp_ms=exp_ms, updated_ms=now))
                else:
                    db.execute(t.insert().values({**_intent_row(run_id, cl_ord_id, order), "state": "sent",
                                                  "exp_ms": exp_ms}))

    def last_send_ms(self, cl_ord_id: str) -> int | None:
        """The latest ``expTime`` any run sent this clOrdId with (None: never sent)."""
        t = orders_table
        with self._engine.connect() as db:
            return db.execute(sa.select(sa.func.max(t.c.exp_ms)).where(t.c.cl_ord_id == cl_ord_id)).scalar()

    def record(self, run_id: str, cl_ord_id: str, state: OrderState, *, ord_id: str | None = None,
               filled: Decimal | None = None, avg_px: Decimal | None = None, error: str | None = None) -> None:
        self.record_states(run_id, [(cl_ord_id, state, ord_id, error)], filled=filled, avg_px=avg_px)

    def record_states(self, run_id: str, states: Sequence[tuple[str, OrderState, str | None, str | None]], *,
                      filled: Decimal | None = None, avg_px: Decimal | None = None) -> None:
        """(clOrdId, state, ordId, error) for several orders of the run, in one transaction."""
        t = orders_table
        now = _now_ms()
        with self._engine.begin() as db:
            for cl_ord_id, state, ord_id, error in states:
                values = _state_values(state, now, ord_id=ord_id, filled=filled, avg_px=avg_px, error=error)
                db.execute(t.update().where(t.c.run_id == run_id, t.c.cl_ord_id == cl_ord_id).values(**values))

    def record_order(self, run_id: str, order: Order) -> None:
        """What the exchange says of one of this run's orders now."""
        self.record_orders(run_id, [order])

    def record_orders(self, run_id: str, orders: Sequence[Order]) -> None:
        """What the exchange says of these orders of the run now, in one transaction."""
        if not orders:
            return
        t = orders_table
        now = _now_ms()
        with self._engine.begin() as db:
            for order in orders:
                values = _state_values(order_state(order), now, ord_id=order.ord_id, filled=order.filled,
                                       avg_px=order.avg_px)
                db.execute(t.update().where(t.c.run_id == run_id, t.c.cl_ord_id == order.cl_ord_id).values(**values))

    def orders(self, run_id: str) -> list[OrderRecord]:
        t = orders_table
        with self._engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.run_id == run_id).order_by(t.c.updated_ms, t.c.leg))
            return [_order_record(row) for row in rows]

    def open_orders(self, spec: str, account: str, *, exclude_run: str | None = None) -> list[OrderRecord]:
        """Orders of earlier runs of this spec on this account whose outcome is not settled yet."""
        o, r = orders_table, runs_table
        query = (sa.select(o).join(r, r.c.run_id == o.c.run_id)
                 .where(r.c.spec == spec, r.c.account == account, o.c.state.in_(sorted(OPEN_STATES))))
        if exclude_run is not None:
            query = query.where(o.c.run_id != exclude_run)
        with self._engine.connect() as db:
            return [_order_record(row) for row in db.execute(query.order_by(r.c.started_ms, o.c.leg))]

    def bind(self, run_id: str) -> RunJournal:
        return RunJournal(self, run_id)


class RunJournal:
    """The journal seen from one run: what ``okx_wire.placement`` writes through (a ``SendLog``)."""

    def __init__(self, journal: Journal, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"RunJournal({self.journal.display_url!r}, run_id={self.run_id!r})"

    def last_send_ms(self, cl_ord_id: str) -> int | None:
        return self.journal.last_send_ms(cl_ord_id)

    def record_sends(self, orders: Sequence[OrderRequest], exp_ms: int) -> None:
        self.journal.record_sends(self.run_id, orders, exp_ms)

    def record_refusal(self, orders: Sequence[OrderRequest], error: str) -> None:
        self.journal.record_states(self.run_id, [(o.cl_ord_id or "", "refused", None, error) for o in orders])


def _state_values(state: str, now: int, *, ord_id: str | None = None, filled: Decimal | None = None,
                  avg_px: Decimal | None = None, error: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"state": state, "updated_ms": now}
    if ord_id:
        values["ord_id"] = ord_id
    if filled is not None:
        values["filled"] = str(filled)
    if avg_px is not None:
        values["avg_px"] = str(avg_px)
    if error is not None:
        values["error"] = error[:1000]
    return values


def _intent_row(run_id: str, leg: str, order: OrderRequest) -> dict[str, Any]:
    return {"run_id": run_id, "cl_ord_id": order.cl_ord_id or "", "leg": leg, "inst_id": order.inst_id,
            "side": order.side, "ord_type": order.ord_type, "sz": str(order.sz),
            "px": None if order.px is None else str(order.px), "state": "intended", "exp_ms": None,
            "filled": "0", "updated_ms": _now_ms()}


_SCHEMA_LOCK = 0x6F6B78666C6F7773  # "okxflows": the advisory lock that serialises schema creation


def create_tables(engine: Engine, metadata: sa.MetaData) -> None:
    """Create ``metadata``'s tables once, however many workers open a fresh database at once.

    ``create_all`` checks, then creates: two workers can both see no table and the second CREATE
    fails. SQLite makes ``CREATE ... IF NOT EXISTS`` atomic under its write lock. PostgreSQL does
    not (two such CREATEs still collide on the catalogue's unique index), so there a
    transaction-scoped advisory lock makes the check and the create one step.
    """
    with engine.begin() as db:
        if engine.dialect.name == "postgresql":
            db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        for table in metadata.sorted_tables:
            db.execute(sa.schema.CreateTable(table, if_not_exists=True))
            for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                db.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _engine(url: str) -> Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL: readers never block the one writer; several okx-flows processes share the file.
            # Switching a fresh file to WAL takes an exclusive lock and ignores the busy timeout,
            # so processes opening it together retry the switch until one has made it.
            cursor = dbapi_connection.cursor()
            for attempt in range(100):
                try:
                    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        cursor.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 99:
                        raise
                    time.sleep(0.02)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


_JOURNALS: Final[Registry[str, Journal]] = RUNTIME.registry("journals", close=Journal.close)


def open_journal(url: str | None = None) -> Journal:
    """The process's one ``Journal`` for ``url`` (default: the settings' ``journal_url``, from
    ``OKX_FLOWS_JOURNAL_URL``, else SQLite in the user data directory)."""
    url = url or RUNTIME.settings.journal_url or default_url()
    return _JOURNALS.get(url, lambda: Journal(url))
