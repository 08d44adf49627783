"""Typed models of OKX V5 responses (pydantic v2).

Field names are OKX's own in snake_case (``instId`` -> ``inst_id``), so a reader of the OKX docs
finds every field. Amounts and prices are ``Decimal`` (never float); OKX's "not applicable" empty
string becomes ``None``. Unknown fields are ignored: OKX adds fields without notice.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    return value


#: An OKX number string; "" (not applicable) becomes None.
Amount = Annotated[Decimal | None, BeforeValidator(_blank_to_none)]
#: Unix milliseconds as OKX sends them (a string of digits); "" becomes None.
Millis = Annotated[int | None, BeforeValidator(_blank_to_none)]
CsvList = Annotated[list[str], BeforeValidator(_split_csv)]


class OkxModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class InstrumentState(StrEnum):
    LIVE = "live"
    SUSPEND = "suspend"
    PREOPEN = "preopen"
    TEST = "test"
    REBASE = "rebase"
    POST_ONLY = "post_only"
    SETTLING = "settling"


class OrderState(StrEnum):
    LIVE = "live"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    MMP_CANCELED = "mmp_canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


#: An order in these states can still fill (OKX lists them in orders-pending).
PENDING_STATES: Final = frozenset({OrderState.LIVE, OrderState.PARTIALLY_FILLED})
#: An order in these states never changes again; its clOrdId may be reused.
FINAL_STATES: Final = frozenset({OrderState.FILLED, OrderState.CANCELED, OrderState.MMP_CANCELED})


class ServerTime(OkxModel):
    ts: int


class BalanceDetail(OkxModel):
    ccy: str
    eq: Amount = None
    cash_bal: Amount = None
    avail_bal: Amount = None
    frozen_bal: Amount = None
    ord_frozen: Amount = None
    avail_eq: Amount = None
    eq_usd: Amount = None
    u_time: Millis = None
    # Filled in by the margin modes only (acctLv 3 and 4; some in 1 or 2), else None.
    dis_eq: Amount = None
    iso_eq: Amount = None
    liab: Amount = None
    cross_liab: Amount = None
    interest: Amount = None
    max_loan: Amount = None
    upl: Amount = None


class Balance(OkxModel):
    """``account/balance``. Which top-level figures are filled in depends on the account mode
    (OKX answers "" for the rest, None here): Spot mode has ``adj_eq`` and the margin
    requirements, Futures mode only ``total_eq`` and ``iso_eq``, the margin modes all of them."""

    total_eq: Amount = None
    u_time: Millis = None
    adj_eq: Amount = None
    avail_eq: Amount = None
    iso_eq: Amount = None
    ord_froz: Amount = None
    imr: Amount = None
    mmr: Amount = None
    mgn_ratio: Amount = None
    upl: Amount = None
    notional_usd: Amount = None
    details: list[BalanceDetail] = Field(default_factory=list)

    def detail(self, ccy: str) -> BalanceDetail | None:
        return next((d for d in self.details if d.ccy == ccy), None)

    def available(self, ccy: str) -> Decimal:
        """Available balance of ``ccy``; OKX omits zero balances, so absent means zero."""
        detail = self.detail(ccy)
        return (detail.avail_bal or Decimal(0)) if detail else Decimal(0)

    def total(self, ccy: str) -> Decimal:
        """Cash balance of ``ccy`` (available plus frozen in orders)."""
        detail = self.detail(ccy)
        return (detail.cash_bal or detail.eq or Decimal(0)) if detail else Decimal(0)


class AccountConfig(OkxModel):
    uid: str
    main_uid: str | None = None
    acct_lv: str | None = None
    pos_mode: str | None = None
    label: str | None = None
    ip: CsvList = Field(default_factory=list)
    perm: CsvList = Field(default_factory=list)

    @property
    def can_trade(self) -> bool:
        return "trade" in self.perm

    @property
    def can_withdraw(self) -> bool:
        return "withdraw" in self.perm


class FeeGroup(OkxModel):
    """One fee group of ``account/trade-fee`` (OKX's sign: negative = fee paid)."""

    group_id: str = ""
    maker: Amount = None
    taker: Amount = None
    #: The maker rate of ELP orders; None where ELP does not apply.
    elp_maker: Amount = None


class FiatFee(OkxModel):
    """A fiat pair's rates in the deprecated ``fiat[]`` list of ``account/trade-fee``."""

    ccy: str = ""
    maker: Amount = None
    taker: Amount = None


class TradeFee(OkxModel):
    """The account's fee rates for one instrument type (``GET /api/v5/account/trade-fee``).

    Every rate field keeps OKX's sign: negative is a fee the account pays, positive a rebate it
    receives (``delivery`` and ``exercise`` are the exception: positive = fee). ``taker_rate``
    and ``maker_rate`` turn that into a cost per unit of notional, the way a planner adds it up.
    OKX still sends the deprecated top-level ``maker``/``taker`` (and ``makerU``, ``category``,
    ``fiat``...); they are parsed too, as the fallback when ``feeGroup`` is missing.
    """

    level: str = ""
    inst_type: str
    fee_group: list[FeeGroup] = Field(default_factory=list)
    delivery: Amount = None
    exercise: Amount = None
    ts: Millis = None
    # Deprecated by OKX but still sent.
    maker: Amount = None
    taker: Amount = None
    maker_u: Amount = None
    taker_u: Amount = None
    maker_usdc: Amount = Field(default=None, alias="makerUSDC")
    taker_usdc: Amount = Field(default=None, alias="takerUSDC")
    category: str = ""
    rule_type: str = ""
    fiat: list[FiatFee] = Field(default_factory=list)

    @property
    def taker_rate(self) -> Decimal:
        """What a taker fill costs per unit of notional: 0.001 for OKX's "-0.001"; a rebate is negative."""
        return self._cost("taker")

    @property
    def maker_rate(self) -> Decimal:
        """What a maker fill costs per unit of notional: 0.0008 for OKX's "-0.0008"; a rebate is negative."""
        return self._cost("maker")

    def _cost(self, side: str) -> Decimal:
        # feeGroup[0] first (the current field), then the deprecated top-level rate, then the
        # USDT-margined one derivatives carry instead (as ccxt reads it).
        group = self.fee_group[0] if self.fee_group else None
        candidates = (getattr(group, side) if group else None, getattr(self, side), getattr(self, f"{side}_u"))
        rate = next((value for value in candidates if value is not None), None)
        if rate is None:
            raise ValueError(f"the {self.inst_type} fee rates carry no {side} rate")
        return Decimal(0) - rate  # not -rate: OKX's "0" must stay 0, not -0


class BookLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    px: Decimal
    sz: Decimal
    orders: int = 0


def _levels(value: Any) -> Any:
    if isinstance(value, list):
        return [
            {"px": row[0], "sz": row[1], "orders": int(row[3]) if len(row) > 3 and row[3] != "" else 0}
            if isinstance(row, (list, tuple)) else row
            for row in value
        ]
    return value


Levels = Annotated[list[BookLevel], BeforeValidator(_levels)]


class OrderBook(OkxModel):
    """Asks ascending, bids descending, as OKX sends them."""

    inst_id: str = ""
    asks: Levels
    bids: Levels
    ts: int
    seq_id: int | None = None

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].px if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].px if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].px + self.asks[0].px) / 2


class Ticker(OkxModel):
    inst_type: str
    inst_id: str
    last: Amount = None
    last_sz: Amount = None
    ask_px: Amount = None
    ask_sz: Amount = None
    bid_px: Amount = None
    bid_sz: Amount = None
    open24h: Amount = Field(default=None, alias="open24h")
    high24h: Amount = Field(default=None, alias="high24h")
    low24h: Amount = Field(default=None, alias="low24h")
    vol_ccy24h: Amount = Field(default=None, alias="volCcy24h")
    vol24h: Amount = Field(default=None, alias="vol24h")
    ts: int


class Instrument(OkxModel):
    inst_type: str
    inst_id: str
    base_ccy: str = ""
    quote_ccy: str = ""
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    max_lmt_sz: Amount = None
    max_mkt_sz: Amount = None
    state: InstrumentState
    list_time: Millis = None

    @property
    def is_live(self) -> bool:
        return self.state is InstrumentState.LIVE


class OrderAck(OkxModel):
    """One item of a place/batch/cancel/amend answer: ``s_code`` "0" means accepted."""

    ord_id: str = ""
    cl_ord_id: str = ""
    tag: str = ""
    ts: Millis = None
    s_code: str = "0"
    s_msg: str = ""
    req_id: str = ""

    @property
    def ok(self) -> bool:
        """Accepted: sCode "0" *and* an ordId; without one nothing proves the order exists."""
        return self.s_code == "0" and bool(self.ord_id)


class Order(OkxModel):
    inst_type: str = ""
    inst_id: str
    ord_id: str
    cl_ord_id: str = ""
    tag: str = ""
    px: Amount = None
    sz: Decimal
    ord_type: str
    side: str
    td_mode: str = ""
    tgt_ccy: str = ""
    acc_fill_sz: Amount = None
    fill_px: Amount = None
    fill_sz: Amount = None
    avg_px: Amount = None
    state: OrderState
    fee: Amount = None
    fee_ccy: str = ""
    c_time: Millis = None
    u_time: Millis = None
    #: Set on an order an algo order placed when it triggered (``source`` 7: TP/SL, 6: trigger,
    #: 25: trailing stop).
    algo_id: str = ""
    algo_cl_ord_id: str = ""
    source: str = ""

    @property
    def filled(self) -> Decimal:
        return self.acc_fill_sz or Decimal(0)

    @property
    def is_final(self) -> bool:
        return self.state.is_final


class Fill(OkxModel):
    inst_type: str = ""
    inst_id: str
    trade_id: str
    ord_id: str
    cl_ord_id: str = ""
    bill_id: str = ""
    side: str
    fill_px: Decimal
    fill_sz: Decimal
    fee: Amount = None
    fee_ccy: str = ""
    exec_type: str = ""
    ts: Millis = None


class MaxSize(OkxModel):
    """``account/max-size``: the largest order the account could place now. Spot ``max_buy``
    and ``max_sell`` are in the base currency (at the price asked, or the last price)."""

    inst_id: str
    ccy: str = ""
    max_buy: Decimal
    max_sell: Decimal


class MaxAvailSize(OkxModel):
    """``account/max-avail-size``: what is available to trade now; for spot ``avail_buy`` is in
    the quote currency and ``avail_sell`` in the base currency."""

    inst_id: str
    avail_buy: Decimal
    avail_sell: Decimal


class Bill(OkxModel):
    """One ``account/bills`` row: a change of one currency's balance. A spot fill is two trade
    bills (``type`` 2), one per currency; the fee rides on the leg it was charged in
    (``fee`` negative = paid), there is no separate fee bill."""

    bill_id: str
    type: str
    sub_type: str = ""
    ccy: str
    bal: Amount = None
    bal_chg: Decimal
    fee: Amount = None
    sz: Amount = None
    px: Amount = None
    inst_id: str = ""
    inst_type: str = ""
    mgn_mode: str = ""
    ord_id: str = ""
    cl_ord_id: str = ""
    trade_id: str = ""
    exec_type: str = ""
    ts: Millis = None


class DeadManTimer(OkxModel):
    """``trade/cancel-all-after``: when the venue cancels the account's orders unless re-armed.
    ``trigger_time`` is 0 when disarmed. OKX's documented example gives both figures in
    seconds (its other timestamps are ms); kept as sent."""

    trigger_time: int
    tag: str = ""
    ts: int
