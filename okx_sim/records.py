"""Order and fill records, and how they render in OKX's field sets.

Amounts are Decimals in memory and strings on the wire and on disk, so nothing ever passes
through float. The rendered field sets follow samples/trade_order_details_spot_market_filled.json
and samples/trade_fills_spot.json.
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

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    def remaining(self) -> Decimal:
        return self.sz - self.acc_fill_sz

    def to_okx(self) -> dict[str, Any]:
        avg = (self.fill_notional / self.acc_fill_sz) if self.acc_fill_sz else None
        return {
            "accFillSz": format_decimal(self.acc_fill_sz), "algoClOrdId": "", "algoId": "",
            "attachAlgoClOrdId": "", "attachAlgoOrds": [], "avgPx": _fmt(avg),
            "cTime": str(self.c_time), "cancelSource": self.cancel_source,
            "cancelSourceReason": self.cancel_source_reason, "category": "normal", "ccy": "",
            "clOrdId": self.cl_ord_id, "fee": format_decimal(self.fee),
            "feeCcy": self.fee_ccy or spot_fee_ccy(self.side, self.base, self.quote),
            "fillPx": _fmt(self.fill_px), "fillSz": _fmt(self.fill_sz) or "0", "fillTime": self.fill_time,
            "instId": self.inst_id, "instType": "SPOT", "isTpLimit": "false", "lever": "",
            "linkedAlgoOrd": {"algoId": ""}, "ordId": self.ord_id, "ordType": self.ord_type,
            "pnl": "0", "posSide": "net", "px": _fmt(self.px), "pxType": "", "pxUsd": "", "pxVol": "",
            "quickMgnType": "", "rebate": "0", "rebateCcy": self.quote if self.side == "buy" else self.base,
            "reduceOnly": "false", "side": self.side, "slOrdPx": "", "slTriggerPx": "",
            "slTriggerPxType": "", "source": "", "state": self.state, "stpId": "", "stpMode": "cancel_maker",
            "sz": format_decimal(self.sz), "tag": self.tag, "tdMode": self.td_mode, "tgtCcy": self.tgt_ccy,
            "tpOrdPx": "", "tpTriggerPx": "", "tpTriggerPxType": "", "tradeId": self.trade_id,
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


def _decimal_fields(cls: type) -> set[str]:
    return {f.name for f in fields(cls) if "Decimal" in str(f.type)}


_ORDER_DECIMALS = _decimal_fields(SimOrder)
_FILL_DECIMALS = _decimal_fields(SimFill)


def dump(record: SimOrder | SimFill) -> dict[str, Any]:
    """A JSON-safe dict (Decimals as strings) for the state file."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(record).items()}


def load_order(data: dict[str, Any]) -> SimOrder:
    fields: dict[str, Any] = {k: (Decimal(v) if k in _ORDER_DECIMALS and v is not None else v)
                              for k, v in data.items()}
    return SimOrder(**fields)


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
