"""Market history on the simulator: candles, the tape and the system status, as OKX serves them.

The model's own properties (determinism, aggregation across bar sizes, agreement with the ticker
and the book) are checked on ``Market`` at fixed clocks; the wire behaviour (shapes, pagination,
errors, peer clients) on a running simulator.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest

from okx_sim import SimConfig, running_simulator
from okx_sim.candles import BARS, HISTORY_MS, MINUTE
from okx_sim.embedded import SimulatorHandle
from okx_sim.instruments import Catalogue, SimInstrument
from okx_sim.market import Market
from tests.okx_sim.conftest import Client

SAMPLES = Path(__file__).parents[1] / "okx_wire" / "samples"
NOW = 1_790_000_123_456
HOUR, DAY = 60 * MINUTE, 24 * 60 * MINUTE


def _sample(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return payload


def _market(seed: int = 7, *, start_step: int = 5000, volatility: float = 0.0005) -> Market:
    # This run resumed at step 5000, 10 minutes before NOW: history lies before both.
    return Market(Catalogue(), seed=seed, step_ms=1000, volatility=volatility, start_step=start_step,
                  anchor_ms=NOW - 600_000)


def _btc(market: Market) -> SimInstrument:
    inst = market.catalogue.get("BTC-USDT")
    assert inst is not None
    return inst


def _rows(market: Market, bar: str, **kw: Any) -> list[list[str]]:
    args: dict[str, Any] = {"after": None, "before": None, "limit": 300, "history": True} | kw
    return market.candles(_btc(market), BARS[bar], NOW, **args)


def _aggregate(rows: list[list[str]]) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]:
    """OHLC and volumes of newest-first rows, as one bar."""
    return (Decimal(rows[-1][1]), max(Decimal(r[2]) for r in rows), min(Decimal(r[3]) for r in rows),
            Decimal(rows[0][4]), sum((Decimal(r[5]) for r in rows), Decimal(0)),
            sum((Decimal(r[6]) for r in rows), Decimal(0)))


# -- the model -------------------------------------------------------------------------------------


def test_same_seed_same_candles_and_another_seed_others() -> None:
    for bar in ("1s", "1m", "4H", "1Dutc", "1W", "1M"):
        assert _rows(_market(), bar) == _rows(_market(), bar) != _rows(_market(seed=8), bar)


def test_history_goes_three_months_back_and_joins_the_live_walk() -> None:
    market = _market()
    inst = _btc(market)
    daily = _rows(market, "1Dutc")
    assert Decimal(DAY) * len(daily) >= HISTORY_MS and int(daily[-1][0]) <= NOW - HISTORY_MS
    # Step 0 (the state's first start) is at start_px; the bars around it run through it.
    t0 = market.step_time(0)
    assert market.mid(inst, 0) == inst.start_px
    [minute] = _rows(market, "1m", after=t0 + MINUTE - t0 % MINUTE, limit=1)
    assert Decimal(minute[3]) <= inst.start_px <= Decimal(minute[2])
    # No seam where history meets the live walk: the steps around step 0 move as walk steps do.
    moves = [abs(market.log_mid(inst, s + 1) - market.log_mid(inst, s)) for s in range(-3, 3)]
    assert max(moves) < 6 * market.volatility


@pytest.mark.parametrize(("coarse", "fine", "count"), [("1H", "1m", 60), ("1Dutc", "1H", 24), ("4H", "1H", 4),
                                                       ("1m", "1s", 60), ("1D", "6H", 4)])
def test_a_bar_is_the_aggregate_of_its_sub_bars(coarse: str, fine: str, count: int) -> None:
    market = _market()
    [bar] = _rows(market, coarse, after=NOW - 3 * DAY, limit=1)
    opened = int(bar[0])
    subs = _rows(market, fine, after=opened + count * BARS[fine].ms, before=opened - 1, limit=count)
    assert len(subs) == count and int(subs[-1][0]) == opened
    o, h, low, c, vol, quote = _aggregate(subs)
    assert (o, h, low, c, vol, quote) == tuple(Decimal(x) for x in bar[1:7]) and bar[6] == bar[7]
    assert low <= quote / vol <= h  # the bar's average price lies in its range


def test_the_ticker_is_the_last_1440_minutes_of_candles_and_agrees_with_the_book() -> None:
    market = _market()
    inst = _btc(market)
    step = market.step_at(NOW)
    ticker = market.ticker(inst, step)
    rows = [r for page in range(5) for r in market.candles(
        inst, BARS["1m"], NOW, after=NOW - page * 300 * MINUTE if page else None, before=None, limit=300,
        history=False)]
    minutes = rows[:1440]
    assert len(minutes) == 1440 and minutes[0][8] == "0" and {r[8] for r in minutes[1:]} == {"1"}
    o, h, low, c, vol, quote = _aggregate(minutes)
    assert (Decimal(ticker["open24h"]), Decimal(ticker["high24h"]), Decimal(ticker["low24h"])) == (o, h, low)
    assert (Decimal(ticker["vol24h"]), Decimal(ticker["volCcy24h"])) == (vol, quote)
    last = Decimal(ticker["last"])
    assert last == c == market.mid(inst, step) and low <= last <= h
    book = market.book(inst, step)
    assert book.best_bid < last < book.best_ask
    assert Decimal(ticker["bidPx"]) == book.best_bid and Decimal(ticker["askPx"]) == book.best_ask
    [day] = _rows(market, "1Dutc", limit=1)
    assert ticker["sodUtc0"] == day[1]


def test_every_ticker_of_a_big_catalogue_lies_in_its_range() -> None:
    market = Market(Catalogue(60), seed=3, step_ms=1000, volatility=0.0005, start_step=0, anchor_ms=NOW)
    for inst in market.catalogue.instruments:
        t = market.ticker(inst, market.step_at(NOW + 5000))
        assert Decimal(t["low24h"]) <= Decimal(t["last"]) <= Decimal(t["high24h"]), inst.inst_id
        assert Decimal(t["low24h"]) <= Decimal(t["open24h"]) <= Decimal(t["high24h"]), inst.inst_id


def test_bars_are_aligned_as_okx_aligns_them() -> None:
    t = 1_717_286_400_000 + 5 * HOUR  # 2024-06-02 05:00 UTC (a Sunday), 13:00 in UTC+8
    assert BARS["1Dutc"].open_at(t) == 1_717_286_400_000
    assert BARS["1D"].open_at(t) == 1_717_286_400_000 - 8 * HOUR  # midnight in UTC+8
    assert BARS["6Hutc"].open_at(t) == 1_717_286_400_000
    assert BARS["6H"].open_at(t) == 1_717_286_400_000 + 4 * HOUR  # 16:00, 22:00, 04:00 UTC...
    assert BARS["1Wutc"].open_at(t) == 1_717_286_400_000 - 6 * DAY  # Monday 2024-05-27
    assert BARS["1Mutc"].open_at(t) == 1_717_200_000_000  # 2024-06-01
    assert BARS["3Mutc"].open_at(t) == 1_711_929_600_000  # 2024-04-01
    assert BARS["1Mutc"].shift(1_717_200_000_000, -6) == 1_701_388_800_000  # 2023-12-01


def test_a_still_market_has_flat_candles() -> None:
    market = _market(volatility=0)
    rows = _rows(market, "1H", limit=50)
    assert {tuple(r[1:5]) for r in rows} == {("68000",) * 4}
    assert all(Decimal(r[5]) > 0 for r in rows)


# -- on the wire -------------------------------------------------------------------------------------


def test_candles_have_okx_shape_and_order(client: Client) -> None:
    status, body = client.get("/api/v5/market/candles?instId=BTC-USDT&bar=1H&limit=3", signed=False)
    sample = _sample("market_candles_spot.json")["response"]
    assert status == 200 and body.keys() == sample.keys() and body["code"] == "0" and body["msg"] == ""
    rows = body["data"]
    assert len(rows) == 3 and all(len(r) == 9 and all(isinstance(x, str) for x in r) for r in rows)
    assert [int(r[0]) for r in rows] == sorted((int(r[0]) for r in rows), reverse=True)
    assert int(rows[0][0]) - int(rows[1][0]) == HOUR
    assert [r[8] for r in rows] == ["0", "1", "1"]
    _, default = client.get("/api/v5/market/candles?instId=BTC-USDT", signed=False)
    assert len(default["data"]) == 100 and int(default["data"][0][0]) - int(default["data"][1][0]) == MINUTE


def test_after_before_and_the_recent_window(client: Client) -> None:
    _, latest = client.get("/api/v5/market/candles?instId=ETH-USDT&bar=5m&limit=10", signed=False)
    ts = [int(r[0]) for r in latest["data"]]
    _, older = client.get(f"/api/v5/market/candles?instId=ETH-USDT&bar=5m&limit=3&after={ts[4]}", signed=False)
    assert [int(r[0]) for r in older["data"]] == ts[5:8]  # earlier than after, exclusive
    _, newer = client.get(f"/api/v5/market/candles?instId=ETH-USDT&bar=5m&limit=3&before={ts[8]}", signed=False)
    assert [int(r[0]) for r in newer["data"]] == ts[:3]  # before alone: the latest rows
    _, window = client.get(f"/api/v5/market/candles?instId=ETH-USDT&bar=5m&after={ts[1]}&before={ts[5]}",
                           signed=False)
    assert [int(r[0]) for r in window["data"]] == ts[2:5]
    # market/candles holds the last 1440 bars; history-candles reaches further.
    far = ts[0] - 1500 * 5 * MINUTE
    _, recent = client.get(f"/api/v5/market/candles?instId=ETH-USDT&bar=5m&after={far}", signed=False)
    _, history = client.get(f"/api/v5/market/history-candles?instId=ETH-USDT&bar=5m&after={far}&limit=300",
                            signed=False)
    assert recent["data"] == [] and len(history["data"]) == 300 and int(history["data"][0][0]) == far - 5 * MINUTE
    _, edge = client.get(f"/api/v5/market/candles?instId=ETH-USDT&bar=5m&after={ts[0] - 1438 * 5 * MINUTE}",
                         signed=False)
    assert len(edge["data"]) == 1
    _, second = client.get("/api/v5/market/history-candles?instId=ETH-USDT&bar=1s&limit=5", signed=False)
    assert int(second["data"][0][0]) - int(second["data"][1][0]) == 1000


def test_candle_errors_are_okx_errors(client: Client) -> None:
    cases = [
        ("/api/v5/market/candles?instId=BTC-USDT&bar=1s", 400, "51000", "Parameter bar  error"),
        ("/api/v5/market/candles?instId=BTC-USDT&bar=1h", 400, "51000", "Parameter bar  error"),
        ("/api/v5/market/history-candles?instId=BTC-USDT&limit=301", 400, "51000", "Parameter limit  error"),
        ("/api/v5/market/candles?instId=BTC-USDT&limit=0", 400, "51000", "Parameter limit  error"),
        ("/api/v5/market/candles?instId=BTC-USDT&after=yesterday", 400, "51000", "Parameter after  error"),
        ("/api/v5/market/candles?instId=NOPE-USDT", 200, "51001", None),
        ("/api/v5/market/trades?instId=BTC-USDT&limit=501", 400, "51000", "Parameter limit  error"),
        ("/api/v5/market/history-trades?instId=BTC-USDT&limit=101", 400, "51000", "Parameter limit  error"),
        ("/api/v5/market/history-trades?instId=BTC-USDT&type=3", 400, "51000", "Parameter type  error"),
        ("/api/v5/market/history-trades?instId=NOPE-USDT", 200, "51001", None),
        ("/api/v5/system/status?state=done", 400, "51000", "Parameter state  error"),
        ("/api/v5/market/candles", 400, "50014", None),
    ]
    for target, status, code, msg in cases:
        got, body = client.get(target, signed=False)
        assert (got, body["code"], body["data"]) == (status, code, []), target
        if msg is not None:
            assert body["msg"] == msg, target


def test_trades_have_okx_shape_and_show_the_accounts_fills(sim: SimulatorHandle, client: Client) -> None:
    sample = _sample("market_history_trades_docs_example.json")["response"]["data"][0]
    _, body = client.get("/api/v5/market/trades?instId=BTC-USDT&limit=500", signed=False)
    rows = body["data"]
    assert len(rows) == 500 and all(r.keys() == sample.keys() for r in rows)
    ids = [int(r["tradeId"]) for r in rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 500
    assert [int(r["ts"]) for r in rows] == sorted((int(r["ts"]) for r in rows), reverse=True)
    _, ticker = client.get("/api/v5/market/ticker?instId=BTC-USDT", signed=False)
    _, latest = client.get("/api/v5/market/trades?instId=BTC-USDT&limit=1", signed=False)
    if latest["data"][0]["ts"] == ticker["data"][0]["ts"]:  # same step: the last print is the ticker's
        assert (latest["data"][0]["px"], latest["data"][0]["sz"]) == (ticker["data"][0]["last"],
                                                                      ticker["data"][0]["lastSz"])
    _, placed = client.order(ordType="market", side="sell", sz="0.01", clOrdId="tape1")
    assert placed["code"] == "0"
    [fill] = [f for f in client.get("/api/v5/trade/fills?instId=BTC-USDT")[1]["data"] if f["clOrdId"] == "tape1"]
    _, after = client.get("/api/v5/market/trades?instId=BTC-USDT&limit=500", signed=False)
    mine = [r for r in after["data"] if r["ts"] == fill["ts"] and r["px"] == fill["fillPx"]
            and r["sz"] == fill["fillSz"]]
    assert len(mine) == 1 and mine[0]["side"] == "sell"  # the account was the taker
    ids = [int(r["tradeId"]) for r in after["data"]]
    assert ids == sorted(ids, reverse=True)


def test_history_trades_page_by_trade_id_and_by_ts(client: Client) -> None:
    _, first = client.get("/api/v5/market/history-trades?instId=ETH-USDT", signed=False)
    page = first["data"]
    assert len(page) == 100
    last_id, last_ts = page[-1]["tradeId"], int(page[-1]["ts"])
    _, by_id = client.get(f"/api/v5/market/history-trades?instId=ETH-USDT&after={last_id}&limit=5", signed=False)
    assert all(int(r["tradeId"]) < int(last_id) for r in by_id["data"]) and len(by_id["data"]) == 5
    assert int(by_id["data"][0]["tradeId"]) == max(int(r["tradeId"]) for r in by_id["data"])
    _, by_ts = client.get(f"/api/v5/market/history-trades?instId=ETH-USDT&type=2&after={last_ts}&limit=5",
                          signed=False)
    assert by_ts["data"] and all(int(r["ts"]) < last_ts for r in by_ts["data"])
    _, newer = client.get(f"/api/v5/market/history-trades?instId=ETH-USDT&before={page[3]['tradeId']}",
                          signed=False)
    assert [r["tradeId"] for r in newer["data"]][-3:] == [r["tradeId"] for r in page[:3]]
    # Three months back the tape still prints.
    old = int(page[0]["ts"]) - 80 * DAY
    _, deep = client.get(f"/api/v5/market/history-trades?instId=ETH-USDT&type=2&after={old}&limit=3", signed=False)
    assert len(deep["data"]) == 3 and all(int(r["ts"]) < old for r in deep["data"])


def test_system_status_is_empty_as_on_okx_and_filters_by_state(sim: SimulatorHandle, client: Client) -> None:
    _, body = client.get("/api/v5/system/status", signed=False)
    assert body == _sample("system_status_empty.json")["response"]
    record = _sample("system_status_docs_example.json")["response"]["data"][0]
    sim.exchange.market.maintenance.append(record)
    assert client.get("/api/v5/system/status", signed=False)[1]["data"] == []  # completed is not listed
    assert client.get("/api/v5/system/status?state=completed", signed=False)[1]["data"] == [record]
    sim.exchange.market.maintenance.append({**record, "state": "scheduled"})
    assert [r["state"] for r in client.get("/api/v5/system/status", signed=False)[1]["data"]] == ["scheduled"]


def test_two_simulators_with_one_seed_serve_the_same_history() -> None:
    def history(sim: SimulatorHandle) -> list[list[str]]:
        market = sim.exchange.market
        inst = sim.exchange.catalogue.get("SOL-USDT")
        assert inst is not None
        # Times relative to each simulator's own start: the same steps.
        t = market.step_time(0)
        return market.candles(inst, BARS["1m"], t + 10_000, after=t - 3600_000, before=None, limit=50, history=True)

    with running_simulator(SimConfig(seed=21, rate_limits=False)) as one, \
            running_simulator(SimConfig(seed=21, rate_limits=False)) as two:
        assert history(one) == history(two)


# -- peer clients, unmodified ---------------------------------------------------------------------------


def test_ccxt_fetch_ohlcv_and_trades(sim: SimulatorHandle) -> None:
    ex = ccxt.okx({"enableRateLimit": False})
    ex.urls["api"]["rest"] = sim.base_url
    recent = ex.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert len(recent) == 5 and recent[0][0] < recent[-1][0]  # ccxt sorts ascending
    since = ex.milliseconds() - 40 * 86_400_000  # beyond 1440 hours: ccxt asks history-candles
    hourly = ex.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=200)
    assert len(hourly) == 200 and hourly[0][0] >= since and hourly[1][0] - hourly[0][0] == HOUR
    assert all(low <= o <= high and low <= c <= high for _, o, high, low, c, _ in hourly)
    daily = ex.fetch_ohlcv("BTC/USDT", "1d", limit=3)  # ccxt sends bar=1Dutc
    assert daily[-1][0] % DAY == 0
    trades = ex.fetch_trades("BTC/USDT", limit=20)
    assert len(trades) == 20 and trades[0]["timestamp"] <= trades[-1]["timestamp"]
    assert {t["side"] for t in trades} <= {"buy", "sell"} and all(t["price"] > 0 for t in trades)
    assert ex.fetch_status()["status"] == "ok"


def test_python_okx_market_data_and_status(sim: SimulatorHandle) -> None:
    market_data = pytest.importorskip("okx.MarketData")
    status_api = pytest.importorskip("okx.Status")
    market = market_data.MarketAPI(flag="0", domain=sim.base_url, debug=False)
    candles = market.get_candlesticks(instId="BTC-USDT", bar="1H", limit="5")
    assert candles["code"] == "0" and len(candles["data"]) == 5
    old = int(candles["data"][0][0]) - 60 * DAY
    history = market.get_history_candlesticks(instId="BTC-USDT", bar="1H", after=str(old), limit="10")
    assert history["code"] == "0" and int(history["data"][0][0]) == old - HOUR
    assert market.get_candlesticks(instId="BTC-USDT", bar="1s")["code"] == "51000"
    trades = market.get_trades(instId="BTC-USDT", limit="7")
    assert trades["code"] == "0" and len(trades["data"]) == 7
    page = market.get_history_trades(instId="BTC-USDT", type="1", after=trades["data"][-1]["tradeId"], limit="4")
    assert len(page["data"]) == 4 and int(page["data"][0]["tradeId"]) < int(trades["data"][-1]["tradeId"])
    status = status_api.StatusAPI(flag="0", domain=sim.base_url, debug=False)
    assert status.status() == {"code": "0", "data": [], "msg": ""}
    assert status.status(state="canceled")["data"] == []
