"""Secrets, end to end through the CLI: ``okx-flows run`` (a rebalance, then a DCA) as
subprocesses, in ephemeral Prefect mode with PREFECT_HOME in a temp dir, against an ``okx-flows
sim`` process whose key, secret and passphrase come from the environment. Afterwards EVERY file
written -- Prefect's database (with its WAL), logs, results, artifacts, the simulator's state file
and log, the specs -- and the captured stdout/stderr are searched for the secret key and the
passphrase: zero hits. Also ``okx-flows --debug`` on a failing auth case with the client's DEBUG
header log on: the signature and passphrase show only as ``***``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import pytest

from okx_cli.main import main
from okx_wire.auth import Signer
from tests.reliability.simproc import (
    BALANCE_ARGS,
    PASSPHRASE,
    SECRET,
    dca_spec,
    key_env,
    rebalance_spec,
    sim_process,
    write_spec,
)
from tests.support.services import BIN

ROOT = Path(__file__).resolve().parents[2]
NEEDLES = {"secret key": SECRET.encode(), "passphrase": PASSPHRASE.encode()}


def hits_in(data: bytes) -> list[str]:
    found = []
    for name, needle in NEEDLES.items():
        for form in (needle, needle.decode().encode("utf-16-le")):
            if form in data:
                found.append(name)
    return found


def test_full_cli_runs_leave_no_secret_anywhere(tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    outputs: list[bytes] = []
    with sim_process(tmp_path / "sim", *BALANCE_ARGS, "--seed", "41") as sim:
        specs = [write_spec(tmp_path / "reb.yaml", rebalance_spec("secret-rebalance", sim.url)),
                 write_spec(tmp_path / "dca.yaml", dca_spec("secret-dca", sim.url))]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "PREFECT_"))}
        env.update(key_env(), PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                   PREFECT_LOGGING_LEVEL="DEBUG",
                   OKX_FLOWS_JOURNAL_URL=f"sqlite:///{tmp_path / 'journal.sqlite3'}")  # scanned too
        for spec in specs:
            done = subprocess.run([str(BIN / "okx-flows"), "run", str(spec)], check=False, env=env, cwd=ROOT,
                                  capture_output=True, timeout=180)
            assert done.returncode == 0, done.stderr[-3000:]
            assert b"Orders: " in done.stdout
            outputs += [done.stdout, done.stderr]
        assert sim.orders(), "the runs placed nothing"
    assert (home / "prefect.db").exists(), sorted(p.name for p in home.iterdir())

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    scanned = 0
    hits: dict[str, list[str]] = {}
    for path in files:
        data = path.read_bytes()
        scanned += len(data)
        if found := hits_in(data):
            hits[str(path.relative_to(tmp_path))] = found
    for n, out in enumerate(outputs):
        scanned += len(out)
        if found := hits_in(out):
            hits[f"output {n}"] = found
    print("SECRETS " + json.dumps({"files": len(files), "bytes_scanned": scanned, "hits": len(hits)}))
    assert hits == {}


def test_debug_output_masks_signature_and_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    signatures: list[str] = []
    real = Signer.headers

    def spy(self: Signer, *args: object, **kwargs: object) -> dict[str, str]:
        headers = real(self, *args, **kwargs)  # type: ignore[arg-type]
        signatures.append(headers["OK-ACCESS-SIGN"])
        return headers

    monkeypatch.setattr(Signer, "headers", spy)
    wrong = "Wrong-Passphrase-debug-5521"
    with sim_process(tmp_path / "sim", "--no-rate-limits") as sim:
        for name, value in {**key_env(), "OKX_PASSPHRASE": wrong}.items():
            monkeypatch.setenv(name, value)
        caplog.set_level(logging.DEBUG, logger="okx_wire")
        assert main(["--debug", "check-key", "--base-url", sim.url]) == 1
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text
    assert captured.err.startswith("okx-flows: error: [OKX 50105 GET /api/v5/account/config]")
    assert "OK-ACCESS-SIGN': '***'" in caplog.text and "OK-ACCESS-PASSPHRASE': '***'" in caplog.text
    assert signatures and not any(sig in text for sig in signatures)
    assert wrong not in text and SECRET not in text and PASSPHRASE not in text
