"""The strategies, found once: every module of the ``okx_strategies`` package that defines
``STRATEGY`` (a ``base.Strategy``) is one.

The spec loader builds its ``strategy:`` union from this, the CLI its kinds, flows and
summaries, and each flow its plan and body. Nothing lists the strategies a second time, so a
new one is its module, its ten-line flow, an example spec and a deployment entry.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

import okx_strategies
from okx_strategies.base import Strategy

_lock = threading.Lock()
_found: dict[str, Strategy] | None = None


def _discover() -> dict[str, Strategy]:
    found: list[Strategy] = []
    for module in sorted(pkgutil.iter_modules(okx_strategies.__path__), key=lambda m: m.name):
        if module.ispkg or module.name.startswith("_"):
            continue
        strategy = getattr(importlib.import_module(f"okx_strategies.{module.name}"), "STRATEGY", None)
        if isinstance(strategy, Strategy):
            found.append(strategy)
    kinds = [s.kind for s in found]
    duplicates = sorted({k for k in kinds if kinds.count(k) > 1})
    if duplicates:
        raise RuntimeError(f"two strategy modules declare kind {', '.join(duplicates)}")
    return {s.kind: s for s in sorted(found, key=lambda s: (s.position, s.kind))}


def strategies() -> dict[str, Strategy]:
    """Every strategy by kind, in the order messages list them."""
    global _found
    with _lock:
        if _found is None:
            _found = _discover()
        return _found


def kinds() -> tuple[str, ...]:
    return tuple(strategies())


def get(kind: str) -> Strategy:
    """The strategy of ``kind``; KeyError for a kind no module declares."""
    return strategies()[kind]
