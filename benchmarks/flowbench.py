"""Child process for figures 5 and 6: Prefect flows against the simulator, timed in-process.

    python benchmarks/flowbench.py overhead --reps 5 --tasks 50
    python benchmarks/flowbench.py scale --assets 200

``benchmarks/run.py`` starts this with ``PREFECT_API_URL`` pointing at the one Prefect server it
started for the benchmark (never the ephemeral one), and reads one JSON object from the last
line of stdout. Every flow runs with the heartbeat off (``temporary_settings``), so a sync flow
does not pay the ~1 s heartbeat join (Prefect 3.9.1, FACTS T1). Each simulator is a subprocess
(``simproc.simulator``, seed 0), stopped by pid whatever happens.

The direct side runs the same pipeline as ``flows.rebalance`` (``okx_strategies.pipeline`` and
the strategy's ``execute``) through ``okx_strategies.direct.DirectVenue`` on the same client
object, minus the Prefect engine: no task runs, no logs or artifacts sent to the API, and no
journal or account lock.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import requests
import yaml
from simproc import SimProcess, simulator

from okx_wire.client import OkxClient
from okx_wire.limits import BUDGETS, demands

clock = time.perf_counter


def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def current_rss_mb() -> float:
    return _status_mb("VmRSS")


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident set size since the last ``reset_peak_rss`` (VmHWM).

    Not ``ru_maxrss``: that survives exec, so a child forked from a big parent reports the
    parent's size (the benchmark driver holds ~145 MB, more than this process ever does)."""
    peak = _status_mb("VmHWM")
    if peak != peak:  # NaN: no /proc
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return peak


# -- a client that records every request it sends ---------------------------------------------

class RecordingSession(requests.Session):
    """Remembers (time sent, method, path, instIds) for every request: the request count and
    the rate-limit bound of a run come from this trace."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[tuple[float, str, str, tuple[str, ...]]] = []
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=16, max_retries=0)
        self.mount("http://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        insts: tuple[str, ...] = tuple(parse_qs(parts.query).get("instId", ()))
        if request.body:
            try:
                body = json.loads(request.body)
                rows = body if isinstance(body, list) else [body]
                insts = tuple(str(r["instId"]) for r in rows if isinstance(r, dict) and "instId" in r)
            except (ValueError, TypeError):
                pass
        self.trace.append((clock(), str(request.method), parts.path, insts))
        return super().send(request, **kwargs)


def install_client(sim: SimProcess, *, rate_limit: bool) -> tuple[Any, OkxClient, RecordingSession]:
    """The OkxCredentials block for ``sim`` and the one client every run in this process uses.

    The client is put into the block's process-wide client cache, so the flow's tasks
    (``credentials.get_client()``) and the direct side share it. ``rate_limit=False`` also turns
    the client's own limiter off (figure 5 measures orchestration, not throttling); with True it
    waits through the client's default limiter, fresh per simulator (each has its own URL).
    """
    from okx_tasks import blocks

    creds = blocks.OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)
    session = RecordingSession()
    client = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=rate_limit, session=session)
    blocks._CLIENTS.put(creds._client_key(), client)
    os.environ["OKX_API_KEY"] = sim.credentials.api_key
    os.environ["OKX_SECRET_KEY"] = sim.credentials.secret_key.get_secret_value()
    os.environ["OKX_PASSPHRASE"] = sim.credentials.passphrase.get_secret_value()
    os.environ.pop("OKX_BASE_URL", None)
    _configure()
    return creds, client, session


def drop_client(client: OkxClient) -> None:
    from okx_tasks import blocks

    for key in blocks._CLIENTS:
        if blocks._CLIENTS.entries.get(key) is client:
            blocks._CLIENTS.pop(key)
    client.close()


def _configure() -> None:
    """This process's settings, from the environment as this benchmark set it (an entry point)."""
    from okx_wire.runtime import RUNTIME
    from okx_wire.settings import Settings

    RUNTIME.configure(Settings.from_env())


# -- specs ------------------------------------------------------------------------------------

def equal_weights(assets: list[str], quote: str = "USDT") -> dict[str, str]:
    """Equal weights, 4 decimals, rounded down; the quote gets the rest so the sum is exactly 1."""
    weight = (Decimal(1) / (len(assets) + 1)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    targets = {a: str(weight) for a in assets}
    targets[quote] = str(Decimal(1) - weight * len(assets))
    assert sum(Decimal(v) for v in targets.values()) == 1
    return targets


def write_spec(path: Path, name: str, base_url: str, assets: list[str]) -> Path:
    spec = {
        "name": name, "venue": "sim", "base_url": base_url, "dry_run": False,
        "risk": {"allowed_instruments": [f"{a}-USDT" for a in assets], "max_slippage_bps": 100},
        "strategy": {"kind": "rebalance", "quote_ccy": "USDT", "targets": equal_weights(assets),
                     "drift_band": "0.005", "min_trade_quote": 10},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


# -- the direct side: the rebalance flow's pipeline, no Prefect engine ---------------------------

def depth_summary(plan: Any) -> dict[str, int]:
    """What the plan's legs say about depth (``okx_strategies.plan.with_depth``): legs whose book
    was read (``checked``), of those the ones it cannot fill within their limit (``short``) or
    whose levels read end inside the limit (``inconclusive``), and legs beyond their top of book
    whose book was not read (``not_read``)."""
    checked = [o.depth for o in plan.orders if getattr(o, "depth", None) is not None]
    return {"checked": len(checked), "short": sum(d.short for d in checked),
            "inconclusive": sum(not d.conclusive for d in checked),
            "not_read": sum("book not read" in o.reason for o in plan.orders)}


def direct_rebalance(spec_path: str) -> dict[str, Any]:
    """The pipeline the flow runs (``okx_strategies.pipeline`` and the strategy's ``execute``)
    through the direct binding: the same reads, plan, batches, waits and fills, no task runs."""
    from flows.spec import SpecError, load_spec
    from okx_strategies import pipeline
    from okx_strategies.direct import DirectRun, DirectVenue
    from okx_tasks.blocks import OkxCredentials

    spec = load_spec(spec_path)
    creds = OkxCredentials.from_env(base_url=spec.base_url)
    # Fresh ids (a new uuid per run), so nothing to look up before sending, as a flow's first attempt.
    venue = DirectVenue(creds.get_client(), resend=False)
    instruments = pipeline.checked_instruments(venue, spec, SpecError)
    snapshot = pipeline.market(venue, spec, instruments)
    plan = pipeline.plan(spec, snapshot)
    run = DirectRun(spec, venue, instruments, plan, key=uuid.uuid4().hex)
    pipeline.strategy_of(spec).execute(run)
    need = spec.strategy.needs()
    after = venue.balances(need.ccys)
    return {"orders": len(plan.orders), "legs": sorted((o.inst_id, o.side) for o in plan.orders),
            "placed": sum(p.ok for p in run.result.placements), "fills": len(run.result.fills),
            "depth": depth_summary(plan), "after": {c: str(v) for c, v in after.items()}}


def flow_rebalance(spec_path: str) -> dict[str, Any]:
    from flows.rebalance import rebalance

    result = rebalance(spec_path=spec_path)
    return {"orders": len(result.plan.orders), "legs": sorted((o.inst_id, o.side) for o in result.plan.orders),
            "placed": sum(p.ok for p in result.placements), "fills": len(result.fills),
            "depth": depth_summary(result.plan), "flow_run_id": result.flow_run_id}


# -- Prefect helpers ----------------------------------------------------------------------------

@contextmanager
def heartbeat_off() -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def task_run_counts(flow_run_ids: list[str], settle_s: float = 20.0) -> dict[str, int]:
    """Task runs the server recorded per flow run. Task-run states reach the server as events,
    so read until the counts stop changing (or ``settle_s``)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    ids = [uuid.UUID(i) for i in flow_run_ids]
    counts: dict[str, int] = {}
    deadline = time.monotonic() + settle_s
    with get_client(sync_client=True) as client:
        stable = 0
        while time.monotonic() < deadline and stable < 2:
            now: dict[str, int] = {i: 0 for i in flow_run_ids}
            offset = 0
            while True:  # the API pages at 200
                runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)),
                                             limit=200, offset=offset)
                for tr in runs:
                    now[str(tr.flow_run_id)] = now.get(str(tr.flow_run_id), 0) + 1
                if len(runs) < 200:
                    break
                offset += 200
            stable = stable + 1 if now == counts and all(now.values()) else 0
            counts = now
            time.sleep(0.5)
    return counts


# -- rate-limit bound of a recorded run ---------------------------------------------------------

def request_summary(trace: list[tuple[float, str, str, tuple[str, ...]]], ip: str) -> dict[str, Any]:
    """Requests per endpoint, and the least time OKX's budgets allow for them.

    Per budget: units per bucket (as ``okx_wire.limits.demands`` keys them) give
    (ceil(units/limit) - 1) * window, the span a sliding window forces between the first and the
    last request of that bucket. Budgets whose requests overlap in time share the wall clock
    (their max counts); budgets used in disjoint phases of the run (books, then orders, then
    fills) add up. That sum is a lower bound on the run's wall time from rate limits alone.
    """
    per_endpoint: dict[str, int] = {}
    units: dict[str, dict[str, int]] = {}
    span: dict[str, list[float]] = {}
    for t, method, path, insts in trace:
        per_endpoint[f"{method} {path}"] = per_endpoint.get(f"{method} {path}", 0) + 1
        for key, budget, n in demands(method, path, ip=ip, user="u", inst_type="SPOT", inst_ids=insts):
            units.setdefault(budget.name, {})
            units[budget.name][key] = units[budget.name].get(key, 0) + n
            s = span.setdefault(budget.name, [t, t])
            s[1] = t
    limits = {b.name: b for b in BUDGETS.values()}
    bounds = {name: max((-(-u // limits[name].limit) - 1) * limits[name].window for u in per.values())
              for name, per in units.items()}
    # Merge overlapping spans of budgets with a non-zero bound; sum the max of each group.
    busy = sorted((span[n][0], span[n][1], bounds[n]) for n in bounds if bounds[n] > 0)
    total, group_end, group_max = 0.0, None, 0.0
    for start, end, bound in busy:
        if group_end is not None and start <= group_end:
            group_end, group_max = max(group_end, end), max(group_max, bound)
        else:
            total += group_max
            group_end, group_max = end, bound
    total += group_max
    return {"requests": len(trace), "per_endpoint": dict(sorted(per_endpoint.items())),
            "bound_per_budget_s": {n: b for n, b in sorted(bounds.items()) if b > 0},
            "rate_limit_bound_s": round(total, 3)}


# -- modes --------------------------------------------------------------------------------------

OVERHEAD_ASSETS = ["BTC", "ETH", "SOL"]
OVERHEAD_BALANCES = {"USDT": "1000000", "BTC": "10"}  # BTC overweight: one sell, two buys


def overhead(reps: int, n_tasks: int, task_rounds: int, tmp: Path) -> dict[str, Any]:
    from prefect import flow

    from okx_tasks import tasks

    def one(side: str, index: int) -> dict[str, Any]:
        with simulator(rate_limits=False, balances=OVERHEAD_BALANCES) as sim:
            _, client, session = install_client(sim, rate_limit=False)
            try:
                spec = write_spec(tmp / f"{side}-{index}.yaml", f"bench-{side}-{index}", sim.base_url,
                                  OVERHEAD_ASSETS)
                t0 = clock()
                out = (flow_rebalance if side == "flow" else direct_rebalance)(str(spec))
                out["seconds"] = clock() - t0
                out["requests"] = len(session.trace)
                return out
            finally:
                drop_client(client)

    first = {"flow": one("flow", 0), "direct": one("direct", 0)}  # each side's first run in this process
    samples: dict[str, list[dict[str, Any]]] = {"flow": [], "direct": []}
    for r in range(reps):
        for side in (("flow", "direct") if r % 2 == 0 else ("direct", "flow")):
            samples[side].append(one(side, r + 1))
    flow_ids = [first["flow"]["flow_run_id"]] + [s["flow_run_id"] for s in samples["flow"]]
    same_orders = all(f["legs"] == d["legs"] and f["placed"] == d["placed"]
                      for f, d in zip(samples["flow"], samples["direct"], strict=True))

    # N order-book tasks in one flow vs N direct calls, on one simulator (limits off both sides).
    book_stats: dict[str, list[float]] = {"direct": [], "flow_sequential": [], "flow_submit": [], "flow_empty": []}
    task_flow_ids: list[str] = []
    with simulator(rate_limits=False, instruments=max(n_tasks, 100)) as sim:
        creds, client, _ = install_client(sim, rate_limit=False)
        try:
            inst_ids = [i.inst_id for i in client.instruments("SPOT")][:n_tasks]
            assert len(inst_ids) == n_tasks

            def run_id() -> None:
                from prefect.context import FlowRunContext

                ctx = FlowRunContext.get()
                if ctx is not None and ctx.flow_run is not None:
                    task_flow_ids.append(str(ctx.flow_run.id))

            @flow(name="bench-books-sequential", persist_result=False)
            def books_sequential() -> None:
                run_id()
                for inst in inst_ids:
                    tasks.get_order_book(creds, inst, 5)

            @flow(name="bench-books-submit", persist_result=False)
            def books_submit() -> None:
                run_id()
                futures = [tasks.get_order_book.submit(creds, inst, 5) for inst in inst_ids]
                for f in futures:
                    f.result()

            @flow(name="bench-empty", persist_result=False)
            def empty() -> None:
                return None

            def direct() -> None:
                for inst in inst_ids:
                    client.order_book(inst, 5)

            contenders: dict[str, Callable[[], object]] = {
                "direct": direct, "flow_sequential": books_sequential, "flow_submit": books_submit,
                "flow_empty": empty}
            for fn in contenders.values():  # warm-up: registration of each flow, connections
                fn()
            task_flow_ids.clear()
            names = list(contenders)
            for r in range(task_rounds):
                for name in names[r % len(names):] + names[:r % len(names)]:
                    t0 = clock()
                    contenders[name]()
                    book_stats[name].append(clock() - t0)
                    time.sleep(0.2)
        finally:
            drop_client(client)

    counts = task_run_counts(flow_ids + task_flow_ids)
    flow_task_runs = [counts.get(i, 0) for i in flow_ids]
    book_task_runs = [counts.get(i, 0) for i in task_flow_ids]
    return {"first": {k: {"seconds": v["seconds"], "requests": v["requests"], "orders": v["orders"]}
                      for k, v in first.items()},
            "flow_s": [s["seconds"] for s in samples["flow"]], "direct_s": [s["seconds"] for s in samples["direct"]],
            "flow_requests": [s["requests"] for s in samples["flow"]],
            "direct_requests": [s["requests"] for s in samples["direct"]],
            "orders": [s["orders"] for s in samples["flow"]], "placed": [s["placed"] for s in samples["flow"]],
            "same_orders": same_orders, "task_runs": flow_task_runs,
            "books": {k: v for k, v in book_stats.items()}, "book_task_runs": book_task_runs, "n_tasks": n_tasks}


def scale(sizes: list[int], tmp: Path, with_direct: bool) -> dict[str, Any]:
    from prefect import flow

    @flow(name="bench-warmup", persist_result=False)
    def warmup() -> None:
        return None

    warmup()  # the Prefect client and the engine's first-run costs stay out of the figure
    out: dict[str, Any] = {"rss_before_mb": current_rss_mb(), "sizes": {}}
    for n_assets in sizes:
        row: dict[str, Any] = {"assets": n_assets}
        for side in (["flow", "direct"] if with_direct else ["flow"]):
            with simulator(rate_limits=True, instruments=250, balances={"USDT": "10000000"}) as sim:
                _, client, session = install_client(sim, rate_limit=True)
                try:
                    catalogue = [i for i in client.instruments("SPOT") if i.quote_ccy == "USDT"]
                    assets = [i.base_ccy for i in catalogue][:n_assets]
                    assert len(assets) == n_assets, f"only {len(assets)} USDT pairs listed"
                    spec = write_spec(tmp / f"scale-{side}-{n_assets}.yaml", f"scale-{n_assets}", sim.base_url,
                                      assets)
                    session.trace.clear()
                    rss_before = current_rss_mb()
                    peak_reset = reset_peak_rss()
                    t0 = clock()
                    result = (flow_rebalance if side == "flow" else direct_rebalance)(str(spec))
                    wall = clock() - t0
                    state = requests.get(f"{sim.base_url}/__sim__/state", timeout=10).json()["data"][0]
                    summary = request_summary(session.trace, urlsplit(sim.base_url).netloc)
                    row[side] = {"wall_s": wall, "orders": result["orders"], "placed": result["placed"],
                                 "legs": result["legs"], "depth": result["depth"],
                                 "fills": result["fills"], "sim_refusals": state["rateLimitRefusals"],
                                 "peak_budget_use": state["peakBudgetUse"], **summary}
                    if side == "flow":
                        row["flow_run_id"] = result["flow_run_id"]
                        row["peak_rss_mb"] = peak_rss_mb()  # during the flow run (VmHWM reset before it)
                        row["peak_reset"] = peak_reset
                        row["rss_before_flow_mb"] = rss_before
                        row["rss_after_flow_mb"] = current_rss_mb()
                finally:
                    drop_client(client)
        out["sizes"][str(n_assets)] = row
    ids = [row["flow_run_id"] for row in out["sizes"].values()]
    counts = task_run_counts(ids)
    for row in out["sizes"].values():
        row["flow"]["task_runs"] = counts.get(row["flow_run_id"], 0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("overhead", "scale"))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--task-rounds", type=int, default=5)
    parser.add_argument("--assets", default="10", help="comma-separated sizes, run in this order")
    parser.add_argument("--no-direct", action="store_true")
    args = parser.parse_args()
    t0 = clock()

    import_s = clock() - t0
    with tempfile.TemporaryDirectory(prefix="okx-flowbench-") as tmp, heartbeat_off():
        # The runs' journal lives and dies with the benchmark, never in the user's data dir.
        os.environ["OKX_FLOWS_JOURNAL_URL"] = f"sqlite:///{Path(tmp) / 'journal.sqlite3'}"
        _configure()
        if args.mode == "overhead":
            out = overhead(args.reps, args.tasks, args.task_rounds, Path(tmp))
        else:
            out = scale([int(a) for a in args.assets.split(",")], Path(tmp), not args.no_direct)
    out["import_prefect_s"] = import_s
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
