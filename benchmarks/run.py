"""okx-flows benchmarks: one command, one table, one JSON file with stable keys.

    .venv/bin/python benchmarks/run.py            # full run (a few minutes)
    .venv/bin/python benchmarks/run.py --quick    # tiny sizes, < 60 s (used by tests/test_benchmarks.py)
    .venv/bin/python benchmarks/run.py --only signing,roundtrip_books --json /tmp/r.json
    .venv/bin/python benchmarks/run.py --only orchestration   # deployment runs via a worker (~45 s)

Every figure is measured against its baseline in the same run, with the contenders interleaved
round by round (the order rotates each round) and medians taken, and is reported as a ratio, so
a noisy machine moves both sides together. Method and latest figures: benchmarks/README.md.
Only loopback traffic; every simulator, server and worker is a subprocess stopped by pid, also
on failure. Figures 5 and 6 run flows in a child process (flowbench.py) against one Prefect
server started for the benchmark (orchestration.py); "orchestration" is skipped by --quick.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import orchestration  # noqa: E402
import requests  # noqa: E402
import sim_throughput  # noqa: E402
from simproc import SimProcess, simulator  # noqa: E402

from okx_wire.auth import ApiCredentials, Signer, format_timestamp, system_clock  # noqa: E402
from okx_wire.client import DEFAULT_RATE_SLACK, OkxClient  # noqa: E402
from okx_wire.errors import OkxError  # noqa: E402
from okx_wire.limits import BUDGETS, SlidingWindowLimiter  # noqa: E402
from okx_wire.orders import OrderRequest  # noqa: E402

FIGURES = ("signing", "roundtrip_books", "private_balance", "private_place_cancel", "rate_limits",
           "prefect_overhead", "rebalance_scale", "simulator", "orchestration")
BOOK_DEPTH = 20
INST = "BTC-USDT"
FAR_PX = Decimal("30000.0")  # BTC-USDT starts near 68000 in the simulator: a buy this low rests
ORDER_SZ = Decimal("0.0001")


# -- measurement helpers ----------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def interleaved(contenders: dict[str, Callable[[], object]], *, rounds: int, per_round: int,
                warmup: int = 3) -> dict[str, dict[str, float]]:
    """Run each contender ``per_round`` times per round, rotating the order every round.

    Returns per contender: ops/s (median over rounds), p50/p99 latency in ms (over every call),
    and the number of calls.
    """
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    rates: dict[str, list[float]] = {n: [] for n in names}
    lat: dict[str, list[float]] = {n: [] for n in names}
    clock = time.perf_counter
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn = contenders[name]
            out = lat[name]
            began = clock()
            for _ in range(per_round):
                t0 = clock()
                fn()
                out.append(clock() - t0)
            rates[name].append(per_round / (clock() - began))
    return {n: {"ops_per_s": round(statistics.median(rates[n]), 1),
                "p50_ms": round(percentile(lat[n], 0.50) * 1000, 3),
                "p99_ms": round(percentile(lat[n], 0.99) * 1000, 3),
                "calls": len(lat[n])} for n in names}


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


# -- hand-made signing: the floor of a requests-based client ---------------------------------

class BareSigner:
    """The least a client must do per signed request: timestamp, one HMAC, base64, a header dict."""

    def __init__(self, creds: ApiCredentials) -> None:
        self.key = creds.api_key
        self.secret = creds.secret_key.get_secret_value().encode()
        self.phrase = creds.passphrase.get_secret_value()

    def headers(self, method: str, target: str, body: str = "") -> dict[str, str]:
        ts = format_timestamp(int(time.time() * 1000))
        mac = hmac.new(self.secret, f"{ts}{method}{target}{body}".encode(), hashlib.sha256)
        return {"OK-ACCESS-KEY": self.key, "OK-ACCESS-SIGN": base64.b64encode(mac.digest()).decode(),
                "OK-ACCESS-TIMESTAMP": ts, "OK-ACCESS-PASSPHRASE": self.phrase,
                "Content-Type": "application/json"}


# -- figure 1: signing -------------------------------------------------------------------------

def _tutorial_module(creds: ApiCredentials) -> Callable[[str, str, str], dict[str, str]]:
    """The seed article's auth module, verbatim in spirit (global secret encoded on every call)."""
    g = {"API_KEY": creds.api_key, "SECRET_KEY": creds.secret_key.get_secret_value(),
         "PASSPHRASE": creds.passphrase.get_secret_value()}
    src = '''
import hmac, hashlib, base64
from datetime import datetime, timezone
def get_timestamp() -> str:
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
def sign(timestamp: str, method: str, path: str, body: str = '') -> str:
    message = timestamp + method.upper() + path + body
    mac = hmac.new(SECRET_KEY.encode('utf-8'), message.encode('utf-8'), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()
def build_headers(method: str, path: str, body: str = '') -> dict:
    ts = get_timestamp()
    return {
        'OK-ACCESS-KEY': API_KEY,
        'OK-ACCESS-SIGN': sign(ts, method, path, body),
        'OK-ACCESS-TIMESTAMP': ts,
        'OK-ACCESS-PASSPHRASE': PASSPHRASE,
        'Content-Type': 'application/json',
    }
'''
    exec(compile(src, "<seed-article auth module>", "exec"), g)  # noqa: S102 - fixed text above
    return g["build_headers"]


def bench_signing(quick: bool) -> dict[str, Any]:
    from pydantic import SecretStr

    creds = ApiCredentials(api_key="bench-key", secret_key=SecretStr("22582BD0CFF14C41EDBF1AB98506286D"),
                           passphrase=SecretStr("Bench1"))
    path = "/api/v5/account/balance?ccy=BTC"
    signer = Signer(creds)
    tutorial = _tutorial_module(creds)
    key = creds.secret_key.get_secret_value().encode()
    message = f"{format_timestamp(system_clock())}GET{path}".encode()
    new, sha256, b64 = hmac.new, hashlib.sha256, base64.b64encode

    def floor() -> str:
        return b64(new(key, message, sha256).digest()).decode()

    # Same result for the same inputs: ours and the tutorial sign identically.
    ts = "2020-12-08T09:08:57.715Z"
    assert signer.signature(ts, "GET", path) == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="

    contenders = {"ours": lambda: signer.headers("GET", path), "floor": floor,
                  "tutorial": lambda: tutorial("GET", path, "")}
    loops = 2_000 if quick else 50_000
    rounds = 3 if quick else 9
    samples: dict[str, list[float]] = {n: [] for n in contenders}
    clock = time.perf_counter
    for r in range(rounds):
        names = list(contenders)
        for name in names[r % 3:] + names[:r % 3]:
            fn = contenders[name]
            began = clock()
            for _ in range(loops):
                fn()
            samples[name].append((clock() - began) / loops * 1e6)
    med = {n: statistics.median(v) for n, v in samples.items()}
    return {
        "ours_us": round(med["ours"], 3), "floor_us": round(med["floor"], 3), "tutorial_us": round(med["tutorial"], 3),
        "ratio_vs_floor": ratio(med["ours"], med["floor"]),
        "tutorial_ratio_vs_ours": ratio(med["tutorial"], med["ours"]),
        "target_ratio_vs_floor": 1.3, "meets_target": med["ours"] <= 1.3 * med["floor"],
        "loops_per_round": loops, "rounds": rounds,
    }


# -- figures 2 and 3: round trips against the simulator ---------------------------------------

def _ccxt(sim: SimProcess, **options: Any) -> Any:
    import ccxt

    ex = ccxt.okx({"apiKey": sim.credentials.api_key, "secret": sim.credentials.secret_key.get_secret_value(),
                   "password": sim.credentials.passphrase.get_secret_value(), "enableRateLimit": False, **options})
    ex.urls["api"]["rest"] = sim.base_url
    ex.load_markets()  # outside every timing
    return ex


def _python_okx(sim: SimProcess) -> tuple[Any, Any, Any]:
    from okx import Account, MarketData, Trade

    c = sim.credentials
    key, secret, phrase = c.api_key, c.secret_key.get_secret_value(), c.passphrase.get_secret_value()
    return (MarketData.MarketAPI(flag="0", domain=sim.base_url, debug=False),
            Account.AccountAPI(key, secret, phrase, False, "0", domain=sim.base_url, debug=False),
            Trade.TradeAPI(key, secret, phrase, False, "0", domain=sim.base_url, debug=False))


def _summarise(stats: dict[str, dict[str, float]], third_party: tuple[str, ...], target: float,
               sim_cpu_s: float) -> dict[str, Any]:
    ours = stats["ours"]["ops_per_s"]
    floor = stats["session_floor"]["ops_per_s"]
    best_other = max(stats[n]["ops_per_s"] for n in third_party)
    calls = sum(s["calls"] for s in stats.values())
    return {
        "clients": stats,
        # >1 means ours is slower: floor throughput / ours (time per call, ours over the floor).
        "ratio_vs_floor": ratio(floor, ours),
        "target_ratio_vs_floor": target,
        "meets_target": floor / ours <= target,
        # >1 means ours is faster: ours throughput over each other client's.
        "speedup_vs": {n: ratio(ours, stats[n]["ops_per_s"]) for n in stats if n != "ours"},
        "ahead_of_all_third_party": ours > best_other,
        # What the simulator spent: CPU per request and the req/s that CPU allows on its one core.
        "sim_cpu_us_per_call": round(sim_cpu_s / calls * 1e6, 1) if calls else None,
        "sim_capacity_per_s": round(calls / sim_cpu_s, 1) if sim_cpu_s > 0 else None,
    }


def bench_roundtrip_books(sim: SimProcess, quick: bool) -> dict[str, Any]:
    target = f"/api/v5/market/books?instId={INST}&sz={BOOK_DEPTH}"
    url = sim.base_url + target
    ours = OkxClient(base_url=sim.base_url, rate_limit=False)
    floor = requests.Session()
    ex = _ccxt(sim)
    market, _, _ = _python_okx(sim)

    def tutorial() -> object:  # the seed article's get_order_book: one requests.get, no session
        resp = requests.get(url, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"][0]

    contenders = {
        "ours": lambda: ours.order_book(INST, depth=BOOK_DEPTH),
        "session_floor": lambda: floor.get(url, timeout=10).json()["data"][0],
        "requests_get": tutorial,
        "ccxt": lambda: ex.fetch_order_book("BTC/USDT", limit=BOOK_DEPTH),
        "python_okx": lambda: market.get_orderbook(instId=INST, sz=str(BOOK_DEPTH))["data"][0],
    }
    try:
        cpu0 = sim.cpu_seconds()
        stats = interleaved(contenders, rounds=3 if quick else 15, per_round=15 if quick else 100)
        cpu = sim.cpu_seconds() - cpu0
    finally:
        ours.close()
        floor.close()
        market.close()
    out = _summarise(stats, ("ccxt", "python_okx", "requests_get"), 1.15, cpu)
    out["request"] = f"GET {target}"
    return out


def bench_private_balance(sim: SimProcess, quick: bool) -> dict[str, Any]:
    target = "/api/v5/account/balance"
    ours = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
    floor, bare = requests.Session(), BareSigner(sim.credentials)
    tut_signer = _tutorial_module(sim.credentials)
    ex = _ccxt(sim)
    _, account, trade = _python_okx(sim)

    def floor_call() -> object:
        return floor.get(sim.base_url + target, headers=bare.headers("GET", target), timeout=10).json()["data"][0]

    def tutorial() -> object:
        resp = requests.get(sim.base_url + target, headers=tut_signer("GET", target), timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]

    contenders = {
        "ours": lambda: ours.balance(),
        "session_floor": floor_call,
        "requests_get": tutorial,
        "ccxt": lambda: ex.fetch_balance(),
        "python_okx": lambda: account.get_account_balance()["data"][0],
    }
    try:
        cpu0 = sim.cpu_seconds()
        stats = interleaved(contenders, rounds=3 if quick else 15, per_round=15 if quick else 80)
        cpu = sim.cpu_seconds() - cpu0
    finally:
        ours.close()
        floor.close()
        account.close()
        trade.close()
    out = _summarise(stats, ("ccxt", "python_okx", "requests_get"), 1.15, cpu)
    out["request"] = f"GET {target}"
    return out


def bench_private_place_cancel(sim: SimProcess, quick: bool) -> dict[str, Any]:
    place_path, cancel_path = "/api/v5/trade/order", "/api/v5/trade/cancel-order"
    ours = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
    order = OrderRequest(inst_id=INST, side="buy", ord_type="limit", sz=ORDER_SZ, px=FAR_PX)
    floor, bare = requests.Session(), BareSigner(sim.credentials)
    tut_signer = _tutorial_module(sim.credentials)
    ex = _ccxt(sim)
    _, account, trade = _python_okx(sim)
    px, sz = str(FAR_PX), str(ORDER_SZ)

    def ours_pair() -> None:
        ack = ours.place_order(order)
        ours.cancel_order(INST, ord_id=ack.ord_id)

    def post(session_post: Callable[..., requests.Response], signer: Callable[..., dict[str, str]],
             path: str, payload: dict[str, str]) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":"))
        resp = session_post(sim.base_url + path, data=body, headers=signer("POST", path, body), timeout=10)
        envelope = resp.json()
        if envelope["code"] != "0":
            raise RuntimeError(f"{path}: {envelope}")
        return envelope["data"][0]

    def pair_with(session_post: Callable[..., requests.Response], signer: Callable[..., dict[str, str]]) -> None:
        ack = post(session_post, signer, place_path, {"instId": INST, "tdMode": "cash", "side": "buy",
                                                       "ordType": "limit", "px": px, "sz": sz})
        post(session_post, signer, cancel_path, {"instId": INST, "ordId": ack["ordId"]})

    def ccxt_pair() -> None:
        placed = ex.create_order("BTC/USDT", "limit", "buy", float(ORDER_SZ), float(FAR_PX))
        ex.cancel_order(placed["id"], "BTC/USDT")

    def python_okx_pair() -> None:
        placed = trade.place_order(instId=INST, tdMode="cash", side="buy", ordType="limit", px=px, sz=sz)
        if placed["code"] != "0":
            raise RuntimeError(placed)
        done = trade.cancel_order(instId=INST, ordId=placed["data"][0]["ordId"])
        if done["code"] != "0":
            raise RuntimeError(done)

    contenders = {
        "ours": ours_pair,
        "session_floor": lambda: pair_with(floor.post, bare.headers),
        "requests_get": lambda: pair_with(requests.post, tut_signer),  # tutorials: no session
        "ccxt": ccxt_pair,
        "python_okx": python_okx_pair,
    }
    try:
        cpu0 = sim.cpu_seconds()
        stats = interleaved(contenders, rounds=3 if quick else 15, per_round=8 if quick else 30)
        cpu = sim.cpu_seconds() - cpu0
    finally:
        ours.close()
        floor.close()
        account.close()
        trade.close()
    out = _summarise(stats, ("ccxt", "python_okx", "requests_get"), 1.15, cpu * 1.0)
    # calls counted pairs; the simulator served two requests per pair
    if out["sim_cpu_us_per_call"]:
        out["sim_cpu_us_per_request"] = round(out["sim_cpu_us_per_call"] / 2, 1)
        out["sim_capacity_per_s"] = round(out["sim_capacity_per_s"] * 2, 1)
    out["request"] = (f"POST {place_path} (limit buy {ORDER_SZ} {INST} @ {FAR_PX}, far below the market) "
                      f"then POST {cancel_path}; ops_per_s counts pairs")
    return out


# -- figure 4: rate-limit use with the simulator enforcing OKX's budgets -----------------------

def budget_bound(units_per_bucket: dict[str, int], limit: int, window: float) -> float:
    """The shortest span from the first request to the last that a sliding window of ``limit``
    units per ``window`` seconds allows: the k-th unit beyond each multiple of ``limit`` must wait
    a whole window after the unit ``limit`` places before it."""
    return max((math.ceil(n / limit) - 1) * window for n in units_per_bucket.values())


def _count_refusal(exc: OkxError) -> bool:
    return getattr(exc, "code", "") in ("50011", "50061") or getattr(exc, "http_status", 0) == 429


def bench_rate_limits(quick: bool) -> dict[str, Any]:
    n_books = 50 if quick else 100
    order_insts = ("BTC-USDT", "ETH-USDT")
    n_orders = 140 if quick else 200
    n_batch_orders = 640 if quick else 1200
    repeats = 1 if quick else 3
    books_budget = BUDGETS[("GET", "/api/v5/market/books")]
    order_budget = BUDGETS[("POST", "/api/v5/trade/order")]
    batch_budget = BUDGETS[("POST", "/api/v5/trade/batch-orders")]
    pause = books_budget.window + 0.2  # every section starts with empty buckets
    runs: dict[str, list[dict[str, Any]]] = {"books": [], "orders": [], "batch": [], "ccxt_books": []}
    px = {"BTC-USDT": Decimal("30000.0"), "ETH-USDT": Decimal("1500.00")}
    sz = {"BTC-USDT": Decimal("0.0001"), "ETH-USDT": Decimal("0.001")}
    clock = time.perf_counter

    def timed(fn: Callable[[], object]) -> int:
        """Run one request; 1 if it was refused for rate (429/50011), else 0."""
        try:
            fn()
            return 0
        except OkxError as exc:
            if not _count_refusal(exc):
                raise
            return 1

    for _ in range(repeats):  # a fresh simulator per repeat: no resting orders pile up across runs
        with simulator(rate_limits=True, instruments=max(n_books, 100),
                       balances={"USDT": "100000000", "BTC": "100", "ETH": "1000"}) as sim:
            # Waits via its limiter, as by default (a fresh one: each simulator has fresh budgets).
            limiter = SlidingWindowLimiter(slack=DEFAULT_RATE_SLACK)
            client = OkxClient(sim.credentials, base_url=sim.base_url, limiter=limiter)
            inst_ids = [i.inst_id for i in client.instruments("SPOT")][:n_books]
            assert len(inst_ids) == n_books, f"the simulator lists only {len(inst_ids)} instruments"
            ex = _ccxt(sim, enableRateLimit=True)
            time.sleep(pause)

            def books() -> int:
                return sum(timed(lambda i=inst: client.order_book(i, depth=BOOK_DEPTH))
                           for inst in inst_ids)

            def orders() -> int:
                refused = 0
                for k in range(n_orders):
                    inst = order_insts[k % len(order_insts)]
                    req = OrderRequest(inst_id=inst, side="buy", ord_type="limit", sz=sz[inst], px=px[inst])
                    refused += timed(lambda r=req: client.place_order(r))
                return refused

            def batch() -> int:
                refused = 0
                for b in range(n_batch_orders // 20):
                    inst = order_insts[b % len(order_insts)]
                    reqs = [OrderRequest(inst_id=inst, side="buy", ord_type="limit", sz=sz[inst], px=px[inst])
                            for _ in range(20)]
                    acks: list[Any] = []
                    refused += 20 * timed(lambda r=reqs: acks.extend(client.place_batch_orders(r)))
                    refused += sum(1 for a in acks if a.s_code in ("50011", "50061"))
                return refused

            def ccxt_books() -> int:
                import ccxt

                refused = 0
                for inst in inst_ids:
                    try:
                        ex.fetch_order_book(inst.replace("-", "/"), limit=BOOK_DEPTH)
                    except (ccxt.RateLimitExceeded, ccxt.ExchangeNotAvailable, ccxt.DDoSProtection):
                        refused += 1
                return refused

            for name, fn in (("books", books), ("orders", orders), ("batch", batch), ("ccxt_books", ccxt_books)):
                began = clock()
                refused = fn()
                runs[name].append({"wall_s": clock() - began, "refusals": refused})
                time.sleep(pause)
            client.close()

    def section(name: str, requests_n: int, units: dict[str, int], limit: int, window: float,
                note: str) -> dict[str, Any]:
        wall = statistics.median(r["wall_s"] for r in runs[name])
        bound = budget_bound(units, limit, window)
        return {"requests": requests_n, "units_per_bucket": units, "budget": f"{limit}/{window:g}s",
                "wall_s": round(wall, 3), "bound_s": round(bound, 3),
                "ratio_vs_bound": ratio(wall, bound),
                "utilisation": round(bound / wall, 3) if wall else None,
                "refusals": sum(r["refusals"] for r in runs[name]),
                "refusals_per_run": [r["refusals"] for r in runs[name]],
                "wall_s_per_run": [round(r["wall_s"], 3) for r in runs[name]],
                "runs": len(runs[name]), "note": note}

    per_inst = {i: n_orders // len(order_insts) for i in order_insts}
    per_inst_batch = {i: n_batch_orders // len(order_insts) for i in order_insts}
    out = {
        "books": section("books", n_books, {"ip": n_books}, books_budget.limit, books_budget.window,
                         f"our client, {n_books} instruments, one GET market/books each (sz={BOOK_DEPTH})"),
        "orders": section("orders", n_orders, per_inst, order_budget.limit, order_budget.window,
                          f"our client, {n_orders} limit buys far below the market, round-robin over "
                          f"{', '.join(order_insts)}"),
        "batch": section("batch", n_batch_orders // 20, per_inst_batch, batch_budget.limit, batch_budget.window,
                         f"our client, {n_batch_orders} orders in batches of 20 (one instrument per batch, "
                         f"alternating {', '.join(order_insts)})"),
        "ccxt_books": section("ccxt_books", n_books, {"ip": n_books}, books_budget.limit, books_budget.window,
                              "ccxt okx enableRateLimit=True (rateLimit 110 ms x cost 1/2), same books"),
        "target_ratio_vs_bound": 1.05,
    }
    ours = ("books", "orders", "batch")
    out["meets_target"] = all(out[k]["ratio_vs_bound"] <= 1.05 and out[k]["refusals"] == 0 for k in ours)
    return out


# -- figures 5 and 6: Prefect flows against the simulator (benchmarks/flowbench.py) -------------

def _flows_available() -> str | None:
    try:
        import flows.rebalance  # noqa: F401
    except Exception as exc:  # ImportError, or a half-written module
        return f"not available yet: flows.rebalance cannot be imported ({exc.__class__.__name__}: {exc})"
    return None


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench_prefect_overhead(stack: Any, quick: bool) -> dict[str, Any]:
    """A 3-asset rebalance through the flow vs the same steps by direct client calls, and N
    order-book tasks in a flow vs N direct calls; simulator rate limits and the client limiter off."""
    missing = _flows_available()
    if missing:
        return {"status": "unavailable", "note": missing}
    reps, n_tasks, rounds = (1, 10, 1) if quick else (7, 50, 7)
    raw = orchestration.run_child(stack, ["overhead", "--reps", str(reps), "--tasks", str(n_tasks),
                                          "--task-rounds", str(rounds)], timeout=600)
    flow_s, direct_s = _med(raw["flow_s"]), _med(raw["direct_s"])
    task_runs = int(_med(raw["task_runs"][1:] or raw["task_runs"]))
    first = raw["first"]
    books = {k: _med(v) for k, v in raw["books"].items()}
    n = raw["n_tasks"]
    return {
        "database": stack.database, "prefect_server_start_s": round(stack.startup_s, 2),
        "import_prefect_s": round(raw["import_prefect_s"], 3),
        "rebalance": {
            "assets": 3, "reps": reps,
            "flow_s": round(flow_s, 4), "direct_s": round(direct_s, 4), "ratio": ratio(flow_s, direct_s),
            "task_runs": task_runs,
            "per_task_overhead_ms": round((flow_s - direct_s) / task_runs * 1000, 2) if task_runs else None,
            "first_run": {"flow_s": round(first["flow"]["seconds"], 3),
                          "direct_s": round(first["direct"]["seconds"], 4),
                          "flow_extra_over_steady_s": round(first["flow"]["seconds"] - flow_s, 3)},
            "flow_s_per_run": [round(x, 4) for x in raw["flow_s"]],
            "direct_s_per_run": [round(x, 4) for x in raw["direct_s"]],
            "requests_per_run": {"flow": raw["flow_requests"], "direct": raw["direct_requests"]},
            "orders_per_run": raw["orders"], "same_orders": raw["same_orders"],
            "task_runs_per_run": raw["task_runs"],
        },
        "tasks": {
            "n": n, "rounds": rounds,
            "direct_s": round(books["direct"], 4), "flow_sequential_s": round(books["flow_sequential"], 4),
            "flow_submit_s": round(books["flow_submit"], 4), "flow_empty_s": round(books["flow_empty"], 4),
            "ratio_sequential": ratio(books["flow_sequential"], books["direct"]),
            # (flow - direct) / N, as asked; and without the flow run's own fixed cost (an empty flow).
            "per_task_overhead_ms": round((books["flow_sequential"] - books["direct"]) / n * 1000, 2),
            "per_task_overhead_ms_submit": round((books["flow_submit"] - books["direct"]) / n * 1000, 2),
            "per_task_overhead_ms_excl_flow": round(
                (books["flow_sequential"] - books["flow_empty"] - books["direct"]) / n * 1000, 2),
            "task_runs_recorded": raw["book_task_runs"],
        },
        "note": (f"in-process flows (flowbench.py) against one `prefect server start` over {stack.database}, "
                 "heartbeat off; fresh simulator subprocess (seed 0, rate limits off) per rebalance, sides "
                 "alternating; medians. per_task_overhead_ms = (flow - direct) / task runs the server recorded"),
    }


def bench_rebalance_scale(stack: Any, quick: bool) -> dict[str, Any]:
    """10/50/200-asset rebalance (rate limits on, as OKX): wall time, growth, RSS, requests vs budgets."""
    sizes = [3, 10] if quick else [10, 50, 200]
    missing = _flows_available()
    if missing:
        return {"status": "unavailable", "note": missing, "sizes": sizes}
    rows: dict[str, Any] = {}
    if quick:  # one child for both sizes (the peak RSS is reset before each flow run); no direct side
        raw = orchestration.run_child(stack, ["scale", "--assets", ",".join(map(str, sizes)), "--no-direct"],
                                      timeout=300)
        found = raw["sizes"]
        for row in found.values():
            row["rss_after_warmup_mb"] = raw["rss_before_mb"]
    else:  # one child per size, so each peak RSS is that size's alone
        found = {}
        for n in sizes:
            raw = orchestration.run_child(stack, ["scale", "--assets", str(n)], timeout=900)
            found[str(n)] = {**raw["sizes"][str(n)], "rss_after_warmup_mb": raw["rss_before_mb"]}
    for n in sizes:
        r = found[str(n)]
        f, d = r["flow"], r.get("direct")
        rows[str(n)] = {
            "assets": n, "wall_s": round(f["wall_s"], 3),
            "direct_wall_s": round(d["wall_s"], 3) if d else None,
            "ratio_vs_direct": ratio(f["wall_s"], d["wall_s"]) if d else None,
            "s_per_asset": round(f["wall_s"] / n, 4),
            "task_runs": f["task_runs"], "requests": f["requests"], "direct_requests": d["requests"] if d else None,
            "per_endpoint": f["per_endpoint"],
            "rate_limit_bound_s": f["rate_limit_bound_s"], "bound_per_budget_s": f["bound_per_budget_s"],
            "ratio_vs_bound": ratio(f["wall_s"], f["rate_limit_bound_s"]) if f["rate_limit_bound_s"] else None,
            "direct_ratio_vs_bound": (ratio(d["wall_s"], d["rate_limit_bound_s"])
                                      if d and d["rate_limit_bound_s"] else None),
            "orders": f["orders"], "placed": f["placed"], "fills": f["fills"],
            "same_orders": (f["legs"] == d["legs"] and f["placed"] == d["placed"]) if d else None,
            "books_read": f["per_endpoint"].get("GET /api/v5/market/books", 0), "depth": f["depth"],
            "sim_refusals": f["sim_refusals"] + (d["sim_refusals"] if d else 0),
            "peak_budget_use": f["peak_budget_use"],
            "peak_rss_mb": r["peak_rss_mb"], "rss_after_warmup_mb": r["rss_after_warmup_mb"],
            "rss_before_flow_mb": r["rss_before_flow_mb"], "rss_after_flow_mb": r["rss_after_flow_mb"],
            "rss_growth_mb": round(r["peak_rss_mb"] - r["rss_before_flow_mb"], 1),
        }
    growth = {f"{a}->{b}": round((rows[str(b)]["wall_s"] - rows[str(a)]["wall_s"]) / (b - a), 4)
              for a, b in itertools.pairwise(sizes)}
    return {"sizes": sizes, "database": stack.database, "runs": rows,
            "marginal_s_per_asset": growth,
            "note": ("flows.rebalance in a child process (flowbench.py scale) against one Prefect server, "
                     "heartbeat off, after a warm-up flow; a fresh simulator per run with rate limits on "
                     "(--instruments 250, USDT=10,000,000), the client waiting through its own limiter; "
                     "equal weights (4 decimals, USDT takes the rest); peak_rss_mb = VmHWM of that process "
                     "during the flow run (reset just before it), rss_growth_mb = that peak minus the RSS "
                     "before; rate_limit_bound_s = least time OKX's budgets allow for the requests sent; "
                     "books_read = market/books requests (books are read only for legs beyond their top of "
                     "book, at most 40); depth = the plan's legs: checked against a book, short (the book "
                     "cannot fill them within their limit), inconclusive, beyond the top and not read; "
                     "same_orders = flow and direct placed the same legs"
                     + ("; quick: both sizes in one process, no direct side" if quick else ""))}


# -- figure 7: the simulator's own capacity ---------------------------------------------------

def bench_simulator(sim: SimProcess, quick: bool) -> dict[str, Any]:
    seconds = 1.0 if quick else 4.0
    out: dict[str, Any] = {}
    for label, path in (("books", f"/api/v5/market/books?instId={INST}&sz={BOOK_DEPTH}"),
                        ("balance", "/api/v5/account/balance")):
        for threads in (1, 4):
            latencies: list[float] = []
            errors: list[int] = []
            cpu0 = sim.cpu_seconds()
            stop_at = time.perf_counter() + seconds
            workers = [threading.Thread(target=sim_throughput.worker,
                                        args=(sim.base_url, sim.credentials, path, stop_at, latencies, errors))
                       for _ in range(threads)]
            began = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - began
            cpu = sim.cpu_seconds() - cpu0
            out[f"{label}_{threads}t"] = {
                "requests_per_s": round(len(latencies) / elapsed, 1),
                "p50_ms": round(percentile(latencies, 0.5) * 1000, 3),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
                "non_200": len(errors),
                "sim_cpu_us_per_request": round(cpu / len(latencies) * 1e6, 1) if latencies else None,
                "sim_capacity_per_s": round(len(latencies) / cpu, 1) if cpu > 0 else None,
            }
    out["note"] = ("load from sim_throughput.worker threads (signed GET, one Session each); "
                   "sim_capacity_per_s = requests / simulator CPU seconds, the most its one core can serve")
    return out


# -- driver -----------------------------------------------------------------------------------

def _machine() -> dict[str, Any]:
    import ccxt

    try:
        from importlib.metadata import version
        pyokx = version("python-okx")
    except Exception:
        pyokx = "?"
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "requests": requests.__version__, "ccxt": ccxt.__version__, "python_okx": pyokx,
            "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def run(only: list[str], quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": {"quick": quick, "only": only, **_machine()}}
    for name in FIGURES:
        results[name] = {"status": "skipped", "note": "not selected by --only"}

    def attempt(name: str, fn: Callable[[], dict[str, Any]]) -> None:
        if name not in only:
            return
        began = time.perf_counter()
        try:
            value = fn()
            value.setdefault("status", "ok")
        except Exception as exc:
            traceback.print_exc()
            value = {"status": "error", "note": f"{exc.__class__.__name__}: {exc}"}
        value["seconds"] = round(time.perf_counter() - began, 1)
        results[name] = value
        print(f"  {name}: {value['status']} in {value['seconds']} s", file=sys.stderr, flush=True)

    flow_figures = [n for n in ("prefect_overhead", "rebalance_scale") if n in only]
    flows_missing = _flows_available() if flow_figures else None
    with contextlib.ExitStack() as services:
        server: Callable[[], Any] | None = None
        if flow_figures and not flows_missing and quick:
            # --quick: the Prefect server boots while figures 1-4 run (their timings are not the
            # point in quick mode); a full run starts it afterwards, so it perturbs nothing.
            server = services.enter_context(orchestration.in_background(orchestration.prefect_stack))
        attempt("signing", lambda: bench_signing(quick))
        needs_sim = [n for n in ("roundtrip_books", "private_balance", "private_place_cancel", "simulator")
                     if n in only]
        if needs_sim:
            with simulator(rate_limits=False, balances={"USDT": "100000000", "BTC": "100", "ETH": "1000"}) as sim:
                requests.get(f"{sim.base_url}/api/v5/market/books?instId={INST}&sz={BOOK_DEPTH}", timeout=10)
                attempt("roundtrip_books", lambda: bench_roundtrip_books(sim, quick))
                attempt("private_balance", lambda: bench_private_balance(sim, quick))
                attempt("private_place_cancel", lambda: bench_private_place_cancel(sim, quick))
                attempt("simulator", lambda: bench_simulator(sim, quick))
        attempt("rate_limits", lambda: bench_rate_limits(quick))
        if flow_figures and flows_missing:
            attempt("prefect_overhead", lambda: bench_prefect_overhead(None, quick))
            attempt("rebalance_scale", lambda: bench_rebalance_scale(None, quick))
        elif flow_figures:
            try:  # one Prefect server for both figures (PostgreSQL if installed, else SQLite)
                stack = server() if server else services.enter_context(orchestration.prefect_stack())
            except Exception as exc:  # noqa: BLE001 - the server itself did not start
                traceback.print_exc()
                for name in flow_figures:
                    results[name] = {"status": "error", "note": f"Prefect server: {exc.__class__.__name__}: {exc}"}
            else:
                attempt("prefect_overhead", lambda: bench_prefect_overhead(stack, quick))
                attempt("rebalance_scale", lambda: bench_rebalance_scale(stack, quick))
    attempt("orchestration", lambda: orchestration.bench_orchestration(quick))
    return results


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    s = results["signing"]
    if s.get("status") == "ok":
        rows.append(("1 signing us/header set", f"ours {s['ours_us']}",
                     f"floor {s['floor_us']}, tutorial {s['tutorial_us']}",
                     f"{s['ratio_vs_floor']}x floor (target <= 1.3); tutorial {s['tutorial_ratio_vs_ours']}x ours"))
    for key, label in (("roundtrip_books", "2 books req/s"), ("private_balance", "3 balance req/s"),
                       ("private_place_cancel", "3 place+cancel pairs/s")):
        f = results[key]
        if f.get("status") != "ok":
            continue
        c = f["clients"]
        for name in ("ours", "session_floor", "requests_get", "ccxt", "python_okx"):
            extra = "" if name == "ours" else f"ours is {f['speedup_vs'][name]}x faster"
            if name == "session_floor":
                extra = f"{f['ratio_vs_floor']}x floor (target <= {f['target_ratio_vs_floor']})"
            rows.append((f"{label}: {name}", _fmt(c[name]["ops_per_s"]),
                         f"p50 {c[name]['p50_ms']} ms, p99 {c[name]['p99_ms']} ms", extra))
        rows.append((f"{label}: simulator", _fmt(f["sim_capacity_per_s"]), "capacity from its CPU/request", ""))
    r = results["rate_limits"]
    if r.get("status") == "ok":
        for key in ("books", "orders", "batch", "ccxt_books"):
            x = r[key]
            rows.append((f"4 rate limits: {key}", f"{x['wall_s']} s",
                         f"bound {x['bound_s']} s, {x['refusals']} refusals",
                         f"{x['ratio_vs_bound']}x bound"))
    p = results["prefect_overhead"]
    if p.get("status") == "ok":
        rb, tk = p["rebalance"], p["tasks"]
        rows.append(("5 rebalance 3 assets: flow vs direct", f"{rb['flow_s']} s",
                     f"direct {rb['direct_s']} s, {rb['task_runs']} task runs, "
                     f"first flow run {rb['first_run']['flow_s']} s",
                     f"{rb['ratio']}x direct; {rb['per_task_overhead_ms']} ms/task run"))
        rows.append((f"5 {tk['n']} book tasks: flow vs direct", f"{tk['flow_sequential_s']} s",
                     f"direct {tk['direct_s']} s, .submit {tk['flow_submit_s']} s, empty flow {tk['flow_empty_s']} s",
                     f"{tk['per_task_overhead_ms']} ms/task ({tk['per_task_overhead_ms_excl_flow']} excl. flow)"))
    elif p.get("status") != "skipped":
        rows.append(("5 prefect overhead", p.get("status", ""), p.get("note", "")[:70], ""))
    sc = results["rebalance_scale"]
    if sc.get("status") == "ok":
        for n, x in sc["runs"].items():
            direct = f", direct {x['direct_wall_s']} s" if x["direct_wall_s"] is not None else ""
            depth = x["depth"]
            rows.append((f"6 rebalance {n} assets", f"{x['wall_s']} s",
                         (f"{x['requests']} requests ({x['books_read']} books: {depth['short']} legs short, "
                          f"{depth['not_read']} not read), bound {x['rate_limit_bound_s']} s{direct}, "
                          f"{x['sim_refusals']} refusals, RSS {x['peak_rss_mb']} MB (+{x['rss_growth_mb']}), "
                          f"{x['task_runs']} task runs"),
                         f"{x['s_per_asset']} s/asset; {x['ratio_vs_bound']}x bound"))
    elif sc.get("status") != "skipped":
        rows.append(("6 rebalance scale", sc.get("status", ""), sc.get("note", "")[:70], ""))
    o = results["orchestration"]
    if o.get("status") == "ok":
        m = o["median"]
        rows.append((f"orchestration {o['deployment']} ({o['database']})", f"{m['scheduled_to_completed_s']} s",
                     (f"scheduled->pending {m['scheduled_to_pending_s']} s, pending->running "
                      f"{m['pending_to_running_s']} s, running->completed {m['running_to_completed_s']} s"),
                     f"median of {o['runs']} runs"))
    sim = results["simulator"]
    if sim.get("status") == "ok":
        for key in ("books_1t", "books_4t", "balance_1t", "balance_4t"):
            x = sim[key]
            rows.append((f"7 simulator {key}", _fmt(x["requests_per_s"]), f"p50 {x['p50_ms']} ms, p99 {x['p99_ms']} ms",
                         f"capacity {x['sim_capacity_per_s']}/s by CPU"))
    for name in FIGURES:
        if results[name].get("status") == "error":
            rows.append((name, "ERROR", results[name]["note"][:70], ""))
    widths = [max(len(row[i]) for row in rows + [("figure", "value", "detail", "ratio")]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(("figure", "value", "detail", "ratio"), widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="okx-flows benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny sizes; finishes in under a minute")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(FIGURES)}")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", help="where to write the results")
    args = parser.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()] or list(FIGURES)
    unknown = sorted(set(only) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    results = run(only, args.quick)
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    print(f"wrote {args.json}")
    return 1 if any(results[n].get("status") == "error" for n in FIGURES) else 0


if __name__ == "__main__":
    sys.exit(main())
