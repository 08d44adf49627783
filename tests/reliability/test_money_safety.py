"""Money safety outside the lab, with real processes: ``okx-flows run`` CLI processes (ephemeral
Prefect, one PREFECT_HOME, one run journal) against an ``okx-flows sim`` process, with a fault
proxy between them where the network has to misbehave.

Each test states what the user would have lost without the guard, and checks the orders on the
exchange and the quote spent against what the spec intended:

* two runs of one spec at the same time trade once (the account lock);
* a rebalance SIGKILLed while its orders rest: the next run cancels them before it plans, and
  the temporary Prefect server of the killed run does not outlive it;
* a rebalance stopped by SIGTERM cancels its own resting orders;
* a TWAP SIGKILLed after two of four slices: a plain rerun refuses with one line; ``--resume``
  sells exactly the rest.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from okx_wire.journal import Journal
from tests.reliability.simproc import (
    BALANCE_ARGS,
    SimProcess,
    key_env,
    rebalance_spec,
    sim_process,
    twap_spec,
    write_spec,
)
from tests.support.services import BIN

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 300


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "PREFECT_"))}
    env.update(key_env(), PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               OKX_FLOWS_JOURNAL_URL=f"sqlite:///{tmp_path / 'journal.sqlite3'}", PYTHONUNBUFFERED="1")
    return env


def prepare_prefect_home(env: dict[str, str]) -> None:
    """Create Prefect's database once, as an existing installation has it (two temporary servers
    migrating one empty database at the same instant is a set-up race, not what is tested)."""
    done = subprocess.run([str(BIN / "prefect"), "server", "database", "upgrade", "-y"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def run_cli(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "okx-flows"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, check=False)


def start_cli(args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([str(BIN / "okx-flows"), *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(p) for p in text.split()]
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def wait_for(check: Any, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None,
             log: Path | None = None) -> Any:
    """Poll ``check``; give up early, with the run's output, if the run it waits on has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    output = log.read_text(errors="replace")[-4000:] if log is not None and log.exists() else ""
    ended = f" (the run ended with exit code {proc.returncode})" if proc is not None and proc.returncode is not None \
        else ""
    raise AssertionError(f"timed out waiting for {what}{ended}\n{output}")


def tagged(sim: SimProcess, tag_prefix: str) -> list[dict[str, Any]]:
    return [o for o in sim.orders() if o.get("tag", "").startswith(tag_prefix)]


def filled_quote(orders: Sequence[dict[str, Any]], side: str) -> Decimal:
    return sum((Decimal(o["accFillSz"] or 0) * Decimal(o["avgPx"] or 0) for o in orders if o["side"] == side),
               Decimal(0))


def placed_count(output: str) -> int:
    match = re.search(r"Orders: (\d+) placed", output)
    return int(match.group(1)) if match else 0


def test_two_runs_of_one_spec_at_once_trade_once(tmp_path: Path) -> None:
    # 3 s per private call, as over a slow link: the first run trades for ~12 s after it planned,
    # and the second, started as the first begins (a manual run during a scheduled one), reads
    # the account while the first is between its sells and its buys.
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "51", "--latency-ms", "3000") as sim:
        spec = write_spec(tmp_path / "reb.yaml", rebalance_spec("twice-rebalance", sim.url))
        env = cli_env(tmp_path)
        prepare_prefect_home(env)
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        procs = [start_cli(["run", str(spec)], env, logs[0])]
        wait_for(lambda: "Beginning flow run" in logs[0].read_text(errors="replace"), 300, "the first run",
                 procs[0], logs[0])
        procs.append(start_cli(["run", str(spec)], env, logs[1]))
        for proc in procs:
            proc.wait(timeout=CLI_TIMEOUT)
        outputs = [log.read_text(errors="replace") for log in logs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        placed = [placed_count(out) for out in outputs]
        orders = tagged(sim, "twicerebal")
        print(f"SCENARIO two-runs: intended {max(placed)} orders (one run's plan); on the exchange {len(orders)}; "
              f"placed per run {placed}")
        # One run traded; the other waited for the account, then found the weights in band.
        assert sorted(placed)[0] == 0 and sorted(placed)[1] == len(orders) > 0, (placed, len(orders))
        waiter = outputs[1]
        assert placed[0] == len(orders) and placed[1] == 0, placed
        assert "is busy: another trading run holds it" in waiter
        assert "nothing to trade" in waiter


def test_sigkilled_rebalance_leaves_no_orphan_for_the_next_run(tmp_path: Path) -> None:
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "52", "--volatility", "0") as sim:
        # Prices hold still and a limit 0.01 bp through mid rounds to the mid's tick: the orders rest.
        resting = write_spec(tmp_path / "resting.yaml", rebalance_spec("orphan-rebalance", sim.url,
                                                                      max_slippage_bps=0.01))
        env = cli_env(tmp_path)
        proc = start_cli(["run", str(resting)], env, tmp_path / "killed.log")
        live = wait_for(lambda: [o for o in tagged(sim, "orphanreba") if o["state"] == "live"], 120,
                        "a resting order of the first run", proc, tmp_path / "killed.log")
        server = children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert server, "the run had no temporary Prefect server"
        wait_for(lambda: not any(alive(pid) for pid in server), 20, "the killed run's temporary server to stop")

        journal = Journal(env["OKX_FLOWS_JOURNAL_URL"])
        [killed_run] = journal.runs("orphan-rebalance", _account(journal, "orphan-rebalance"))
        assert killed_run.status == "running"  # SIGKILL: nothing could say otherwise

        normal = write_spec(tmp_path / "normal.yaml", rebalance_spec("orphan-rebalance", sim.url))
        done = run_cli(["run", str(normal)], env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "earlier runs left resting" in done.stdout
        still_live = [o for o in tagged(sim, "orphanreba") if o["state"] in ("live", "partially_filled")]
        print(f"SCENARIO sigkill-rebalance: {len(live)} order(s) resting at the kill; live after the next run "
              f"{len(still_live)}")
        assert still_live == [], "orders of the killed run still rest (their funds stay frozen)"
        first_ids = {o["clOrdId"] for o in live}
        assert all(o["state"] in ("canceled", "filled") for o in sim.orders() if o["clOrdId"] in first_ids)
        assert journal.run(killed_run.run_id).status == "interrupted"  # type: ignore[union-attr]


def _account(journal: Journal, spec: str) -> str:
    import sqlalchemy as sa

    from okx_wire.journal import runs_table

    with journal._engine.connect() as db:  # noqa: SLF001 - the test reads the store it checks
        return str(db.execute(sa.select(runs_table.c.account).where(runs_table.c.spec == spec)).scalar())


def test_sigterm_cancels_what_the_run_left_resting(tmp_path: Path) -> None:
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "53", "--volatility", "0") as sim:
        resting = write_spec(tmp_path / "resting.yaml", rebalance_spec("term-rebalance", sim.url,
                                                                      max_slippage_bps=0.01))
        env = cli_env(tmp_path)
        log = tmp_path / "term.log"
        proc = start_cli(["run", str(resting)], env, log)
        wait_for(lambda: [o for o in tagged(sim, "termrebala") if o["state"] == "live"], 120, "a resting order",
                 proc, log)
        server = children(proc.pid)
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=60)
        output = log.read_text(errors="replace")
        assert code == 130, output[-3000:]
        assert "okx-flows: interrupted" in output and "Traceback" not in output
        assert re.search(r"interrupted; cancelled \d+ resting order", output), output[-3000:]
        assert [o for o in tagged(sim, "termrebala") if o["state"] in ("live", "partially_filled")] == []
        wait_for(lambda: not any(alive(pid) for pid in server), 20, "the temporary server to stop")


def test_killed_twap_refuses_a_plain_rerun_and_resumes_exactly(tmp_path: Path) -> None:
    total = Decimal("0.04")
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "54") as sim:
        spec = write_spec(tmp_path / "twap.yaml", twap_spec("resume-twap", sim.url, slices=4, window_seconds=8,
                                                            total_size=float(total)))
        env = cli_env(tmp_path)
        proc = start_cli(["run", str(spec)], env, tmp_path / "first.log")
        wait_for(lambda: len([o for o in tagged(sim, "resumetwap") if o["state"] == "filled"]) >= 2, 120,
                 "two filled slices")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        time.sleep(0.5)
        before = tagged(sim, "resumetwap")
        sold_before = sum((Decimal(o["accFillSz"] or 0) for o in before), Decimal(0))
        assert 0 < sold_before < total

        plain = run_cli(["run", str(spec)], env)
        assert plain.returncode == 1
        error = [line for line in plain.stderr.splitlines() if line.startswith("okx-flows: error:")]
        assert len(error) == 1 and "--resume" in error[0] and "--restart" in error[0], plain.stderr[-2000:]
        assert "Traceback" not in plain.stderr
        assert len(tagged(sim, "resumetwap")) == len(before), "a refused rerun must send nothing"

        resumed = run_cli(["run", str(spec), "--resume"], env)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        after = tagged(sim, "resumetwap")
        sold = sum((Decimal(o["accFillSz"] or 0) for o in after), Decimal(0))
        print(f"SCENARIO twap-kill: intended {total} BTC; sold {sold_before} before the kill, {sold} in all")
        assert sold == total, f"sold {sold} for a {total} TWAP"
        assert len({o["clOrdId"] for o in after}) == len(after)  # no clOrdId used twice
