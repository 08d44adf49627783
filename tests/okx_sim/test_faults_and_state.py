"""Injected faults never corrupt state; state survives a restart on the same file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.auth import system_clock

from .conftest import Client


def test_drop_applies_the_order_but_sends_no_reply(sim: SimulatorHandle, client: Client) -> None:
    sim.faults.drop_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        client.order(ordType="market", sz="100", clOrdId="dropped1")
    sim.faults.drop_rate = 0.0
    assert [o["state"] for o in sim.exchange.orders_by_client_id("dropped1")] == ["filled"]
    _, found = client.get("/api/v5/trade/order?instId=BTC-USDT&clOrdId=dropped1")
    assert found["data"][0]["state"] == "filled"


def test_injected_error_applies_nothing(sim: SimulatorHandle, client: Client) -> None:
    sim.faults.error_rate = 1.0
    status, body = client.order(ordType="market", sz="100", clOrdId="err1")
    assert (status, body["code"]) in ((503, "50001"), (500, "50026"))
    assert sim.exchange.orders_by_client_id("err1") == []
    assert client.get("/api/v5/market/books?instId=BTC-USDT", signed=False)[0] == 200  # public: no faults


def test_latency_delays_private_requests(sim: SimulatorHandle, client: Client) -> None:
    sim.faults.latency_ms = 300
    start = time.monotonic()
    client.get("/api/v5/account/balance")
    assert time.monotonic() - start >= 0.3


def test_clock_skew_expires_timestamps(sim: SimulatorHandle, client: Client) -> None:
    sim.faults.clock_skew = 45
    status, body = client.get("/api/v5/account/balance")
    assert (status, body["code"]) == (401, "50102")
    sim.faults.clock_skew = 20
    assert client.get("/api/v5/account/balance")[1]["code"] == "0"


def test_exptime_in_the_future_is_placed(client: Client) -> None:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "100"}
    _, reply = client.post("/api/v5/trade/order", body, headers={"expTime": str(system_clock() + 5000)})
    assert reply["code"] == "0"
    _, late = client.post("/api/v5/trade/order", body, headers={"expTime": str(system_clock() - 1)})
    assert late["data"][0]["sCode"] == "50037" and late["code"] == "1"


def test_rate_limit_refuses_and_applies_nothing(sim: SimulatorHandle, client: Client) -> None:
    sim.rate_limits = True
    codes = [client.order(ordType="market", sz="10", clOrdId=f"rl{i}")[0] for i in range(65)]
    assert codes.count(200) == 60 and codes.count(429) == 5
    placed = [i for i in range(65) if sim.exchange.orders_by_client_id(f"rl{i}")]
    assert placed == [i for i, c in enumerate(codes) if c == 200]
    r = client.request("POST", "/api/v5/trade/order", {"instId": "BTC-USDT"})
    assert r.status_code == 429 and r.json() == {"msg": "Too Many Requests", "code": "50011"}


def test_state_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "sim.sqlite3"
    config = SimConfig(state_path=path, rate_limits=False, seed=4)
    with running_simulator(config) as sim:
        client = Client(sim.base_url, sim.credentials)
        client.order(ordType="market", sz="1000", clOrdId="keep1")
        bid, _ = client.best()
        client.order(px=str(int(float(bid)) - 3000), clOrdId="rest1")
        before = (sim.exchange.all_orders(), sim.exchange.balance_of("USDT"), sim.exchange.balance_of("BTC"),
                  len(sim.exchange.fills))
    with running_simulator(config) as sim:
        after = (sim.exchange.all_orders(), sim.exchange.balance_of("USDT"), sim.exchange.balance_of("BTC"),
                 len(sim.exchange.fills))
        assert after == before
        client = Client(sim.base_url, sim.credentials)
        assert client.order(px="1000", clOrdId="rest1")[1]["data"][0]["sCode"] == "51016"  # still pending
        _, new = client.order(ordType="market", sz="10")
        assert int(new["data"][0]["ordId"]) > max(int(o["ordId"]) for o in before[0])
    with running_simulator(config, reset=True) as sim:
        assert sim.exchange.all_orders() == []


def test_cli_serves_and_survives_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "cli.sqlite3"
    env = dict(os.environ, OKX_API_KEY="cli-key", OKX_SECRET_KEY="CLISECRET", OKX_PASSPHRASE="Pass1")
    cmd = [sys.executable, "-m", "okx_sim", "--port", "0", "--state", str(state), "--no-rate-limits",
           "--balance", "USDT=500", "--seed", "2"]
    from okx_wire.auth import ApiCredentials

    creds = ApiCredentials(api_key="cli-key", secret_key="CLISECRET", passphrase="Pass1")  # type: ignore[arg-type]
    for round_ in range(2):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("okx-sim listening on http://127.0.0.1:")
            client = Client(line.rsplit(" ", 1)[1].strip(), creds)
            if round_ == 0:
                assert client.order(ordType="market", sz="100", clOrdId="cli1")[1]["code"] == "0"
                proc.send_signal(signal.SIGKILL)
            else:
                _, order = client.get("/api/v5/trade/order?instId=BTC-USDT&clOrdId=cli1")
                assert order["data"][0]["state"] == "filled"
                _, bal = client.get("/api/v5/account/balance?ccy=USDT")
                assert bal["data"][0]["details"][0]["cashBal"] != "500"
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def test_cli_refuses_without_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKX_")}
    result = subprocess.run([sys.executable, "-m", "okx_sim", "--state", str(tmp_path / "x.sqlite3")],
                            capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 2 and "OKX_API_KEY" in result.stderr
