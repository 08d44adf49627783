"""Order requests as OKX takes them, and the client order ids that make retries safe."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from okx_wire.errors import InvalidOrder
from okx_wire.models import Instrument
from okx_wire.precision import check_order_size, check_price, format_decimal

#: OKX's clOrdId: case-sensitive letters and digits, 1 to 32 of them.
CL_ORD_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9]{1,32}")

#: The spot order types this project places (OKX has more, for derivatives and MMP).
OrdType = Literal["market", "limit", "post_only", "fok", "ioc"]
ORD_TYPES: Final = frozenset(get_args(OrdType))
#: The order types that need a price.
PRICED_TYPES: Final = frozenset({"limit", "post_only", "fok", "ioc"})

#: OKX's base (Lv1) spot fee rates, as fractions of what a fill trades.
SPOT_TAKER_RATE: Final = Decimal("0.001")
SPOT_MAKER_RATE: Final = Decimal("0.0008")


def spot_fee_ccy(side: str, base: str, quote: str) -> str:
    """The currency a spot fill's fee is paid in: what the order receives (a buy pays in the base
    currency, a sell in the quote currency)."""
    return base if side == "buy" else quote


def client_order_id(*parts: str) -> str:
    """A clOrdId that is the same every time for the same parts (flow run, spec, leg...).

    OKX allows 1-32 letters and digits. A readable prefix from the last part (the leg) keeps
    orders recognisable in the OKX UI; a hash of all parts keeps them unique.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    leg = re.sub(r"[^A-Za-z0-9]", "", parts[-1] if parts else "")[:8]
    return f"{leg}{digest}"[:32]


#: OKX's account modes (``acctLv``) and the ``tdMode`` a spot order needs in each: ``cash`` in
#: Spot and Futures mode; ``cross`` in Multi-currency and Portfolio margin, which refuse ``cash``
#: with 51000 "Parameter tdMode error" (../shared/okx/API-FACTS-2.md 9.4).
ACCOUNT_MODES: Final[dict[str, str]] = {"1": "Spot", "2": "Futures", "3": "Multi-currency margin",
                                        "4": "Portfolio margin"}
_SPOT_TD_MODE: Final[dict[str, str]] = {"1": "cash", "2": "cash", "3": "cross", "4": "cross"}


def spot_td_mode(acct_lv: str | None) -> str:
    """The ``tdMode`` of a spot order on an account of mode ``acct_lv`` (``cash`` if unknown)."""
    return _SPOT_TD_MODE.get(acct_lv or "1", "cash")


#: OKX's order price for "at market" in TP/SL legs and algo orders (``-1`` on the wire).
MARKET_PX: Final = Decimal(-1)


def _positive(name: str, value: Decimal | None) -> None:
    if value is not None and (not value.is_finite() or value <= 0):
        raise ValueError(f"{name} must be a positive number, got {value}")


class TpSl(BaseModel):
    """A take-profit and/or stop-loss: the legs of OKX's TP/SL, attached to an order
    (``OrderRequest.tp_sl``, sent as ``attachAlgoOrds``) or placed as a conditional/oco algo
    order (``okx_wire.algo_orders.AlgoOrderRequest``).

    Each leg is a trigger price and the price of the order it places when the last price reaches
    it; no order price means a market order (OKX's ``-1``). Triggers are on the last price, the
    only trigger spot takes. A TP limit order (``tpOrdKind=limit``), split TPs and ratio triggers
    are not offered: OKX refuses them on spot (51094, 51077).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tp_trigger_px: Decimal | None = None
    tp_ord_px: Decimal | None = None
    sl_trigger_px: Decimal | None = None
    sl_ord_px: Decimal | None = None
    #: The id of the algo order OKX creates from an attachment when the order fills (its
    #: ``algoClOrdId``): how a caller finds its protection. Only for an attachment.
    attach_algo_cl_ord_id: str | None = None

    @model_validator(mode="after")
    def _legs(self) -> TpSl:
        if self.tp_trigger_px is None and self.sl_trigger_px is None:
            raise ValueError("a TP/SL needs a take-profit (tp_trigger_px) or a stop-loss (sl_trigger_px)")
        for name in ("tp_trigger_px", "tp_ord_px", "sl_trigger_px", "sl_ord_px"):
            _positive(name, getattr(self, name))
        if self.tp_ord_px is not None and self.tp_trigger_px is None:
            raise ValueError("tp_ord_px needs tp_trigger_px")
        if self.sl_ord_px is not None and self.sl_trigger_px is None:
            raise ValueError("sl_ord_px needs sl_trigger_px")
        if self.attach_algo_cl_ord_id is not None and not CL_ORD_ID_PATTERN.fullmatch(self.attach_algo_cl_ord_id):
            raise ValueError(f"attachAlgoClOrdId {self.attach_algo_cl_ord_id!r} must be 1-32 letters and digits")
        return self

    @property
    def both(self) -> bool:
        return self.tp_trigger_px is not None and self.sl_trigger_px is not None

    def check_side(self, side: str, reference: Decimal | None = None) -> None:
        """Refuse legs on the wrong side of ``reference`` (the order's price) before sending:
        a buy is protected by a TP above and an SL below, a sell the reverse (51046-51049)."""
        above = side == "buy"
        tp, sl = self.tp_trigger_px, self.sl_trigger_px
        if tp is not None and sl is not None and (tp <= sl if above else tp >= sl):
            raise ValueError(f"a {side}'s take-profit must be {'above' if above else 'below'} its stop-loss")
        if reference is None:
            return
        if tp is not None and (tp <= reference if above else tp >= reference):
            raise ValueError(f"a {side}'s take-profit {tp} must be {'above' if above else 'below'} {reference}")
        if sl is not None and (sl >= reference if above else sl <= reference):
            raise ValueError(f"a {side}'s stop-loss {sl} must be {'below' if above else 'above'} {reference}")

    def legs_payload(self) -> dict[str, Any]:
        """OKX's TP/SL fields (order price ``-1`` for a market leg)."""
        body: dict[str, Any] = {}
        if self.tp_trigger_px is not None:
            body["tpTriggerPx"] = format_decimal(self.tp_trigger_px)
            body["tpOrdPx"] = format_decimal(self.tp_ord_px if self.tp_ord_px is not None else MARKET_PX)
            body["tpTriggerPxType"] = "last"
        if self.sl_trigger_px is not None:
            body["slTriggerPx"] = format_decimal(self.sl_trigger_px)
            body["slOrdPx"] = format_decimal(self.sl_ord_px if self.sl_ord_px is not None else MARKET_PX)
            body["slTriggerPxType"] = "last"
        return body

    def attach_payload(self) -> dict[str, Any]:
        """One ``attachAlgoOrds`` item."""
        body = self.legs_payload()
        if self.attach_algo_cl_ord_id is not None:
            body = {"attachAlgoClOrdId": self.attach_algo_cl_ord_id, **body}
        return body


class OrderRequest(BaseModel):
    """One spot order, validated before anything is sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inst_id: str
    side: Literal["buy", "sell"]
    ord_type: OrdType
    sz: Decimal
    px: Decimal | None = None
    #: None: the account's own spot mode (``spot_td_mode``), filled in by the client when it sends.
    td_mode: Literal["cash", "cross", "isolated"] | None = None
    cl_ord_id: str | None = None
    tag: str | None = None
    tgt_ccy: Literal["base_ccy", "quote_ccy"] | None = None
    #: Protection OKX attaches to this order (``attachAlgoOrds``): once the order is filled OKX
    #: creates an oco (both legs) or conditional (one leg) algo order on the other side, with
    #: ``tp_sl.attach_algo_cl_ord_id`` as its algoClOrdId. None sends nothing.
    tp_sl: TpSl | None = None

    @field_validator("sz")
    @classmethod
    def _positive_size(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value <= 0:
            raise ValueError(f"order size must be a positive number, got {value}")
        return value

    @field_validator("px")
    @classmethod
    def _positive_price(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (not value.is_finite() or value <= 0):
            raise ValueError(f"price must be a positive number, got {value}")
        return value

    @field_validator("cl_ord_id")
    @classmethod
    def _cl_ord_id_format(cls, value: str | None) -> str | None:
        if value is not None and not CL_ORD_ID_PATTERN.fullmatch(value):
            raise ValueError(f"clOrdId {value!r} must be 1-32 letters and digits (OKX's rule)")
        return value

    @model_validator(mode="after")
    def _price_matches_type(self) -> OrderRequest:
        if self.ord_type in PRICED_TYPES and self.px is None:
            raise ValueError(f"a {self.ord_type} order needs a price (px)")
        if self.ord_type == "market" and self.px is not None:
            raise ValueError("a market order takes no price; use a limit or ioc order to bound the price")
        if self.tgt_ccy is not None and self.ord_type != "market":
            raise ValueError("tgtCcy applies to spot market orders only")
        if self.tp_sl is not None:
            if self.ord_type == "market" and (self.sized_in_quote != (self.side == "buy")):
                raise ValueError("OKX takes no TP/SL on a spot market buy sized in base or sell sized in quote")
            self.tp_sl.check_side(self.side, self.px)
        return self

    @property
    def sized_in_quote(self) -> bool:
        """Spot market buys default to sz in quote currency (OKX's tgtCcy default)."""
        return self.ord_type == "market" and (
            self.tgt_ccy == "quote_ccy" or (self.tgt_ccy is None and self.side == "buy")
        )

    def check(self, instrument: Instrument) -> None:
        """Refuse, before sending, what OKX would refuse for this instrument."""
        if instrument.inst_id != self.inst_id:
            raise ValueError(f"instrument {instrument.inst_id} does not match order {self.inst_id}")
        if not instrument.is_live:
            raise InvalidOrder(f"{self.inst_id} is not trading (state {instrument.state.value})")
        if not self.sized_in_quote:
            check_order_size(self.sz, lot_size=instrument.lot_sz, min_size=instrument.min_sz, inst_id=self.inst_id)
        if self.px is not None:
            check_price(self.px, tick_size=instrument.tick_sz, inst_id=self.inst_id)

    def payload(self, account_td_mode: str = "cash") -> dict[str, Any]:
        """The JSON object OKX expects: numbers as plain strings, absent fields left out.
        ``account_td_mode`` is the spot ``tdMode`` of the account, used unless the order names one."""
        body: dict[str, Any] = {
            "instId": self.inst_id,
            "tdMode": self.td_mode or account_td_mode,
            "side": self.side,
            "ordType": self.ord_type,
            "sz": format_decimal(self.sz),
        }
        if self.px is not None:
            body["px"] = format_decimal(self.px)
        if self.cl_ord_id is not None:
            body["clOrdId"] = self.cl_ord_id
        if self.tag is not None:
            body["tag"] = self.tag
        if self.tgt_ccy is not None:
            body["tgtCcy"] = self.tgt_ccy
        if self.tp_sl is not None:
            body["attachAlgoOrds"] = [self.tp_sl.attach_payload()]
        return body


class Amend(BaseModel):
    """One amendment of a batch: the order (``ord_id`` wins over ``cl_ord_id``) and its new
    absolute size (total, filled part included, as OKX counts it) and/or price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inst_id: str
    ord_id: str | None = None
    cl_ord_id: str | None = None
    new_sz: Decimal | None = None
    new_px: Decimal | None = None
    req_id: str | None = None
    cancel_on_fail: bool = False

    @model_validator(mode="after")
    def _complete(self) -> Amend:
        if self.ord_id is None and self.cl_ord_id is None:
            raise ValueError("an amendment names its order: ord_id or cl_ord_id")
        if self.new_sz is None and self.new_px is None:
            raise ValueError("an amendment changes something: new_sz or new_px")
        for name, value in (("new_sz", self.new_sz), ("new_px", self.new_px)):
            if value is not None and (not value.is_finite() or value <= 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        return self

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"instId": self.inst_id}
        if self.ord_id is not None:
            body["ordId"] = self.ord_id
        if self.cl_ord_id is not None:
            body["clOrdId"] = self.cl_ord_id
        if self.new_sz is not None:
            body["newSz"] = format_decimal(self.new_sz)
        if self.new_px is not None:
            body["newPx"] = format_decimal(self.new_px)
        if self.req_id is not None:
            body["reqId"] = self.req_id
        if self.cancel_on_fail:
            body["cxlOnFail"] = True
        return body
