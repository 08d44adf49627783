"""OKX's public REST endpoints: time, instruments, books, tickers, candles, trades, system status.

Market data never touches the engine's lock: it is drawn from ``okx_sim.market``'s seeded walk.
The one exception is the trade tape, which shows the account's own fills among the walk's
prints and so reads them (read only) from the engine.
"""

from __future__ import annotations

from typing import Any

from okx_sim.candles import BARS, HISTORY_ONLY_BARS
from okx_sim.market import FillsBetween
from okx_sim.protocol import SimError, param, param_error
from okx_sim.routes.base import Request, Routes, ms_param, ok, required
from okx_wire.endpoints import BOOK_DEPTH, CANDLE_LIMIT, HISTORY_TRADES_LIMIT, INST_TYPES, PAGE_LIMIT, TRADES_LIMIT


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


    # -- market history ------------------------------------------------------------------------
    def candles(self, req: Request) -> tuple[int, dict[str, Any]]:
        return self._candles(req, history=False)

    def history_candles(self, req: Request) -> tuple[int, dict[str, Any]]:
        return self._candles(req, history=True)

    def _candles(self, req: Request, *, history: bool) -> tuple[int, dict[str, Any]]:
        inst = self._instrument(req)
        name = param(req.query, "bar") or "1m"
        bar = BARS.get(name)
        if bar is None or (not history and name in HISTORY_ONLY_BARS):
            raise param_error("bar")
        limit = _limit(req.query, CANDLE_LIMIT, CANDLE_LIMIT // 3)
        after, before = ms_param(req.query, "after"), ms_param(req.query, "before")
        return ok(self.exchange.market.candles(inst, bar, req.now_ms, after=after, before=before, limit=limit,
                                               history=history))

    def trades(self, req: Request) -> tuple[int, dict[str, Any]]:
        inst = self._instrument(req)
        limit = _limit(req.query, TRADES_LIMIT, HISTORY_TRADES_LIMIT)
        return ok(self.exchange.market.trades(inst, req.now_ms, self._fills_between(req.now_ms), limit=limit))

    def history_trades(self, req: Request) -> tuple[int, dict[str, Any]]:
        inst = self._instrument(req)
        kind = param(req.query, "type") or "1"
        if kind not in ("1", "2"):
            raise param_error("type")
        limit = _limit(req.query, HISTORY_TRADES_LIMIT, HISTORY_TRADES_LIMIT)
        after, before = ms_param(req.query, "after"), ms_param(req.query, "before")
        by_id = kind == "1"
        return ok(self.exchange.market.trades(
            inst, req.now_ms, self._fills_between(req.now_ms), limit=limit, history=True,
            after_id=after if by_id else None, after_ts=None if by_id else after, before_id=before))

    def _fills_between(self, now_ms: int) -> FillsBetween:
        """The account's fills of one instrument in a time window, every page of them (read only)."""
        def read(inst_id: str, begin: int, end: int) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            params: dict[str, Any] = {"instId": inst_id, "begin": str(begin), "end": str(end)}
            while True:
                page = self.exchange.list_fills(params, now_ms)
                found += page
                if len(page) < PAGE_LIMIT:
                    return found
                params = {**params, "after": page[-1]["billId"]}
        return read

    def system_status(self, req: Request) -> tuple[int, dict[str, Any]]:
        state = param(req.query, "state")
        if state is not None and state not in MAINTENANCE_STATES:
            raise param_error("state")
        return ok(self.exchange.market.status(state))


#: The ``state`` values ``system/status`` takes.
MAINTENANCE_STATES = frozenset({"scheduled", "ongoing", "pre_open", "completed", "canceled"})


def _limit(query: dict[str, Any], cap: int, default: int) -> int:
    """OKX's ``limit``: 1..cap, ``default`` when absent."""
    text = param(query, "limit")
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= cap:
        raise param_error("limit")
    return int(text)
