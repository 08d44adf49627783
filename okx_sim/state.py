"""SQLite persistence of the account: balances, orders, fills, counters and the walk step.

Write-through: every engine operation that changes anything commits its changed rows in one
transaction before the reply is sent, so a SIGKILL can lose nothing that was acknowledged
(WAL with synchronous=NORMAL survives a process crash; only an OS crash can cost the last
transactions). Market-data reads never come here. ``path=None`` keeps the database in memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okx_sim.records import Balance, Fill, Order, dump, load_fill, load_order

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (ccy TEXT PRIMARY KEY, cash TEXT NOT NULL, frozen TEXT NOT NULL, utime INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (ord_id TEXT PRIMARY KEY, cl_ord_id TEXT, state TEXT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (bill_id TEXT PRIMARY KEY, ord_id TEXT, data TEXT NOT NULL);
"""


@dataclass
class Snapshot:
    meta: dict[str, Any] = field(default_factory=dict)
    balances: dict[str, Balance] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.meta


class StateStore:
    def __init__(self, path: Path | None, *, reset: bool = False) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if reset:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False,
                                   isolation_level=None)
        self._lock = threading.Lock()
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def load(self) -> Snapshot:
        with self._lock:
            snap = Snapshot()
            snap.meta = {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}
            for ccy, cash, frozen, utime in self._db.execute("SELECT ccy, cash, frozen, utime FROM balances"):
                from decimal import Decimal
                snap.balances[ccy] = Balance(Decimal(cash), Decimal(frozen), utime)
            snap.orders = [load_order(json.loads(d)) for (d,) in self._db.execute("SELECT data FROM orders")]
            snap.fills = [load_fill(json.loads(d)) for (d,) in self._db.execute("SELECT data FROM fills")]
            return snap

    def commit(self, *, meta: dict[str, Any], balances: dict[str, Balance], orders: Iterable[Order],
               fills: Iterable[Fill]) -> None:
        """One transaction with every change of one engine operation."""
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               [(k, json.dumps(v)) for k, v in meta.items()])
                db.executemany("INSERT OR REPLACE INTO balances VALUES (?, ?, ?, ?)",
                               [(c, str(b.cash), str(b.frozen), b.u_time) for c, b in balances.items()])
                db.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
                               [(o.ord_id, o.cl_ord_id, o.state, json.dumps(dump(o))) for o in orders])
                db.executemany("INSERT OR REPLACE INTO fills VALUES (?, ?, ?)",
                               [(f.bill_id, f.ord_id, json.dumps(dump(f))) for f in fills])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
