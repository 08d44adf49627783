"""The Redis-backed shared limiter: atomic all-or-nothing reserve, waits, names, and the budget
actually shared by separate OS processes (against a real redis-server and the simulator)."""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from okx_wire.errors import ConfigurationError
from okx_wire.limits import BUDGETS, Budget, Scope, demands
from okx_wire.shared_limits import (
    DEFAULT_SLACK,
    ENV_NAME,
    ENV_URL,
    RedisLimiter,
    apply_limits,
    config_key,
    limiter_from_env,
)

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server binary not found (install it: apt-get install -y redis-server)",
)

BALANCE = ("GET", "/api/v5/account/balance")
BALANCE_BUDGET = BUDGETS[BALANCE]  # 10 per 2 s per user


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="okx-redis-") as tmp:
        port = _free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", tmp, "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port} (exit code {proc.poll()})")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


_names = iter(range(10**6))


@pytest.fixture
def name(redis_url: str) -> str:
    """A fresh, applied limiter name per test (tests never share buckets)."""
    value = f"test-{os.getpid()}-{next(_names)}"
    apply_limits(redis_url, value)
    return value


def _max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best = lo = 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _budget_fraction(stamps: list[float], limit: int, window: float) -> float:
    """Grants over the most a perfect sliding-window limiter could grant between the first and
    the last grant (``limit`` per ``window``, windows started back to back)."""
    span = max(stamps) - min(stamps)
    return len(stamps) / (limit * (math.floor(span / window) + 1))


# -- atomic reserve -------------------------------------------------------------------------


def test_all_or_nothing_over_two_buckets(redis_url: str, name: str) -> None:
    limiter = RedisLimiter(redis_url, name)
    batch_b = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["B"] * 20)
    for _ in range(15):  # 15 x 20 = 300 orders: bucket B is full
        assert limiter.reserve(batch_b) == 0
    both = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["A"] * 10 + ["B"] * 10)
    assert len({key for key, _, _ in both}) == 2

    wait = limiter.reserve(both)
    assert 1.5 < wait <= 2.0 + limiter.slack
    usage = {row.key: row.used for row in limiter.usage()}
    assert usage == {"trade/batch-orders|u|B": 300}  # nothing was taken from A

    only_a = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["A"] * 10)
    assert limiter.reserve(only_a) == 0
    assert {row.key: row.used for row in limiter.usage()} == {"trade/batch-orders|u|A": 10,
                                                               "trade/batch-orders|u|B": 300}


def test_waits_are_computed_from_the_oldest_blocking_units(redis_url: str, name: str) -> None:
    limiter = RedisLimiter(redis_url, name, slack=0.05)
    budget = Budget("test/short", 3, 0.3, Scope.USER, counts_orders=True)
    one = [("test/short|u", budget, 1)]
    stamps = []
    for _ in range(3):
        assert limiter.reserve(one) == 0
        stamps.append(limiter.last_grant_time)
        time.sleep(0.05)
    window = 0.3 + 0.05

    wait = limiter.reserve(one)  # needs the oldest unit to leave
    expected = stamps[0] + window - _redis_now(limiter)
    assert wait == pytest.approx(expected, abs=0.02)

    two = [("test/short|u", budget, 2)]  # needs the two oldest to leave: the second one decides
    expected = stamps[1] + window - _redis_now(limiter)
    assert limiter.reserve(two) == pytest.approx(expected, abs=0.02)

    time.sleep(max(0.0, wait - 0.1))
    remaining = limiter.reserve(one)
    assert 0 < remaining <= 0.1  # not yet
    time.sleep(remaining)
    assert limiter.reserve(one) == 0  # and then it fits

    with pytest.raises(ValueError, match="can never fit"):
        limiter.reserve([("test/short|u", budget, 4)])


def test_acquire_blocks_until_it_fits(redis_url: str, name: str) -> None:
    limiter = RedisLimiter(redis_url, name, slack=0.0)
    budget = Budget("test/acquire", 2, 0.2, Scope.USER)
    wanted = [("test/acquire|u", budget, 1)]
    start = time.monotonic()
    waits = [limiter.acquire(wanted) for _ in range(5)]
    elapsed = time.monotonic() - start
    assert waits[:2] == [0.0, 0.0]
    assert 0.38 <= elapsed < 0.6  # 5 units at 2 per 0.2 s: grants at 0, 0, 0.2, 0.2, 0.4


def _redis_now(limiter: RedisLimiter) -> float:
    seconds, micros = limiter._redis.time()
    return seconds + micros / 1_000_000


# -- names and configuration ----------------------------------------------------------------


def test_a_misspelled_name_is_an_error_not_an_unlimited_client(redis_url: str, name: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisLimiter(redis_url, name + "-typo")
    message = str(info.value)
    assert "\n" not in message
    assert f"{name}-typo" in message
    assert f"okx-flows limits apply --redis {redis_url} --name {name}-typo" in message

    with pytest.raises(ConfigurationError, match="not valid"):
        RedisLimiter(redis_url, "has space")


def test_apply_writes_the_marker_and_keeps_usage(redis_url: str, name: str) -> None:
    limiter = RedisLimiter(redis_url, name)
    config = limiter._redis.hgetall(config_key(name))
    assert config_key(name) == f"okxflows:{{{name}}}:config"
    assert float(config["slack"]) == pytest.approx(DEFAULT_SLACK) and config["version"]
    limiter.reserve(demands(*BALANCE, user="u"))
    apply_limits(redis_url, name, slack=0.1)  # re-applying changes the slack, keeps the counts
    again = RedisLimiter(redis_url, name)
    assert again.slack == pytest.approx(0.1)
    assert [row.used for row in again.usage()] == [1]


def test_limiter_from_env(redis_url: str, name: str) -> None:
    assert limiter_from_env({}) is None
    assert limiter_from_env({ENV_NAME: name}) is None
    limiter = limiter_from_env({ENV_URL: redis_url, ENV_NAME: name})
    assert isinstance(limiter, RedisLimiter) and limiter.name == name
    assert limiter_from_env({ENV_URL: redis_url, ENV_NAME: name}) is limiter  # one pool per process
    apply_limits(redis_url, "default")
    assert limiter_from_env({ENV_URL: redis_url}).name == "default"
    with pytest.raises(ConfigurationError, match="okx-flows limits apply"):
        limiter_from_env({ENV_URL: redis_url, ENV_NAME: "defualt"})


def test_unreachable_redis_is_a_one_line_configuration_error() -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    with pytest.raises(ConfigurationError) as info:
        RedisLimiter(url, "default")
    assert "cannot reach the rate-limit Redis" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigurationError):
        apply_limits("redis://:hunter2@127.0.0.1:1/0", "x")
    try:
        apply_limits("redis://:hunter2@127.0.0.1:1/0", "x")
    except ConfigurationError as exc:
        assert "hunter2" not in str(exc)


def _cli(*argv: str) -> tuple[int, str, str]:
    from okx_cli import limits as limits_cli

    parser = argparse.ArgumentParser(prog="okx-flows limits")
    limits_cli.add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = limits_cli.main(parser.parse_args(list(argv)), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_apply_and_show(redis_url: str) -> None:
    code, out, err = _cli("apply", "--redis", redis_url, "--name", "cli-test")
    assert code == 0, err
    names = {b.name for b in BUDGETS.values()}
    assert sum(1 for line in out.splitlines() if line.split()[:1] and line.split()[0] in names) == len(names)

    limiter = RedisLimiter(redis_url, "cli-test")
    limiter.reserve(demands(*BALANCE, user="secret-api-key-123"))
    code, out, err = _cli("show", "--redis", redis_url, "--name", "cli-test")
    assert code == 0, err
    assert "1/10" in out and "secr…" in out and "secret-api-key" not in out

    code, out, err = _cli("show", "--redis", redis_url, "--name", "cli-tset")
    assert code == 2 and err.count("\n") == 1 and "okx-flows limits apply" in err
    code, out, err = _cli("show", "--redis", f"redis://127.0.0.1:{_free_port()}/0", "--name", "x")
    assert code == 2 and err.count("\n") == 1 and "cannot reach" in err


# -- one budget across OS processes ---------------------------------------------------------


def _hammer(url: str, name: str, start_at: float, seconds: float) -> list[float]:
    """Take account/balance as fast as the shared budget allows; return the grant times."""
    limiter = RedisLimiter(url, name)
    wanted = demands(*BALANCE, user="shared-key")
    time.sleep(max(0.0, start_at - time.time()))
    grants = []
    end = start_at + seconds
    while True:
        wait = limiter.reserve(wanted)
        if wait == 0:
            grants.append(limiter.last_grant_time)
            continue
        if time.time() + wait >= end:
            return grants
        time.sleep(wait)


def _spawn_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))


def test_two_processes_share_one_budget(redis_url: str, name: str) -> None:
    seconds = 4.2  # three windows of 2.05 s start inside it
    with _spawn_pool() as pool:
        start_at = time.time() + 1.5  # spawn + imports
        futures = [pool.submit(_hammer, redis_url, name, start_at, seconds) for _ in range(2)]
        per_process = [f.result(timeout=30) for f in futures]
    grants = [t for g in per_process for t in g]
    assert all(per_process), "both processes must have been granted something"
    assert _max_in_window(grants, BALANCE_BUDGET.window) <= BALANCE_BUDGET.limit
    fraction = _budget_fraction(grants, BALANCE_BUDGET.limit, BALANCE_BUDGET.window)
    print(f"\nshared budget: {len(grants)} grants {[len(g) for g in per_process]}, "
          f"max {_max_in_window(grants, 2.0)}/10 in any 2.0 s, fraction {fraction:.0%}")
    assert fraction >= 0.8
    assert len(grants) >= 20  # 30 when nothing stalls: 10 per 2.05 s window


def _client_calls(base_url: str, creds: object, url: str, name: str, calls: int, start_at: float) -> dict[str, object]:
    from okx_wire.client import OkxClient
    from okx_wire.errors import RateLimitError

    limiter = RedisLimiter(url, name)
    refused = 0
    grants = []
    with OkxClient(creds, base_url=base_url, limiter=limiter) as client:  # type: ignore[arg-type]
        time.sleep(max(0.0, start_at - time.time()))
        for _ in range(calls):
            try:
                client.balance()
            except RateLimitError:
                refused += 1
            grants.append(limiter.last_grant_time)
    return {"refused": refused, "grants": grants}


def test_simulator_sees_no_429_from_two_processes(redis_url: str, name: str) -> None:
    from okx_sim import SimConfig, running_simulator

    calls = 20  # per process: 40 balance() calls against 10 per 2 s
    with running_simulator(SimConfig()) as sim, _spawn_pool() as pool:
        assert sim.rate_limits
        start_at = time.time() + 1.5
        futures = [pool.submit(_client_calls, sim.base_url, sim.credentials, redis_url, name, calls, start_at)
                   for _ in range(2)]
        results = [f.result(timeout=40) for f in futures]
    refused = sum(r["refused"] for r in results)
    grants = [t for r in results for t in r["grants"]]
    fraction = _budget_fraction(grants, BALANCE_BUDGET.limit, BALANCE_BUDGET.window)
    print(f"\nsimulator: {len(grants)} balance() calls, {refused} refused (429/50011), "
          f"span {max(grants) - min(grants):.2f} s, fraction of budget {fraction:.0%}")
    assert refused == 0
    assert len(grants) == 2 * calls
    assert fraction >= 0.8


def test_hold_keeps_a_slow_request_in_flight_then_stamps_it_at_its_answer(redis_url: str, name: str) -> None:
    limiter = RedisLimiter(redis_url, name, slack=0.0)
    budget = Budget("test/hold", 1, 0.2, Scope.USER)
    wanted = [("test/hold|u", budget, 1)]
    with limiter.hold(wanted):
        time.sleep(0.3)  # longer than the window: an in-flight grant must not expire
        assert 0 < limiter.reserve(wanted) <= 0.006  # blocked by it: poll until its answer
    answered = _redis_now(limiter)
    # Stamped at its answer: the slot frees one window after that, not after the send.
    wait = limiter.reserve(wanted)
    assert 0.15 < wait <= 0.2 + 0.01, wait
    limiter.acquire(wanted)
    assert _redis_now(limiter) - answered >= 0.2 - 0.005
