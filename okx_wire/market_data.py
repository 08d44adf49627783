"""Market history: candles, public trades and the system status (client methods and models)."""

from __future__ import annotations

from okx_wire.calls import CallsOkx


class MarketDataApi(CallsOkx):
    pass
