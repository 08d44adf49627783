"""Counting the OKX REST requests this process's clients send."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from okx_wire.client import OkxClient


def count_rest(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every request any ``OkxClient`` sends from now on, as "METHOD /path" (no query). Counted
    where the client hands the request to its transport, which its pooled adapter reaches without
    ``requests.Session.send``."""
    seen: Counter[str] = Counter()
    real = OkxClient._exchange

    def exchange(self: OkxClient, prepared: Any, method: str, request_path: str) -> Any:
        seen[f"{method} {request_path.split('?', 1)[0]}"] += 1
        return real(self, prepared, method, request_path)

    monkeypatch.setattr(OkxClient, "_exchange", exchange)
    return seen
