"""An ``okx-flows sim`` process for the reliability and bad-input tests: a real process on a free
loopback port (so it can be SIGKILLed and restarted on the same state file and port), with
helpers that read its order history and state through ``/__sim__/*``.

Every process is stopped by pid (its process group) when the context exits, pass or fail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support.services import BIN, free_port, spawn, stop, wait_until

API_KEY = "rel-key-0001"
SECRET = "RelSecret0000do-not-leak-58213"
PASSPHRASE = "RelPassphrase-do-not-leak-7719"


def key_env(api_key: str = API_KEY, secret: str = SECRET, passphrase: str = PASSPHRASE) -> dict[str, str]:
    return {"OKX_API_KEY": api_key, "OKX_SECRET_KEY": secret, "OKX_PASSPHRASE": passphrase}


@dataclass
class SimProcess:
    """One ``okx-flows sim`` process; ``kill()`` + ``start()`` restarts it on the same port and state."""

    root: Path
    args: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_path(self) -> Path:
        return self.root / "sim.sqlite3"

    @property
    def log(self) -> Path:
        return self.root / "sim.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OKX_")}
        env.update(key_env())
        env.update(self.env)
        self.proc = spawn([str(BIN / "okx-flows"), "sim", "--port", str(self.port), "--state", str(self.state_path),
                           *self.args], env=env, log=self.log)
        self.starts += 1
        wait_until(lambda: requests.get(f"{self.url}/api/v5/public/time", timeout=2).ok, 60, "okx-flows sim",
                   self.proc, self.log)

    def kill(self) -> None:
        """SIGKILL (no graceful shutdown, no flush beyond what was committed)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    # -- inspection ------------------------------------------------------------------------
    def orders(self, cl_ord_id: str | None = None) -> list[dict[str, Any]]:
        params = {"clOrdId": cl_ord_id} if cl_ord_id else None
        return requests.get(f"{self.url}/__sim__/orders", params=params, timeout=10).json()["data"]

    def state(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/__sim__/state", timeout=10).json()["data"][0]

    def conserved(self) -> bool:
        return all(Decimal(a) == Decimal(b) for a, b in self.state()["conservation"].values())


@contextlib.contextmanager
def sim_process(root: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[SimProcess]:
    root.mkdir(parents=True, exist_ok=True)
    sim = SimProcess(root, list(args), dict(env or {}))
    try:
        sim.start()
        yield sim
    finally:
        sim.stop()


def write_spec(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def rebalance_spec(name: str, base_url: str, **risk: Any) -> dict[str, Any]:
    """Overweight BTC/USDT, no SOL: sells and buys; limits roomy enough to reach the band in one run."""
    return {"name": name, "venue": "sim", "base_url": base_url,
            "risk": {"max_order_notional": 50000, "max_run_notional": 250000,
                     "allowed_instruments": ["BTC-USDT", "ETH-USDT", "SOL-USDT"], "max_slippage_bps": 50, **risk},
            "strategy": {"kind": "rebalance", "quote_ccy": "USDT",
                         "targets": {"BTC": 0.4, "ETH": 0.3, "SOL": 0.1, "USDT": 0.2},
                         "drift_band": 0.02, "min_trade_quote": 10}}


def dca_spec(name: str, base_url: str, quote_amount: float = 100, slot_seconds: int | None = None) -> dict[str, Any]:
    """A DCA spec; ``slot_seconds`` long (e.g. ``LONGEST_SLOT``) keeps a test's reruns in one slot
    even when it runs across midnight UTC (a new slot is a new buy, by design)."""
    strategy: dict[str, Any] = {"kind": "dca", "inst_id": "BTC-USDT", "quote_amount": quote_amount,
                                "max_price": 200000}
    if slot_seconds is not None:
        strategy["slot_seconds"] = slot_seconds
    return {"name": name, "venue": "sim", "base_url": base_url,
            "risk": {"max_order_notional": 500, "max_run_notional": 500, "allowed_instruments": ["BTC-USDT"],
                     "max_slippage_bps": 50},
            "strategy": strategy}


#: The longest DCA slot a spec allows (366 days).
LONGEST_SLOT = 31_622_400


def twap_spec(name: str, base_url: str, slices: int = 4, window_seconds: float = 2,
              total_size: float = 0.04) -> dict[str, Any]:
    return {"name": name, "venue": "sim", "base_url": base_url,
            "risk": {"max_order_notional": 5000, "max_run_notional": 20000, "allowed_instruments": ["BTC-USDT"],
                     "max_slippage_bps": 50},
            "strategy": {"kind": "twap", "inst_id": "BTC-USDT", "side": "sell", "total_size": total_size,
                         "slices": slices, "window_seconds": window_seconds}}


BALANCE_ARGS = ("--balance", "USDT=50000", "--balance", "BTC=2", "--balance", "ETH=10")
