"""The simulated account's algo orders: TP/SL attached to orders, and order-algo's conditional,
oco, trigger and trailing-stop (``move_order_stop``) orders.

Contract (shared/okx/API-FACTS-2.md 10.4 and 11; what real OKX does wins):

- Everything the simulator takes it does; everything else is refused with OKX's code, never
  accepted and dropped (a strategy that believes it is protected must be). Unknown keys are
  ignored, and ``""``, ``null`` and ``[]`` mean "not provided", as python-okx sends them.
- An algo triggers on the last price (the ticker's ``last``: the walk's mid),
  checked at every walk step the engine sees (``MatchingEngine.tick`` runs once per step). When
  it triggers it places an ordinary order (market for an order price of ``-1``, else limit)
  carrying ``algoId``, ``algoClOrdId`` and ``source`` (7 TP/SL, 6 trigger, 25 trailing), and
  becomes ``effective`` with ``triggerTime``, ``actualSz``/``actualPx``/``actualSide``,
  ``ordId`` and ``ordIdList``; if that order is refused it becomes ``order_failed`` with the
  refusal's code in ``failCode``.
- Conditional and oco orders freeze what their order will spend (base for a sell; quote for a
  buy: ``sz`` when quote-sized, else ``sz`` times the highest leg price); trigger and trailing
  orders freeze nothing, and a trigger order places what the balance then allows.
- Attached TP/SL (``attachAlgoOrds``, one item: split TPs are refused) are validated with the
  order and shown on it. They are armed when the order reaches a final state having filled
  something: an oco (both legs) or conditional (one leg) on the other side, sized by what
  filled (a sell is capped at the base now available, since the buy's fee is taken in base),
  whose ``algoClOrdId`` is the ``attachAlgoClOrdId`` and whose ``algoId`` is new. A partially
  filled order therefore protects its filled part once it is cancelled (OKX's June-2026 text:
  "generated only when this order is filled; if the parent order is cancelled before any fill,
  no TP/SL algo order will be generated"); one cancelled with nothing filled generates none. An
  attachment that cannot be armed keeps the reason in its ``failCode``/``failReason``.
- Caps per instrument: 100 pending TP/SL (conditional + oco, 51261), 500 trigger (51299),
  50 trailing (51260). Algo ids come from the order-id counter, so they never equal an ordId.
- A trigger or trailing order's ``sz`` is base units: ``tgtCcy`` other than ``base_ccy`` is
  refused (51281 on a trigger order; ccxt sends ``base_ccy`` on every spot order).
- Spot ``tdMode``: in Spot and Futures mode ``cash``, and conditional/oco also ``cross`` (ccxt
  rewrites ``cash`` to ``cross`` for them); in Multi-currency and Portfolio margin ``cross``
  only (``cash`` is 51000 "Parameter tdMode error ", as OKX answers a conditional).
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from okx_sim.instruments import SimInstrument
from okx_sim.protocol import ItemError, SimError, missing, page, param, param_error
from okx_sim.records import ALGO_SOURCE, SimAlgo, SimOrder
from okx_wire.endpoints import INST_TYPES
from okx_wire.orders import CL_ORD_ID_PATTERN
from okx_wire.precision import format_decimal, is_multiple

if TYPE_CHECKING:
    from okx_sim.market import Book
    from okx_sim.matching import MatchingEngine

#: The algo types the simulator runs.
ALGO_ORD_TYPES: Final = frozenset({"conditional", "oco", "trigger", "move_order_stop"})
#: OKX's other algo types: known, so refused per item (51000 "Parameter ordType error"), and
#: answered with an empty list by the queries.
UNSUPPORTED_ALGO_TYPES: Final = frozenset({"twap", "iceberg", "smart_iceberg", "chase"})
#: The only types orders-algo-pending/-history take as a comma list.
COMBINABLE: Final = frozenset({"conditional", "oco"})
#: Pending algo orders one instrument may hold, by kind, and OKX's code beyond.
CAPS: Final[dict[str, tuple[int, str]]] = {"tpsl": (100, "51261"), "trigger": (500, "51299"),
                                           "move_order_stop": (50, "51260")}
#: How far back orders-algo-history reaches (3 months).
HISTORY_REACH_MS: Final = 92 * 86_400_000
HISTORY_STATES: Final = frozenset({"effective", "canceled", "order_failed"})
MARKET: Final = Decimal(-1)
TD_MODES: Final = frozenset({"cash", "cross", "isolated", "spot_isolated"})
TAG: Final = re.compile(r"[A-Za-z0-9]{1,16}")
#: The fields of an ``attachAlgoOrds`` item OKX shows on its order, in OKX's order.
ATTACH_FIELDS: Final = ("attachAlgoId", "attachAlgoClOrdId", "tpOrdKind", "tpTriggerPx", "tpTriggerRatio",
                        "tpTriggerPxType", "tpOrdPx", "slTriggerPx", "slTriggerRatio", "slTriggerPxType", "slOrdPx",
                        "sz", "amendPxOnTriggerType", "callbackRatio", "callbackSpread", "activePx", "failCode",
                        "failReason")
#: The request fields of an attachment, passed on to the order a trigger order places.
_ATTACH_REQUEST: Final = ("attachAlgoClOrdId", "tpTriggerPx", "tpOrdPx", "tpTriggerPxType", "slTriggerPx", "slOrdPx",
                          "slTriggerPxType")


def _kind(ord_type: str) -> str:
    return "tpsl" if ord_type in COMBINABLE else ord_type


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _decimal(params: dict[str, Any], name: str) -> Decimal | None:
    """An optional number; anything that is not a finite number is OKX's 51000 for ``name``."""
    text = param(params, name)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ItemError("51000", name) from None
    if not value.is_finite():
        raise ItemError("51000", name)
    return value


def _price(params: dict[str, Any], name: str, inst: SimInstrument, *, market_ok: bool = False) -> Decimal | None:
    """A trigger or order price: a positive multiple of the tick, or ``-1`` (market) if allowed."""
    value = _decimal(params, name)
    if value is None or (market_ok and value == MARKET):
        return value
    if value <= 0 or not is_multiple(value, inst.tick_sz):
        raise ItemError("51000", name)
    return value


def _trigger_px_type(params: dict[str, Any], name: str) -> None:
    """Spot triggers on the last price only: index and mark are OKX's 51415."""
    value = param(params, name)
    if value in ("index", "mark"):
        raise ItemError("51415")
    if value not in (None, "last"):
        raise ItemError("51000", name)


def _legs(params: dict[str, Any], inst: SimInstrument
          ) -> tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]:
    """(tpTriggerPx, tpOrdPx, slTriggerPx, slOrdPx) of a request, with what spot refuses refused:
    a TP limit order (51094), ratio triggers (derivatives only), index/mark triggers (51415), and
    a trigger price without its order price or the reverse."""
    kind = param(params, "tpOrdKind")
    if kind == "limit":
        raise ItemError("51094")
    if kind not in (None, "condition"):
        raise ItemError("51000", "tpOrdKind")
    for name in ("tpTriggerRatio", "slTriggerRatio"):
        if param(params, name) is not None:
            raise ItemError("51000", name)
    _trigger_px_type(params, "tpTriggerPxType")
    _trigger_px_type(params, "slTriggerPxType")
    tp = _price(params, "tpTriggerPx", inst)
    tp_ord = _price(params, "tpOrdPx", inst, market_ok=True)
    sl = _price(params, "slTriggerPx", inst)
    sl_ord = _price(params, "slOrdPx", inst, market_ok=True)
    for trigger, order, names in ((tp, tp_ord, ("tpTriggerPx", "tpOrdPx")), (sl, sl_ord, ("slTriggerPx", "slOrdPx"))):
        if (trigger is None) != (order is None):
            raise ItemError("51000", names[1] if order is None else names[0])
    return tp, tp_ord, sl, sl_ord


def _check_vs_last(side: str, tp: Decimal | None, sl: Decimal | None, last: Decimal) -> None:
    """A TP/SL must not be already triggered (51277-51280: buy TP, buy SL, sell TP, sell SL)."""
    if side == "buy":
        if tp is not None and tp > last:
            raise ItemError("51277")
        if sl is not None and sl < last:
            raise ItemError("51278")
    else:
        if tp is not None and tp < last:
            raise ItemError("51279")
        if sl is not None and sl > last:
            raise ItemError("51280")


def _check_vs_parent(side: str, ord_type: str, px: Decimal | None, tp: Decimal | None, sl: Decimal | None,
                     book: Book) -> None:
    """An attached TP/SL against its order: a limit order's price (51046-51049), a market
    order's best ask (buy) or best bid (sell) (51050-51053)."""
    if ord_type == "market" or px is None:
        if side == "buy":
            ref, codes = book.best_ask, ("51050", "51051")
        else:
            ref, codes = book.best_bid, ("51052", "51053")
    else:
        ref, codes = px, (("51046", "51047") if side == "buy" else ("51048", "51049"))
    above = side == "buy"  # a buy is protected by a TP above and an SL below
    if tp is not None and (tp <= ref if above else tp >= ref):
        raise ItemError(codes[0])
    if sl is not None and (sl >= ref if above else sl <= ref):
        raise ItemError(codes[1])


class AlgoBook:
    """The account's algo orders. Every public method takes the engine's lock, lets resting
    orders and algos meet the walk first (``MatchingEngine._sync``), and ends with one commit."""

    def __init__(self, engine: MatchingEngine, algos: list[SimAlgo]) -> None:
        self.engine = engine
        self.algos: dict[str, SimAlgo] = {}
        self._by_cl: dict[str, list[str]] = {}
        self.dirty: dict[str, SimAlgo] = {}
        for algo in sorted(algos, key=lambda a: a.seq):
            self._index(algo)

    # -- bookkeeping -----------------------------------------------------------------------------
    def _index(self, algo: SimAlgo) -> None:
        self.algos[algo.algo_id] = algo
        if algo.algo_cl_ord_id:
            self._by_cl.setdefault(algo.algo_cl_ord_id, []).append(algo.algo_id)

    def _touch(self, algo: SimAlgo, now: int) -> None:
        algo.u_time = now
        self.dirty[algo.algo_id] = algo

    def take_dirty(self) -> list[SimAlgo]:
        dirty, self.dirty = list(self.dirty.values()), {}
        return dirty

    def _live_ids(self) -> set[str]:
        """The algoClOrdIds and attachAlgoClOrdIds in use: a pending algo's, or a pending order's
        attachment's (either may not be reused until it is final)."""
        ids = {a.algo_cl_ord_id for a in self.algos.values() if a.pending and a.algo_cl_ord_id}
        for order in self.engine.orders.values():
            if order.pending:
                ids.update(i["attachAlgoClOrdId"] for i in order.attach_algo_ords if i.get("attachAlgoClOrdId"))
        return ids

    def _check_cap(self, inst_id: str, ord_type: str) -> None:
        kind = _kind(ord_type)
        cap, code = CAPS[kind]
        held = sum(1 for a in self.algos.values() if a.pending and a.inst_id == inst_id and _kind(a.ord_type) == kind)
        if held >= cap:
            raise ItemError(code, cap)

    def _last(self, inst: SimInstrument, now: int) -> Decimal:
        """The last price, exactly as the simulator's ticker reports ``last`` (the mid: the
        forming candle's close and the latest print)."""
        market = self.engine.market
        return market.mid(inst, market.step_at(now))

    def _freeze(self, algo: SimAlgo, inst: SimInstrument, now: int) -> None:
        """Freeze what a conditional/oco will spend when it triggers, or 51008."""
        if algo.side == "sell":
            ccy, amount = inst.base, algo.sz
        elif algo.tgt_ccy == "quote_ccy":
            ccy, amount = inst.quote, algo.sz
        else:
            prices = [p for p in (algo.tp_ord_px, algo.tp_trigger_px, algo.sl_ord_px, algo.sl_trigger_px)
                      if p is not None and p != MARKET]
            ccy, amount = inst.quote, algo.sz * max(prices)
        if self.engine._bal(ccy).available < amount:
            raise ItemError("51008", ccy)
        self.engine._move(ccy, Decimal(0), amount, now)
        algo.frozen, algo.frozen_ccy = amount, ccy

    def _release(self, algo: SimAlgo, now: int) -> None:
        if algo.frozen:
            self.engine._move(algo.frozen_ccy, Decimal(0), -algo.frozen, now)
            algo.frozen = Decimal(0)

    def _new(self, inst: SimInstrument, now: int, last: Decimal, **fields: Any) -> SimAlgo:
        engine = self.engine
        engine._seq += 1
        return SimAlgo(algo_id=engine.new_id(), inst_id=inst.inst_id, base=inst.base, quote=inst.quote,
                       state="live", c_time=now, u_time=now, last=last, seq=engine._seq, **fields)

    def _check_size(self, sz: Decimal, inst: SimInstrument, quote_sized: bool) -> None:
        if quote_sized:
            return
        if sz < inst.min_sz:
            raise ItemError("51020")
        if not is_multiple(sz, inst.lot_sz):
            raise ItemError("51121")

    # -- attached TP/SL ----------------------------------------------------------------------------
    def parse_attached(self, params: dict[str, Any], side: str, ord_type: str, tgt_ccy: str, px: Decimal | None,
                       inst: SimInstrument, book: Book, seen: set[str]) -> list[dict[str, str]]:
        """The ``attachAlgoOrds`` of an order as OKX shows them on it, or the item's refusal."""
        raw = params.get("attachAlgoOrds")
        if raw is None or raw == "" or raw == []:
            return []
        if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
            raise ItemError("51000", "attachAlgoOrds")
        items = [i for i in raw if any(param(i, k) is not None for k in i)]
        if not items:
            return []
        if len(items) > 1:
            raise ItemError("51077")  # split TPs
        item = items[0]
        if param(item, "sz") is not None or param(item, "amendPxOnTriggerType") not in (None, "0"):
            raise ItemError("51077")  # split TPs / cost-price SL
        for name in ("callbackRatio", "callbackSpread", "activePx"):
            if param(item, name) is not None:
                raise ItemError("51000", name)
        cl = param(item, "attachAlgoClOrdId") or ""
        if cl and not CL_ORD_ID_PATTERN.fullmatch(cl):
            raise ItemError("51000", "attachAlgoClOrdId")
        tp, tp_ord, sl, sl_ord = _legs(item, inst)
        if tp is None and sl is None:
            raise ItemError("51178") if cl else ItemError("51000", "slTriggerPx")
        if ord_type == "market" and ((side == "buy" and tgt_ccy == "base_ccy") or
                                     (side == "sell" and tgt_ccy == "quote_ccy")):
            raise ItemError("51000", "tgtCcy")
        # ``seen`` also holds the batch's clOrdIds: attachment ids are kept apart by a prefix.
        if cl and (f"attach/{cl}" in seen or cl in self._live_ids()):
            raise ItemError("51068", "attachAlgoClOrdId")
        _check_vs_parent(side, ord_type, px, tp, sl, book)
        if cl:
            seen.add(f"attach/{cl}")

        def fmt(value: Decimal | None) -> str:
            return "" if value is None else format_decimal(value)

        shown = dict.fromkeys(ATTACH_FIELDS, "")
        shown.update(attachAlgoId=self.engine.new_id(), attachAlgoClOrdId=cl, tpOrdKind="condition",
                     tpTriggerPx=fmt(tp), tpTriggerPxType="last" if tp is not None else "", tpOrdPx=fmt(tp_ord),
                     slTriggerPx=fmt(sl), slTriggerPxType="last" if sl is not None else "", slOrdPx=fmt(sl_ord),
                     amendPxOnTriggerType="0")
        return [shown]

    def arm(self, order: SimOrder, now: int) -> None:
        """Turn a final order's attachments into algo orders (see the module docstring)."""
        order.attach_armed = True
        inst = self.engine.catalogue.get(order.inst_id)
        if order.acc_fill_sz <= 0 or inst is None:
            return  # cancelled before any fill: OKX generates no TP/SL
        for item in order.attach_algo_ords:
            try:
                self._arm_one(order, item, inst, now)
            except ItemError as err:
                item["failCode"], item["failReason"] = err.code, err.msg.strip()

    def _arm_one(self, order: SimOrder, item: dict[str, str], inst: SimInstrument, now: int) -> None:
        def dec(name: str) -> Decimal | None:
            return Decimal(item[name]) if item.get(name) else None

        side = "sell" if order.side == "buy" else "buy"
        sz = order.acc_fill_sz
        if side == "sell":
            sz = min(sz, self.engine._bal(inst.base).available)
        sz = _floor(sz, inst.lot_sz)
        if sz < inst.min_sz:
            raise ItemError("51020")
        tp, sl = dec("tpTriggerPx"), dec("slTriggerPx")
        ord_type = "oco" if tp is not None and sl is not None else "conditional"
        self._check_cap(inst.inst_id, ord_type)
        algo = self._new(inst, now, self._last(inst, now), algo_cl_ord_id=item.get("attachAlgoClOrdId", ""),
                         tag=order.tag, ord_type=ord_type, side=side, td_mode=order.td_mode, sz=sz, tgt_ccy="",
                         tp_trigger_px=tp, tp_ord_px=dec("tpOrdPx"), sl_trigger_px=sl, sl_ord_px=dec("slOrdPx"),
                         parent_ord_id=order.ord_id)
        self._freeze(algo, inst, now)
        self._index(algo)
        self._touch(algo, now)

    # -- order-algo --------------------------------------------------------------------------------
    def place(self, params: Any, now: int) -> dict[str, Any]:
        """One order-algo request: whole-request refusals raise ``SimError``; the answer is the
        ack item (``sCode`` "0", or the item's refusal)."""
        if not isinstance(params, dict):
            raise SimError("50002")
        for name in ("instId", "tdMode", "side", "ordType"):
            if param(params, name) is None:
                raise missing(name)
        side, ord_type = param(params, "side"), param(params, "ordType")
        if side not in ("buy", "sell"):
            raise param_error("side")
        if param(params, "tdMode") not in TD_MODES:
            raise param_error("tdMode")
        if ord_type not in ALGO_ORD_TYPES | UNSUPPORTED_ALGO_TYPES:
            raise param_error("ordType")
        if param(params, "sz") is None and param(params, "closeFraction") is None:
            raise missing("sz")
        if ord_type == "trigger":
            for name in ("triggerPx", "orderPx"):
                if param(params, name) is None:
                    raise missing(name)
        if ord_type == "move_order_stop" and param(params, "callbackRatio") is None \
                and param(params, "callbackSpread") is None:
            raise missing("callbackRatio")
        # ccxt sends its clOrdId key, and OKX takes it as the algoClOrdId.
        cl = param(params, "algoClOrdId") or param(params, "clOrdId") or ""
        tag = param(params, "tag") or ""
        with self.engine._lock:
            self.engine._sync(now)
            try:
                algo = self._place_one(params, str(ord_type), str(side), cl, tag, now)
                item = {"algoClOrdId": algo.algo_cl_ord_id, "algoId": algo.algo_id, "clOrdId": algo.algo_cl_ord_id,
                        "sCode": "0", "sMsg": "", "tag": algo.tag}
            except ItemError as err:
                item = {"algoClOrdId": cl, "algoId": "", "clOrdId": cl, "sCode": err.code, "sMsg": err.msg,
                        "tag": tag}
            self.engine._flush(now)
            return item

    def _check_td_mode(self, td_mode: str, ord_type: str) -> None:
        if self.engine.acct_lv in ("3", "4"):
            if td_mode == "cash":
                raise ItemError("51000", "tdMode")
            if td_mode != "cross":
                raise ItemError("51010")
        elif td_mode != "cash" and not (td_mode == "cross" and ord_type in COMBINABLE):
            raise ItemError("51010")

    def _place_one(self, params: dict[str, Any], ord_type: str, side: str, cl: str, tag: str, now: int) -> SimAlgo:
        inst = self.engine.catalogue.get(str(param(params, "instId")))
        if inst is None:
            raise ItemError("51001")
        if ord_type in UNSUPPORTED_ALGO_TYPES:
            raise ItemError("51000", "ordType")
        self._check_td_mode(str(param(params, "tdMode")), ord_type)
        if cl and not CL_ORD_ID_PATTERN.fullmatch(cl):
            raise ItemError("51000", "algoClOrdId")
        if tag and not TAG.fullmatch(tag):
            raise ItemError("51000", "tag")
        if param(params, "closeFraction") is not None:
            raise ItemError("51327")
        if param(params, "reduceOnly") == "true":
            raise ItemError("51133" if self.engine.acct_lv in ("3", "4") else "51139")
        if param(params, "posSide") not in (None, "net"):
            raise ItemError("51000", "posSide")
        for name in ("ccy", "quickMgnType"):
            if param(params, name) is not None:
                raise ItemError("51000", name)
        if param(params, "cxlOnClosePos") == "true":
            raise ItemError("51000", "cxlOnClosePos")
        if param(params, "tradeQuoteCcy") not in (None, inst.quote):
            raise ItemError("51000", "tradeQuoteCcy")
        sz = _decimal(params, "sz")
        if sz is None or sz <= 0:
            raise ItemError("51000", "sz")
        if cl and cl in self._live_ids():
            raise ItemError("51065")
        last = self._last(inst, now)
        common: dict[str, Any] = {"algo_cl_ord_id": cl, "tag": tag, "ord_type": ord_type, "side": side,
                                  "td_mode": str(param(params, "tdMode")), "sz": sz}
        if ord_type in COMBINABLE:
            algo = self._conditional(params, inst, last, now, common)
        elif ord_type == "trigger":
            algo = self._trigger(params, inst, last, now, common)
        else:
            algo = self._trailing(params, inst, last, now, common)
        self._index(algo)
        self._touch(algo, now)
        return algo

    def _no_attachments(self, params: dict[str, Any]) -> None:
        raw = params.get("attachAlgoOrds")
        if raw not in (None, "", []):
            raise ItemError("51000", "attachAlgoOrds")

    def _conditional(self, params: dict[str, Any], inst: SimInstrument, last: Decimal, now: int,
                     common: dict[str, Any]) -> SimAlgo:
        self._no_attachments(params)
        side, ord_type = common["side"], common["ord_type"]
        tp, tp_ord, sl, sl_ord = _legs(params, inst)
        if ord_type == "oco":
            if tp is None:
                raise ItemError("51000", "tpTriggerPx")
            if sl is None:
                raise ItemError("51000", "slTriggerPx")
        elif tp is None and sl is None:
            raise ItemError("51000", "slTriggerPx")
        elif sl is not None:
            tp = tp_ord = None  # OKX: with both legs on a conditional, only the SL applies
        market_legs = all(p in (None, MARKET) for p in (tp_ord, sl_ord))
        tgt = param(params, "tgtCcy")
        if tgt not in (None, "base_ccy", "quote_ccy") or (tgt == "quote_ccy" and (side == "sell" or not market_legs)):
            raise ItemError("51000", "tgtCcy")
        if side == "buy" and market_legs and tgt is None:
            tgt = "quote_ccy"  # OKX's default for a spot market buy
        _check_vs_last(side, tp, sl, last)
        self._check_size(common["sz"], inst, tgt == "quote_ccy")
        self._check_cap(inst.inst_id, ord_type)
        algo = self._new(inst, now, last, tgt_ccy=tgt or "", tp_trigger_px=tp, tp_ord_px=tp_ord, sl_trigger_px=sl,
                         sl_ord_px=sl_ord, **common)
        self._freeze(algo, inst, now)
        return algo

    def _trigger(self, params: dict[str, Any], inst: SimInstrument, last: Decimal, now: int,
                 common: dict[str, Any]) -> SimAlgo:
        # A trigger order's sz is base units. ccxt sends tgtCcy=base_ccy on every spot order, which
        # says just that; any other unit is OKX's 51281.
        if param(params, "tgtCcy") not in (None, "base_ccy"):
            raise ItemError("51281")
        _trigger_px_type(params, "triggerPxType")
        trigger_px = _price(params, "triggerPx", inst)
        ord_px = _price(params, "orderPx", inst, market_ok=True)
        assert trigger_px is not None and ord_px is not None
        advance = param(params, "advanceOrdType") or ""
        if advance not in ("", "fok", "ioc") or (advance and ord_px == MARKET):
            raise ItemError("51000", "advanceOrdType")
        attached: list[dict[str, str]] = []
        if params.get("attachAlgoOrds") not in (None, "", []):
            if self.engine.acct_lv == "1":
                raise ItemError("51010")  # OKX: not in Spot mode
            book = self.engine.market.book(inst, self.engine.market.step_at(now))
            parent_type = "market" if ord_px == MARKET else "limit"
            # The order it places is sized in base units, so a market buy is refused as on place-order.
            attached = self.parse_attached(params, common["side"], parent_type, "base_ccy",
                                           None if ord_px == MARKET else ord_px, inst, book, set())
            for item in attached:
                item["attachAlgoId"] = ""  # given when the order it places is created
        self._check_size(common["sz"], inst, False)
        self._check_cap(inst.inst_id, "trigger")
        return self._new(inst, now, last, tgt_ccy="", trigger_px=trigger_px, ord_px=ord_px,
                         fires_rising=trigger_px >= last, advance_ord_type=advance, attach_algo_ords=attached, **common)

    def _trailing(self, params: dict[str, Any], inst: SimInstrument, last: Decimal, now: int,
                  common: dict[str, Any]) -> SimAlgo:
        self._no_attachments(params)
        if param(params, "tgtCcy") not in (None, "base_ccy"):
            raise ItemError("51000", "tgtCcy")
        ratio, spread = _decimal(params, "callbackRatio"), _decimal(params, "callbackSpread")
        if ratio is not None and spread is not None:
            raise ItemError("51000", "callbackSpread")
        if ratio is not None and not 0 < ratio < 1:
            raise ItemError("51000", "callbackRatio")
        if spread is not None and (spread <= 0 or not is_multiple(spread, inst.tick_sz)):
            raise ItemError("51000", "callbackSpread")
        active = _price(params, "activePx", inst)
        side = common["side"]
        if active is not None and side == "sell" and active <= last:
            raise ItemError("51258")
        if active is not None and side == "buy" and active >= last:
            raise ItemError("51259")
        self._check_size(common["sz"], inst, False)
        self._check_cap(inst.inst_id, "move_order_stop")
        return self._new(inst, now, last, tgt_ccy="", callback_ratio=ratio, callback_spread=spread, active_px=active,
                         activated=active is None, extreme=last if active is None else None, **common)

    # -- the walk ----------------------------------------------------------------------------------
    def check(self, now: int) -> None:
        """Trigger what the last price has reached (called by ``MatchingEngine._sync`` per step)."""
        for algo in [a for a in self.algos.values() if a.pending]:
            inst = self.engine.catalogue.get(algo.inst_id)
            if inst is None:
                continue
            last = self._last(inst, now)
            leg = self._due(algo, last, now)
            if leg is not None:
                self._fire(algo, leg, inst, now)

    def _due(self, algo: SimAlgo, last: Decimal, now: int) -> str | None:
        """Which leg fires at ``last`` ("tp", "sl", "trigger", "trail"), or None."""
        sell = algo.side == "sell"
        if algo.ord_type in COMBINABLE:
            tp, sl = algo.tp_trigger_px, algo.sl_trigger_px
            if tp is not None and (last >= tp if sell else last <= tp):
                return "tp"
            if sl is not None and (last <= sl if sell else last >= sl):
                return "sl"
            return None
        if algo.ord_type == "trigger":
            assert algo.trigger_px is not None
            return "trigger" if (last >= algo.trigger_px if algo.fires_rising else last <= algo.trigger_px) else None
        if not algo.activated:
            assert algo.active_px is not None
            if not (last >= algo.active_px if sell else last <= algo.active_px):
                return None
            algo.activated, algo.extreme = True, last
            self._touch(algo, now)
        assert algo.extreme is not None
        if (last > algo.extreme) if sell else (last < algo.extreme):
            algo.extreme = last
            self._touch(algo, now)
        move = algo.move_trigger_px()
        assert move is not None
        return "trail" if (last <= move if sell else last >= move) else None

    def _fire(self, algo: SimAlgo, leg: str, inst: SimInstrument, now: int) -> None:
        """Place the algo's order; the algo becomes effective, or order_failed with the refusal."""
        self._release(algo, now)
        ord_px = {"tp": algo.tp_ord_px, "sl": algo.sl_ord_px, "trigger": algo.ord_px}.get(leg, MARKET)
        assert ord_px is not None
        market = ord_px == MARKET
        child: dict[str, Any] = {"instId": algo.inst_id, "tdMode": algo.td_mode, "side": algo.side,
                                 "ordType": "market" if market else (algo.advance_ord_type or "limit"),
                                 "tag": algo.tag}
        if market:
            child["tgtCcy"] = "quote_ccy" if algo.tgt_ccy == "quote_ccy" else "base_ccy"
        else:
            child["px"] = format_decimal(ord_px)
        if algo.attach_algo_ords:
            child["attachAlgoOrds"] = [{k: item[k] for k in _ATTACH_REQUEST if item.get(k)}
                                       for item in algo.attach_algo_ords]
        sz = self._affordable(algo, inst, None if market else ord_px, now) if algo.ord_type == "trigger" else algo.sz
        algo.trigger_time = str(now)
        algo.actual_side = leg if leg in ("tp", "sl") else algo.side
        try:
            if sz <= 0:
                raise ItemError("51008", inst.quote if algo.side == "buy" else inst.base)
            child["sz"] = format_decimal(sz)
            order = self.engine.place_child(child, (algo.algo_id, algo.algo_cl_ord_id, ALGO_SOURCE[algo.ord_type]),
                                            now)
        except (ItemError, SimError) as err:
            algo.state, algo.fail_code = "order_failed", err.code
        else:
            algo.state, algo.fail_code = "effective", "0"
            algo.ord_id, algo.ord_id_list = order.ord_id, [order.ord_id]
            algo.actual_sz, algo.actual_px = order.sz, None if market else ord_px
        self._touch(algo, now)

    def _affordable(self, algo: SimAlgo, inst: SimInstrument, px: Decimal | None, now: int) -> Decimal:
        """What a trigger order can place now (OKX places what the balance allows)."""
        if algo.side == "sell":
            return _floor(min(algo.sz, self.engine._bal(inst.base).available), inst.lot_sz)
        if px is None:
            book = self.engine.market.book(inst, self.engine.market.step_at(now))
            px = book.best_ask
        return _floor(min(algo.sz, self.engine._bal(inst.quote).available / px), inst.lot_sz)

    # -- cancel and amend ----------------------------------------------------------------------------
    def find(self, algo_id: str | None, algo_cl_ord_id: str | None) -> SimAlgo | None:
        """By algoId (which wins), else the latest algo with this algoClOrdId."""
        if algo_id:
            return self.algos.get(algo_id)
        ids = self._by_cl.get(algo_cl_ord_id or "")
        return self.algos[ids[-1]] if ids else None

    def cancel(self, items: list[dict[str, Any]], now: int) -> list[dict[str, Any]]:
        with self.engine._lock:
            self.engine._sync(now)
            results = []
            for params in items:
                inst_id, algo_id, cl = param(params, "instId"), param(params, "algoId"), param(params, "algoClOrdId")
                out = {"algoClOrdId": cl or "", "algoId": algo_id or "", "clOrdId": "", "sCode": "0", "sMsg": "",
                       "tag": ""}
                algo = self.find(algo_id, cl)
                if self.engine.catalogue.get(inst_id or "") is None:
                    out.update(sCode="51001", sMsg=ItemError("51001").msg)
                elif algo is None or not algo.pending or algo.inst_id != inst_id:
                    out.update(sCode="51400", sMsg=ItemError("51400").msg)
                else:
                    self._release(algo, now)
                    algo.state = "canceled"
                    self._touch(algo, now)
                    out.update(algoId=algo.algo_id, algoClOrdId=algo.algo_cl_ord_id)
                results.append(out)
            self.engine._flush(now)
            return results

    def amend(self, params: dict[str, Any], now: int) -> dict[str, Any]:
        """One amend-algos request (conditional, oco and trigger orders; ``0`` deletes a leg)."""
        inst_id, algo_id, cl = param(params, "instId"), param(params, "algoId"), param(params, "algoClOrdId")
        with self.engine._lock:
            self.engine._sync(now)
            out = {"algoClOrdId": cl or "", "algoId": algo_id or "", "reqId": param(params, "reqId") or "",
                   "sCode": "0", "sMsg": ""}
            algo = self.find(algo_id, cl)
            try:
                inst = self.engine.catalogue.get(inst_id or "")
                if inst is None:
                    raise ItemError("51001")
                if algo is None or not algo.pending or algo.inst_id != inst_id:
                    raise ItemError("51503")
                out.update(algoId=algo.algo_id, algoClOrdId=algo.algo_cl_ord_id)
                if algo.ord_type == "move_order_stop":
                    raise ItemError("51506")
                if algo.ord_type == "trigger":
                    self._amend_trigger(algo, params, inst, now)
                else:
                    self._amend_tpsl(algo, params, inst, now)
                self._touch(algo, now)
            except ItemError as err:
                out.update(sCode=err.code, sMsg=err.msg)
                if algo is not None and algo.pending and param(params, "cxlOnFail") == "true":
                    self._release(algo, now)
                    algo.state = "canceled"
                    self._touch(algo, now)
            self.engine._flush(now)
            return out

    def _new_sz(self, algo: SimAlgo, params: dict[str, Any], inst: SimInstrument) -> Decimal:
        sz = _decimal(params, "newSz")
        if sz is None:
            return algo.sz
        if sz <= 0:
            raise ItemError("51000", "newSz")
        self._check_size(sz, inst, algo.tgt_ccy == "quote_ccy")
        return sz

    def _amend_tpsl(self, algo: SimAlgo, params: dict[str, Any], inst: SimInstrument, now: int) -> None:
        for name in ("newTpTriggerPxType", "newSlTriggerPxType"):
            _trigger_px_type(params, name)
        legs: dict[str, tuple[Decimal | None, Decimal | None]] = {
            "Tp": (algo.tp_trigger_px, algo.tp_ord_px), "Sl": (algo.sl_trigger_px, algo.sl_ord_px)}
        for leg in ("Tp", "Sl"):
            trigger_name, ord_name = f"new{leg}TriggerPx", f"new{leg}OrdPx"
            trigger_text, ord_text = param(params, trigger_name), param(params, ord_name)
            if trigger_text is None and ord_text is None:
                continue
            if "0" in (trigger_text, ord_text):
                legs[leg] = (None, None)  # OKX: 0 deletes the leg
                continue
            trigger = _price(params, trigger_name, inst) if trigger_text is not None else legs[leg][0]
            order = _price(params, ord_name, inst, market_ok=True) if ord_text is not None else legs[leg][1]
            if trigger is None:
                raise ItemError("51000", trigger_name)
            if order is None:
                raise ItemError("51000", ord_name)
            legs[leg] = (trigger, order)
        (tp, tp_ord), (sl, sl_ord) = legs["Tp"], legs["Sl"]
        if tp is None and sl is None:
            raise ItemError("51531")
        sz = self._new_sz(algo, params, inst)
        if algo.tgt_ccy == "quote_ccy" and any(p not in (None, MARKET) for p in (tp_ord, sl_ord)):
            raise ItemError("51000", "newTpOrdPx" if tp_ord not in (None, MARKET) else "newSlOrdPx")
        _check_vs_last(algo.side, tp, sl, self._last(inst, now))
        old = (algo.sz, algo.tp_trigger_px, algo.tp_ord_px, algo.sl_trigger_px, algo.sl_ord_px, algo.ord_type)
        self._release(algo, now)
        algo.sz, algo.tp_trigger_px, algo.tp_ord_px, algo.sl_trigger_px, algo.sl_ord_px = sz, tp, tp_ord, sl, sl_ord
        algo.ord_type = "oco" if tp is not None and sl is not None else "conditional"
        try:
            self._freeze(algo, inst, now)
        except ItemError:
            (algo.sz, algo.tp_trigger_px, algo.tp_ord_px, algo.sl_trigger_px, algo.sl_ord_px, algo.ord_type) = old
            self._freeze(algo, inst, now)
            raise

    def _amend_trigger(self, algo: SimAlgo, params: dict[str, Any], inst: SimInstrument, now: int) -> None:
        for name in ("newTriggerPx", "newOrdPx"):
            if param(params, name) is None:
                raise missing(name)
        if params.get("attachAlgoOrds") not in (None, "", []):
            raise ItemError("51000", "attachAlgoOrds")
        _trigger_px_type(params, "newTriggerPxType")
        trigger_px = _price(params, "newTriggerPx", inst)
        ord_px = _price(params, "newOrdPx", inst, market_ok=True)
        assert trigger_px is not None and ord_px is not None
        if algo.advance_ord_type and ord_px == MARKET:
            raise ItemError("51000", "newOrdPx")
        sz = self._new_sz(algo, params, inst)
        algo.sz, algo.trigger_px, algo.ord_px = sz, trigger_px, ord_px
        algo.fires_rising = trigger_px >= self._last(inst, now)

    # -- queries -------------------------------------------------------------------------------------
    def _ord_types(self, params: dict[str, Any]) -> set[str]:
        text = param(params, "ordType")
        if text is None:
            raise missing("ordType")
        types = {t for t in text.split(",") if t}
        if not types or types - (ALGO_ORD_TYPES | UNSUPPORTED_ALGO_TYPES) or (len(types) > 1 and types - COMBINABLE):
            raise param_error("ordType")
        inst_type = param(params, "instType")
        if inst_type is not None and inst_type not in INST_TYPES:
            raise param_error("instType")
        return types if inst_type in (None, "SPOT") else set()

    def _select(self, params: dict[str, Any], types: set[str], keep: Any) -> list[dict[str, Any]]:
        algo_id, inst_id = param(params, "algoId"), param(params, "instId")
        rows = [a for a in self.algos.values() if a.ord_type in types and keep(a)
                and (algo_id is None or a.algo_id == algo_id) and (inst_id is None or a.inst_id == inst_id)]
        rows.sort(key=lambda a: int(a.algo_id), reverse=True)
        return [a.to_okx() for a in page(rows, params, lambda a: int(a.algo_id))]

    def pending(self, params: dict[str, Any], now: int) -> list[dict[str, Any]]:
        """orders-algo-pending: ``ordType`` required; only conditional,oco combine."""
        types = self._ord_types(params)
        with self.engine._lock:
            self.engine._sync_and_flush(now)
            return self._select(params, types, lambda a: a.pending)

    def history(self, params: dict[str, Any], now: int) -> list[dict[str, Any]]:
        """orders-algo-history: final algos of the last 3 months, by ``state`` or ``algoId``."""
        types = self._ord_types(params)
        state = param(params, "state")
        if state is None and param(params, "algoId") is None:
            raise missing("state")
        if state is not None and state not in HISTORY_STATES:
            raise param_error("state")
        oldest = now - HISTORY_REACH_MS
        with self.engine._lock:
            self.engine._sync_and_flush(now)
            return self._select(params, types, lambda a: not a.pending and a.c_time >= oldest
                                and (state is None or a.state == state))

    def get(self, algo_id: str | None, algo_cl_ord_id: str | None, now: int) -> dict[str, Any] | None:
        with self.engine._lock:
            self.engine._sync_and_flush(now)
            algo = self.find(algo_id, algo_cl_ord_id)
            return None if algo is None else algo.to_okx()

    def all_algos(self) -> list[dict[str, Any]]:
        """Every algo ever placed, oldest first (test inspection)."""
        with self.engine._lock:
            return [a.to_okx() for a in sorted(self.algos.values(), key=lambda a: a.seq)]
