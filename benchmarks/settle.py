"""Settling a rebalance of 50 assets by polling REST (before) and on the ``orders`` pushes (after).

    .venv/bin/python benchmarks/settle.py                       # 3 rounds, both scenarios, ~2.5 min
    .venv/bin/python benchmarks/settle.py --rounds 1 --assets 20 --json /tmp/settle.json

Each run is the rebalance's own pipeline and ``execute`` through the direct binding
(``okx_strategies.direct.DirectVenue``: what ``flows.rebalance`` runs, minus the Prefect engine,
whose ``okx-wait-orders`` task sends the same requests), against a fresh ``okx_sim`` subprocess
(seed 0, OKX's rate limits on, 250 instruments, 10,000,000 USDT, the client waiting through its
own limiter): equal weights of the first N USDT pairs, as figure 6 of ``run.py``. The two sides
take turns, the order rotating every round; the pushes side opens its order stream before it
places anything (as the flows' warm per-key stream is), and that opening is reported apart.

Two scenarios, because what pushes change depends on how long orders rest:

* **marketable** (``max_slippage_bps: 100``): every leg fills as it is placed;
* **passive** (``max_slippage_bps: 1``): legs rest at about the mid and fill as the market
  walks into them; what is left after the settle timeout (10 s) is cancelled.

Per run: requests from the first placement to the fills read (all, and the order-state reads:
``trade/order`` + ``trade/orders-history``), **settle latency** from the return of the last
placement to the return of ``settle`` (every order final, cancels included), and **detection
lag**: for each order that filled while the run waited, from its last fill on the venue
(``uTime``, the simulator's clock is this machine's) to the moment the run knew it (its first
final state seen in a poll, or its final push). **Same fills**: the run's fills equal the
venue's own fills of the run's orders (``trade/fills``), on both sides; for the marketable
scenario the two sides' fills are also compared with each other (the same seeded market).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import yaml  # noqa: E402
from flowbench import RecordingSession, write_spec  # noqa: E402
from simproc import simulator  # noqa: E402

from okx_wire.client import OkxClient  # noqa: E402
from okx_wire.ws.streams import OrderStream  # noqa: E402

ORDER_STATE = ("GET /api/v5/trade/order", "GET /api/v5/trade/orders-history")
SCENARIOS = {"marketable": 100, "passive": 1}


class TimedStream(OrderStream):
    """An order stream that notes when each order's first final push arrived (ms, this clock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.final_at: dict[str, int] = {}
        super().__init__(*args, **kwargs)

    def _on_push(self, message: dict[str, Any]) -> None:
        if message["arg"].get("channel") == "orders":
            now = int(time.time() * 1000)
            for item in message["data"]:
                if item.get("state") in ("filled", "canceled", "mmp_canceled"):
                    self.final_at.setdefault(str(item.get("ordId")), now)
        super()._on_push(message)


def one_run(side: str, slippage_bps: int, assets_n: int, tmp: Path) -> dict[str, Any]:
    from flows.spec import SpecError, load_spec
    from okx_strategies import pipeline
    from okx_strategies.direct import DirectRun, DirectVenue
    from okx_strategies.pushes import CONNECT_TIMEOUT_S

    with simulator(rate_limits=True, instruments=250, balances={"USDT": "10000000"}) as sim:
        session = RecordingSession()
        client = OkxClient(sim.credentials, base_url=sim.base_url, session=session)
        stream: TimedStream | None = None
        try:
            assets = [i.base_ccy for i in client.instruments("SPOT") if i.quote_ccy == "USDT"][:assets_n]
            path = write_spec(tmp / f"settle-{side}-{slippage_bps}.yaml", f"settle-{assets_n}", sim.base_url, assets)
            data = yaml.safe_load(path.read_text())
            data["risk"]["max_slippage_bps"] = slippage_bps
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            spec = load_spec(str(path))
            opened = 0.0
            if side == "pushes":
                t0 = time.perf_counter()
                stream = TimedStream(client, account=False, connect_timeout=CONNECT_TIMEOUT_S)
                opened = time.perf_counter() - t0
            venue = DirectVenue(client, resend=False, orders=stream)
            instruments = pipeline.checked_instruments(venue, spec, SpecError)
            plan = pipeline.plan(spec, pipeline.market(venue, spec, instruments))
            run = DirectRun(spec, venue, instruments, plan, key=uuid.uuid4().hex)
            seen_final: dict[str, int] = {}
            marks: dict[str, float] = {}
            settles: list[float] = []
            _instrument(venue, run, seen_final, marks, settles)
            session.trace.clear()
            pipeline.strategy_of(spec).execute(run)
            per_endpoint = Counter(f"{m} {p}" for _, m, p, _ in session.trace)
            orders = run.result.orders
            venue_fills = sorted((f.ord_id, f.trade_id, str(f.fill_px), str(f.fill_sz))
                                 for f in client.fills_since(0) if f.ord_id in {o.ord_id for o in orders})
            run_fills = sorted((f.ord_id, f.trade_id, str(f.fill_px), str(f.fill_sz)) for f in run.result.fills)
            known = dict(seen_final)
            if stream is not None:
                for ord_id, at in stream.final_at.items():
                    known[ord_id] = min(at, known.get(ord_id, at))
            lags = [known[o.ord_id] - o.u_time for o in orders
                    if o.state.value == "filled" and o.u_time and o.ord_id in known
                    and o.c_time and o.u_time > o.c_time + 50]  # filled while the run waited, not on placing
            return {
                "requests": len(session.trace), "order_state_requests": sum(per_endpoint[k] for k in ORDER_STATE),
                "per_endpoint": dict(sorted(per_endpoint.items())), "settle_s": round(sum(settles), 3),
                "orders": len(orders), "states": dict(Counter(o.state.value for o in orders)),
                "fills": len(run_fills), "fills_match_venue": run_fills == venue_fills,
                "fill_shape": sorted((f.inst_id, f.side, str(f.fill_px), str(f.fill_sz)) for f in run.result.fills),
                "lag_ms": sorted(lags), "stream_open_s": round(opened, 3),
                "stream_rest_reads": stream.rest_reads if stream is not None else None,
                "reconnects": stream.epoch if stream is not None else None,
            }
        finally:
            if stream is not None:
                stream.close()
            client.close()


def _instrument(venue: Any, run: Any, seen_final: dict[str, int], marks: dict[str, float],
                settles: list[float]) -> None:
    """Note when placements return, when settle returns, and when a poll first saw each order
    final, without changing what either side does."""
    place_batch, place_one, order_states, settle = venue.place_batch, venue.place_one, venue.order_states, run.settle

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            marks["placed"] = time.perf_counter()
            return out
        return call

    def states(refs: Any) -> Any:
        out = order_states(refs)
        now = int(time.time() * 1000)
        for state in out:
            if not isinstance(state, Exception) and state.is_final:
                seen_final.setdefault(state.ord_id, now)
        return out

    def settled(*args: Any, **kwargs: Any) -> Any:
        out = settle(*args, **kwargs)
        settles.append(time.perf_counter() - marks.get("placed", time.perf_counter()))
        return out

    venue.place_batch, venue.place_one, venue.order_states = timed(place_batch), timed(place_one), states
    run.settle = settled


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    lags = [lag for r in runs for lag in r["lag_ms"]]
    med = statistics.median
    return {
        "runs": len(runs),
        "requests": med(r["requests"] for r in runs),
        "order_state_requests": med(r["order_state_requests"] for r in runs),
        "settle_s": round(med(r["settle_s"] for r in runs), 3),
        "lag_ms_p50": pct(lags, 0.5), "lag_ms_p99": pct(lags, 0.99), "lag_ms_max": max(lags) if lags else None,
        "lagged_orders": len(lags),
        "fills_match_venue": all(r["fills_match_venue"] for r in runs),
        "states": [r["states"] for r in runs], "fills": [r["fills"] for r in runs],
        "per_endpoint_first_run": runs[0]["per_endpoint"],
        "stream_open_s": med(r["stream_open_s"] for r in runs),
        "stream_rest_reads": [r["stream_rest_reads"] for r in runs], "reconnects": [r["reconnects"] for r in runs],
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--assets", type=int, default=50)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="marketable,passive")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    from okx_wire.runtime import RUNTIME
    from okx_wire.settings import Settings

    RUNTIME.configure(Settings.from_env({}))
    out: dict[str, Any] = {"assets": args.assets, "rounds": args.rounds, "scenarios": {}}
    with tempfile.TemporaryDirectory(prefix="okx-settle-") as tmp:
        for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            runs: dict[str, list[dict[str, Any]]] = {"polling": [], "pushes": []}
            for r in range(args.rounds):
                for side in (["polling", "pushes"] if r % 2 == 0 else ["pushes", "polling"]):
                    runs[side].append(one_run(side, SCENARIOS[name], args.assets, Path(tmp)))
                    print(f"  {name} round {r + 1} {side}: {runs[side][-1]['settle_s']} s, "
                          f"{runs[side][-1]['order_state_requests']} order-state requests", file=sys.stderr)
            before, after = summarise(runs["polling"]), summarise(runs["pushes"])
            same = [p["fill_shape"] == q["fill_shape"] for p, q in zip(runs["polling"], runs["pushes"], strict=True)]
            out["scenarios"][name] = {
                "max_slippage_bps": SCENARIOS[name], "polling": before, "pushes": after,
                "requests_ratio": ratio(after["requests"], before["requests"]),
                "order_state_requests_ratio": ratio(after["order_state_requests"], before["order_state_requests"]),
                "settle_ratio": ratio(after["settle_s"], before["settle_s"]),
                "same_fills_across_sides": same,
            }
    print(f"{'scenario':<11} {'side':<8} {'requests':>8} {'order-state':>11} {'settle s':>8} "
          f"{'lag p50/max ms':>15}  fills=venue")
    for name, row in out["scenarios"].items():
        for side in ("polling", "pushes"):
            x = row[side]
            lag = f"{x['lag_ms_p50']}/{x['lag_ms_max']}" if x["lagged_orders"] else "-"
            print(f"{name:<11} {side:<8} {x['requests']:>8} {x['order_state_requests']:>11} {x['settle_s']:>8} "
                  f"{lag:>15}  {x['fills_match_venue']}")
        print(f"{name:<11} {'ratio':<8} {row['requests_ratio']!s:>8} {row['order_state_requests_ratio']!s:>11} "
              f"{row['settle_ratio']!s:>8}   same fills across sides: {row['same_fills_across_sides']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if all(row[s]["fills_match_venue"] for row in out["scenarios"].values() for s in ("polling", "pushes")) \
        else 1


if __name__ == "__main__":
    sys.exit(main())
