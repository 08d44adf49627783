"""Throughput of the OKX simulator on signed GET /api/v5/market/books over keep-alive.

Starts the simulator in a subprocess (``python -m okx_sim``, rate limits off: the point is the
server's capacity, not OKX's budget; a separate process so client threads do not share its GIL)
unless --url is given (or --in-process), then runs N client threads, each with its own requests.Session,
signing every request with okx_wire.auth.Signer. Prints req/s and p50/p99 latency.

    .venv/bin/python benchmarks/sim_throughput.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from contextlib import ExitStack

import requests
from simproc import simulator

from okx_sim import SimConfig, running_simulator
from okx_wire.auth import ApiCredentials, Signer


def worker(base_url: str, creds: ApiCredentials, path: str, stop_at: float, latencies: list[float],
           errors: list[int]) -> None:
    session = requests.Session()
    signer = Signer(creds)
    url = base_url + path
    while True:
        start = time.perf_counter()
        if start >= stop_at:
            break
        response = session.get(url, headers=signer.headers("GET", path))
        latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            errors.append(response.status_code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="a short run (about 5 s)")
    parser.add_argument("--inst-id", default="BTC-USDT")
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--url", help="benchmark a running simulator (credentials from OKX_* env vars)")
    parser.add_argument("--in-process", action="store_true", help="serve from a thread of this process")
    args = parser.parse_args(argv)
    seconds = 4.0 if args.quick else args.seconds
    path = f"/api/v5/market/books?instId={args.inst_id}&sz={args.depth}"
    with ExitStack() as stack:
        if args.url:
            base_url, creds = args.url.rstrip("/"), ApiCredentials.from_env()
        elif not args.in_process:
            sim = stack.enter_context(simulator())  # rate limits off: the server's capacity, not OKX's budget
            base_url, creds = sim.base_url, sim.credentials
        else:
            handle = stack.enter_context(running_simulator(SimConfig(rate_limits=False)))
            base_url, creds = handle.base_url, handle.credentials
        requests.get(base_url + path, timeout=5).raise_for_status()  # warm the book cache
        latencies: list[float] = []
        errors: list[int] = []
        stop_at = time.perf_counter() + seconds
        threads = [threading.Thread(target=worker, args=(base_url, creds, path, stop_at, latencies, errors))
                   for _ in range(args.threads)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    print(f"{len(latencies)} requests in {elapsed:.2f} s with {args.threads} threads: "
          f"{len(latencies) / elapsed:.0f} req/s, p50 {statistics.median(latencies) * 1000:.2f} ms, "
          f"p99 {p99 * 1000:.2f} ms, non-200: {len(errors)}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
