"""Rate budgets: keyed as OKX keys them, all-or-nothing, and a client that waits instead of failing."""

from __future__ import annotations

import pytest

from okx_wire.client import OkxClient
from okx_wire.limits import BUDGETS, SlidingWindowLimiter, demands
from tests.support.capture import CaptureServer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_public_per_ip_private_per_user_trade_per_instrument() -> None:
    books = BUDGETS[("GET", "/api/v5/market/books")]
    assert demands("GET", "/api/v5/market/books", ip="h") == [("market/books|h", books, 1)]
    assert demands("GET", "/api/v5/account/balance", user="u")[0][0] == "account/balance|u"
    keys = [d[0] for d in demands("POST", "/api/v5/trade/order", user="u", inst_ids=["BTC-USDT"])]
    assert keys == ["trade/order|u|BTC-USDT"]
    assert demands("GET", "/api/v5/public/instruments", ip="h", inst_type="SPOT")[0][0] == "public/instruments|h|SPOT"
    assert demands("GET", "/api/v5/unknown") == []


def test_batch_counts_orders_per_instrument_and_single_batch_counts_as_order() -> None:
    wanted = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["A", "A", "B"])
    assert sorted((k, n) for k, _, n in wanted) == [("trade/batch-orders|u|A", 2), ("trade/batch-orders|u|B", 1)]
    single = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["A"])
    assert [(k, n) for k, _, n in single] == [("trade/order|u|A", 1)]


def test_window_refuses_over_budget_and_frees_after_two_seconds() -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(clock=t)
    wanted = demands("GET", "/api/v5/account/config", user="u")  # 5 per 2 s
    assert all(limiter.reserve(wanted) == 0 for _ in range(5))
    t.now += 0.5
    assert limiter.reserve(wanted) == pytest.approx(1.5)
    t.now += 1.5
    assert limiter.reserve(wanted) == 0
    assert limiter.refusals == 1 and limiter.peak_use == {"account/config": 1.0}


def test_all_or_nothing_across_instruments() -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(clock=t)
    full = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["A"] * 20)
    for _ in range(15):
        assert limiter.reserve(full) == 0  # 300 orders on A
    mixed = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["A", "B"])
    assert limiter.reserve(mixed) > 0
    only_b = demands("POST", "/api/v5/trade/batch-orders", user="u", inst_ids=["B"] * 20)
    assert limiter.reserve(only_b) == 0  # B untouched by the refused mixed batch


def test_instruments_do_not_share_a_budget() -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(clock=t)
    for inst in ("A", "B", "C"):
        for _ in range(60):
            assert limiter.reserve(demands("POST", "/api/v5/trade/order", user="u", inst_ids=[inst])) == 0


def test_acquire_waits_for_the_lower_bound() -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(clock=t, slack=0.05, sleep=t.sleep)
    wanted = demands("GET", "/api/v5/account/balance", user="u")  # 10 per 2 s
    start = t.now
    for _ in range(35):
        limiter.acquire(wanted)
    # 35 requests at 10 per 2.05 s: the last one goes out after three full windows.
    assert t.now - start == pytest.approx(3 * 2.05)


def test_client_waits_instead_of_failing(capture: CaptureServer) -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(clock=t, sleep=t.sleep)
    client = OkxClient(base_url=capture.base_url, limiter=limiter)
    for _ in range(12):
        capture.reply(200, {"code": "0", "msg": "", "data": [{"ts": "1"}]})
        client.server_time()  # budget: 10 per 2 s per IP
    assert len(capture.requests) == 12
    assert t.now == pytest.approx(1002.0)


def test_hold_counts_in_flight_requests_until_their_answer() -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(clock=t, sleep=t.sleep)
    wanted = demands("GET", "/api/v5/account/config", user="u")  # 5 per 2 s
    with limiter.hold(wanted):
        t.now += 10  # a very slow request: still in flight, so it must not expire
        for _ in range(4):
            assert limiter.reserve(wanted) == 0
        assert 0 < limiter.reserve(wanted) <= 0.01  # full: poll until the slow one is answered
    t.now += 1.0
    # The slow request is stamped at its answer (t=1010): the next slot frees at 1012.
    assert limiter.reserve(wanted) == pytest.approx(1.0)


def test_hold_stamps_at_answer_so_the_next_window_starts_there() -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(clock=t, sleep=t.sleep)
    wanted = demands("GET", "/api/v5/account/balance", user="u")  # 10 per 2 s
    for _ in range(10):
        with limiter.hold(wanted):
            t.now += 0.01  # 10 ms round trip
    start = t.now
    with limiter.hold(wanted):
        pass
    # The first request was answered at 1000.01; the 11th may go exactly one window later.
    assert t.now == pytest.approx(1002.01) and t.now - start == pytest.approx(1.91)
