"""The client's market history: typed models from OKX's real payloads, argument checks before
sending, and the paging helper against the simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from okx_wire.client import OkxClient
from okx_wire.errors import ConfigurationError, InvalidRequest, UnknownInstrument
from okx_wire.market_data import BAR_MS, Candle, SystemStatus, Trade

SAMPLES = Path(__file__).parent / "samples"
HOUR, DAY = 3_600_000, 86_400_000


def _data(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())["response"]["data"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(SimConfig(rate_limits=False, seed=4)) as handle:
        yield handle


@pytest.fixture
def client(sim: SimulatorHandle) -> Iterator[OkxClient]:
    with OkxClient(base_url=sim.base_url, rate_limit=False) as okx:
        yield okx


def test_models_read_okx_real_payloads() -> None:
    [first, *_] = [Candle.model_validate(row) for row in _data("market_candles_spot.json")]
    assert (first.ts, first.o, first.c, first.vol_ccy_quote) == (1706637600000, Decimal("43398.6"),
                                                                 Decimal("43373.9"), Decimal("220057933.233687634"))
    assert first.confirmed
    forming = Candle.model_validate(_data("market_candles_docs_example.json")[0])
    assert not forming.confirmed and forming.l == Decimal("3.677")
    old = Candle.model_validate(["1597026383085", "3.7", "3.8", "3.6", "3.7", "8", "22"])  # 2021's 7 elements
    assert old.confirmed and old.vol_ccy_quote == Decimal(22)
    [trade] = [Trade.model_validate(t) for t in _data("market_trades_spot.json")]
    assert (trade.trade_id, trade.px, trade.side, trade.source) == ("497859870", Decimal("73239.3"), "sell", "")
    [notice] = [SystemStatus.model_validate(s) for s in _data("system_status_docs_example.json")]
    assert (notice.state, notice.begin, notice.service_type) == ("completed", 1672823400000, "8")


def test_arguments_are_checked_before_sending() -> None:
    okx = OkxClient(base_url="http://127.0.0.1:9", rate_limit=False)  # nothing listens: nothing may be sent
    refusals = [
        (lambda: okx.candles("BTC-USDT", "1h"), "unknown bar '1h'"),
        (lambda: okx.candles("BTC-USDT", "1s"), "history-candles only"),
        (lambda: okx.candles("BTC-USDT", limit=301), "limit must be 1..300"),
        (lambda: okx.history_candles("BTC-USDT", limit=0), "limit must be 1..300"),
        (lambda: okx.trades("BTC-USDT", 501), "limit must be 1..500"),
        (lambda: okx.history_trades("BTC-USDT", limit=101), "limit must be 1..100"),
        (lambda: okx.history_trades("BTC-USDT", by="3"), "type must be 1"),
        (lambda: okx.system_status("done"), "unknown maintenance state"),
        (lambda: okx.candles_between("BTC-USDT", "1m", 10, 10), "must be after"),
    ]
    for call, text in refusals:
        with pytest.raises(ConfigurationError, match=text):
            call()


def test_candles_and_history_candles(client: OkxClient) -> None:
    latest = client.candles("BTC-USDT", "1H", limit=3)
    assert len(latest) == 3 and not latest[0].confirmed and latest[1].confirmed
    assert latest[0].ts - latest[1].ts == HOUR and latest[0].l <= latest[0].c <= latest[0].h
    older = client.candles("BTC-USDT", "1H", after=latest[1].ts, limit=1)
    assert older == [latest[2]]
    seconds = client.history_candles("BTC-USDT", "1s", limit=2)
    assert seconds[0].ts - seconds[1].ts == 1000
    deep = client.history_candles("BTC-USDT", "1Dutc", after=latest[0].ts - 60 * DAY, limit=2)
    assert len(deep) == 2 and deep[0].ts % DAY == 0
    with pytest.raises(UnknownInstrument):
        client.candles("NOPE-USDT")


def test_candles_between_pages_and_chooses_the_endpoint(client: OkxClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    call = client._call

    def recording(endpoint: Any, **kw: Any) -> dict[str, Any]:
        sent.append(endpoint.name)
        return call(endpoint, **kw)

    monkeypatch.setattr(client, "_call", recording)
    now = client.now_ms()
    hour = now - now % HOUR
    recent = client.candles_between("ETH-USDT", "1H", hour - 700 * HOUR, hour)
    assert len(recent) == 700 and [c.ts for c in recent] == list(range(hour - 700 * HOUR, hour, HOUR))
    assert sent == ["candles"] * 3
    sent.clear()
    old = client.candles_between("ETH-USDT", "1H", hour - 70 * 24 * HOUR, hour - 69 * 24 * HOUR)
    assert len(old) == 24 and sent == ["history_candles"]
    # The same bars from either endpoint.
    assert client.candles_between("ETH-USDT", "1H", hour - 5 * HOUR, hour) == recent[-5:]
    assert set(BAR_MS) >= {"1s", "1m", "4H", "6Hutc", "1W", "3Mutc"} and len(BAR_MS) == 25


def test_trades_history_trades_and_status(client: OkxClient) -> None:
    latest = client.trades("SOL-USDT", 50)
    assert len(latest) == 50 and all(t.inst_id == "SOL-USDT" and t.sz > 0 for t in latest)
    page = client.history_trades("SOL-USDT", after=latest[-1].trade_id, limit=10)
    assert len(page) == 10 and int(page[0].trade_id) < int(latest[-1].trade_id)
    by_ts = client.history_trades("SOL-USDT", after=latest[-1].ts, by="2", limit=10)
    assert by_ts and all(t.ts < latest[-1].ts for t in by_ts)
    assert client.system_status() == [] and client.system_status("completed") == []
    with pytest.raises(InvalidRequest):
        client.request("GET", "/api/v5/market/trades", params={"instId": "SOL-USDT", "limit": 501}, private=False)
