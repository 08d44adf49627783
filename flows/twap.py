"""The twap flow: ``okx_strategies.twap`` inside the run frame of ``flows.common``."""

from __future__ import annotations

from prefect import flow

from flows import common


@flow(name="twap", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def twap(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False, resume: bool = False,
         restart: bool = False) -> common.FlowResult:
    """Work the spec's TWAP order over ``strategy.window_seconds`` (parameters hold no secret)."""
    return common.run_strategy("twap", spec_path, dry_run, confirm_live, resume=resume, restart=restart)
