"""OKX's public REST endpoints: time, instruments, books, tickers, candles and trades.

Market data never touches the engine's lock: it is drawn from ``okx_sim.market``'s seeded walk.
"""

from __future__ import annotations

from typing import Any

from okx_sim.matching import param
from okx_sim.protocol import SimError, param_error
from okx_sim.routes.base import Request, Routes, ok, required
from okx_wire.endpoints import BOOK_DEPTH, INST_TYPES


class PublicRoutes(Routes):
    def public_time(self, req: Request) -> tuple[int, dict[str, Any]]:
        return ok([{"ts": str(req.now_ms)}])

    def instruments(self, req: Request) -> tuple[int, dict[str, Any]]:
        inst_type = required(req.query, "instType")
        if inst_type not in INST_TYPES:
            raise param_error("instType")
        if inst_type != "SPOT":
            return ok([])
        rows = self.exchange.catalogue.rows
        inst_id = param(req.query, "instId")
        if inst_id is not None:
            if inst_id not in rows:
                raise SimError("51001")
            return ok([rows[inst_id]])
        return ok(list(rows.values()))

    def _instrument(self, req: Request) -> Any:
        inst = self.exchange.catalogue.get(required(req.query, "instId"))
        if inst is None:
            raise SimError("51001")
        return inst

    def books(self, req: Request) -> bytes:
        inst = self._instrument(req)
        sz = param(req.query, "sz")
        depth = 1
        if sz is not None:
            if not sz.isdigit() or int(sz) not in BOOK_DEPTH:
                raise param_error("sz")
            depth = int(sz)
        market = self.exchange.market
        return market.books_body(inst, market.step_at(req.now_ms), depth)

    def ticker(self, req: Request) -> tuple[int, dict[str, Any]]:
        inst = self._instrument(req)
        market = self.exchange.market
        return ok([market.ticker(inst, market.step_at(req.now_ms))])

    def tickers(self, req: Request) -> tuple[int, dict[str, Any]]:
        inst_type = required(req.query, "instType")
        if inst_type not in INST_TYPES:
            raise param_error("instType")
        if inst_type != "SPOT":
            return ok([])
        market = self.exchange.market
        step = market.step_at(req.now_ms)
        return ok([market.ticker(inst, step) for inst in self.exchange.catalogue.instruments])

