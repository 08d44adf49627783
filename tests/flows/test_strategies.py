"""DCA, TWAP and ladder flows end to end; venue resolution (block, live, sim safety)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.dca import dca
from flows.ladder import ladder
from flows.spec import SpecError, load_spec
from flows.twap import twap
from flows.venue import LiveNotConfirmed, resolve_venue
from okx_strategies.pipeline import order_tag
from okx_wire.errors import ConfigurationError
from tests.support.flow_env import fresh_settings

STABLE = ("report", "fills")


def artifact_keys(flow_run_id: str) -> set[str]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key for a in found}


def test_dca_buys_once(sim, spec_file):
    result = dca(spec_path=str(spec_file("dca")))
    assert len(result.plan.orders) == 1 and len(result.placements) == 1
    order = result.orders[0]
    assert order.side == "buy" and order.state.value == "filled"
    assert order.px <= Decimal("200000")
    spent = result.balances_before["USDT"] - result.balances_after["USDT"]
    assert Decimal("90") < spent <= Decimal("100")
    assert result.balances_after["BTC"] > result.balances_before["BTC"]
    assert {f"btc-dca-{k}" for k in STABLE} <= artifact_keys(result.flow_run_id)


def test_dca_price_ceiling_skips_the_buy(sim, spec_file):
    result = dca(spec_path=str(spec_file("dca", strategy={"max_price": 1000})))
    assert result.plan.orders == [] and "maximum price" in result.plan.skipped[0].reason
    assert sim.exchange.all_orders() == []


def test_twap_works_every_slice(sim, spec_file):
    result = twap(spec_path=str(spec_file("twap", strategy={"window_seconds": 1})))
    legs = [p.cl_ord_id[:2] for p in result.placements]
    assert legs == ["s1", "s2", "s3", "s4", "s5"]
    assert all(o.side == "sell" and o.state.value == "filled" for o in result.orders)
    sold = result.balances_before["BTC"] - result.balances_after["BTC"]
    assert sold == Decimal("0.05")
    assert {f"btc-twap-sell-{k}" for k in (*STABLE, "progress")} <= artifact_keys(result.flow_run_id)


def test_ladder_leaves_post_only_orders_resting(sim, spec_file):
    result = ladder(spec_path=str(spec_file("ladder")))
    assert len(result.orders) == 5
    assert all(o.ord_type == "post_only" and o.state.value == "live" for o in result.orders)
    prices = [o.px for o in result.orders]
    assert prices == sorted(prices, reverse=True)  # stepping away from mid
    assert {f"eth-ladder-{k}" for k in STABLE} <= artifact_keys(result.flow_run_id)


def test_next_ladder_run_replaces_the_previous_one(sim, spec_file):
    first = ladder(spec_path=str(spec_file("ladder")))
    second = ladder(spec_path=str(spec_file("ladder")))
    assert any("replaced 5 order(s)" in note for note in second.notes)
    old = {o.ord_id for o in first.orders}
    states = {o["ordId"]: o["state"] for o in sim.exchange.all_orders() if o["ordId"] in old}
    assert set(states.values()) == {"canceled"}
    resting = [o for o in sim.exchange.all_orders() if o["state"] == "live" and o["instId"] == "ETH-USDT"]
    assert {o["ordId"] for o in resting} == {o.ord_id for o in second.orders}
    (tag,) = {o["tag"] for o in resting}
    assert tag.startswith("ethladder") and len(tag) <= 16


def test_credentials_from_a_block(sim, spec_file, monkeypatch):
    from okx_tasks.blocks import OkxCredentials

    OkxCredentials.from_api_credentials(sim.credentials).save("flows-test-key", overwrite=True)
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"):
        monkeypatch.delenv(name)
    result = dca(spec_path=str(spec_file("dca", credentials={"block": "flows-test-key"})))
    assert result.placements[0].ok


def test_live_needs_confirmation_and_sim_never_reaches_okx(tmp_path, monkeypatch):
    live = tmp_path / "live.yaml"
    live.write_text("name: live-dca\nvenue: live\nbase_url: https://127.0.0.1:9\nrisk: {max_run_notional: 100}\n"
                    "strategy: {kind: dca, inst_id: BTC-USDT, quote_amount: 10}\n")
    with pytest.raises(LiveNotConfirmed, match="--confirm-live"), resolve_venue(load_spec(live)):
        pass
    with pytest.raises(LiveNotConfirmed):
        dca(spec_path=str(live))

    monkeypatch.setenv("OKX_API_KEY", "k")
    monkeypatch.setenv("OKX_SECRET_KEY", "s")
    monkeypatch.setenv("OKX_PASSPHRASE", "p")
    monkeypatch.setenv("OKX_BASE_URL", "http://127.0.0.1:9")  # plain http from the environment
    fresh_settings()
    live.write_text(live.read_text().replace("base_url: https://127.0.0.1:9\n", ""))
    with pytest.raises(ConfigurationError, match="https"), resolve_venue(load_spec(live), confirm_live=True):
        pass
    sim_spec = tmp_path / "sim.yaml"
    sim_spec.write_text("name: sim-dca\nvenue: sim\nbase_url: https://www.okx.com\n"
                        "strategy: {kind: dca, inst_id: BTC-USDT, quote_amount: 10}\n")
    with pytest.raises(SpecError, match="venue: sim"):
        load_spec(sim_spec)


def test_embedded_simulator_keeps_its_state_between_runs(tmp_path, monkeypatch):
    for name in ("OKX_BASE_URL", "OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OKX_SIM_STATE", str(tmp_path / "state" / "sim.sqlite3"))
    fresh_settings()
    spec = load_spec("specs/dca.yaml")
    with resolve_venue(spec) as venue:
        assert venue.embedded
        client = venue.credentials.get_client()
        before = client.balance(["USDT"]).available("USDT")
    first = dca(spec_path="specs/dca.yaml")
    assert first.placements[0].ok and first.balances_before["USDT"] == 3000  # its sleeve: capital quote 3000
    second = dca(spec_path="specs/dca.yaml")
    assert second.balances_before["USDT"] == first.balances_after["USDT"]  # the sleeve, kept in the ledger
    with resolve_venue(spec) as venue:  # a new embedded simulator on the same state file
        assert venue.credentials.get_client().balance(["USDT"]).available("USDT") == before - (
            first.balances_before["USDT"] - first.balances_after["USDT"])
    assert (tmp_path / "state" / "sim.sqlite3").exists()


def test_twap_with_a_dead_man_switch_arms_it_for_its_tag_and_disarms_it(sim, spec_file):
    seen: list[dict[str, object]] = []
    real = sim.app.cancel_all_after

    def spy(req):  # type: ignore[no-untyped-def]
        seen.append(dict(req.json))
        return real(req)

    sim.app.routes["/api/v5/trade/cancel-all-after"]["POST"] = type(
        sim.app.routes["/api/v5/trade/cancel-all-after"]["POST"])(spy, True, True)
    result = twap(spec_path=str(spec_file("twap", strategy={"window_seconds": 1, "dead_man_seconds": 30})))
    assert len(result.placements) == 5 and all(o.state.value == "filled" for o in result.orders)
    tag = order_tag(load_spec(spec_file("twap")).name)
    assert seen[0] == {"timeOut": "30", "tag": tag} and seen[-1] == {"timeOut": "0", "tag": tag}
    assert sim.app.dead_man.timers == {}


def test_the_dead_man_switch_must_outlast_a_settle(spec_file):
    with pytest.raises(SpecError, match="dead_man_seconds must be at least 20"):
        load_spec(spec_file("twap", strategy={"dead_man_seconds": 10}))
