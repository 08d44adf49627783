"""SQLite persistence of the account: balances, orders, fills, algo orders, counters and the walk step.

Write-through: every engine operation that changes anything commits its changed rows in one
transaction before the reply is sent, so a SIGKILL can lose nothing that was acknowledged
(WAL with synchronous=NORMAL survives a process crash; only an OS crash can cost the last
transactions). Market-data reads never come here. ``path=None`` keeps the database in memory.

One simulator owns a state file. Two engines on one file each keep the account in memory and
write their own view back, so one overwrites the other: an acknowledged order vanishes, or a
balance is counted twice. Opening a path therefore takes an exclusive, non-blocking
``flock`` on ``<state>.lock`` before anything is read or reset; a second opener, in another
process or in this one, gets ``StateInUse`` naming the file. The kernel drops the lock when the
descriptor closes, so ``close()`` and any process death (SIGKILL included) release it, and a
restart on the same file after a crash just works. The lock file is left in place: removing it
would let two processes lock two different files of the same name.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okx_sim.records import Holding, SimAlgo, SimFill, SimOrder, dump, load_algo, load_fill, load_order
from okx_wire.errors import ConfigurationError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (ccy TEXT PRIMARY KEY, cash TEXT NOT NULL, frozen TEXT NOT NULL,
                                     utime INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (ord_id TEXT PRIMARY KEY, cl_ord_id TEXT, state TEXT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (bill_id TEXT PRIMARY KEY, ord_id TEXT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS algos (algo_id TEXT PRIMARY KEY, algo_cl_ord_id TEXT, state TEXT, data TEXT NOT NULL);
"""


@dataclass
class Snapshot:
    meta: dict[str, Any] = field(default_factory=dict)
    balances: dict[str, Holding] = field(default_factory=dict)
    orders: list[SimOrder] = field(default_factory=list)
    fills: list[SimFill] = field(default_factory=list)
    algos: list[SimAlgo] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.meta


class StateInUse(ConfigurationError):
    """Another simulator holds this state file; nothing was read or changed.

    A ``ConfigurationError`` because it is a local set-up problem that waiting on will not fix:
    stop the other simulator or give this one another file.
    """


def lock_path(path: Path) -> Path:
    """The file whose ``flock`` says who owns the state file ``path``.

    Beside the real file (symlinks followed), so two names for one database share one lock.
    """
    return Path(f"{os.path.realpath(path)}.lock")


def _take_lock(path: Path) -> int:
    """The descriptor holding the exclusive lock on ``path``'s lock file, or ``StateInUse``."""
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)  # non-inheritable by default
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        by = f" (pid {holder})" if holder.isdigit() else ""
        raise StateInUse(f"state file {path} is in use by another simulator{by}; "
                         "stop that one or use another state file") from None
    except BaseException:
        os.close(fd)
        raise
    # The holder's pid, only for the message above: the lock itself is the flock, not this text.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class StateStore:
    """The account's database. A path is owned exclusively while open (see the module docstring).

    Raises:
        StateInUse: another StateStore, in any process, has ``path`` open.
    """

    def __init__(self, path: Path | None, *, reset: bool = False) -> None:
        self.path = path
        self._lock_fd = -1
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Before the reset: deleting a file another simulator is writing is the same damage.
            self._lock_fd = _take_lock(path)
        try:
            if path is not None and reset:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False,
                                       isolation_level=None)
            self._lock = threading.Lock()
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except BaseException:
            self._release()
            raise

    def load(self) -> Snapshot:
        with self._lock:
            snap = Snapshot()
            snap.meta = {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}
            for ccy, cash, frozen, utime in self._db.execute("SELECT ccy, cash, frozen, utime FROM balances"):
                from decimal import Decimal
                snap.balances[ccy] = Holding(Decimal(cash), Decimal(frozen), utime)
            snap.orders = [load_order(json.loads(d)) for (d,) in self._db.execute("SELECT data FROM orders")]
            snap.fills = [load_fill(json.loads(d)) for (d,) in self._db.execute("SELECT data FROM fills")]
            snap.algos = [load_algo(json.loads(d)) for (d,) in self._db.execute("SELECT data FROM algos")]
            return snap

    def commit(self, *, meta: dict[str, Any], balances: dict[str, Holding], orders: Iterable[SimOrder],
               fills: Iterable[SimFill], algos: Iterable[SimAlgo] = ()) -> None:
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
                db.executemany("INSERT OR REPLACE INTO algos VALUES (?, ?, ?, ?)",
                               [(a.algo_id, a.algo_cl_ord_id, a.state, json.dumps(dump(a))) for a in algos])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the database, then give up the file (safe to call twice)."""
        with self._lock:
            self._db.close()
        self._release()

    def _release(self) -> None:
        fd, self._lock_fd = self._lock_fd, -1
        if fd >= 0:
            os.close(fd)  # closing the last descriptor drops the flock
