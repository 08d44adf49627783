"""OKX errors: one exception hierarchy and one table from OKX code to class, status and message.

The table is the only place that decides what an OKX code means. The client raises from it and
the simulator answers from it (HTTP status and message text), so the two cannot drift apart.
Codes, statuses and messages follow ``shared/okx/API-FACTS.md`` section 4, not the seed article
(which has three rows wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from okx_wire.endpoints import REGIONS, REQUEST_WINDOW_MS


class OkxError(Exception):
    """Base of everything this package raises about OKX.

    ``retriable`` says whether sending the same request again, after a wait, can succeed and is
    safe. It never says whether an order went out: for that see ``outcome_unknown``.
    """

    retriable: ClassVar[bool] = False
    #: True when the request may have been applied although we got no success answer.
    outcome_unknown: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        hint: str | None = None,
        request: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.http_status = http_status
        self.hint = hint
        self.request = request
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.code is not None:
            parts.append(f"OKX {self.code}")
        if self.request:
            parts.append(self.request)
        head = f"[{' '.join(parts)}] " if parts else ""
        text = f"{head}{self.message}"
        if self.hint:
            text += f" -- {self.hint}"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions cross process and pickle boundaries (Prefect states); keep the keywords.
        return (_rebuild, (type(self), self.message, self.code, self.http_status, self.hint, self.request))


def _rebuild(cls: type[OkxError], message: str, code: str | None, http_status: int | None,
             hint: str | None, request: str | None) -> OkxError:
    return cls(message, code=code, http_status=http_status, hint=hint, request=request)


class ConfigurationError(OkxError):
    """Local set-up is wrong (missing credential, bad URL); nothing was sent."""


class NetworkError(OkxError):
    """The connection failed before any answer; for an order the outcome is unknown."""

    retriable = True
    outcome_unknown = True


class ConnectionFailed(NetworkError):
    """The connection could not be made at all: the request never left, so resending is safe."""

    outcome_unknown = False


class RequestTimeout(NetworkError):
    """No answer in time, or OKX's 50004: the request may or may not have been applied."""


class AmbiguousReply(NetworkError):
    """An answer came, but it does not say whether the request was applied.

    A success-shaped order answer without an ``ordId``, or an unreadable answer to a trade
    request: treat it like a lost reply and look the order up by its clOrdId.
    """


class UnexpectedReply(OkxError):
    """The venue answered with something that is not an OKX answer (a redirect, an HTML page,
    JSON without an OKX envelope, an oversized body); nothing here says the request was applied."""


class ExchangeUnavailable(OkxError):
    """OKX is busy, in maintenance or failed internally (5xx, 50001, 50013, 50026)."""

    retriable = True
    outcome_unknown = True


class RateLimitError(OkxError):
    """Over an OKX rate budget (50011, 50061): nothing was applied; wait for the window."""

    retriable = True


class AuthenticationError(OkxError):
    """The request was not authenticated; repeating it will not help."""


class TimestampError(AuthenticationError):
    """OK-ACCESS-TIMESTAMP expired (50102) or malformed (50112): the clock is off.

    The client re-syncs and retries once by itself; this reaches users only when that failed.
    """


class InvalidSignature(AuthenticationError):
    """OK-ACCESS-SIGN did not verify (50113): wrong secret key, or signed bytes != sent bytes."""


class InvalidPassphrase(AuthenticationError):
    """OK-ACCESS-PASSPHRASE is wrong (50105) or missing (50104)."""


class InvalidApiKey(AuthenticationError):
    """The API key is unknown here (50111, 50119): wrong key, or the wrong regional host."""


class EnvironmentMismatch(AuthenticationError):
    """A demo key on live, or a live key on demo (50101)."""


class PermissionDenied(OkxError):
    """The key may not do this (50120), or the IP is not whitelisted (50110, 50035)."""


class InvalidRequest(OkxError):
    """The request is malformed or a parameter is wrong (50000, 50002, 50014, 51000...)."""


class InvalidOrder(InvalidRequest):
    """The order breaks an instrument rule: size under minimum, off lot size, price off tick."""


class UnknownInstrument(InvalidRequest):
    """The instrument does not exist (51001)."""


class InsufficientBalance(OkxError):
    """Not enough available balance for the order (51008, 51131, 51127, 51119)."""


class DuplicateClientOrderId(OkxError):
    """A pending order already has this clOrdId (51016): the order was already placed."""


class OrderNotFound(OkxError):
    """No such order, or it is already final (51603, 51400, 51503)."""


class OrderExpired(OkxError):
    """The order's expTime passed before OKX processed it (50037): it was not placed."""


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """What one OKX code means: the exception class, the HTTP status OKX answers with, its text."""

    cls: type[OkxError]
    http_status: int
    message: str


#: The one table. Messages are OKX's own wording (``{0}`` is OKX's parameter placeholder).
ERROR_CODES: dict[str, ErrorCode] = {
    "1": ErrorCode(OkxError, 200, "All operations failed"),
    "2": ErrorCode(OkxError, 200, "Bulk operation partially succeeded."),
    "50000": ErrorCode(InvalidRequest, 400, "Body for POST request cannot be empty."),
    "50001": ErrorCode(ExchangeUnavailable, 503, "Service temporarily unavailable. Try again later"),
    "50002": ErrorCode(InvalidRequest, 400, "JSON syntax error"),
    "50004": ErrorCode(RequestTimeout, 400, "API endpoint request timeout (does not mean that the request was successful or failed, please check the request result)."),
    "50005": ErrorCode(ExchangeUnavailable, 410, "API is offline or unavailable."),
    "50006": ErrorCode(InvalidRequest, 400, 'Invalid Content-Type. Please use "application/JSON".'),
    "50011": ErrorCode(RateLimitError, 429, "Too Many Requests"),
    "50013": ErrorCode(ExchangeUnavailable, 429, "Systems are busy. Please try again later."),
    "50014": ErrorCode(InvalidRequest, 400, "Parameter {0} can't be empty."),
    "50026": ErrorCode(ExchangeUnavailable, 500, "System error. Try again later"),
    "50035": ErrorCode(PermissionDenied, 403, "This endpoint requires that APIKey must be bound to IP"),
    "50036": ErrorCode(InvalidRequest, 200, "The expTime can't be earlier than the current system time. Please adjust the expTime and try again."),
    "50037": ErrorCode(OrderExpired, 200, "Order expired."),
    "50038": ErrorCode(PermissionDenied, 200, "This feature is unavailable in demo trading"),
    "50061": ErrorCode(RateLimitError, 200, "You've reached the maximum order rate limit for this account."),
    "50071": ErrorCode(DuplicateClientOrderId, 200, "{0} already exists"),
    "50100": ErrorCode(AuthenticationError, 400, "API frozen, please contact customer service."),
    "50101": ErrorCode(EnvironmentMismatch, 401, "APIKey does not match current environment."),
    "50102": ErrorCode(TimestampError, 401, "Timestamp request expired"),
    "50103": ErrorCode(AuthenticationError, 401, 'Request header "OK-ACCESS-KEY" can\'t be empty.'),
    "50104": ErrorCode(InvalidPassphrase, 401, 'Request header "OK-ACCESS-PASSPHRASE" can\'t be empty.'),
    "50105": ErrorCode(InvalidPassphrase, 401, 'Request header "OK-ACCESS-PASSPHRASE" incorrect.'),
    "50106": ErrorCode(AuthenticationError, 401, 'Request header "OK-ACCESS-SIGN" can\'t be empty.'),
    "50107": ErrorCode(AuthenticationError, 401, 'Request header "OK-ACCESS-TIMESTAMP" can\'t be empty.'),
    "50110": ErrorCode(PermissionDenied, 401, "Your IP {0} is not included in your API key's IP whitelist."),
    "50111": ErrorCode(InvalidApiKey, 401, "Invalid OK-ACCESS-KEY."),
    "50112": ErrorCode(TimestampError, 401, "Invalid OK-ACCESS-TIMESTAMP."),
    "50113": ErrorCode(InvalidSignature, 401, "Invalid Sign"),
    "50114": ErrorCode(AuthenticationError, 401, "Invalid authorization."),
    "50115": ErrorCode(InvalidRequest, 405, "Invalid request method."),
    "50119": ErrorCode(InvalidApiKey, 200, "API key doesn't exist"),
    "50120": ErrorCode(PermissionDenied, 200, "API key doesn't have permission for this function"),
    "51000": ErrorCode(InvalidRequest, 400, "Parameter {0} error"),
    "51001": ErrorCode(UnknownInstrument, 200, "Instrument ID, Instrument ID code, or Spread ID doesn't exist."),
    "51008": ErrorCode(InsufficientBalance, 200, "Order failed. Insufficient {0} balance in account."),
    "51010": ErrorCode(InvalidRequest, 200, "Request unsupported under current account mode"),
    "51016": ErrorCode(DuplicateClientOrderId, 200, "Client order ID already exists"),
    "51020": ErrorCode(InvalidOrder, 200, "Your order should meet or exceed the minimum order amount."),
    "51046": ErrorCode(InvalidOrder, 200, "The take profit trigger price must be higher than the order price"),
    "51047": ErrorCode(InvalidOrder, 200, "The stop loss trigger price must be lower than the order price"),
    "51048": ErrorCode(InvalidOrder, 200, "The take profit trigger price must be lower than the order price"),
    "51049": ErrorCode(InvalidOrder, 200, "The stop loss trigger price must be higher than the order price"),
    "51050": ErrorCode(InvalidOrder, 200, "The take profit trigger price must be higher than the best ask price"),
    "51051": ErrorCode(InvalidOrder, 200, "The stop loss trigger price must be lower than the best ask price"),
    "51052": ErrorCode(InvalidOrder, 200, "The take profit trigger price must be lower than the best bid price"),
    "51053": ErrorCode(InvalidOrder, 200, "The stop loss trigger price must be higher than the best bid price"),
    "51065": ErrorCode(DuplicateClientOrderId, 200, "algoClOrdId already exists."),
    "51068": ErrorCode(DuplicateClientOrderId, 200, "{0} already exists within algoClOrdId and attachAlgoClOrdId."),
    "51071": ErrorCode(InvalidRequest, 200, "You've reached the maximum limit for tag level cancel all after timers."),
    "51077": ErrorCode(InvalidOrder, 200, "Setting multiple TP and cost-price SL orders isn’t supported for spot and margin trading."),
    "51094": ErrorCode(InvalidOrder, 200, "You can't place TP limit orders in spot, margin, or options trading."),
    "51119": ErrorCode(InsufficientBalance, 200, "Order placement failed due to insufficient balance."),
    "51121": ErrorCode(InvalidOrder, 200, "Order quantity must be a multiple of the lot size."),
    "51127": ErrorCode(InsufficientBalance, 200, "Available balance is 0"),
    "51131": ErrorCode(InsufficientBalance, 200, "Insufficient balance."),
    "51133": ErrorCode(InvalidOrder, 200, "Reduce-only feature is unavailable for spot transactions in multi-currency margin accounts."),
    "51139": ErrorCode(InvalidOrder, 200, "Reduce-only feature is unavailable for the spot transactions by spot mode."),
    "51155": ErrorCode(PermissionDenied, 200, "You can't trade this pair or borrow this crypto due to local compliance restrictions."),
    "51178": ErrorCode(InvalidRequest, 200, "tpTriggerPx&tpOrdPx or slTriggerPx&slOrdPx can't be empty when using attachAlgoClOrdId."),
    "51258": ErrorCode(InvalidOrder, 200, "Trailing stop order placement failed. The trigger price of a sell order must be higher than the last transaction price."),
    "51259": ErrorCode(InvalidOrder, 200, "Trailing stop order placement failed. The trigger price of a buy order must be lower than the last transaction price."),
    "51260": ErrorCode(InvalidOrder, 200, "Maximum of {0} pending trailing stop orders can be held at the same time."),
    "51261": ErrorCode(InvalidOrder, 200, "Each user can hold up to {0} pending stop orders at the same time."),
    "51277": ErrorCode(InvalidOrder, 200, "TP trigger price cannot be higher than the last price."),
    "51278": ErrorCode(InvalidOrder, 200, "SL trigger price cannot be lower than the last price."),
    "51279": ErrorCode(InvalidOrder, 200, "TP trigger price cannot be lower than the last price."),
    "51280": ErrorCode(InvalidOrder, 200, "SL trigger price cannot be higher than the last price."),
    "51281": ErrorCode(InvalidRequest, 200, "Trigger order do not support the tgtCcy parameter."),
    "51299": ErrorCode(InvalidOrder, 200, "Order did not go through. You can hold a maximum of {0} orders of this type."),
    "51317": ErrorCode(InvalidRequest, 200, "Trigger orders are not available by margin"),
    "51327": ErrorCode(InvalidRequest, 200, "closeFraction is only available for Expiry Futures and Perpetual Futures"),
    "51400": ErrorCode(OrderNotFound, 200, "Order cancellation failed as the order has been filled, canceled or does not exist."),
    "51415": ErrorCode(InvalidOrder, 200, 'Unable to place order. Spot trading only supports using the last price as trigger price. Please select "Last" and try again.'),
    "51503": ErrorCode(OrderNotFound, 200, "Order modification failed as the order has been filled, canceled or does not exist."),
    "51506": ErrorCode(InvalidRequest, 200, "Order modification unavailable for the order type."),
    "51531": ErrorCode(InvalidRequest, 200, "Order modification unsuccessful. The stop order must have either take profit or stop loss attached."),
    "51603": ErrorCode(OrderNotFound, 200, "Order does not exist"),
    # WebSocket codes (API-FACTS-2 12.3, 12.4): they travel in ``event: error`` messages, never as
    # an HTTP answer, so their status is 0.
    "60004": ErrorCode(TimestampError, 0, "Invalid timestamp"),
    "60005": ErrorCode(InvalidApiKey, 0, "Invalid apiKey"),
    "60006": ErrorCode(TimestampError, 0, "Timestamp request expired"),
    "60007": ErrorCode(InvalidSignature, 0, "Invalid sign"),
    "60009": ErrorCode(AuthenticationError, 0, "Login failed."),
    "60011": ErrorCode(AuthenticationError, 0, "Please log in"),
    "60012": ErrorCode(InvalidRequest, 0, "Invalid request: {0}"),
    "60013": ErrorCode(InvalidRequest, 0, "Invalid args"),
    "60018": ErrorCode(InvalidRequest, 0, "Wrong URL or channel:{0},instId:{1} doesn't exist. Please use the correct URL, channel and parameters referring to API document."),
    "60019": ErrorCode(InvalidRequest, 0, "Invalid op: {0}"),
    "60024": ErrorCode(InvalidPassphrase, 0, "Wrong passphrase"),
    "60031": ErrorCode(AuthenticationError, 0, "The WebSocket endpoint does not allow multiple or repeated logins."),
    "64001": ErrorCode(InvalidRequest, 0, "This channel has been migrated to the '/business' URL. Please subscribe using the new URL. More details can refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url"),
}


def okx_message(code: str, *args: object) -> str:
    """OKX's text for ``code`` with its ``{0}`` placeholder filled (used by the simulator)."""
    return ERROR_CODES[code].message.format(*args)


def exception_class(code: str, http_status: int | None = None) -> type[OkxError]:
    """The class for an OKX code; unknown codes fall back on the HTTP status class."""
    entry = ERROR_CODES.get(code)
    if entry is not None:
        return entry.cls
    if http_status is not None and http_status >= 500:
        return ExchangeUnavailable
    if http_status == 429:
        return RateLimitError
    if http_status == 401:
        return AuthenticationError
    return OkxError


def from_code(code: str, message: str, *, http_status: int | None = None, hint: str | None = None,
              request: str | None = None) -> OkxError:
    """Build the exception OKX's ``code`` stands for."""
    cls = exception_class(code, http_status)
    return cls(message or (ERROR_CODES[code].message if code in ERROR_CODES else "OKX error"),
               code=code, http_status=http_status, hint=hint, request=request)


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What the client knew when the error came back, so the hint can name the likely fix."""

    base_url: str = ""
    demo: bool = False
    clock_offset_ms: int | None = None
    global_host: bool = False


def hint_for(code: str, ctx: ErrorContext) -> str | None:
    """The likely cause and fix of the most common user failures, or None."""
    if code in ("50119", "50111"):
        if ctx.global_host:
            return ("check OKX_API_KEY; if the key was created on my.okx.com (EEA) or app.okx.com (US/AU), "
                    f"it only works on that region's host: use region 'eea' ({REGIONS['eea']}) or "
                    f"'us' ({REGIONS['us']})")
        return f"check OKX_API_KEY: this key is unknown to {ctx.base_url or 'this host'}"
    if code == "50101":
        if ctx.demo:
            return ("this is a live-trading key but demo trading is switched on: turn demo off "
                    "(venue: live), or create a key under Demo Trading -> API")
        return ("this looks like a demo-trading key but demo trading is off: switch demo on "
                "(demo=True / venue: demo), or use a live-trading key")
    if code == "50102":
        offset = "unknown" if ctx.clock_offset_ms is None else f"{ctx.clock_offset_ms / 1000:+.3f} s"
        return (f"the request timestamp was outside OKX's {REQUEST_WINDOW_MS // 1000} s window even after "
                f"re-syncing with the server clock (measured offset {offset}); fix the system clock (NTP/chrony)")
    if code in ("50104", "50105"):
        return ("OKX_PASSPHRASE must be the passphrase you set when you created this API key "
                "(not your login or fund password)")
    if code == "50113":
        return ("check OKX_SECRET_KEY: it must be the secret shown when this API key was created "
                "(this client signs exactly the bytes it sends)")
    if code == "50120":
        return "this key lacks the permission for this call: create a key with 'Trade' permission"
    if code in ("50110", "50035"):
        return "add this machine's public IP to the API key's IP whitelist on OKX"
    if code == "51001":
        return "check the instrument ID (e.g. BTC-USDT) against GET /api/v5/public/instruments"
    if code in ("50011", "50061"):
        return ("another process is using this key's budget: share it across workers "
                "(see README, 'Running at scale')")
    return None
