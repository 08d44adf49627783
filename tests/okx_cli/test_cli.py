"""``okx-flows``: exit codes, one-line errors, plan/run/check-key against a simulator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from okx_cli.main import main
from okx_sim import ApiKeySpec, SimConfig, running_simulator

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "flows" / "bad_specs"


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_validate_good_specs(capsys):
    specs = sorted(str(p) for p in (ROOT / "specs").glob("*.yaml"))
    assert main(["validate", *specs]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(specs) >= 4 and all(line.startswith("ok: ") for line in out)
    assert any("(kind rebalance" in line for line in out)


def test_validate_bad_spec_exits_1_with_its_problem_lines(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["validate", "specs/dca.yaml", "tests/flows/bad_specs/weights_sum.yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "ok: specs/dca.yaml (kind dca, name btc-dca, venue sim)\n"
    assert captured.err.strip() == (BAD / "weights_sum.expected").read_text().strip()


def test_missing_spec_file_is_one_line(capsys):
    assert main(["run", "no/such/spec.yaml"]) == 1
    assert "no/such/spec.yaml" in one_line_error(capsys.readouterr().err)


def test_plan_prints_orders_and_sends_nothing(sim, spec_file, capsys):
    assert main(["plan", str(spec_file("rebalance"))]) == 0
    out = capsys.readouterr().out
    assert "plan only, nothing sent" in out and "ETH-USDT" in out and "buy" in out
    assert sim.exchange.all_orders() == []


def test_run_dry_run_prints_a_summary_and_sends_nothing(sim, spec_file, capsys):
    assert main(["run", str(spec_file("dca")), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "BTC-USDT" in out and "Weights" in out
    assert sim.exchange.all_orders() == []


def test_run_places_and_summarises(sim, spec_file, capsys):
    assert main(["run", str(spec_file("dca"))]) == 0
    out = capsys.readouterr().out
    assert "Orders: 1 placed" in out and "filled" in out and "Fills: 1" in out
    assert len(sim.exchange.all_orders()) == 1


def test_live_without_confirmation_is_refused_in_one_line(tmp_path, capsys):
    live = tmp_path / "live.yaml"
    live.write_text("name: live-dca\nvenue: live\nrisk: {max_run_notional: 100}\n"
                    "strategy: {kind: dca, inst_id: BTC-USDT, quote_amount: 10}\n")
    assert main(["run", str(live)]) == 1
    assert "--confirm-live" in one_line_error(capsys.readouterr().err)


def test_check_key_warns_when_the_key_can_withdraw(tmp_path, monkeypatch, capsys):
    key = ApiKeySpec(permissions=frozenset({"read_only", "trade", "withdraw"}))
    with running_simulator(SimConfig(keys=[key])) as sim:
        monkeypatch.setenv("OKX_API_KEY", key.api_key)
        monkeypatch.setenv("OKX_SECRET_KEY", key.secret_key.get_secret_value())
        monkeypatch.setenv("OKX_PASSPHRASE", key.passphrase.get_secret_value())
        assert main(["check-key", "--base-url", sim.base_url]) == 0
    out = capsys.readouterr().out
    assert "withdraw" in out and "server clock" in out
    assert any(line.startswith("WARNING:") and "WITHDRAW" in line for line in out.splitlines())


def test_check_key_without_a_url_uses_an_embedded_simulator(monkeypatch, capsys):
    for name in ("OKX_BASE_URL", "OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["check-key"]) == 0
    out = capsys.readouterr().out
    assert "embedded simulator" in out and "WARNING" not in out


def test_check_key_wrong_secret_is_one_line(sim, monkeypatch, capsys):
    monkeypatch.setenv("OKX_SECRET_KEY", "wrong")
    assert main(["check-key", "--base-url", sim.base_url]) == 1
    assert "okx-flows: error:" in one_line_error(capsys.readouterr().err)


def test_unexpected_errors_are_one_line_with_a_debug_hint(monkeypatch, capsys):
    import okx_cli.validate as validate

    def boom(args, extra):
        raise RuntimeError("kaboom\nsecond line")

    monkeypatch.setattr(validate, "invoke", boom)
    assert main(["validate", "x.yaml"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "kaboom second line" in line and "--debug" in line
    with pytest.raises(RuntimeError):
        main(["--debug", "validate", "x.yaml"])


def test_limits_without_redis_is_one_line(monkeypatch, capsys):
    """An install that left redis out: ``limits`` says what is missing; other commands still work."""
    for name in ("okx_cli.limits", "okx_wire.shared_limits"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "redis", None)
    assert main(["limits", "show"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "redis" in line and "pip install" in line
    assert main(["validate", str(ROOT / "specs" / "dca.yaml")]) == 0


def test_help_lists_the_registered_strategies(capsys):
    from okx_strategies.registry import strategies

    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {kind} " in out and s.summary in out for kind, s in strategies().items())


def test_usage_errors_are_one_line(capsys):
    assert main(["run"]) == 2
    one_line_error(capsys.readouterr().err)
    assert main(["validate", "a.yaml", "--bogus"]) == 2
    one_line_error(capsys.readouterr().err)


def test_the_real_command_on_a_fresh_home(tmp_path):
    """``okx-flows run specs/rebalance.yaml`` as a user runs it: ephemeral Prefect, embedded sim."""
    exe = shutil.which("okx-flows", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "okx_cli.main"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OKX_"))}
    env.update(HOME=str(tmp_path), PREFECT_HOME=str(tmp_path / ".prefect"),
               XDG_DATA_HOME=str(tmp_path / "data"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    state = tmp_path / "sim" / "state.sqlite3"
    done = subprocess.run([*command, "run", "specs/rebalance.yaml", "--sim-state", str(state)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "core-rebalance (rebalance) on embedded simulator" in done.stdout
    assert "Orders: " in done.stdout and "Weights" in done.stdout
    assert "Traceback" not in done.stderr
    assert state.exists()
