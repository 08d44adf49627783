"""The ladder flow: ``okx_strategies.ladder`` inside the run frame of ``flows.common``."""

from __future__ import annotations

from prefect import flow

from flows import common


@flow(name="ladder", flow_run_name=common.flow_run_name, persist_result=False, log_prints=False)
def ladder(spec_path: str, dry_run: bool | None = None, confirm_live: bool = False) -> common.FlowResult:
    """Place the spec's post-only ladder and leave it resting (parameters hold no secret)."""
    return common.run_strategy("ladder", spec_path, dry_run, confirm_live)
