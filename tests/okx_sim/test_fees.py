"""The fee tier: what account/trade-fee reports is exactly what every fill pays."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from okx_sim import SimConfig, running_simulator
from okx_sim.cli import add_arguments, build_config, main
from okx_sim.config import FeeTier
from okx_sim.embedded import SimulatorHandle
from okx_sim.market import Market
from okx_sim.matching import MatchingEngine
from okx_sim.state import StateStore
from okx_wire.client import OkxClient

from .conftest import Client

#: OKX's documentation example of the reply, the field set the simulator must send.
SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "okx_wire" / "samples"
                     / "account_trade_fee_spot.json").read_text())
TRADE_FEE = "/api/v5/account/trade-fee"
#: A tier other than the default Lv1, to see both the report and the charge follow it.
LV3 = FeeTier(level="Lv3", maker=Decimal("-0.0006"), taker=Decimal("-0.0009"))


def test_reply_has_okxs_field_set_and_the_lv1_rates(client: Client) -> None:
    status, body = client.get(f"{TRADE_FEE}?instType=SPOT&instId=BTC-USDT")
    assert status == 200 and (body["code"], body["msg"]) == ("0", "")
    row, real = body["data"][0], SAMPLE["response"]["data"][0]
    assert set(row) == set(real) and set(row["feeGroup"][0]) == set(real["feeGroup"][0])
    for name in ("level", "instType", "maker", "taker", "category", "ruleType", "fiat", "delivery", "makerU"):
        assert row[name] == real[name], name
    group = row["feeGroup"][0]
    assert (group["groupId"], group["maker"], group["taker"]) == ("1", "-0.0008", "-0.001")
    assert group["elpMaker"] == ""  # the simulator takes no ELP orders
    assert row["ts"].isdigit()
    # Without instId: the tier's base rates, the same here.
    _, base = client.get(f"{TRADE_FEE}?instType=SPOT")
    assert base["data"][0]["feeGroup"] == row["feeGroup"]


def test_refusals_are_okxs(sim: SimulatorHandle, client: Client) -> None:
    assert client.get(TRADE_FEE) == (400, {"msg": "Parameter instType can't be empty.", "code": "50014", "data": []})
    # OKX's wording, with its double space.
    assert client.get(f"{TRADE_FEE}?instType=spot") == (400, {"msg": "Parameter instType  error", "code": "51000",
                                                              "data": []})
    status, body = client.get(f"{TRADE_FEE}?instType=SPOT&instId=NOPE-USDT")
    assert (status, body["code"]) == (200, "51001")
    # Only spot is simulated: other types answer an empty list, as the other listings do.
    assert client.get(f"{TRADE_FEE}?instType=SWAP")[1]["data"] == []
    # Read permission is enough.
    reader = Client(sim.base_url, sim.read_only_credentials)
    assert reader.get(f"{TRADE_FEE}?instType=SPOT")[1]["code"] == "0"


def test_a_configured_tier_is_reported_and_charged() -> None:
    with running_simulator(SimConfig(rate_limits=False, seed=7, fee_tier=LV3)) as sim:
        client = Client(sim.base_url, sim.credentials)
        okx = OkxClient(sim.credentials, base_url=sim.base_url, rate_limit=False)
        fee = okx.trade_fee("SPOT", "BTC-USDT")
        assert (fee.level, fee.taker_rate, fee.maker_rate) == ("Lv3", Decimal("0.0009"), Decimal("0.0006"))
        assert client.get("/api/v5/account/config")[1]["data"][0]["level"] == "Lv3"
        _, placed = client.order(ordType="market", sz="0.5", tgtCcy="base_ccy")
        ord_id = placed["data"][0]["ordId"]
        order = okx.order("BTC-USDT", ord_id=ord_id)
        # A buy pays in what it receives (BTC): taker_rate of the filled size.
        assert (order.fee, order.fee_ccy) == (-fee.taker_rate * Decimal("0.5"), "BTC")
        fills = okx.fills("BTC-USDT", ord_id=ord_id)
        assert fills and all(f.exec_type == "T" and f.fee == -fee.taker_rate * f.fill_sz for f in fills)
        _, raw = client.get(f"/api/v5/trade/fills?instId=BTC-USDT&ordId={ord_id}")
        assert {f["feeRate"] for f in raw["data"]} == {"-0.0009"}
        assert sim.exchange.balance_of("BTC").cash == Decimal("1") + Decimal("0.5") - Decimal("0.00045")


def test_a_resting_order_pays_the_tiers_maker_rate() -> None:
    now = [1_800_000_000_000]
    config = SimConfig(seed=11, step_ms=1000, volatility=0.003, fee_tier=LV3)
    engine = MatchingEngine(config, StateStore(None), lambda: now[0])
    try:
        live, inst = engine.market, engine.catalogue.get("ETH-USDT")
        assert inst is not None
        # A twin of the seeded walk, to find a later step whose best ask reaches below today's.
        twin = Market(live.catalogue, seed=live.seed, step_ms=live.step_ms, volatility=live.volatility,
                      start_step=0, anchor_ms=now[0])
        start_ask = twin.book(inst, 0).best_ask
        step, px = next((s, ask) for s, ask in ((s, twin.book(inst, s).best_ask) for s in range(1, 2000))
                        if ask < start_ask)
        sell_px = px * 10  # a sell far above the book never fills
        [ack, rest] = engine.place([engine.parse_place({"instId": "ETH-USDT", "tdMode": "cash", "side": "buy",
                                                        "ordType": "limit", "px": str(px), "sz": "0.1"}),
                                    engine.parse_place({"instId": "ETH-USDT", "tdMode": "cash", "side": "sell",
                                                        "ordType": "limit", "px": str(sell_px), "sz": "0.1"})],
                                   now[0])
        assert ack["sCode"] == rest["sCode"] == "0" and not engine.fills
        now[0] += step * config.step_ms
        engine.tick(now[0])
        [fill] = engine.fills
        assert (fill.exec_type, fill.fee_rate, fill.fee_ccy) == ("M", LV3.maker, "ETH")
        assert fill.fee == LV3.maker * Decimal("0.1")
        assert all(initial == total for initial, total in engine.conservation().values())
    finally:
        engine.close()


def test_the_tier_refuses_rebates_percentages_and_bad_levels() -> None:
    with pytest.raises(ValidationError, match="OKX's sign"):
        FeeTier(taker=Decimal("0.001"))  # a cost, not OKX's negative rate
    with pytest.raises(ValidationError, match="as a fraction"):
        FeeTier(taker=Decimal("-0.1"))  # 0.1 % written as a percentage
    with pytest.raises(ValidationError):
        FeeTier(level="")
    assert str(FeeTier(maker=Decimal("-0")).maker) == "0"
    assert SimConfig().fee_tier == FeeTier(level="Lv1", maker=Decimal("-0.0008"), taker=Decimal("-0.001"))


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--api-key", "k", "--secret-key", "s", "--passphrase", "p", *extra])


def test_cli_flags_set_the_tier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert build_config(_args()).fee_tier == FeeTier()
    config = build_config(_args("--fee-level", "Lv3", "--maker-fee", "-0.0006", "--taker-fee", "-0.0009"))
    assert config.fee_tier == LV3
    assert build_config(_args("--taker-fee", "-0.0009")).fee_tier == FeeTier(taker=Decimal("-0.0009"))
    assert main(_args("--state", str(tmp_path / "s.sqlite3"), "--taker-fee", "0.001")) == 2
    assert "okx-sim: invalid option: fee_tier.taker:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _args("--maker-fee", "cheap")
