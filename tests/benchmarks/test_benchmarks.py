"""benchmarks/run.py --quick runs end to end and writes results.json with its stable keys.

Only the shape is checked, never a wall-clock figure: timings belong to benchmarks/README.md.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"

FIGURE_KEYS = {
    "signing": {"ours_us", "floor_us", "tutorial_us", "ratio_vs_floor", "tutorial_ratio_vs_ours",
                "target_ratio_vs_floor", "meets_target"},
    "roundtrip_books": {"clients", "ratio_vs_floor", "target_ratio_vs_floor", "meets_target", "speedup_vs",
                        "ahead_of_all_third_party", "sim_capacity_per_s", "request"},
    "private_balance": {"clients", "ratio_vs_floor", "speedup_vs", "sim_capacity_per_s"},
    "private_place_cancel": {"clients", "ratio_vs_floor", "speedup_vs", "sim_capacity_per_s"},
    "rate_limits": {"books", "orders", "batch", "ccxt_books", "target_ratio_vs_bound", "meets_target"},
    "simulator": {"books_1t", "books_4t", "balance_1t", "balance_4t"},
}
CLIENTS = {"ours", "session_floor", "requests_get", "ccxt", "python_okx"}
CLIENT_KEYS = {"ops_per_s", "p50_ms", "p99_ms", "calls"}
RATE_KEYS = {"requests", "units_per_bucket", "wall_s", "bound_s", "ratio_vs_bound", "utilisation", "refusals"}


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "figure" in proc.stdout  # the table was printed
    return json.loads(out.read_text())


def test_quick_run_has_stable_keys(quick_results: dict) -> None:
    assert set(quick_results) == {"meta", *FIGURE_KEYS, "prefect_overhead", "rebalance_scale", "orchestration"}
    assert quick_results["meta"]["quick"] is True
    for figure, keys in FIGURE_KEYS.items():
        entry = quick_results[figure]
        assert entry["status"] == "ok", (figure, entry)
        assert keys <= set(entry), (figure, keys - set(entry))
    for figure in ("roundtrip_books", "private_balance", "private_place_cancel"):
        clients = quick_results[figure]["clients"]
        assert set(clients) == CLIENTS
        for stats in clients.values():
            assert set(stats) >= CLIENT_KEYS and stats["calls"] > 0 and stats["ops_per_s"] > 0
    for section in ("books", "orders", "batch", "ccxt_books"):
        assert set(quick_results["rate_limits"][section]) >= RATE_KEYS
        assert isinstance(quick_results["rate_limits"][section]["refusals"], int)


OVERHEAD_KEYS = {"flow_s", "direct_s", "ratio", "task_runs", "per_task_overhead_ms", "first_run", "same_orders"}
TASKS_KEYS = {"n", "direct_s", "flow_sequential_s", "flow_submit_s", "flow_empty_s", "per_task_overhead_ms",
              "per_task_overhead_ms_excl_flow"}
SCALE_KEYS = {"assets", "wall_s", "s_per_asset", "task_runs", "requests", "rate_limit_bound_s", "peak_rss_mb",
              "sim_refusals", "orders", "placed"}


def test_flow_figures_report_their_figures(quick_results: dict) -> None:
    for figure in ("prefect_overhead", "rebalance_scale"):
        entry = quick_results[figure]
        assert entry["status"] in {"ok", "unavailable"}, entry
        if entry["status"] == "unavailable":
            assert "not available yet" in entry["note"]
    overhead = quick_results["prefect_overhead"]
    if overhead["status"] == "ok":
        assert overhead["database"] in {"postgresql", "sqlite"}
        rebalance, books = overhead["rebalance"], overhead["tasks"]
        assert set(rebalance) >= OVERHEAD_KEYS, OVERHEAD_KEYS - set(rebalance)
        assert rebalance["assets"] == 3 and rebalance["task_runs"] > 3 and rebalance["same_orders"] is True
        assert min(rebalance["orders_per_run"]) > 0  # the 3-asset portfolio really traded
        assert set(books) >= TASKS_KEYS, TASKS_KEYS - set(books)
        assert books["task_runs_recorded"] and set(books["task_runs_recorded"]) == {books["n"]}
    scale = quick_results["rebalance_scale"]
    if scale["status"] == "ok":
        assert scale["sizes"] == [3, 10] and set(scale["runs"]) == {"3", "10"}
        for n, run in scale["runs"].items():
            assert set(run) >= SCALE_KEYS, SCALE_KEYS - set(run)
            assert run["assets"] == int(n) and run["placed"] == run["orders"] > 0
            assert run["requests"] > int(n) and run["sim_refusals"] == 0 and run["peak_rss_mb"] > 0
        assert set(scale["marginal_s_per_asset"]) == {"3->10"}


def test_orchestration_is_skipped_in_quick_mode(quick_results: dict) -> None:
    entry = quick_results["orchestration"]
    assert entry["status"] == "skipped" and "--only orchestration" in entry["note"]


def test_only_selects_figures_and_keeps_the_other_keys(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--only", "signing", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["signing"]["status"] == "ok"
    assert FIGURE_KEYS["signing"] <= set(results["signing"])
    assert results["rate_limits"]["status"] == "skipped"


def test_unknown_figure_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(RUN), "--only", "nope", "--json", str(tmp_path / "x.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown figure" in proc.stderr


def test_budget_bound_is_exact() -> None:
    spec = importlib.util.spec_from_file_location("okx_bench_run", RUN)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.budget_bound({"ip": 100}, 40, 2.0) == 4.0   # 40 at 0 s, 40 at 2 s, 20 at 4 s
    assert bench.budget_bound({"ip": 40}, 40, 2.0) == 0.0
    assert bench.budget_bound({"a": 100, "b": 100}, 60, 2.0) == 2.0
    assert bench.budget_bound({"a": 600}, 300, 2.0) == 2.0
    assert bench.budget_bound({"a": 601}, 300, 2.0) == 4.0


def test_settle_benchmark_runs_and_pushes_spare_order_reads(tmp_path: Path) -> None:
    """benchmarks/settle.py end to end on a small rebalance whose legs rest (the passive
    scenario, 10 s each side): both sides settle every order with the venue's own fills, and the
    push side reads fewer order states (polling reads each resting order every 2 s at most; on
    pushes a resting order is followed by its pushes and read once after the wait)."""
    out = tmp_path / "settle.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "settle.py"), "--rounds", "1", "--assets", "6",
                           "--scenarios", "passive", "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    figures = json.loads(out.read_text())["scenarios"]["passive"]
    for side in ("polling", "pushes"):
        assert figures[side]["fills_match_venue"] is True, side
        assert sum(figures[side]["states"][0].values()) == 6, figures[side]["states"]
    assert figures["pushes"]["order_state_requests"] < figures["polling"]["order_state_requests"]
    assert figures["pushes"]["requests"] < figures["polling"]["requests"]
