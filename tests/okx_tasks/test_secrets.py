"""Run flows that use every task with known credentials, then search everything that was
written — Prefect's database, its home directory, artifacts, logs, run parameters, the
simulator's state, captured output — for the secret key and the passphrase: zero hits."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from pathlib import Path

import pytest
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
from prefect.context import FlowRunContext
from prefect.logging.handlers import APILogHandler

from okx_reports.run_report import AccountView, HoldingView, render_account
from okx_sim import SimConfig, running_simulator
from okx_sim.config import ApiKeySpec
from okx_strategies import pipeline
from okx_strategies.valuation import value_account
from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials, drop_cached_clients
from okx_tasks.venue import PrefectVenue
from okx_wire.orders import Amend, OrderRequest, client_order_id

SCAN_SECRET = "ScanSecret0xDEADBEEFcafe9931"
SCAN_PASSPHRASE = "ScanPassphrase-7781-zeta"
NEEDLES = (SCAN_SECRET, SCAN_PASSPHRASE)


@flow(name="every-okx-task")
def every_task(block_name: str) -> list[str]:
    block = OkxCredentials.load(block_name)
    logger = get_run_logger()
    run_id = str(FlowRunContext.get().flow_run.id)  # type: ignore[union-attr]
    tasks.sync_server_time(block)
    balance = tasks.get_balance(block, ["USDT", "BTC"])
    config = tasks.get_account_config(block)
    book = tasks.get_order_book(block, "BTC-USDT", 5)
    tasks.get_ticker(block, "BTC-USDT")
    tickers = {t.inst_id: t for t in tasks.get_tickers(block)}
    inst = tasks.get_instruments(block, "SPOT", "BTC-USDT")[0]
    low = (book.best_bid * Decimal("0.7")).quantize(inst.tick_sz)
    resting = tasks.place_order(block, OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit",
                                                    sz=Decimal("0.001"), px=low,
                                                    cl_ord_id=client_order_id(run_id, "scan", "rest")),
                                instrument=inst)
    taken = tasks.place_batch_orders(block, [
        OrderRequest(inst_id=i, side="buy", ord_type="market", sz=Decimal(15),
                     cl_ord_id=client_order_id(run_id, "scan", i)) for i in ("ETH-USDT", "SOL-USDT")])
    tasks.amend_order(block, "BTC-USDT", ord_id=resting.ord_id, new_px=low - inst.tick_sz)
    [amended] = tasks.amend_batch_orders(block, [Amend(inst_id="BTC-USDT", ord_id=resting.ord_id,
                                                       new_px=low - 2 * inst.tick_sz)])
    assert amended.ok
    tasks.get_order(block, "BTC-USDT", ord_id=resting.ord_id)
    tasks.get_pending_orders(block)
    tasks.cancel_order(block, "BTC-USDT", ord_id=resting.ord_id)
    final = pipeline.wait_final(PrefectVenue(block), taken)
    tasks.get_order_states(block, [(p.inst_id, p.ord_id) for p in taken])
    tasks.get_order_history(block)
    fills = tasks.get_fills(block)
    headers = tasks.sign_request(block, "GET", "/api/v5/account/bills")
    logger.info("signed headers for a custom call: %s", headers)  # must show masks only
    logger.info("block in use: %r", block)
    # The artifacts a run publishes, from these reads (created in the flow run, as flows.report does).
    account = value_account(balance, tickers, "USDT")
    create_markdown_artifact(render_account(AccountView(
        account="scan", venue=repr(block), quote="USDT", equity=account.equity, frozen=account.frozen,
        holdings=[HoldingView(h.ccy, h.available, h.frozen, h.price, h.value) for h in account.holdings],
        sleeves=[("scan", account.equity)])), key="scan-account")
    create_table_artifact([{"order": o.ord_id, "state": o.state.value, "clOrdId": o.cl_ord_id} for o in final],
                          key="scan-orders")
    create_table_artifact([{"trade": f.trade_id, "px": str(f.fill_px), "fee": str(f.fee)} for f in fills],
                          key="scan-fills")
    create_markdown_artifact(f"perm: {config.perm}; book {book.best_bid}", key="scan-summary")
    return [p.cl_ord_id for p in taken]


def _hits(data: bytes) -> list[str]:
    return [n for n in NEEDLES if n.encode() in data]


def test_no_secret_anywhere_prefect_or_the_simulator_wrote(prefect_db: Path, tmp_path: Path,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    drop_cached_clients()
    key = ApiKeySpec(api_key="scan-key", secret_key=SCAN_SECRET, passphrase=SCAN_PASSPHRASE)  # type: ignore[arg-type]
    state = tmp_path / "sim.sqlite3"
    with running_simulator(SimConfig(keys=[key], state_path=state, rate_limits=False)) as sim:
        OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url).save("okx-scan", overwrite=True)
        state = every_task("okx-scan", return_state=True)
        assert len(state.result()) == 2
        run_id = state.state_details.flow_run_id
    APILogHandler().flush()

    async def stored() -> str:
        # This run's records only: the session's database holds every earlier test's too, and
        # the API pages its answers.
        async with get_client() as client:
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            task_runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            arts = await client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            return repr([r.model_dump() for r in runs] + [t.model_dump() for t in task_runs]
                        + [entry.model_dump() for entry in logs] + [a.model_dump() for a in arts])

    api_view = asyncio.run(stored())
    assert "signed headers" in api_view and "scan-orders" in api_view  # the scan sees real content
    assert _hits(api_view.encode()) == []

    scanned = 0
    roots = [prefect_db.parent, Path(os.environ["PREFECT_HOME"]), tmp_path]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                scanned += 1
                assert _hits(path.read_bytes()) == [], path
    assert scanned >= 3
    out, err = capfd.readouterr()
    assert _hits((out + err).encode()) == []
