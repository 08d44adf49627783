"""The shipped examples on ONE account: each trades its own sleeve, the sleeves add up to the
account, and a run that fails still publishes its report."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.common import RunFailed, StrategyRun
from flows.dca import dca
from flows.ladder import ladder
from flows.rebalance import rebalance
from flows.twap import twap
from okx_strategies.valuation import value_account
from okx_wire.client import OkxClient
from okx_wire.ledger import open_ledger

ZERO = Decimal(0)


def artifacts(flow_run_id: str) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: str(a.data) for a in found if a.key}


def test_the_examples_coexist_on_one_account(sim, spec_file):
    core = spec_file("rebalance")
    alts = spec_file("alts-rebalance")
    first_alts = rebalance(spec_path=str(alts))
    assert first_alts.placements and all(p.ok for p in first_alts.placements)
    rebalance(spec_path=str(core))
    dca(spec_path=str(spec_file("dca")))
    ladder_run = ladder(spec_path=str(spec_file("ladder")))
    twap(spec_path=str(spec_file("twap", strategy={"window_seconds": 1})))
    # The core rebalance spent USDT and bought BTC/ETH/SOL: the alts sleeve did not move, so
    # its next run finds its weights where it left them (it used to sell back what it bought).
    again = rebalance(spec_path=str(alts))
    assert again.plan.orders == [] and again.status == "nothing to do"

    account_id = open_ledger().history(ladder_run.spec_name)[-1].account
    sleeves = {s.spec: s.holdings for s in open_ledger().sleeves(account_id)}
    assert set(sleeves) == {"core-rebalance", "alts-rebalance", "btc-dca", "eth-ladder", "btc-twap-sell"}
    with OkxClient(sim.credentials, base_url=sim.base_url) as okx:
        sheet = okx.balance()
        tickers = {t.inst_id: t for t in okx.tickers("SPOT")}
    account = value_account(sheet, tickers, "USDT")
    totals = account.totals()
    for ccy in {c for h in sleeves.values() for c in h}:  # sleeves never hold more than the account
        assert sum((h.get(ccy, ZERO) for h in sleeves.values()), ZERO) <= totals.get(ccy, ZERO), ccy
    assert sleeves["alts-rebalance"]["USDT"] < 20_000 and sleeves["btc-dca"]["BTC"] > 0
    # The account artifact lists every sleeve and what no sleeve holds, adding up to the equity.
    text = artifacts(again.flow_run_id)
    account_text = next(v for k, v in text.items() if k.startswith("okx-account-"))
    for name in sleeves:
        assert f"| {name} |" in account_text
    assert "(not in a sleeve)" in account_text and "Sleeves and the rest add up to" in account_text


def test_a_run_that_fails_after_placing_publishes_a_failed_report(sim, spec_file, monkeypatch):
    def lose_the_line(self: StrategyRun, placements, timeout_s: float = 10.0, cancel_rest: bool = True):
        raise ConnectionError("network unreachable while waiting for the orders")

    monkeypatch.setattr(StrategyRun, "settle", lose_the_line)
    path = spec_file("rebalance", risk={"max_order_notional": 50000, "max_run_notional": 250000})
    with pytest.raises(ConnectionError):
        rebalance(spec_path=str(path))
    runs = open_ledger().history("core-rebalance")
    assert runs and runs[-1].status == "failed" and "network unreachable" in runs[-1].detail
    body = artifacts(runs[-1].run_id)["core-rebalance-report"]
    assert "> **FAILED**" in body and "network unreachable while waiting for the orders" in body
    assert "placed, state not read" in body  # what it placed, though it never read the outcome


def test_the_account_value_counts_frozen_funds(sim, spec_file):
    result = ladder(spec_path=str(spec_file("ladder")))
    assert result.status == "completed" and result.figures["Orders"].endswith("5 resting")
    frozen = Decimal(result.figures["Frozen in resting orders"].removesuffix(" USDT").replace(",", ""))
    assert frozen == sum((o.sz * o.px for o in result.orders), ZERO).quantize(Decimal("0.01"))


def test_no_report_claims_success_for_a_refused_run(sim, spec_file, monkeypatch):
    from okx_strategies import pipeline as planning

    monkeypatch.setattr(planning, "within_funds", lambda plan, balances: plan)
    path = spec_file("dca", capital=None, strategy={"quote_amount": 5_000_000},
                     risk={"max_order_notional": 10_000_000, "max_run_notional": 10_000_000})
    with pytest.raises(RunFailed):
        dca(spec_path=str(path))
    body = artifacts(open_ledger().history("btc-dca")[-1].run_id)["btc-dca-report"]
    assert "**FAILED**" in body and "none placed" in body
    assert "| dca | refused (" in body
