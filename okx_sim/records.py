"""Order, fill and algo-order records, and how they render in OKX's field sets.

Amounts are Decimals in memory and strings on the wire and on disk, so nothing ever passes
through float. The rendered field sets follow samples/trade_order_details_spot_market_filled.json,
samples/trade_fills_spot.json and (algo orders: exactly its 54 keys)
samples/trade_orders_algo_pending_conditional.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

from okx_wire.models import PENDING_STATES
from okx_wire.orders import spot_fee_ccy
from okx_wire.precision import format_decimal


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


@dataclass
class SimOrder:
    """One order as the simulated account keeps it (resting or final); ``to_okx`` renders it.

    Not ``okx_wire.models.Order``, which is the client's reading of OKX's answer.
    """

    ord_id: str
    cl_ord_id: str
    tag: str
    inst_id: str
    base: str
    quote: str
    side: str
    ord_type: str
    px: Decimal | None
    sz: Decimal
    tgt_ccy: str
    state: str
    c_time: int
    u_time: int
    acc_fill_sz: Decimal = Decimal(0)
    #: Sum of fill px * fill sz, for avgPx.
    fill_notional: Decimal = Decimal(0)
    fill_px: Decimal | None = None
    fill_sz: Decimal | None = None
    fill_time: str = ""
    trade_id: str = ""
    fee: Decimal = Decimal(0)
    fee_ccy: str = ""
    #: What this order still holds frozen, in ``frozen_ccy``.
    frozen: Decimal = Decimal(0)
    frozen_ccy: str = ""
    #: For market buys in quote units: quote spent so far.
    quote_spent: Decimal = Decimal(0)
    cancel_source: str = ""
    cancel_source_reason: str = ""
    seq: int = 0
    td_mode: str = "cash"
    #: Set on an order an algo order placed when it triggered: OKX's ``algoId``/``algoClOrdId``
    #: and ``source`` ("7" TP/SL, "6" trigger, "25" trailing stop).
    algo_id: str = ""
    algo_cl_ord_id: str = ""
    source: str = ""
    #: The TP/SL attached at placement (``attachAlgoOrds``), one dict of OKX's fields per item,
    #: kept as OKX shows them on the parent; ``okx_sim.algos`` arms them when the order is final.
    attach_algo_ords: list[dict[str, str]] = field(default_factory=list)
    attach_armed: bool = False

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    def remaining(self) -> Decimal:
        return self.sz - self.acc_fill_sz

    def to_okx(self) -> dict[str, Any]:
        avg = (self.fill_notional / self.acc_fill_sz) if self.acc_fill_sz else None
        # OKX still fills the deprecated top-level TP/SL fields from the (first) attachment.
        first = self.attach_algo_ords[0] if self.attach_algo_ords else {}
        return {
            "accFillSz": format_decimal(self.acc_fill_sz), "algoClOrdId": self.algo_cl_ord_id, "algoId": self.algo_id,
            "attachAlgoClOrdId": first.get("attachAlgoClOrdId", ""),
            "attachAlgoOrds": [dict(item) for item in self.attach_algo_ords], "avgPx": _fmt(avg),
            "cTime": str(self.c_time), "cancelSource": self.cancel_source,
            "cancelSourceReason": self.cancel_source_reason, "category": "normal", "ccy": "",
            "clOrdId": self.cl_ord_id, "fee": format_decimal(self.fee),
            "feeCcy": self.fee_ccy or spot_fee_ccy(self.side, self.base, self.quote),
            "fillPx": _fmt(self.fill_px), "fillSz": _fmt(self.fill_sz) or "0", "fillTime": self.fill_time,
            "instId": self.inst_id, "instType": "SPOT", "isTpLimit": "false", "lever": "",
            "linkedAlgoOrd": {"algoId": ""}, "ordId": self.ord_id, "ordType": self.ord_type,
            "pnl": "0", "posSide": "net", "px": _fmt(self.px), "pxType": "", "pxUsd": "", "pxVol": "",
            "quickMgnType": "", "rebate": "0", "rebateCcy": self.quote if self.side == "buy" else self.base,
            "reduceOnly": "false", "side": self.side, "slOrdPx": first.get("slOrdPx", ""),
            "slTriggerPx": first.get("slTriggerPx", ""), "slTriggerPxType": first.get("slTriggerPxType", ""),
            "source": self.source, "state": self.state, "stpId": "", "stpMode": "cancel_maker",
            "sz": format_decimal(self.sz), "tag": self.tag, "tdMode": self.td_mode, "tgtCcy": self.tgt_ccy,
            "tpOrdPx": first.get("tpOrdPx", ""), "tpTriggerPx": first.get("tpTriggerPx", ""),
            "tpTriggerPxType": first.get("tpTriggerPxType", ""), "tradeId": self.trade_id,
            "tradeQuoteCcy": self.quote, "uTime": str(self.u_time),
        }


@dataclass
class SimFill:
    """One fill as the simulated account keeps it; ``to_okx`` renders OKX's fill fields."""

    bill_id: str
    trade_id: str
    ord_id: str
    cl_ord_id: str
    tag: str
    inst_id: str
    side: str
    fill_px: Decimal
    fill_sz: Decimal
    exec_type: str
    fee: Decimal
    fee_ccy: str
    fee_rate: Decimal
    ts: int
    quote: str = ""

    def to_okx(self) -> dict[str, Any]:
        return {
            "side": self.side, "fillSz": format_decimal(self.fill_sz), "fillPx": format_decimal(self.fill_px),
            "fillPxVol": "", "fillFwdPx": "", "fee": format_decimal(self.fee), "fillPnl": "0",
            "ordId": self.ord_id, "feeRate": format_decimal(self.fee_rate), "instType": "SPOT",
            "fillPxUsd": "", "instId": self.inst_id, "clOrdId": self.cl_ord_id, "posSide": "net",
            "billId": self.bill_id, "fillMarkVol": "", "tag": self.tag, "fillTime": str(self.ts),
            "execType": self.exec_type, "fillIdxPx": "", "tradeId": self.trade_id, "fillMarkPx": "",
            "feeCcy": self.fee_ccy, "subType": "1", "tradeQuoteCcy": self.quote, "ts": str(self.ts),
        }


#: What OKX's ``source`` says about an order an algo order placed, by the algo's ordType.
ALGO_SOURCE = {"conditional": "7", "oco": "7", "trigger": "6", "move_order_stop": "25"}
#: Algo states that can still trigger (OKX lists them in orders-algo-pending).
ALGO_PENDING_STATES = frozenset({"live", "pause"})


@dataclass
class SimAlgo:
    """One algo order (conditional, oco, trigger, move_order_stop) as the simulated account keeps
    it; ``to_okx`` renders exactly the 54 keys of OKX's algo record.

    ``tp_*``/``sl_*`` are the legs (``None`` when absent), ``trigger_px``/``ord_px`` the trigger
    order's. An order price of ``-1`` means market, as on the wire. ``extreme`` is a trailing
    stop's best price since it became active (the high of a sell, the low of a buy).
    """

    algo_id: str
    algo_cl_ord_id: str
    tag: str
    inst_id: str
    base: str
    quote: str
    ord_type: str
    side: str
    td_mode: str
    sz: Decimal
    #: ``base_ccy``/``quote_ccy``: the unit of ``sz`` (quote only for a market buy); "" as OKX shows
    #: it when the request named none.
    tgt_ccy: str
    state: str
    c_time: int
    u_time: int
    #: The last price when it was placed (OKX's ``last``).
    last: Decimal
    tp_trigger_px: Decimal | None = None
    tp_ord_px: Decimal | None = None
    sl_trigger_px: Decimal | None = None
    sl_ord_px: Decimal | None = None
    trigger_px: Decimal | None = None
    ord_px: Decimal | None = None
    #: A trigger order fires when the last price rises to ``trigger_px`` (True) or falls to it.
    fires_rising: bool = False
    #: A trigger order's ``advanceOrdType`` (``fok``/``ioc``), "" for a plain limit/market.
    advance_ord_type: str = ""
    callback_ratio: Decimal | None = None
    callback_spread: Decimal | None = None
    active_px: Decimal | None = None
    activated: bool = False
    extreme: Decimal | None = None
    #: Funds the algo holds frozen (conditional/oco only), in ``frozen_ccy``.
    frozen: Decimal = Decimal(0)
    frozen_ccy: str = ""
    actual_sz: Decimal = Decimal(0)
    actual_px: Decimal | None = None
    actual_side: str = ""
    trigger_time: str = ""
    ord_id: str = ""
    ord_id_list: list[str] = field(default_factory=list)
    fail_code: str = "0"
    #: A trigger order's attached TP/SL, passed to the order it places (OKX's item fields).
    attach_algo_ords: list[dict[str, str]] = field(default_factory=list)
    #: The order whose attached TP/SL this algo is ("" for one placed through order-algo).
    parent_ord_id: str = ""
    seq: int = 0

    @property
    def pending(self) -> bool:
        return self.state in ALGO_PENDING_STATES

    def move_trigger_px(self) -> Decimal | None:
        """A trailing stop's current trigger price (OKX's ``moveTriggerPx``), once active."""
        if self.ord_type != "move_order_stop" or not self.activated or self.extreme is None:
            return None
        sign = -1 if self.side == "sell" else 1
        if self.callback_spread is not None:
            return self.extreme + sign * self.callback_spread
        assert self.callback_ratio is not None
        return self.extreme * (1 + sign * self.callback_ratio)

    def to_okx(self) -> dict[str, Any]:
        def leg_type(px: Decimal | None) -> str:
            return "last" if px is not None else ""

        move = self.move_trigger_px()
        return {
            "activePx": _fmt(self.active_px), "actualPx": _fmt(self.actual_px), "actualSide": self.actual_side,
            "actualSz": format_decimal(self.actual_sz), "algoClOrdId": self.algo_cl_ord_id, "algoId": self.algo_id,
            "amendPxOnTriggerType": "0", "attachAlgoOrds": [dict(item) for item in self.attach_algo_ords],
            "cTime": str(self.c_time), "callbackRatio": _fmt(self.callback_ratio),
            "callbackSpread": _fmt(self.callback_spread), "ccy": "", "chaseType": "", "chaseVal": "",
            "clOrdId": self.algo_cl_ord_id, "closeFraction": "", "failCode": self.fail_code,
            "instId": self.inst_id, "instType": "SPOT", "isTradeBorrowMode": "", "last": format_decimal(self.last),
            "lever": "", "linkedOrd": {"ordId": ""}, "maxChaseType": "", "maxChaseVal": "",
            "moveTriggerPx": "" if move is None else format_decimal(move), "ordId": self.ord_id,
            "ordIdList": list(self.ord_id_list), "ordPx": _fmt(self.ord_px), "ordType": self.ord_type,
            "posSide": "net", "pxLimit": "", "pxSpread": "", "pxVar": "", "quickMgnType": "", "reduceOnly": "false",
            "side": self.side, "slOrdPx": _fmt(self.sl_ord_px), "slTriggerPx": _fmt(self.sl_trigger_px),
            "slTriggerPxType": leg_type(self.sl_trigger_px), "state": self.state, "sz": format_decimal(self.sz),
            "szLimit": "", "tag": self.tag, "tdMode": self.td_mode, "tgtCcy": self.tgt_ccy, "timeInterval": "",
            "tpOrdPx": _fmt(self.tp_ord_px), "tpTriggerPx": _fmt(self.tp_trigger_px),
            "tpTriggerPxType": leg_type(self.tp_trigger_px), "triggerPx": _fmt(self.trigger_px),
            "triggerPxType": leg_type(self.trigger_px), "triggerTime": self.trigger_time, "uTime": str(self.u_time),
        }


def _decimal_fields(cls: type) -> set[str]:
    return {f.name for f in fields(cls) if "Decimal" in str(f.type)}


_ORDER_DECIMALS = _decimal_fields(SimOrder)
_FILL_DECIMALS = _decimal_fields(SimFill)
_ALGO_DECIMALS = _decimal_fields(SimAlgo)


def dump(record: SimOrder | SimFill | SimAlgo) -> dict[str, Any]:
    """A JSON-safe dict (Decimals as strings) for the state file."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(record).items()}


def load_order(data: dict[str, Any]) -> SimOrder:
    fields: dict[str, Any] = {k: (Decimal(v) if k in _ORDER_DECIMALS and v is not None else v)
                              for k, v in data.items()}
    return SimOrder(**fields)


def load_algo(data: dict[str, Any]) -> SimAlgo:
    fields: dict[str, Any] = {k: (Decimal(v) if k in _ALGO_DECIMALS and v is not None else v)
                              for k, v in data.items()}
    return SimAlgo(**fields)


def load_fill(data: dict[str, Any]) -> SimFill:
    fields: dict[str, Any] = {k: (Decimal(v) if k in _FILL_DECIMALS and v is not None else v)
                              for k, v in data.items()}
    return SimFill(**fields)


@dataclass
class Holding:
    """What the simulated account holds of one currency: cash, and how much of it orders freeze."""

    cash: Decimal = Decimal(0)
    frozen: Decimal = Decimal(0)
    u_time: int = 0

    @property
    def available(self) -> Decimal:
        return self.cash - self.frozen


@dataclass
class Ledger:
    """Where value goes outside the account, so conservation can be checked per currency:
    initial == account cash + fees collected + net given to the market (the book's takers/makers)."""

    initial: dict[str, Decimal] = field(default_factory=dict)
    fees: dict[str, Decimal] = field(default_factory=dict)
    market: dict[str, Decimal] = field(default_factory=dict)
