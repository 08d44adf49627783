"""Signal POST to the venue's order acknowledgement: resident executor, deployment path, direct.

    .venv/bin/python benchmarks/signals.py                    # 200 signals per resident side, 10 deployment runs
    .venv/bin/python benchmarks/signals.py --n 50 --deploy-n 0 --json /tmp/signals.json

Every process is real and on loopback: an ``okx_sim`` subprocess (its rate limits off; the
client's own limiter stays on, so the signals are paced at ``--rate`` per second, under OKX's
20 per 2 s ticker budget that every signal draws one read from), a ``prefect server start``
(PostgreSQL when installed, else SQLite; ``benchmarks/orchestration.prefect_stack``), and two
receivers (``okx-flows signals serve``'s service, this file re-run as a child):

* **direct**: ``OkxClient.place_order`` of the same IOC buy from this process (the baseline);
* **resident, no Prefect**: the receiver doing the same work without the engine
  (``Executor(prefect=False)``: claim, ticker, placement, record);
* **resident**: the real thing, each signal a task run of the executor flow run, priced from
  the ``tickers`` stream and entered over the order stream's WebSocket (the default);
* **resident over REST**: the same with ``OKX_FLOWS_WEBSOCKET=0``: one ``market/ticker`` read
  and one ``POST trade/order`` per signal.

The four take turns signal by signal (the order rotating), so they share the machine's state.
Latency is POST start to the HTTP answer, which comes after the venue's acknowledgement. The
difference between the two Prefect resident sides is what WebSocket saves; between the resident
side and the one without Prefect (also on WebSocket), Prefect's part. The **deployment path** (``--durable``
receiver, ``prefect deploy`` of ``prefect.yaml``, one process worker polling every second) is
measured from POST start to the order's creation time on the venue, for ``--deploy-n`` signals
(specs/signal.yaml's sleeve pays for 20 buys of 100 USDT, so at most 20).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import requests
import yaml

HMAC_SECRET = "bench-signal-hmac-0000000001"


def pct(values: list[float]) -> dict[str, float]:
    xs = sorted(values)
    n = len(xs)

    def at(q: float) -> float:
        return round(xs[min(n - 1, int(q * n))] * 1000, 2)

    return {"n": n, "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "mean_ms": round(statistics.fmean(xs) * 1000, 2), "max_ms": round(xs[-1] * 1000, 2)}


def child(spec: str, port: int, prefect: bool, durable: bool) -> None:
    """A receiver for ``spec`` on ``port`` (``okx-flows signals serve`` without the CLI around it)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.signals.receiver import server
    from flows.signals.service import signal_service

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), \
            signal_service([spec], prefect=prefect, durable=durable or None) as app:
        server(app, "127.0.0.1", port).run()


def write_spec(path: Path, name: str, sim_url: str) -> Path:
    path.write_text(yaml.safe_dump({
        "name": name, "venue": "sim", "base_url": sim_url,
        "risk": {"max_order_notional": 500, "max_run_notional": 500, "allowed_instruments": ["BTC-USDT"],
                 "max_slippage_bps": 50},
        "strategy": {"kind": "signal", "instruments": ["BTC-USDT"], "actions": ["buy"], "quote_amount": 50,
                     "protect": {"take_profit_pct": 4, "stop_loss_pct": 2},
                     "auth": {"hmac_secret": {"env": "OKX_FLOWS_SIGNAL_HMAC"}}}}, sort_keys=False))
    return path


def start_receiver(services: Any, spec: Path | str, env: dict[str, str], log: Path, *, prefect: bool = True,
                   durable: bool = False) -> tuple[Any, str]:
    port = services.free_port()
    args = [sys.executable, str(Path(__file__).resolve()), "--child", str(spec), str(port)]
    args += [] if prefect else ["--no-prefect"]
    args += ["--durable"] if durable else []
    proc = services.spawn(args, env=env, log=log, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    services.wait_until(lambda: requests.get(f"{url}/health", timeout=2).ok, 120, f"receiver {spec}", proc, log)
    return proc, url


def post(session: requests.Session, url: str, name: str, signal_id: str) -> tuple[float, requests.Response, int]:
    from flows.signals.auth import sign

    body = json.dumps({"id": signal_id, "time": int(time.time() * 1000), "action": "buy",
                       "instrument": "BTC-USDT"}).encode()
    headers = {"content-type": "application/json", "x-signature": sign(HMAC_SECRET.encode(), body)}
    wall_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    answer = session.post(f"{url}/signals/{name}", data=body, headers=headers, timeout=30)
    return time.perf_counter() - t0, answer, wall_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="signals per resident side (and direct orders)")
    parser.add_argument("--deploy-n", type=int, default=10, help="signals through the deployment path (0: skip)")
    parser.add_argument("--rate", type=float, default=8.0, help="signals per second per side")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--child", nargs=2, metavar=("SPEC", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--no-prefect", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--durable", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), not args.no_prefect, args.durable)
        return 0

    from benchmarks.orchestration import _cli, prefect_stack
    from benchmarks.simproc import simulator
    from okx_strategies.signal import signal_cl_ord_id
    from okx_wire.client import OkxClient
    from okx_wire.orders import OrderRequest
    from okx_wire.precision import round_price
    from tests.support import services

    results: dict[str, Any] = {"n": args.n, "rate_per_s": args.rate}
    t_all = time.perf_counter()
    with simulator(balances={"USDT": "100000000", "BTC": "100"}) as sim, prefect_stack() as stack, \
            services.processes() as started, tempfile.TemporaryDirectory(prefix="okx-bench-signals-") as tmp:
        root = Path(tmp)
        creds = {"OKX_API_KEY": sim.credentials.api_key,
                 "OKX_SECRET_KEY": sim.credentials.secret_key.get_secret_value(),
                 "OKX_PASSPHRASE": sim.credentials.passphrase.get_secret_value()}
        journal = f"sqlite:///{root / 'journal.sqlite3'}"
        env = {**stack.env, **creds, "OKX_FLOWS_SIGNAL_HMAC": HMAC_SECRET, "OKX_FLOWS_JOURNAL_URL": journal,
               "OKX_FLOWS_SIGNAL_TOKEN": "bench-signal-token-unused",
               "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "1"}
        results["database"] = stack.database
        plain, plain_url = start_receiver(services, write_spec(root / "plain.yaml", "bench-plain", sim.base_url),
                                          {k: v for k, v in env.items() if k != "PREFECT_API_URL"},
                                          root / "plain.log", prefect=False)
        started.append(plain)
        resident, resident_url = start_receiver(services, write_spec(root / "resident.yaml", "bench-resident",
                                                                     sim.base_url), env, root / "resident.log")
        started.append(resident)
        over_rest, rest_url = start_receiver(services, write_spec(root / "rest.yaml", "bench-rest", sim.base_url),
                                             {**env, "OKX_FLOWS_WEBSOCKET": "0"}, root / "rest.log")
        started.append(over_rest)

        client = OkxClient(sim.credentials, base_url=sim.base_url)
        client.sync_time()
        client.spot_td_mode()
        instrument = next(i for i in client.instruments("SPOT") if i.inst_id == "BTC-USDT")
        session_plain, session_resident, session_rest = requests.Session(), requests.Session(), requests.Session()
        times: dict[str, list[float]] = {"direct": [], "resident_no_prefect": [], "resident": [], "resident_rest": []}
        #: What carried each side's orders, from the answers' ``entry`` (ws or rest).
        entries: dict[str, dict[str, int]] = {k: {} for k in times if k != "direct"}
        bad: list[str] = []

        def direct(i: str) -> None:
            book = client.ticker("BTC-USDT")
            assert book.ask_px is not None
            px = round_price(book.ask_px * Decimal("1.005"), instrument.tick_sz, "buy")
            sz = (Decimal(50) / px).quantize(instrument.lot_sz)
            t0 = time.perf_counter()
            client.place_order(OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="ioc", sz=sz, px=px,
                                            cl_ord_id=f"direct{i}"))
            times["direct"].append(time.perf_counter() - t0)

        def via(kind: str, session: requests.Session, url: str, name: str, i: str) -> None:
            elapsed, answer, _ = post(session, url, name, f"b{i}")
            if answer.status_code != 200:
                bad.append(f"{kind} {i}: {answer.status_code} {answer.text[:200]}")
            else:
                entry = answer.json().get("entry", "")
                entries[kind][entry] = entries[kind].get(entry, 0) + 1
            times[kind].append(elapsed)

        sides = [direct,
                 lambda i: via("resident_no_prefect", session_plain, plain_url, "bench-plain", i),
                 lambda i: via("resident", session_resident, resident_url, "bench-resident", i),
                 lambda i: via("resident_rest", session_rest, rest_url, "bench-rest", i)]
        for i in range(5):  # warm-up, not counted
            for side in sides:
                side(f"w{i}")
        for key in times:
            times[key].clear()
        for counted in entries.values():
            counted.clear()
        bad.clear()
        gap = 1.0 / args.rate
        for i in range(args.n):
            t_round = time.perf_counter()
            order = sides[i % len(sides):] + sides[:i % len(sides)]
            for side in order:
                side(str(i))
            time.sleep(max(0.0, gap - (time.perf_counter() - t_round)))
        results["paths"] = {k: pct(v) for k, v in times.items()}
        r, p, d, rr = (results["paths"][k] for k in ("resident", "resident_no_prefect", "direct", "resident_rest"))
        results["entries"] = entries
        results["prefect_share_ms"] = {q: round(r[q] - p[q], 2) for q in ("p50_ms", "p95_ms", "p99_ms")}
        results["ratio_vs_direct"] = {q: round(r[q] / d[q], 2) for q in ("p50_ms", "p95_ms", "p99_ms")}
        results["websocket_vs_rest"] = {q: round(r[q] / rr[q], 2) for q in ("p50_ms", "p95_ms", "p99_ms")}
        results["target"] = {"p50_ms": 50, "p99_ms": 250,
                             "met": r["p50_ms"] < 50 and r["p99_ms"] < 250}
        results["refused"] = bad[:10]
        print(json.dumps(results), file=sys.stderr, flush=True)

        if args.deploy_n > 0:
            t0 = time.perf_counter()
            _cli("work-pool", "create", "okx-process", "--type", "process", env=stack.env)
            _cli("--no-prompt", "deploy", "--all", env=stack.env, timeout=300)
            worker_home = root / "worker"
            worker_home.mkdir()
            worker_env = {**env, "OKX_BASE_URL": sim.base_url, "PREFECT_HOME": str(worker_home),
                          "PREFECT_WORKER_QUERY_SECONDS": "1"}
            worker = services.spawn([str(services.BIN / "prefect"), "worker", "start", "--pool", "okx-process",
                                     "--name", "bench-signals"], env=worker_env, log=root / "worker.log", cwd=ROOT)
            started.append(worker)
            durable, durable_url = start_receiver(services, "specs/signal.yaml", env, root / "durable.log",
                                                  durable=True)
            started.append(durable)
            time.sleep(5)  # the worker comes online
            results["deployment_setup_s"] = round(time.perf_counter() - t0, 1)
            spans: list[float] = []
            session = requests.Session()
            for i in range(min(args.deploy_n, 20)):
                signal_id = f"d{i}-{int(time.time())}"
                _, answer, wall_ms = post(session, durable_url, "tv-btc-signals", signal_id)
                if answer.status_code != 202:
                    bad.append(f"deployment {i}: {answer.status_code} {answer.text[:200]}")
                    continue
                cl = signal_cl_ord_id("tv-btc-signals", signal_id)
                deadline = time.monotonic() + 120
                found = None
                while found is None and time.monotonic() < deadline:
                    found = client.find_order("BTC-USDT", cl)
                    if found is None:
                        time.sleep(0.05)
                if found is None or found.c_time is None:
                    bad.append(f"deployment {i}: no order after 120 s")
                    continue
                spans.append((found.c_time - wall_ms) / 1000)
                time.sleep(1.0)
            results["paths"]["deployment"] = pct(spans) if spans else {"n": 0}
            if spans:
                dep = results["paths"]["deployment"]
                results["deployment_prefect_share_ms"] = round(dep["p50_ms"] - p["p50_ms"], 2)
            results["refused"] = bad[:10]
        results["total_s"] = round(time.perf_counter() - t_all, 1)
        client.close()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    raise SystemExit(main())
