"""The simulator under hostile or careless clients: huge bodies, connection floods, and a second
simulator on the same state file.

* A private request is refused from its headers before its body is read, and no body is read
  past ``max_body_bytes`` (400/51000); every such refusal is answered, then the connection closed.
* Thousands of idle connections leave a normal request answered quickly (200, or 503/50001 JSON
  beyond ``max_connections``), also when the process starts with a 1024 open-file soft limit.
* One state file has one owner: a second StateStore or ``okx-flows sim`` on it is refused with
  one line naming the file; SIGKILL releases it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_sim.state import StateInUse, StateStore
from okx_wire.auth import ApiCredentials, format_timestamp, sign, system_clock
from tests.reliability.simproc import key_env, sim_process
from tests.support.services import BIN, free_port, stop, wait_until

from .conftest import Client

ORDER = "/api/v5/trade/order"
HUNDRED_MB = 100 << 20


# -- raw HTTP: the tests need to send headers without the body they announce -----------------
def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _raw(port: int, head: bytes, body: bytes = b"", timeout: float = 5) -> tuple[int, dict[str, Any], bool]:
    """Send ``head`` (+ ``body``), read one reply: (status, JSON body, whether the server then closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        data = json.loads(reply.read())
        try:
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
        return reply.status, data, closed


def _head(method: str, target: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _signed(sim: SimulatorHandle, method: str, target: str, body: str = "") -> dict[str, str]:
    ts = format_timestamp(system_clock())
    cred = sim.credentials
    return {"OK-ACCESS-KEY": cred.api_key, "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-SIGN": sign(cred.secret_key.get_secret_value(), ts, method, target, body),
            "OK-ACCESS-PASSPHRASE": cred.passphrase.get_secret_value(), "Content-Type": "application/json"}


# -- 1. bodies -----------------------------------------------------------------------------------
def test_unauthenticated_request_is_refused_before_its_body_arrives(sim: SimulatorHandle) -> None:
    # 100 MB announced, not one byte sent: the answer can only come from the headers.
    status, body, closed = _raw(_port(sim.base_url), _head("POST", ORDER, {
        "Content-Type": "application/json", "Content-Length": str(HUNDRED_MB)}))
    assert (status, body["code"]) == (401, "50103")
    assert closed  # the body it announced is not waited for, nor read


@pytest.mark.parametrize(("change", "code"), [
    ({"OK-ACCESS-KEY": "nobody"}, "50111"),
    ({"OK-ACCESS-PASSPHRASE": "wrong"}, "50105"),
    ({"OK-ACCESS-TIMESTAMP": "2020-01-01T00:00:00.000Z"}, "50102"),
    ({"OK-ACCESS-TIMESTAMP": "yesterday"}, "50112"),
])
def test_every_header_check_comes_before_the_body(sim: SimulatorHandle, change: dict[str, str], code: str) -> None:
    headers = _signed(sim, "POST", ORDER) | change | {"Content-Length": str(HUNDRED_MB)}
    status, body, closed = _raw(_port(sim.base_url), _head("POST", ORDER, headers))
    assert (status, body["code"], closed) == (401, code, True)


def test_announced_oversize_body_is_refused_unread_with_51000(sim: SimulatorHandle) -> None:
    # Headers that pass every header check; the signature (over the real body) is never reached.
    headers = _signed(sim, "POST", ORDER) | {"Content-Length": str(sim.config.max_body_bytes + 1)}
    status, body, closed = _raw(_port(sim.base_url), _head("POST", ORDER, headers))
    assert (status, body) == (400, {"msg": "Parameter body  error", "code": "51000", "data": []})
    assert closed


def test_streamed_body_is_cut_off_at_the_cap_on_public_routes_too(sim: SimulatorHandle) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, counted as it arrives
        nonlocal sent
        for _ in range(200):
            sent += 1 << 20
            yield b" " * (1 << 20)

    try:
        r = requests.get(sim.base_url + "/api/v5/public/time", data=chunks(), timeout=10)
        assert (r.status_code, r.json()["code"]) == (400, "51000")
    except requests.ConnectionError:
        pass  # the server closed mid-upload; what matters is how much it took
    assert sent < 64 << 20, f"the server read {sent >> 20} MiB of a body capped at 1 MiB"
    assert requests.get(sim.base_url + "/api/v5/public/time", timeout=5).status_code == 200


def test_client_sending_a_huge_body_reads_the_refusal(sim: SimulatorHandle) -> None:
    """What an ordinary client sees: the reply, not a broken pipe or a hang."""
    big = b'{"instId":"' + b"x" * HUNDRED_MB + b'"}'
    started = time.monotonic()
    r = requests.post(sim.base_url + ORDER, data=big, headers=_signed(sim, "POST", ORDER), timeout=20)
    assert (r.status_code, r.json()["code"]) == (400, "51000")
    r = requests.post(sim.base_url + ORDER, data=big, headers={"Content-Type": "application/json"}, timeout=20)
    assert (r.status_code, r.json()["code"]) == (401, "50103")
    assert time.monotonic() - started < 10


def test_body_just_under_the_cap_is_still_served() -> None:
    with running_simulator(SimConfig(rate_limits=False, max_body_bytes=400)) as sim:
        c = Client(sim.base_url, sim.credentials)
        bid, _ = c.best()
        status, body = c.order(px=bid, clOrdId="small1")
        assert (status, body["code"]) == (200, "0")
        status, body = c.post(ORDER, raw_body=json.dumps({"instId": "BTC-USDT", "pad": "x" * 400}))
        assert (status, body["code"]) == (400, "51000")
        # The signature is still checked after the body: a wrong one over a body that fits is 50113.
        status, body = c.post(ORDER, raw_body='{"instId":"BTC-USDT"}', headers={"OK-ACCESS-SIGN": "AAAA"})
        assert (status, body["code"]) == (401, "50113")


# -- 2. connections ------------------------------------------------------------------------------
def _raise_own_fd_limit(needed: int) -> int:
    """Raise this process's soft limit towards the hard one; return how many fds it may use."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < min(needed, top):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, top), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@contextlib.contextmanager
def _idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        yield socks
    finally:
        for s in socks:
            s.close()


def _answer_within(url: str, seconds: float) -> tuple[int, dict[str, Any]]:
    started = time.monotonic()
    r = requests.get(url + "/api/v5/public/time", timeout=seconds)
    assert time.monotonic() - started < seconds
    return r.status_code, r.json()


def _assert_served_or_okx_busy(status: int, body: dict[str, Any]) -> None:
    assert (status, body["code"]) in ((200, "0"), (503, "50001")), (status, body)


def test_idle_connection_that_never_sends_is_closed() -> None:
    with running_simulator(SimConfig(idle_timeout_s=0.5)) as sim, \
            socket.create_connection(("127.0.0.1", _port(sim.base_url)), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - started < 3


def test_beyond_max_connections_requests_get_okx_503_then_service_recovers() -> None:
    _raise_own_fd_limit(1000)
    with running_simulator(SimConfig(max_connections=50, rate_limits=False)) as sim:
        with _idle_connections(_port(sim.base_url), 200):
            status, body = _answer_within(sim.base_url, 5)
            assert (status, body) == (503, {"msg": "Service temporarily unavailable. Try again later",
                                            "code": "50001", "data": []})
        deadline = time.monotonic() + 10
        while (status := _answer_within(sim.base_url, 5)[0]) != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == 200


@contextlib.contextmanager
def _sim_with_fd_soft_limit(root: Path, soft: int, *args: str) -> Iterator[str]:
    """``okx-flows sim`` started the way a default shell starts it: open-file soft limit ``soft``."""
    port = free_port()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKX_")} | key_env()
    log = root / "sim.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(BIN / "okx-flows"), "sim", "--port", str(port), "--state", str(root / "sim.sqlite3"), *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url + "/api/v5/public/time", timeout=2).ok, 60, "okx-flows sim", proc, log)
        yield url
    finally:
        stop(proc)


def test_two_thousand_idle_connections_leave_the_simulator_serving(tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    wanted = 2000
    usable = _raise_own_fd_limit(wanted + 200) - 200
    count = min(wanted, usable)
    args: tuple[str, ...] = ()
    if count < wanted:  # a low hard limit: fewer connections, but still beyond the simulator's limit
        args = ("--max-connections", str(count // 2))
    soft = min(1024, hard) if hard != resource.RLIM_INFINITY else 1024
    with _sim_with_fd_soft_limit(tmp_path, soft, *args) as url, _idle_connections(_port(url), count):
        _assert_served_or_okx_busy(*_answer_within(url, 5))
        if args:
            assert _answer_within(url, 5)[0] == 503


# -- 3. one owner per state file -----------------------------------------------------------------
def test_second_store_on_a_file_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "sim.sqlite3"
    first = StateStore(path)
    first.commit(meta={"uid": "1"}, balances={}, orders=[], fills=[])
    with pytest.raises(StateInUse) as caught:
        StateStore(path, reset=True)
    message = str(caught.value)
    assert str(path) in message and "another simulator" in message and f"pid {os.getpid()}" in message
    assert "\n" not in message
    assert first.load().meta == {"uid": "1"}  # the refused reset deleted nothing
    first.close()
    second = StateStore(path)
    assert second.load().meta == {"uid": "1"}
    second.close()
    second.close()


def test_in_memory_state_needs_no_lock() -> None:
    with running_simulator(SimConfig()) as a, running_simulator(SimConfig()) as b:
        assert requests.get(a.base_url + "/api/v5/public/time", timeout=5).ok
        assert requests.get(b.base_url + "/api/v5/public/time", timeout=5).ok


def test_embedded_simulator_refuses_a_file_another_one_serves(tmp_path: Path) -> None:
    path = tmp_path / "sim.sqlite3"
    with running_simulator(SimConfig(state_path=path)):
        with pytest.raises(StateInUse, match="in use by another simulator"):
            with running_simulator(SimConfig(state_path=path)):
                pass  # pragma: no cover
    with running_simulator(SimConfig(state_path=path)) as again:  # released on exit
        assert requests.get(again.base_url + "/api/v5/public/time", timeout=5).ok


def _second_sim(command: list[str], state: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKX_")} | key_env()
    return subprocess.run([*command, "--port", str(free_port()), "--state", str(state)], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [[str(BIN / "okx-flows"), "sim"], [sys.executable, "-m", "okx_sim"]],
                         ids=["okx-flows-sim", "python-m-okx_sim"])
def test_second_simulator_process_on_one_file_exits_with_one_line(tmp_path: Path, command: list[str]) -> None:
    # Prices hold still: the order at the bid must rest, so "the owner kept serving" is checkable.
    with sim_process(tmp_path / "sim", "--no-rate-limits", "--volatility", "0") as first:
        c = Client(first.url, _process_credentials())
        bid, _ = c.best()
        assert c.order(px=bid, clOrdId="owner1")[1]["code"] == "0"
        second = _second_sim(command, first.state_path)
        assert second.returncode != 0
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert str(first.state_path) in lines[0] and "another simulator" in lines[0]
        assert "Traceback" not in second.stderr + second.stdout
        assert [o["state"] for o in first.orders("owner1")] == ["live"]  # the owner kept serving


def test_sigkill_releases_the_file_for_a_restart_and_a_new_owner(tmp_path: Path) -> None:
    with sim_process(tmp_path / "sim", "--no-rate-limits", "--volatility", "0") as sim:
        c = Client(sim.url, _process_credentials())
        bid, _ = c.best()
        assert c.order(px=bid, clOrdId="kept1")[1]["code"] == "0"
        sim.kill()
        sim.start()  # same file, same port: the dead process's lock is gone
        assert [o["state"] for o in sim.orders("kept1")] == ["live"]
        sim.kill()
        StateStore(sim.state_path).close()  # and any other opener may own it now


def _process_credentials() -> ApiCredentials:
    env = key_env()
    return ApiCredentials(api_key=env["OKX_API_KEY"], secret_key=SecretStr(env["OKX_SECRET_KEY"]),
                          passphrase=SecretStr(env["OKX_PASSPHRASE"]))
