"""``okx-flows sim --tls-cert --tls-key``: the simulator process serves https:// and wss:// with
the user's certificate (for clients that insist on TLS), and a bad pair is one line, exit 2."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from tests.support.tls import self_signed_certificate

ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("OKX_")},
       "OKX_API_KEY": "tls-key", "OKX_SECRET_KEY": "TLSSECRET", "OKX_PASSPHRASE": "Pass1"}


def _sim(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "okx_sim", "--port", "0", "--state", str(tmp_path / "sim.sqlite3"), *args]


def test_serves_https_and_wss_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    proc = subprocess.Popen(_sim(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)), stdout=subprocess.PIPE,
                            text=True, env=ENV)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        base = lines[0].rsplit(" ", 1)[1].strip()
        assert base.startswith("https://127.0.0.1:"), lines
        assert lines[2].startswith(f"okx-sim WebSocket: wss://127.0.0.1:{base.rsplit(':', 1)[1]}/ws/v5/public"), lines
        assert requests.get(f"{base}/api/v5/public/time", verify=str(cert), timeout=10).json()["code"] == "0"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{base}/api/v5/public/time", timeout=10)  # a certificate nobody vouched for
        trust = ssl.create_default_context(cafile=str(cert))
        with connect(f"wss://{base.split('://', 1)[1]}/ws/v5/public", ssl=trust) as ws:
            ws.send("ping")
            assert ws.recv(timeout=5) == "pong"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


@pytest.mark.parametrize(("args", "says"), [
    (["--tls-cert", "{cert}"], "--tls-cert and --tls-key go together"),
    (["--tls-cert", "{missing}", "--tls-key", "{key}"], "no such file"),
    (["--tls-cert", "{key}", "--tls-key", "{key}"], "cannot serve TLS with"),
])
def test_a_bad_certificate_pair_is_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    cert, key = self_signed_certificate(tmp_path)
    filled = [a.format(cert=cert, key=key, missing=tmp_path / "nope.pem") for a in args]
    done = subprocess.run(_sim(tmp_path, *filled), capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr, done.stderr
