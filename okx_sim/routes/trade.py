"""OKX's trade endpoints: place, cancel, amend (single and batch), order and fill queries."""

from __future__ import annotations

import time
from typing import Any

from okx_sim.matching import param
from okx_sim.protocol import SimError, missing, param_error
from okx_sim.routes.base import Request, Routes, batch, ok, required
from okx_wire.endpoints import INST_TYPES
from okx_wire.errors import okx_message


class TradeRoutes(Routes):
    def _expired(self, req: Request) -> bool:
        text = req.headers.get("exptime")
        if not text:
            return False
        if not text.strip().isdigit():
            raise param_error("expTime")
        return req.now_ms > int(text)

    def _trade_reply(self, req: Request, items: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        failed = sum(1 for item in items if item["sCode"] != "0")
        code = "0" if failed == 0 else "1" if failed == len(items) else "2"
        return 200, {"code": code, "data": items, "inTime": str(req.in_time_us),
                     "msg": "" if code == "0" else okx_message(code), "outTime": str(time.time_ns() // 1000)}

    def _place(self, req: Request, raw_items: list[Any], batch: bool) -> tuple[int, dict[str, Any]]:
        parsed = [self.exchange.parse_place(item) for item in raw_items]
        if self._expired(req):
            items = [{"clOrdId": r.cl_ord_id, "ordId": "", "tag": r.tag, "ts": str(req.now_ms), "sCode": "50037",
                      "sMsg": okx_message("50037"), "subCode": ""} for r in parsed]
        else:
            items = self.exchange.place(parsed, req.now_ms, batch)
        return self._trade_reply(req, items)

    def place_order(self, req: Request) -> tuple[int, dict[str, Any]]:
        if not isinstance(req.json, dict):
            raise SimError("50002")
        return self._place(req, [req.json], False)

    def batch_orders(self, req: Request) -> tuple[int, dict[str, Any]]:
        items = batch(req.json)
        return self._place(req, items, True)

    def cancel_order(self, req: Request) -> tuple[int, dict[str, Any]]:
        if not isinstance(req.json, dict):
            raise SimError("50002")
        return self._cancel(req, [req.json])

    def cancel_batch(self, req: Request) -> tuple[int, dict[str, Any]]:
        return self._cancel(req, batch(req.json))

    def _cancel(self, req: Request, items: list[Any]) -> tuple[int, dict[str, Any]]:
        for item in items:
            if not isinstance(item, dict):
                raise SimError("50002")
            required(item, "instId")
            if param(item, "ordId") is None and param(item, "clOrdId") is None:
                raise missing("ordId")
        return self._trade_reply(req, self.exchange.cancel(items, req.now_ms))

    def amend_order(self, req: Request) -> tuple[int, dict[str, Any]]:
        return self._amend(req, [req.json])

    def amend_batch(self, req: Request) -> tuple[int, dict[str, Any]]:
        """Up to 20 amendments, each as ``amend_order`` does it; one item's refusal is its own."""
        return self._amend(req, batch(req.json))

    def _amend(self, req: Request, items: list[Any]) -> tuple[int, dict[str, Any]]:
        for item in items:
            if not isinstance(item, dict):
                raise SimError("50002")
            required(item, "instId")
            if param(item, "ordId") is None and param(item, "clOrdId") is None:
                raise missing("ordId")
            if param(item, "newSz") is None and param(item, "newPx") is None:
                raise missing("newSz")
        if self._expired(req):
            return self._trade_reply(req, [
                {"clOrdId": param(item, "clOrdId") or "", "ordId": param(item, "ordId") or "",
                 "reqId": param(item, "reqId") or "", "ts": str(req.now_ms), "sCode": "50037",
                 "sMsg": okx_message("50037"), "subCode": ""} for item in items])
        return self._trade_reply(req, [self.exchange.amend(item, req.now_ms) for item in items])

    def get_order(self, req: Request) -> tuple[int, dict[str, Any]]:
        inst_id = required(req.query, "instId")
        ord_id, cl = param(req.query, "ordId"), param(req.query, "clOrdId")
        if ord_id is None and cl is None:
            raise missing("ordId")
        if self.exchange.catalogue.get(inst_id) is None:
            raise SimError("51001")
        order = self.exchange.get_order(inst_id, ord_id, cl, req.now_ms)
        if order is None:
            raise SimError("51603")
        return ok([order])

    def _check_inst_type(self, req: Request, needed: bool) -> None:
        inst_type = required(req.query, "instType") if needed else param(req.query, "instType")
        if inst_type is not None and inst_type not in INST_TYPES:
            raise param_error("instType")

    def orders_pending(self, req: Request) -> tuple[int, dict[str, Any]]:
        self._check_inst_type(req, False)
        if param(req.query, "instType") not in (None, "SPOT"):
            return ok([])
        return ok(self.exchange.list_orders(pending=True, params=req.query, now=req.now_ms))

    def orders_history(self, req: Request) -> tuple[int, dict[str, Any]]:
        self._check_inst_type(req, True)
        if req.query["instType"] != "SPOT":
            return ok([])
        return ok(self.exchange.list_orders(pending=False, params=req.query, now=req.now_ms))

    def fills(self, req: Request) -> tuple[int, dict[str, Any]]:
        self._check_inst_type(req, req.path.endswith("fills-history"))
        if param(req.query, "instType") not in (None, "SPOT"):
            return ok([])
        return ok(self.exchange.list_fills(req.query, req.now_ms))

    fills_history = fills

