"""OKX's algo-order endpoints: order-algo, its queries, cancel-algos and amend-algos.

Replies are shaped as OKX's (samples/trade_order_algo_trigger_ack.json,
trade_cancel_algos_ack.json, trade_amend_algos_docs_example.json): per-item ``sCode``/``sMsg``
with a top-level code of "0", "1" (all failed) or "2" (some failed), HTTP 200, ``msg`` "" and,
unlike /trade/order, no ``ts``, ``inTime`` or ``outTime``. The work is ``okx_sim.algos``.
"""

from __future__ import annotations

from typing import Any

from okx_sim.protocol import SimError, missing, param
from okx_sim.routes.base import Reply, Request, Routes, batch, ok, required
from okx_wire.endpoints import MAX_ALGO_CANCELS


def _items_reply(items: list[dict[str, Any]]) -> Reply:
    failed = sum(1 for item in items if item["sCode"] != "0")
    code = "0" if failed == 0 else "1" if failed == len(items) else "2"
    return 200, {"code": code, "data": items, "msg": ""}


class AlgoRoutes(Routes):
    def place_algo(self, req: Request) -> Reply:
        """One algo order, sent (by ccxt and python-okx alike) as a JSON object."""
        return _items_reply([self.exchange.algos.place(req.json, req.now_ms)])

    def cancel_algos(self, req: Request) -> Reply:
        """Up to 10 algo orders, each named by algoId (which wins) or algoClOrdId."""
        items = batch(req.json, MAX_ALGO_CANCELS)
        for item in items:
            if not isinstance(item, dict):
                raise SimError("50002")
            required(item, "instId")
            if param(item, "algoId") is None and param(item, "algoClOrdId") is None:
                raise missing("algoId")
        return _items_reply(self.exchange.algos.cancel(items, req.now_ms))

    def amend_algos(self, req: Request) -> Reply:
        """One amendment of a conditional, oco or trigger order (``0`` deletes a TP/SL leg)."""
        body = req.json
        if not isinstance(body, dict):
            raise SimError("50002")
        required(body, "instId")
        if param(body, "algoId") is None and param(body, "algoClOrdId") is None:
            raise missing("algoId")
        return _items_reply([self.exchange.algos.amend(body, req.now_ms)])

    def get_algo(self, req: Request) -> Reply:
        """One algo order by algoId or algoClOrdId (the latest with it), whatever its state."""
        algo_id, cl = param(req.query, "algoId"), param(req.query, "algoClOrdId")
        if algo_id is None and cl is None:
            raise missing("algoId")
        found = self.exchange.algos.get(algo_id, cl, req.now_ms)
        if found is None:
            raise SimError("51603")
        return ok([found])

    def algos_pending(self, req: Request) -> Reply:
        return ok(self.exchange.algos.pending(req.query, req.now_ms))

    def algos_history(self, req: Request) -> Reply:
        return ok(self.exchange.algos.history(req.query, req.now_ms))
