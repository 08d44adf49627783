"""Algo orders: conditional (TP/SL), oco, trigger and trailing stops (client methods and models).

The requests are validated before anything is sent (``AlgoOrderRequest``, ``AlgoAmend``,
``AlgoRef``); the answers are typed (``AlgoAck``, ``AlgoOrder``). Protection attached to an
ordinary order is ``okx_wire.orders.TpSl`` on ``OrderRequest.tp_sl``.

Placing an algo order once, whatever retries happen (``place_algo_once``), follows
``okx_wire.placement``: every algo order carries an ``algoClOrdId``; when an earlier attempt may
have sent it, or a send's outcome is unknown, the algo is looked up by that id before anything is
sent again; OKX's 51065 "algoClOrdId already exists" means it is live: adopt it. OKX takes no
``expTime`` on order-algo, so a send delayed in the network for longer than the lookup could
still land after it; while that first algo is pending OKX refuses the resend (51065), which is
why every resend goes out with the same id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from okx_wire.calls import CallsOkx
from okx_wire.endpoints import MAX_ALGO_CANCELS, PAGE_LIMIT, E
from okx_wire.errors import AmbiguousReply, ConfigurationError, DuplicateClientOrderId, OkxError, OrderNotFound
from okx_wire.models import Amount, Millis, OkxModel, OrderAck
from okx_wire.orders import CL_ORD_ID_PATTERN, MARKET_PX, TpSl
from okx_wire.precision import format_decimal
from okx_wire.runtime import RUNTIME

log = logging.getLogger(__name__)

#: The algo types this client places (OKX also has twap, iceberg and chase; see docs/algo-orders.md).
AlgoOrdType = Literal["conditional", "oco", "trigger", "move_order_stop"]
#: The only ordTypes the algo listings take together.
COMBINABLE_ALGO_TYPES: Final = frozenset({"conditional", "oco"})


class AlgoState(StrEnum):
    LIVE = "live"
    PAUSE = "pause"
    PARTIALLY_EFFECTIVE = "partially_effective"
    EFFECTIVE = "effective"
    CANCELED = "canceled"
    ORDER_FAILED = "order_failed"
    PARTIALLY_FAILED = "partially_failed"


#: An algo order in these states can still trigger (OKX lists them in orders-algo-pending).
PENDING_ALGO_STATES: Final = frozenset({AlgoState.LIVE, AlgoState.PAUSE, AlgoState.PARTIALLY_EFFECTIVE})


class AlgoOrderRequest(BaseModel):
    """One algo order, validated before anything is sent.

    - ``conditional``: ``tp_sl`` with one leg (OKX applies only the SL when both are sent, so
      both are refused here: use ``oco``);
    - ``oco``: ``tp_sl`` with both legs; whichever triggers first cancels the other;
    - ``trigger``: ``trigger_px``, and ``order_px`` (None: market); ``advance_ord_type`` makes the
      order fok/ioc; ``attached`` is protection for the order it places. OKX freezes nothing for
      it and places what the balance allows when it triggers;
    - ``move_order_stop`` (trailing stop): ``callback_ratio`` (0.05 = 5 %) or ``callback_spread``
      (a price distance), optionally from ``active_px`` on; it places a market order.

    ``sz`` is in base units, except a conditional/oco market buy with ``tgt_ccy="quote_ccy"``
    (OKX's default for that case when the request names none).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    inst_id: str
    side: Literal["buy", "sell"]
    ord_type: AlgoOrdType
    sz: Decimal
    #: None: the account's own spot mode (``OkxClient.spot_td_mode``).
    td_mode: Literal["cash", "cross", "isolated"] | None = None
    algo_cl_ord_id: str | None = None
    tag: str | None = None
    tgt_ccy: Literal["base_ccy", "quote_ccy"] | None = None
    tp_sl: TpSl | None = None
    trigger_px: Decimal | None = None
    order_px: Decimal | None = None
    advance_ord_type: Literal["fok", "ioc"] | None = None
    attached: TpSl | None = None
    callback_ratio: Decimal | None = None
    callback_spread: Decimal | None = None
    active_px: Decimal | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AlgoOrderRequest:
        if not self.sz.is_finite() or self.sz <= 0:
            raise ValueError(f"algo order size must be a positive number, got {self.sz}")
        if self.algo_cl_ord_id is not None and not CL_ORD_ID_PATTERN.fullmatch(self.algo_cl_ord_id):
            raise ValueError(f"algoClOrdId {self.algo_cl_ord_id!r} must be 1-32 letters and digits (OKX's rule)")
        for name in ("trigger_px", "order_px", "callback_spread", "active_px"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        kind = self.ord_type
        tpsl = kind in COMBINABLE_ALGO_TYPES
        trailing = kind == "move_order_stop"
        self._only(tpsl, "tp_sl")
        self._only(kind == "trigger", "trigger_px", "order_px", "advance_ord_type", "attached")
        self._only(trailing, "callback_ratio", "callback_spread", "active_px")
        if tpsl:
            if self.tp_sl is None:
                raise ValueError(f"a {kind} order needs tp_sl")
            if self.tp_sl.attach_algo_cl_ord_id is not None:
                raise ValueError("an algo order's own id is algo_cl_ord_id; attach_algo_cl_ord_id is for attachments")
            if kind == "oco" and not self.tp_sl.both:
                raise ValueError("an oco order needs both a take-profit and a stop-loss")
            if kind == "conditional" and self.tp_sl.both:
                raise ValueError("OKX applies only the stop-loss of a conditional order with both legs: use oco")
            self.tp_sl.check_side("sell" if self.side == "buy" else "buy")
        if self.tgt_ccy == "quote_ccy" and not (
                tpsl and self.side == "buy" and self.tp_sl is not None
                and self.tp_sl.tp_ord_px is None and self.tp_sl.sl_ord_px is None):
            raise ValueError("tgtCcy quote_ccy is for a conditional/oco market buy only")
        if self.tgt_ccy is not None and not tpsl:
            raise ValueError(f"OKX takes no tgtCcy on a {kind} order (51281)")
        if kind == "trigger" and self.trigger_px is None:
            raise ValueError("a trigger order needs trigger_px")
        if self.advance_ord_type is not None and self.order_px is None:
            raise ValueError("advance_ord_type (fok/ioc) needs a limit order_px")
        if trailing:
            if (self.callback_ratio is None) == (self.callback_spread is None):
                raise ValueError("a trailing stop needs exactly one of callback_ratio and callback_spread")
            if self.callback_ratio is not None and not 0 < self.callback_ratio < 1:
                raise ValueError(f"callback_ratio is a fraction (0.05 = 5%), got {self.callback_ratio}")
        return self

    def _only(self, allowed: bool, *names: str) -> None:
        for name in names:
            if not allowed and getattr(self, name) is not None:
                raise ValueError(f"{name} does not apply to a {self.ord_type} order")

    def payload(self, account_td_mode: str = "cash") -> dict[str, Any]:
        """The JSON object OKX expects (numbers as plain strings, absent fields left out)."""
        body: dict[str, Any] = {"instId": self.inst_id, "tdMode": self.td_mode or account_td_mode, "side": self.side,
                                "ordType": self.ord_type, "sz": format_decimal(self.sz)}
        if self.algo_cl_ord_id is not None:
            body["algoClOrdId"] = self.algo_cl_ord_id
        if self.tag is not None:
            body["tag"] = self.tag
        if self.tgt_ccy is not None:
            body["tgtCcy"] = self.tgt_ccy
        if self.tp_sl is not None:
            body.update(self.tp_sl.legs_payload())
        if self.trigger_px is not None:
            body["triggerPx"] = format_decimal(self.trigger_px)
            body["orderPx"] = format_decimal(self.order_px if self.order_px is not None else MARKET_PX)
            body["triggerPxType"] = "last"
        if self.advance_ord_type is not None:
            body["advanceOrdType"] = self.advance_ord_type
        if self.attached is not None:
            body["attachAlgoOrds"] = [self.attached.attach_payload()]
        for name, key in (("callback_ratio", "callbackRatio"), ("callback_spread", "callbackSpread"),
                          ("active_px", "activePx")):
            value = getattr(self, name)
            if value is not None:
                body[key] = format_decimal(value)
        return body


class AlgoRef(BaseModel):
    """One algo order to cancel: ``algo_id`` (which OKX prefers) or ``algo_cl_ord_id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inst_id: str
    algo_id: str | None = None
    algo_cl_ord_id: str | None = None

    @model_validator(mode="after")
    def _named(self) -> AlgoRef:
        if not self.algo_id and not self.algo_cl_ord_id:
            raise ValueError("name the algo order by algo_id or algo_cl_ord_id")
        return self

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"instId": self.inst_id}
        if self.algo_id:
            body["algoId"] = self.algo_id
        if self.algo_cl_ord_id:
            body["algoClOrdId"] = self.algo_cl_ord_id
        return body


class AlgoAmend(BaseModel):
    """An amendment of a conditional/oco (its legs, its size) or a trigger order (its trigger and
    order price, both required by OKX, and size). Every value is absolute, so a resend is
    harmless. A leg's order price of ``MARKET_PX`` (-1) means market; ``delete_tp``/``delete_sl``
    remove a leg (OKX's ``0``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inst_id: str
    algo_id: str | None = None
    algo_cl_ord_id: str | None = None
    new_sz: Decimal | None = None
    new_tp_trigger_px: Decimal | None = None
    new_tp_ord_px: Decimal | None = None
    new_sl_trigger_px: Decimal | None = None
    new_sl_ord_px: Decimal | None = None
    delete_tp: bool = False
    delete_sl: bool = False
    new_trigger_px: Decimal | None = None
    new_ord_px: Decimal | None = None
    req_id: str | None = None
    cancel_on_fail: bool = False

    @model_validator(mode="after")
    def _complete(self) -> AlgoAmend:
        if not self.algo_id and not self.algo_cl_ord_id:
            raise ValueError("an amendment names its algo order: algo_id or algo_cl_ord_id")
        for name in ("new_sz", "new_tp_trigger_px", "new_sl_trigger_px", "new_trigger_px"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        for name in ("new_tp_ord_px", "new_sl_ord_px", "new_ord_px"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or (value <= 0 and value != MARKET_PX)):
                raise ValueError(f"{name} must be a positive price or MARKET_PX (-1), got {value}")
        if self.delete_tp and (self.new_tp_trigger_px is not None or self.new_tp_ord_px is not None):
            raise ValueError("delete_tp with a new take-profit: choose one")
        if self.delete_sl and (self.new_sl_trigger_px is not None or self.new_sl_ord_px is not None):
            raise ValueError("delete_sl with a new stop-loss: choose one")
        if (self.new_trigger_px is None) != (self.new_ord_px is None):
            raise ValueError("OKX needs both new_trigger_px and new_ord_px to amend a trigger order")
        tpsl = any(getattr(self, n) is not None for n in ("new_tp_trigger_px", "new_tp_ord_px", "new_sl_trigger_px",
                                                          "new_sl_ord_px")) or self.delete_tp or self.delete_sl
        if tpsl and self.new_trigger_px is not None:
            raise ValueError("an amendment changes TP/SL legs or a trigger price, not both")
        if not tpsl and self.new_trigger_px is None and self.new_sz is None:
            raise ValueError("an amendment changes something: a leg, the trigger or new_sz")
        return self

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"instId": self.inst_id}
        if self.algo_id:
            body["algoId"] = self.algo_id
        if self.algo_cl_ord_id:
            body["algoClOrdId"] = self.algo_cl_ord_id
        values = (("newSz", self.new_sz), ("newTpTriggerPx", self.new_tp_trigger_px),
                  ("newTpOrdPx", self.new_tp_ord_px), ("newSlTriggerPx", self.new_sl_trigger_px),
                  ("newSlOrdPx", self.new_sl_ord_px), ("newTriggerPx", self.new_trigger_px),
                  ("newOrdPx", self.new_ord_px))
        for key, value in values:
            if value is not None:
                body[key] = format_decimal(value)
        if self.delete_tp:
            body["newTpTriggerPx"] = body["newTpOrdPx"] = "0"
        if self.delete_sl:
            body["newSlTriggerPx"] = body["newSlOrdPx"] = "0"
        if self.req_id is not None:
            body["reqId"] = self.req_id
        if self.cancel_on_fail:
            body["cxlOnFail"] = True
        return body


class AlgoAck(OkxModel):
    """One item of an order-algo, cancel-algos or amend-algos answer."""

    algo_id: str = ""
    algo_cl_ord_id: str = ""
    tag: str = ""
    s_code: str = "0"
    s_msg: str = ""
    req_id: str = ""

    @property
    def ok(self) -> bool:
        """Accepted: sCode "0" *and* an algoId; without one nothing proves the algo exists."""
        return self.s_code == "0" and bool(self.algo_id)

    def as_order_ack(self) -> OrderAck:
        """The same outcome as an ``OrderAck``, for ``item_error``, the one place sCodes become errors."""
        return OrderAck(ord_id=self.algo_id, cl_ord_id=self.algo_cl_ord_id, tag=self.tag, s_code=self.s_code,
                        s_msg=self.s_msg, req_id=self.req_id)


class AlgoOrder(OkxModel):
    """An algo order as OKX reports it (order-algo, orders-algo-pending, orders-algo-history).

    ``ord_id``/``ord_id_list`` name the order it placed once triggered (``effective``); an
    ``order_failed`` one says why in ``fail_code``. Order prices of ``-1`` mean market.
    """

    algo_id: str
    algo_cl_ord_id: str = ""
    inst_type: str = ""
    inst_id: str
    ord_type: str
    side: str
    td_mode: str = ""
    sz: Decimal
    tgt_ccy: str = ""
    state: AlgoState
    tag: str = ""
    tp_trigger_px: Amount = None
    tp_ord_px: Amount = None
    sl_trigger_px: Amount = None
    sl_ord_px: Amount = None
    trigger_px: Amount = None
    ord_px: Amount = None
    callback_ratio: Amount = None
    callback_spread: Amount = None
    active_px: Amount = None
    move_trigger_px: Amount = None
    actual_sz: Amount = None
    actual_px: Amount = None
    actual_side: str = ""
    trigger_time: Millis = None
    ord_id: str = ""
    ord_id_list: list[str] = Field(default_factory=list)
    fail_code: str = ""
    last: Amount = None
    c_time: Millis = None
    u_time: Millis = None

    @property
    def is_pending(self) -> bool:
        return self.state in PENDING_ALGO_STATES


def _ord_types(ord_types: Sequence[str]) -> str:
    types = list(dict.fromkeys(ord_types))
    if not types or (len(types) > 1 and not set(types) <= COMBINABLE_ALGO_TYPES):
        raise ConfigurationError(f"OKX lists one algo ordType at a time (only conditional,oco combine), got {types}")
    return ",".join(types)


class AlgoOrdersApi(CallsOkx):
    """OKX's algo-order endpoints (mixed into ``OkxClient``)."""

    def place_algo_order(self, request: AlgoOrderRequest) -> AlgoAck:
        """Place one algo order. The client never resends it: see ``place_algo_once`` for that.

        Args:
            request: the order; give it an ``algo_cl_ord_id`` so a lost answer can be looked up.

        Returns:
            The acknowledgement, with the ``algoId``.

        Raises:
            OkxError: the item's refusal (trigger price vs last price 51277-51280, funds 51008,
                duplicate algoClOrdId 51065...), or one with ``outcome_unknown``.
        """
        endpoint = E.place_algo
        td_mode = request.td_mode or self.spot_td_mode()
        envelope = self._call(endpoint, payload=request.payload(td_mode), inst_ids=(request.inst_id,))
        return self._algo_ack(envelope, endpoint.method, endpoint.path)

    def _algo_ack(self, envelope: dict[str, Any], method: str, path: str) -> AlgoAck:
        data = envelope["data"]
        item = data[0] if data else None
        if not isinstance(item, dict):
            raise AmbiguousReply("the answer carries no algo item; the request may or may not have been applied",
                                 code=str(envelope.get("code", "")), request=f"{method} {path}",
                                 hint="look the algo order up by its algoClOrdId")
        ack = AlgoAck.model_validate(item)
        error = self.item_error(ack.as_order_ack(), method, path)
        if error is not None:
            raise error
        return ack

    def cancel_algo_orders(self, refs: Sequence[AlgoRef]) -> list[AlgoAck]:
        """Cancel up to 10 algo orders in one request.

        Returns:
            Every item's outcome, in order (``ack.ok``; 51400 means already triggered, cancelled
            or unknown). An item's refusal is never raised.

        Raises:
            ConfigurationError: no refs or more than 10 (refused before sending).
        """
        if not 1 <= len(refs) <= MAX_ALGO_CANCELS:
            raise ConfigurationError(f"cancel-algos takes 1..{MAX_ALGO_CANCELS} algo orders, got {len(refs)}")
        envelope = self._call(E.cancel_algos, payload=[r.payload() for r in refs], inst_ids=[r.inst_id for r in refs])
        return [AlgoAck.model_validate(item) for item in envelope["data"]]

    def amend_algo_order(self, amend: AlgoAmend) -> AlgoAck:
        """Amend a conditional, oco or trigger order (values absolute: a resend is harmless).

        Raises:
            OkxError: the item's refusal (51503 already final, 51506 a type OKX cannot amend...).
        """
        endpoint = E.amend_algos
        envelope = self._call(endpoint, payload=amend.payload(), inst_ids=(amend.inst_id,))
        return self._algo_ack(envelope, endpoint.method, endpoint.path)

    def algo_order(self, *, algo_id: str | None = None, algo_cl_ord_id: str | None = None) -> AlgoOrder:
        """One algo order, whatever its state, by algoId (which wins) or algoClOrdId (the latest).

        Raises:
            ConfigurationError: neither id given.
            OrderNotFound: OKX has no such algo order.
        """
        if not algo_id and not algo_cl_ord_id:
            raise ConfigurationError("name the algo order by algo_id or algo_cl_ord_id")
        data = self._call(E.get_algo, params={"algoId": algo_id, "algoClOrdId": algo_cl_ord_id})["data"]
        if not data:
            raise OrderNotFound("Order does not exist", code="51603", request=f"GET {E.get_algo.path}")
        return AlgoOrder.model_validate(data[0])

    def find_algo_order(self, algo_cl_ord_id: str) -> AlgoOrder | None:
        """The latest algo order with this algoClOrdId, or None: the question a retry asks."""
        try:
            return self.algo_order(algo_cl_ord_id=algo_cl_ord_id)
        except OrderNotFound:
            return None

    def pending_algo_orders(self, ord_types: Sequence[str] = ("conditional", "oco"), *, inst_id: str | None = None,
                            inst_type: str = "SPOT", after: str | None = None,
                            limit: int = PAGE_LIMIT) -> list[AlgoOrder]:
        """One page of algo orders that can still trigger, newest first.

        Args:
            ord_types: OKX's ``ordType`` (required): one type, or conditional and oco together.
            after: an ``algo_id``: the page of older ones.
        """
        params = {"ordType": _ord_types(ord_types), "instType": inst_type, "instId": inst_id, "after": after,
                  "limit": limit}
        return [AlgoOrder.model_validate(item) for item in self._call(E.algos_pending, params=params)["data"]]

    def algo_order_history(self, ord_types: Sequence[str] = ("conditional", "oco"), *, state: str | None = None,
                           algo_id: str | None = None, inst_id: str | None = None, inst_type: str = "SPOT",
                           after: str | None = None, limit: int = PAGE_LIMIT) -> list[AlgoOrder]:
        """One page of final algo orders of the last 3 months, newest first.

        Args:
            state: ``effective``, ``canceled`` or ``order_failed``; OKX needs it or ``algo_id``.

        Raises:
            ConfigurationError: neither ``state`` nor ``algo_id``.
        """
        if state is None and algo_id is None:
            raise ConfigurationError("orders-algo-history needs a state (effective, canceled, order_failed) "
                                     "or an algo_id")
        params = {"ordType": _ord_types(ord_types), "state": state, "algoId": algo_id, "instType": inst_type,
                  "instId": inst_id, "after": after, "limit": limit}
        return [AlgoOrder.model_validate(item) for item in self._call(E.algos_history, params=params)["data"]]


# -- placing once -----------------------------------------------------------------------------------


class AlgoSends:
    """The algoClOrdIds this process has sent, so a later attempt knows to look first."""

    def __init__(self) -> None:
        self._sent: set[str] = set()
        self._lock = threading.Lock()

    def sent(self, algo_cl_ord_id: str) -> bool:
        with self._lock:
            return algo_cl_ord_id in self._sent

    def record(self, algo_cl_ord_id: str) -> None:
        with self._lock:
            self._sent.add(algo_cl_ord_id)

    def forget(self) -> None:
        with self._lock:
            self._sent.clear()


#: This process's algo sends, emptied by ``RUNTIME.reset``.
PROCESS_ALGO_SENDS: Final = AlgoSends()
RUNTIME.on_reset(PROCESS_ALGO_SENDS.forget)


class AlgoPlacement(BaseModel):
    """The outcome of placing one algo order: placed (new or adopted)."""

    model_config = ConfigDict(frozen=True)

    inst_id: str
    algo_cl_ord_id: str
    algo_id: str
    adopted: bool = False
    state: str = "live"


def _adopted(found: AlgoOrder) -> AlgoPlacement:
    return AlgoPlacement(inst_id=found.inst_id, algo_cl_ord_id=found.algo_cl_ord_id, algo_id=found.algo_id,
                         adopted=True, state=found.state.value)


def place_algo_once(client: AlgoOrdersApi, request: AlgoOrderRequest, *, resend: bool,
                    sends: AlgoSends = PROCESS_ALGO_SENDS) -> AlgoPlacement:
    """Place ``request`` unless an algo order with its algoClOrdId already exists.

    Args:
        client: the client (``OkxClient``).
        request: the algo order, with its deterministic ``algo_cl_ord_id``.
        resend: an earlier attempt may have sent it even if ``sends`` has no record (a Prefect
            retry, a rerun).
        sends: where sends are recorded before they leave; default: this process.

    Returns:
        The placement; ``adopted`` when the algo order already existed (in any state: one that
        already triggered or was cancelled was placed, and is not placed again).

    Raises:
        ConfigurationError: the request has no ``algo_cl_ord_id``.
        OkxError: a refusal, or an unknown outcome the lookup could not settle (the caller's
            retry comes back here with ``resend=True``).
    """
    cl = request.algo_cl_ord_id
    if not cl:
        raise ConfigurationError(f"{request.inst_id}: algo orders need an algo_cl_ord_id to be retry-safe; derive "
                                 "one with okx_wire.orders.client_order_id(flow_run_id, spec_name, leg)")
    if request.td_mode is None:
        client.spot_td_mode()  # a failed read of the account mode sends and records nothing
    if resend or sends.sent(cl):
        found = client.find_algo_order(cl)
        if found is not None:
            log.info("algoClOrdId %s already exists as algo %s: adopted, not resent", cl, found.algo_id)
            return _adopted(found)
    sends.record(cl)
    try:
        ack = client.place_algo_order(request)
    except DuplicateClientOrderId:
        found = client.find_algo_order(cl)
        if found is None:
            raise
        return _adopted(found)
    except OkxError as exc:
        if not exc.outcome_unknown:
            raise
        found = client.find_algo_order(cl)
        if found is None:
            raise
        log.info("algoClOrdId %s: send failed (%s) but the algo exists: adopted", cl, type(exc).__name__)
        return _adopted(found)
    # ``place_algo_order`` raised AmbiguousReply (outcome unknown, handled above) for a success
    # without an algoId, so the ack names the algo.
    return AlgoPlacement(inst_id=request.inst_id, algo_cl_ord_id=cl, algo_id=ack.algo_id)
