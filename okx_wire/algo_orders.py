"""Algo orders: conditional (TP/SL), oco, trigger and trailing stops (client methods and models)."""

from __future__ import annotations

from okx_wire.calls import CallsOkx


class AlgoOrdersApi(CallsOkx):
    pass
