"""The source tree is what it claims: ruff-clean, fully typed (mypy), and layered with imports that only
point down (import-linter). The tools and their settings are the ``test`` extra and pyproject.toml's
``[tool.ruff]``, ``[tool.mypy]`` and ``[tool.importlinter]``; run these alone with ``pytest -m quality``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.quality

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_tool(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    tool = BIN / args[0]
    assert tool.exists(), f'{args[0]} is not installed next to {sys.executable}: pip install -e ".[test]"'
    return subprocess.run([str(tool), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def problems(done: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(part for part in (done.stdout.strip(), done.stderr.strip()) if part)


def test_ruff_finds_nothing() -> None:
    done = run_tool("ruff", "check", "--no-fix", "--output-format", "concise", ".")
    assert done.returncode == 0, f"ruff check . found problems (fix them, or `ruff check --fix .`):\n{problems(done)}"


def test_mypy_finds_nothing() -> None:
    done = run_tool("mypy")
    assert done.returncode == 0, f"mypy (packages as in [tool.mypy]) found problems:\n{problems(done)}"


def test_imports_only_point_down() -> None:
    done = run_tool("lint-imports", "--no-cache")
    assert done.returncode == 0, f"an import contract in [tool.importlinter] is broken:\n{problems(done)}"
