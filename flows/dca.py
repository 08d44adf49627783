"""The dca flow: ``okx_strategies.dca`` inside the run frame of ``flows.common``."""

from __future__ import annotations

from prefect import flow

from flows import common


@flow(name="dca", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def dca(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Buy ``strategy.quote_amount`` of ``strategy.inst_id`` once per slot (parameters hold no secret)."""
    return common.run_strategy("dca", spec_path, dry_run, confirm_live)
