"""The rebalance flow: ``okx_strategies.rebalance`` inside the run frame of ``flows.common``."""

from __future__ import annotations

from prefect import flow

from flows import common


@flow(name="rebalance", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def rebalance(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Rebalance the portfolio described by the spec at ``spec_path`` (parameters hold no secret)."""
    return common.run_strategy("rebalance", spec_path, dry_run, confirm_live)
