"""OKX's trade endpoints: place, cancel, amend (single and batch), order and fill queries."""

from __future__ import annotations

import time
from typing import Any

from okx_sim.dead_man import DeadManSwitch
from okx_sim.matching import _page, param
from okx_sim.protocol import SimError, missing, param_error
from okx_sim.routes.base import Reply, Request, Routes, batch, ms_param, ok, required
from okx_wire.endpoints import CANCEL_ALL_AFTER_S, INST_TYPES
from okx_wire.errors import okx_message

#: How far back orders-history-archive reaches (3 months).
ARCHIVE_REACH_MS = 92 * 86_400_000
#: The order types OKX filters on (orders-history-archive ``ordType``).
ORD_TYPES = frozenset({"market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc", "mmp", "mmp_and_post_only",
                       "op_fok", "elp"})


class TradeRoutes(Routes):
    dead_man: DeadManSwitch
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

    @staticmethod
    def _check_refs(items: list[Any]) -> None:
        """Each item names an instrument and an order (ordId or clOrdId), as cancel and amend need."""
        for item in items:
            if not isinstance(item, dict):
                raise SimError("50002")
            required(item, "instId")
            if param(item, "ordId") is None and param(item, "clOrdId") is None:
                raise missing("ordId")

    def _cancel(self, req: Request, items: list[Any]) -> tuple[int, dict[str, Any]]:
        self._check_refs(items)
        return self._trade_reply(req, self.exchange.cancel(items, req.now_ms))

    def amend_order(self, req: Request) -> tuple[int, dict[str, Any]]:
        return self._amend(req, [req.json])

    def amend_batch(self, req: Request) -> tuple[int, dict[str, Any]]:
        """Up to 20 amendments, each as ``amend_order`` does it; one item's refusal is its own."""
        return self._amend(req, batch(req.json))

    def _amend(self, req: Request, items: list[Any]) -> tuple[int, dict[str, Any]]:
        self._check_refs(items)
        for item in items:
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

    def orders_history_archive(self, req: Request) -> Reply:
        """Final orders of the last 3 months. Unlike orders-history it takes a comma list of
        ordTypes, a state of canceled/filled/mmp_canceled and begin/end on cTime."""
        self._check_inst_type(req, True)
        q = req.query
        ord_types = {t for t in (param(q, "ordType") or "").split(",") if t}
        state = param(q, "state")
        if ord_types - ORD_TYPES:
            raise param_error("ordType")
        if state is not None and state not in ("canceled", "filled", "mmp_canceled"):
            raise param_error("state")
        begin, end = ms_param(q, "begin"), ms_param(q, "end")
        category = param(q, "category")
        if q["instType"] != "SPOT" or category not in (None, "normal"):
            return ok([])
        inst_id = param(q, "instId")
        self.exchange.tick(req.now_ms)
        oldest = req.now_ms - ARCHIVE_REACH_MS
        rows = [o for o in self.exchange.orders.values()
                if not o.pending and o.c_time >= oldest and (inst_id is None or o.inst_id == inst_id)
                and (not ord_types or o.ord_type in ord_types) and (state is None or o.state == state)
                and (begin is None or o.c_time >= begin) and (end is None or o.c_time <= end)]
        rows.sort(key=lambda o: int(o.ord_id), reverse=True)
        return ok([o.to_okx() for o in _page(rows, q, lambda o: int(o.ord_id))])

    def cancel_all_after(self, req: Request) -> Reply:
        """Arm, re-arm or disarm the dead-man switch (``okx_sim.dead_man``). ``timeOut`` is
        seconds, as a string or (ccxt) a JSON number. The answer's ``triggerTime`` and ``ts``
        are in seconds, as OKX's documented example shows them."""
        body = req.json
        if not isinstance(body, dict):
            raise SimError("50002")
        raw = body.get("timeOut")
        if raw is None or raw == "":
            raise missing("timeOut")
        text = str(raw).strip()
        if isinstance(raw, bool) or not text.isdigit() or not (int(text) == 0 or int(text) in CANCEL_ALL_AFTER_S):
            raise param_error("timeOut")
        tag = param(body, "tag") or ""
        if len(tag) > 16 or not tag.isalnum() and tag:
            raise param_error("tag")
        trigger = self.dead_man.arm(tag, int(text), req.now_ms)
        if trigger is None:
            raise SimError("51071")
        return ok([{"triggerTime": str(trigger // 1000), "tag": tag, "ts": str(req.now_ms // 1000)}])

    def fire_dead_man(self, now_ms: int) -> int:
        """Cancel what every run-out timer covers; returns how many orders were cancelled."""
        cancelled = 0
        for tag in self.dead_man.due(now_ms):
            items = [{"instId": o.inst_id, "ordId": o.ord_id} for o in list(self.exchange.orders.values())
                     if o.pending and (not tag or o.tag == tag)]
            for results in (self.exchange.cancel(items[i:i + 20], now_ms) for i in range(0, len(items), 20)):
                cancelled += sum(1 for r in results if r["sCode"] == "0")
        return cancelled
