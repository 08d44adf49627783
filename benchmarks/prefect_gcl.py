"""Can Prefect's global rate limits hold OKX's budgets across processes?

Starts a real ``prefect server start`` on a free 127.0.0.1 port with a temporary PREFECT_HOME
(SQLite database, analytics off, no UI), creates a rate limit shaped like OKX's trade/order
budget (``--limit 60 --decay 30``: 60 per 2 s), then runs ``--procs`` OS processes that each call
``prefect.concurrency.sync.rate_limit(name, strict=True)`` back to back for ``--seconds``.
Every grant is time-stamped (wall clock; all processes share this machine's clock).

Prints one JSON line: achieved acquisitions/s against OKX's budget (``--budget`` per 2 s, i.e.
30/s), the fraction of the budget (overall and after the first window), p50/p99 acquire latency,
and the most grants seen in any 2.0 s window (OKX's window) -- a token bucket with capacity
``limit`` refilling at ``decay``/s can grant up to ``limit + 2*decay`` in one 2 s window, which
the exchange would refuse.

    .venv/bin/python benchmarks/prefect_gcl.py              # ~10 s of load, ~30 s in all
    .venv/bin/python benchmarks/prefect_gcl.py --seconds 5 --procs 2

The server is stopped by its pid at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

LIMIT_NAME = "okx-trade-order"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(api_url: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"prefect server not healthy after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its children (uvicorn, services) by process group id."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def create_limit(limit: int, decay: float) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=LIMIT_NAME, limit=limit, slot_decay_per_second=decay, active=True)
        )


def worker(name: str, start_at: float, seconds: float, out: Path) -> None:
    """Acquire as fast as possible from ``start_at`` for ``seconds``; write grants and latencies."""
    from prefect.concurrency.sync import rate_limit

    rate_limit(name, strict=True)  # warm-up: imports, HTTP pool, settings (not counted)
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    end = start_at + seconds
    grants: list[float] = []
    latencies: list[float] = []
    while True:
        t0 = time.time()
        if t0 >= end:
            break
        rate_limit(name, strict=True)
        t1 = time.time()
        if t1 > end:  # granted after the measured interval: not counted, but its latency is real
            latencies.append(t1 - t0)
            break
        grants.append(t1)
        latencies.append(t1 - t0)
    out.write_text(json.dumps({"grants": grants, "latencies": latencies}))


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best = lo = 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60, help="slots (OKX trade/order: 60 per 2 s)")
    parser.add_argument("--decay", type=float, default=30.0, help="slot_decay_per_second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--window", type=float, default=2.0, help="OKX window for the max-in-window check")
    parser.add_argument("--budget", type=int, default=60,
                        help="OKX budget per window the fractions are measured against")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "START_AT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], float(args.worker[1]), args.seconds, Path(args.worker[2]))
        return 0

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    with tempfile.TemporaryDirectory(prefix="prefect-gcl-") as tmp:
        env = {**os.environ, "PREFECT_HOME": tmp, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_API_URL": api_url, "PREFECT_SERVER_UI_ENABLED": "false",
               "PREFECT_LOGGING_LEVEL": "WARNING"}
        env.pop("PREFECT_API_KEY", None)
        os.environ.update({k: env[k] for k in ("PREFECT_HOME", "PREFECT_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED")})
        log = open(Path(tmp) / "server.log", "wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port),
             "--no-ui", "--analytics-off"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        workers: list[subprocess.Popen[bytes]] = []
        try:
            startup = wait_healthy(api_url, server, timeout=90)
            create_limit(args.limit, args.decay)
            start_at = time.time() + 8.0  # time for the workers to import prefect and warm up
            outs = [Path(tmp) / f"worker{i}.json" for i in range(args.procs)]
            for out in outs:
                workers.append(subprocess.Popen(
                    [sys.executable, __file__, "--seconds", str(args.seconds), "--worker", LIMIT_NAME,
                     repr(start_at), str(out)], env=env, start_new_session=True))
            deadline = start_at + args.seconds + 60
            for proc in workers:
                proc.wait(timeout=max(1.0, deadline - time.time()))
            failed = [p.returncode for p in workers if p.returncode != 0]
            if failed:
                raise RuntimeError(f"workers failed with codes {failed}")
            results = [json.loads(out.read_text()) for out in outs]
        except BaseException:
            log.flush()
            sys.stderr.write((Path(tmp) / "server.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            for proc in workers:
                stop(proc)
            stop(server)
            log.close()

    grants = [t for r in results for t in r["grants"]]
    latencies = [x for r in results for x in r["latencies"]]
    total = len(grants)
    # The bucket starts full (``limit`` free slots): count the steady state after the first window too.
    steady = [t for t in grants if t >= start_at + args.window]
    steady_rate = len(steady) / (args.seconds - args.window)
    rate = total / args.seconds
    budget_rate = args.budget / args.window
    report = {
        "benchmark": "prefect_gcl_rate_limit",
        "backend": "prefect server (SQLite)",
        "limit": args.limit,
        "slot_decay_per_second": args.decay,
        "procs": args.procs,
        "seconds": args.seconds,
        "server_startup_s": round(startup, 2),
        "acquisitions": total,
        "per_process": [len(r["grants"]) for r in results],
        "acq_per_s": round(rate, 2),
        "budget_per_s": budget_rate,
        "fraction_of_budget": round(rate / budget_rate, 3),
        "steady_acq_per_s": round(steady_rate, 2),
        "steady_fraction_of_budget": round(steady_rate / budget_rate, 3),
        "max_in_any_2s_window": max_in_window(grants, args.window),
        "okx_limit_per_2s": args.budget,
        "latency_p50_ms": round(pct(latencies, 0.50) * 1000, 1),
        "latency_p99_ms": round(pct(latencies, 0.99) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
    }
    report["holds_80pct"] = report["steady_fraction_of_budget"] >= 0.8
    # Would OKX have refused some of these? (sliding 2 s window, no client slack)
    report["exceeds_okx_window"] = report["max_in_any_2s_window"] > args.budget
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
