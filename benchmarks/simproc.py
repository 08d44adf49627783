"""Start ``python -m okx_sim`` in a subprocess for benchmarks, and stop it (by pid) whatever happens.

A separate process keeps the server off the client's GIL (the pattern of ``sim_throughput.py``),
with the options the benchmarks need: rate limits on or off, the instrument count, balances.
It also reads the server's CPU time from /proc, so a benchmark can tell how much of the
simulator's capacity a client used (CPU seconds per request bound its requests/s).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from okx_wire.auth import ApiCredentials

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class SimProcess:
    base_url: str
    credentials: ApiCredentials
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the simulator process so far (NaN where /proc is missing)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            return float("nan")


@contextmanager
def simulator(*, rate_limits: bool = False, instruments: int | None = None,
              balances: dict[str, str] | None = None, start_timeout: float = 30.0) -> Iterator[SimProcess]:
    creds = ApiCredentials(api_key="bench-key", secret_key=SecretStr(secrets.token_hex(16)),
                           passphrase=SecretStr("Bench1"))
    with tempfile.TemporaryDirectory(prefix="okx-bench-") as tmp:
        cmd = [sys.executable, "-m", "okx_sim", "--port", "0", "--host", "127.0.0.1", "--reset",
               "--state", str(Path(tmp) / "bench.sqlite3"), "--api-key", creds.api_key,
               "--secret-key", creds.secret_key.get_secret_value(),
               "--passphrase", creds.passphrase.get_secret_value()]
        if not rate_limits:
            cmd.append("--no-rate-limits")
        if instruments is not None:
            cmd += ["--instruments", str(instruments)]
        for ccy, amount in (balances or {}).items():
            cmd += ["--balance", f"{ccy}={amount}"]
        log = open(Path(tmp) / "sim.log", "w")  # noqa: SIM115 - closed in finally
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert proc.stdout is not None
            line: list[str] = []
            reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
            reader.start()
            reader.join(start_timeout)
            if not line or "listening on" not in line[0]:
                log.flush()
                detail = (Path(tmp) / "sim.log").read_text()[-500:]
                raise RuntimeError(f"simulator did not start: {line[0] if line else 'timeout'!r} {detail}")
            yield SimProcess(line[0].rsplit(" ", 1)[1].strip(), creds, proc.pid)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            log.close()
