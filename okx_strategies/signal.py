"""Signal: one order per authenticated alert (TradingView and the like), sized and bounded by the spec.

A ``kind: signal`` spec places nothing on a schedule. Its orders come from signals that
``okx-flows signals serve`` receives (``flows.signals``); this module is the pure part:

* the ``strategy:`` section: which instruments and actions (buy, sell, close) a signal may ask
  for, how an order is sized (``quote_amount`` per signal, or a ``share`` of the spec's sleeve),
  an optional take-profit / stop-loss on buys (``protection.Protect``), how a signal is
  authenticated (the *names* of its secrets: an environment variable or a Prefect Secret block,
  never a value), how old a signal may be and how long its id is remembered;
* ``parse_signal``: a request body to a ``Signal`` (the token taken out: a ``Signal`` never holds
  a secret, so it can be logged, stored and passed as a flow parameter), refusing with one line;
* ``order_for``: a signal, the venue's top of book and the spec's holdings to one ``PlannedOrder``
  or a ``Refusal`` that says why in one line.

Orders are IOC limits bounded by ``risk.max_slippage_bps`` around the mid: whatever the book holds
within the bound fills at once, the rest is cancelled by the venue, so nothing rests after a
signal and there is nothing to settle. A signal's size is the spec's decision, never the
sender's: an order over ``risk.max_order_notional`` or ``risk.max_run_notional`` (each signal is
one run) is refused, never resized. Sells and closes sell only what the spec's own signal orders
bought (its position), so a signal can never sell what another strategy holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from okx_strategies.base import Market, Needs, Risk, Run, Strategy, StrategySpec, Strict
from okx_strategies.fields import Amount, BlockName, InstId, Weight, Whole, int_range, problem, show
from okx_strategies.plan import (
    Plan,
    PlannedOrder,
    RiskLimits,
    SkippedLeg,
    limit_price,
    max_size_within,
    order_notional,
)
from okx_strategies.protection import Protect
from okx_wire.models import Instrument, OrderBook
from okx_wire.orders import client_order_id
from okx_wire.precision import format_decimal, round_size

Action = Literal["buy", "sell", "close"]
ACTIONS: Final[tuple[Action, ...]] = ("buy", "sell", "close")
#: The body fields a signal may carry (``docs/signals.md``); any other is refused, so a typo
#: such as ``acton`` is never ignored.
SIGNAL_FIELDS: Final = ("id", "time", "action", "instrument", "price", "comment", "token")
_REQUIRED: Final = ("id", "time", "action", "instrument")
_SIGNAL_ID = re.compile(r"[A-Za-z0-9._:+-]{1,64}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
ZERO: Final = Decimal(0)


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise problem(f"{show(value)} is not an environment variable name -- use uppercase letters, digits and "
                      "underscores, e.g. OKX_FLOWS_SIGNAL_HMAC")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


class SecretRef(Strict):
    """Where a signal secret is kept: ``{env: NAME}`` (an environment variable of the receiver)
    or ``{block: NAME}`` (a Prefect Secret block). The spec names it; the value is never in it."""

    env: EnvName | None = None
    block: BlockName | None = None

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.block is None):
            raise problem("give exactly one of env (a variable name) or block (a Secret block name) -- e.g. "
                          "{env: OKX_FLOWS_SIGNAL_HMAC}; never the secret itself")
        return self

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"Secret block {self.block}"


class SignalAuth(Strict):
    """How a signal proves it comes from its sender: an HMAC-SHA256 of the raw body in the
    ``X-Signature`` header (``hmac_secret``), and/or a shared ``token`` in the body (the weaker
    option, for senders such as TradingView that cannot sign)."""

    hmac_secret: SecretRef | None = None
    token: SecretRef | None = None

    @model_validator(mode="after")
    def _some(self) -> SignalAuth:
        if self.hmac_secret is None and self.token is None:
            raise problem("a signal spec needs hmac_secret, token or both -- e.g. auth: {hmac_secret: {env: "
                          "OKX_FLOWS_SIGNAL_HMAC}}")
        return self


class SignalSpec(StrategySpec):
    kind: Literal["signal"]
    #: The instruments a signal may trade; all in one quote currency (the sleeve's).
    instruments: list[InstId]
    actions: list[Action] = Field(default_factory=lambda: list(ACTIONS))
    #: Sizing, exactly one: the quote amount of each buy or sell, or a share of the sleeve (a buy:
    #: of the sleeve's quote; a sell: of the position). A close sells the whole position.
    quote_amount: Amount | None = None
    share: Weight | None = None
    #: Take-profit / stop-loss the venue arms on each buy once it fills.
    protect: Protect | None = None
    auth: SignalAuth
    #: A signal older (or further in the future) than this is refused as a replay.
    max_age_seconds: Annotated[Whole, int_range(1, 3600, "max_age_seconds")] = 60
    #: How long a signal id is remembered; a repeat within it is refused as a replay.
    remember_seconds: Annotated[Whole, int_range(60, 90 * 86_400, "remember_seconds")] = 86_400
    #: True: each signal becomes a deployment run of ``flows/signal.py`` (Prefect event -> trigger)
    #: instead of being placed by the resident executor (``okx-flows signals serve --durable``).
    durable: bool = False

    @field_validator("instruments")
    @classmethod
    def _instruments(cls, value: list[str]) -> list[str]:
        if not value:
            raise problem("a signal spec needs at least one instrument -- e.g. instruments: [BTC-USDT]")
        if len(set(value)) != len(value):
            raise problem("an instrument is listed twice -- list each once")
        quotes = sorted({inst.split("-", 1)[1] for inst in value})
        if len(quotes) > 1:
            raise problem(f"the instruments are quoted in {', '.join(quotes)} -- keep one quote currency per "
                          "signal spec (its sleeve's)")
        return value

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        if not value:
            raise problem("an empty list allows no action at all -- list buy, sell and/or close")
        return value

    @model_validator(mode="after")
    def _sizing(self) -> SignalSpec:
        if (self.quote_amount is None) == (self.share is None):
            raise problem("give exactly one of quote_amount (quote per order) or share (of the sleeve) -- e.g. "
                          "quote_amount: 100")
        if self.share is not None and self.share <= 0:
            raise problem(f"{show(self.share)} is not a share above 0 -- use e.g. 0.25 for a quarter", "share")
        if self.max_age_seconds >= self.remember_seconds:
            raise problem(f"max_age_seconds {self.max_age_seconds} must be below remember_seconds "
                          f"{self.remember_seconds} -- a signal id must be remembered longer than a signal lives",
                          "max_age_seconds")
        return self

    @property
    def quote_ccy(self) -> str:
        return self.instruments[0].split("-", 1)[1]

    def instrument_paths(self) -> dict[str, str]:
        return {inst_id: f"strategy.instruments.{i}" for i, inst_id in enumerate(self.instruments)}

    def needs(self) -> Needs:
        bases = [inst_id.split("-", 1)[0] for inst_id in self.instruments]
        return Needs([*bases, self.quote_ccy], list(self.instruments), self.quote_ccy)

    def risk_problem(self, risk: Risk) -> PydanticCustomError | None:
        if risk.approve_above is not None:
            return problem("a signal is placed in milliseconds and cannot wait for a person -- remove "
                           "risk.approve_above from a signal spec", "risk")
        if risk.max_drawdown is not None or risk.max_daily_loss is not None:
            return problem("the circuit breaker reads the NAV a scheduled run records, which signal runs do not "
                           "record -- remove risk.max_drawdown / max_daily_loss from a signal spec", "risk")
        if self.quote_amount is not None:
            for limit, name in ((risk.max_order_notional, "max_order_notional"),
                                (risk.max_run_notional, "max_run_notional")):
                if limit is not None and self.quote_amount > limit:
                    return problem(f"{show(self.quote_amount)} is above risk.{name} {show(limit)} -- lower it or "
                                   "raise the limit", "strategy.quote_amount")
        return None

    def resolve_instrument(self, raw: str) -> str:
        """The spec's instrument a signal names, accepting TradingView's ``{{ticker}}`` spelling
        (``BTCUSDT``, any case) for ``BTC-USDT``; otherwise the name as sent, upper-cased."""
        text = raw.strip().upper()
        for inst_id in self.instruments:
            if text in (inst_id, inst_id.replace("-", "")):
                return inst_id
        return text


# -- the signal -----------------------------------------------------------------------------------


class SignalError(ValueError):
    """A request body that is not a signal: ``str()`` is one line (the 400 answer)."""


class Signal(BaseModel):
    """One authenticated signal, as stored, logged and passed to the deployment path's flow.

    It holds no secret: the body's ``token`` is checked and dropped before a ``Signal`` exists."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: str
    signal_id: str
    #: When the sender says it fired (epoch ms, UTC).
    time_ms: int
    action: Action
    inst_id: str
    #: The sender's price ({{close}}): recorded, never traded at (the venue's book prices orders).
    price: Decimal | None = None
    comment: str = ""


def _time_ms(value: Any) -> int:
    """ISO 8601 (TradingView's ``{{timenow}}``: ``2026-01-05T14:30:00Z``) or epoch s / ms."""
    if isinstance(value, bool):
        raise SignalError("field 'time' is not a time -- send {{timenow}} or epoch seconds/ms")
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d{9,13}(\.\d+)?", value)):
        number = float(value)
        return int(number if number > 1e11 else number * 1000)
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SignalError(f"field 'time': {show(value)} is not a time -- send {{{{timenow}}}} "
                              "(ISO 8601, e.g. 2026-01-05T14:30:00Z) or epoch seconds/ms") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)
    raise SignalError("field 'time' is not a time -- send {{timenow}} or epoch seconds/ms")


def parse_signal(body: Any, strategy: SignalSpec, spec_name: str) -> tuple[Signal, str | None]:
    """The ``Signal`` in a decoded JSON body, and the body's token (None without one).

    Raises:
        SignalError: not a JSON object, an unknown or missing field, a value of the wrong shape
            (one line, naming the field; never quoting the token).
    """
    if not isinstance(body, dict):
        raise SignalError("the body is not a JSON object -- send {\"id\": ..., \"time\": ..., \"action\": ..., "
                          "\"instrument\": ...}")
    unknown = [str(k) for k in body if k not in SIGNAL_FIELDS]
    if unknown:
        raise SignalError(f"unknown field {show(unknown[0])}; allowed: {', '.join(SIGNAL_FIELDS)} -- remove it or "
                          "correct its spelling")
    missing = [k for k in _REQUIRED if body.get(k) in (None, "")]
    if missing:
        raise SignalError(f"missing field '{missing[0]}' -- every signal needs {', '.join(_REQUIRED)}")
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        raise SignalError("field 'token' is not text -- send it as a JSON string")
    signal_id = body["id"]
    if not isinstance(signal_id, str) or not _SIGNAL_ID.fullmatch(signal_id):
        raise SignalError(f"field 'id': {show(signal_id)} is not a signal id -- use 1-64 letters, digits and . _ : + -"
                          ", e.g. \"{{{{ticker}}}}-{{{{timenow}}}}\"")
    action = body["action"]
    if not isinstance(action, str) or action.strip().lower() not in ACTIONS:
        raise SignalError(f"field 'action': {show(action)} is not allowed; allowed: {', '.join(ACTIONS)} -- send "
                          "{{strategy.order.action}} or one of those")
    instrument = body["instrument"]
    if not isinstance(instrument, str) or not re.fullmatch(r"[A-Za-z0-9-]{2,32}(\.P)?", instrument.strip()):
        raise SignalError(f"field 'instrument': {show(instrument)} is not an instrument -- send e.g. BTC-USDT or "
                          "{{ticker}}")
    price: Decimal | None = None
    if body.get("price") not in (None, ""):
        raw = body["price"]
        try:
            price = Decimal(str(raw)) if not isinstance(raw, bool) else None
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite() or price <= 0:
            raise SignalError(f"field 'price': {show(raw)} is not a positive number -- send {{{{close}}}} or leave "
                              "it out")
    comment = body.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > 200:
        raise SignalError("field 'comment' must be text of at most 200 characters -- shorten it")
    signal = Signal(spec=spec_name, signal_id=signal_id, time_ms=_time_ms(body["time"]),
                    action=action.strip().lower(),  # type: ignore[arg-type]
                    inst_id=strategy.resolve_instrument(instrument), price=price,
                    comment=comment.encode("ascii", "replace").decode())
    return signal, token


def signal_cl_ord_id(spec_name: str, signal_id: str) -> str:
    """The clOrdId of a signal's order: from (spec, signal id) only, so every delivery of one
    signal, in any process and after any restart, names the same order."""
    return client_order_id(spec_name, signal_id, "sig")


# -- sizing and limits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a signal is not traded, in one line (the 422 answer and the signals table's reason)."""

    reason: str


@dataclass(frozen=True)
class Holdings:
    """What a signal may trade with: the sleeve's quote for buys (``quote``: None when the
    spec sizes by ``quote_amount`` and the account's available quote was not read), and the
    spec's position in the instrument's base currency (what its signal orders bought, net)."""

    quote: Decimal | None
    position: Decimal


def refusal_of(strategy: SignalSpec, risk: Risk, signal: Signal, instruments: Mapping[str, Instrument]
               ) -> Refusal | None:
    """The checks that need no price: the instrument and the action (before any venue read)."""
    if signal.inst_id not in strategy.instruments:
        return Refusal(f"unknown instrument {signal.inst_id}: this spec trades {', '.join(strategy.instruments)}")
    if risk.allowed_instruments is not None and signal.inst_id not in risk.allowed_instruments:
        return Refusal(f"{signal.inst_id} is not in risk.allowed_instruments")
    instrument = instruments.get(signal.inst_id)
    if instrument is None or not instrument.is_live:
        return Refusal(f"{signal.inst_id} is not a live instrument on this venue")
    if signal.action not in strategy.actions:
        return Refusal(f"action {signal.action} is not allowed by this spec (allowed: {', '.join(strategy.actions)})")
    return None


def order_for(strategy: SignalSpec, risk: RiskLimits, signal: Signal, book: OrderBook, instrument: Instrument,
              holdings: Holdings) -> PlannedOrder | Refusal:
    """The one order a signal asks for, priced from ``book`` now, or why there is none.

    A buy spends ``quote_amount`` (or ``share`` of the sleeve's quote) at a limit ``max_slippage_bps``
    above mid; a sell sells that much (``share``: of the position) at a limit below mid, at most
    the position; a close sells the whole position. Sizes are rounded down to the lot; an order
    under the minimum size, or worth more than a notional limit allows, is refused.
    """
    inst_id, mid = instrument.inst_id, book.mid
    if mid is None or mid <= 0 or book.best_ask is None or book.best_bid is None:
        return Refusal(f"{inst_id}: the order book has no bids or no asks; no price to trade at")
    side: Literal["buy", "sell"] = "buy" if signal.action == "buy" else "sell"
    px = limit_price(mid, side, risk.slippage, instrument.tick_sz)
    if px is None or px <= 0:
        return Refusal(f"{inst_id}: the limit price rounds to 0 at tick size {format_decimal(instrument.tick_sz)}")
    if side == "buy":
        if strategy.quote_amount is not None:
            spend = strategy.quote_amount
        else:
            assert strategy.share is not None
            spend = (holdings.quote or ZERO) * strategy.share
        if holdings.quote is not None and spend > holdings.quote:
            spend = holdings.quote
        sz = max_size_within(spend, px, instrument.lot_sz)
        what = f"buy {format_decimal(spend.quantize(Decimal('0.01')))} {strategy.quote_ccy} of {inst_id}"
    else:
        if holdings.position <= 0:
            return Refusal(f"{signal.action} {inst_id}: this spec holds no {instrument.base_ccy or inst_id} "
                           "(its signal orders bought none)")
        if signal.action == "close":
            wanted = holdings.position
        elif strategy.quote_amount is not None:
            wanted = strategy.quote_amount / mid
        else:
            assert strategy.share is not None
            wanted = holdings.position * strategy.share
        sz = round_size(min(wanted, holdings.position), instrument.lot_sz)
        what = f"{signal.action}: sell {format_decimal(sz)} of the {format_decimal(holdings.position)} held"
    if sz <= 0 or sz < instrument.min_sz:
        return Refusal(f"{inst_id}: {signal.action} of {format_decimal(sz)} is under the minimum size "
                       f"{format_decimal(instrument.min_sz)}")
    notional = order_notional(sz, px, mid, "ioc")
    for limit, name in ((risk.max_order_notional, "max_order_notional"), (risk.max_run_notional, "max_run_notional")):
        if limit is not None and notional > limit:
            return Refusal(f"{inst_id}: {side} worth up to {format_decimal(notional.quantize(Decimal('0.01')))} is "
                           f"over risk.{name} {format_decimal(limit)}")
    tp_sl = None
    reason = f"signal {signal.signal_id}: {what} at up to {format_decimal(px)}"
    if side == "buy" and strategy.protect is not None:
        tp_sl = strategy.protect.legs("buy", px, instrument.tick_sz)
        reason += f"; {strategy.protect.describe(tp_sl)}"
    return PlannedOrder(leg="sig", inst_id=inst_id, side=side, ord_type="ioc", sz=sz, px=px, notional=notional,
                        reason=reason, tp_sl=tp_sl)


# -- the registry's view: a signal spec plans nothing on a schedule --------------------------------


def plan(strategy: SignalSpec, risk: RiskLimits, market: Market) -> Plan:
    """Nothing to place now: a signal spec trades only when a signal arrives."""
    view = Plan(kind="signal", quote_ccy=strategy.quote_ccy, needs_trading=False)
    view.skipped.append(SkippedLeg(leg="-", inst_id=", ".join(strategy.instruments), reason=(
        "a signal spec places orders only when a signal arrives -- serve it with okx-flows signals serve")))
    return view


def execute(run: Run) -> None:
    """Nothing: each signal's order is placed by ``flows.signals`` (resident) or ``flows.signal``."""


STRATEGY = Strategy(kind="signal", spec=SignalSpec, plan=plan, execute=execute, position=50,
                    summary="one order per authenticated signal (TradingView alerts), within the spec's limits")
