"""Artifact keys: Prefect allows lowercase letters, digits and dashes only.

The artifacts themselves are created in the flow run (``flows.report``), not by helper task
runs, so Prefect's Artifacts page names the flow run that made each one.
"""

from __future__ import annotations

import re


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key from readable parts; empty parts are dropped."""
    key = re.sub(r"[^a-z0-9]+", "-", "-".join(p for p in parts if p).lower()).strip("-")
    return key[:100] or "okx"
