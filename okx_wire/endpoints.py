"""OKX's REST surface as data: hosts, rate budgets and one row per endpoint.

Everything that must agree about an endpoint reads the row: the client (``OkxClient``: path,
auth, budget), both limiters (``okx_wire.limits`` in-process, ``okx_wire.shared_limits`` in
Redis: the budget and how it is keyed) and the simulator's router (``okx_sim.server``: route,
auth, Trade permission). An endpoint therefore cannot be sent by the client and unknown to the
limiter or the simulator. A row without a budget, or one that only one side serves, must say why
(``note``); a row that breaks that rule fails at import. ``tests/okx_wire/test_endpoints.py``
checks each row against the client and the simulator.

Budgets are keyed as OKX keys them: public endpoints per IP, private ones per user, trade
endpoints per user and instrument, batch endpoints counted in orders
(``shared/okx/API-FACTS.md`` section 3). This module imports nothing of okx_wire, so every
other module (errors and hosts included) can read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

# -- hosts ---------------------------------------------------------------------------------------

#: OKX's REST hosts by site. Keys made on my.okx.com (EEA) work only on eea.okx.com, keys made on
#: app.okx.com (US/AU) only on us.okx.com; demo trading uses the same hosts with a demo key.
REGIONS: Final[dict[str, str]] = {
    "global": "https://www.okx.com",
    "us": "https://us.okx.com",
    "eea": "https://eea.okx.com",
}
DEFAULT_BASE_URL: Final = REGIONS["global"]
#: OKX's registrable domains: every real OKX REST host is one of these or a subdomain of one.
OKX_DOMAINS: Final = ("okx.com", "okex.com")
#: The global site's API hosts (an unknown key there may belong to a regional site).
GLOBAL_HOSTS: Final = frozenset({"www.okx.com", "okx.com", "openapi.okx.com", "aws.okx.com"})

#: How far a request's OK-ACCESS-TIMESTAMP may be from server time before OKX refuses it (50102).
REQUEST_WINDOW_MS: Final = 30_000

# -- rate budgets ----------------------------------------------------------------------------------


class Scope(StrEnum):
    """What OKX counts a budget against."""

    IP = "ip"
    IP_INST_TYPE = "ip+instType"
    USER = "user"
    USER_INSTRUMENT = "user+instId"


@dataclass(frozen=True, slots=True)
class Budget:
    """``limit`` units per ``window`` seconds per key of ``scope``; batch endpoints count orders."""

    name: str
    limit: int
    window: float
    scope: Scope
    counts_orders: bool = False


#: OKX's usual budget window, in seconds; a few endpoints count per 1 s or 5 s (``window``).
WINDOW: Final = 2.0


def _budget(name: str, limit: int, scope: Scope, *, counts_orders: bool = False, window: float = WINDOW) -> Budget:
    return Budget(name, limit, window, scope, counts_orders)


# -- request limits OKX documents (section 3 of API-FACTS.md) ---------------------------------------

#: Orders in one batch request (place, cancel, amend).
MAX_BATCH_ORDERS: Final = 20
#: Currencies in one ``account/balance`` filter.
MAX_BALANCE_CCYS: Final = 20
#: ``market/books`` depth per side: ``sz`` in 1..400 (default 1).
BOOK_DEPTH: Final = range(1, 401)
#: Rows per page of the order and fill listings: ``limit`` at most 100, also the default.
PAGE_LIMIT: Final = 100
#: Rows of one ``market/candles`` or ``history-candles`` page: ``limit`` at most 300, default 100.
CANDLE_LIMIT: Final = 300
#: ``market/trades`` ``limit``: at most 500 (default 100); ``history-trades``: at most 100.
TRADES_LIMIT: Final = 500
HISTORY_TRADES_LIMIT: Final = 100
#: Algo orders in one ``cancel-algos`` request.
MAX_ALGO_CANCELS: Final = 10
#: Instruments in one ``account/max-size`` or ``max-avail-size`` request.
MAX_SIZE_INSTS: Final = 5
#: ``cancel-all-after`` ``timeOut`` in seconds: 0 disarms, else 10..120.
CANCEL_ALL_AFTER_S: Final = range(10, 121)
#: Instrument types OKX accepts for ``instType``.
INST_TYPES: Final = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS"})

# -- endpoints ---------------------------------------------------------------------------------------


class Auth(StrEnum):
    """Whether a request is signed (private: budgets per user) or not (public: per IP)."""

    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST endpoint as OKX defines it and as this project serves it.

    Attributes:
        name: a short identifier (the attribute of ``E``; the simulator's handler has this name).
        method, path: as OKX documents them; the path without a query string.
        auth: public or private (signed).
        budget: the rate budget it draws from, keyed as OKX keys it; None needs a ``note``.
        trade: needs the key's Trade permission (else Read is enough).
        sub_account_orders: counts towards the sub-account cap of 1000 new+amend orders per 2 s
            (code 50061). Spot orders are exempt, so nothing here enforces it; the column says
            which endpoints a non-spot user would have to budget.
        single: for a batch endpoint, the single-order endpoint whose budget a batch of one
            order draws from instead.
        client: the ``OkxClient`` method that sends it; None: not wrapped (``note`` says why;
            ``OkxClient.request`` still sends it with its budget).
        sim: the simulator serves it; False needs a ``note``.
        note: why a row lacks a budget, a client method or a simulator route.
    """

    name: str
    method: str
    path: str
    auth: Auth
    budget: Budget | None
    trade: bool = False
    sub_account_orders: bool = False
    single: str | None = None
    client: str | None = None
    sim: bool = True
    note: str = ""
    #: ``(method, path)``, and whether the request is signed: derived, for the client's fast path.
    key: tuple[str, str] = field(init=False)
    private: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.method, self.path))
        object.__setattr__(self, "private", self.auth is Auth.PRIVATE)
        gaps = [what for what, missing in (("a budget", self.budget is None), ("a client method", self.client is None),
                                           ("a simulator route", not self.sim)) if missing]
        if gaps and not self.note:
            raise ValueError(f"endpoint {self.method} {self.path} has no {' or '.join(gaps)}: "
                             "add it, or say why in the row's note")


PUBLIC, PRIVATE = Auth.PUBLIC, Auth.PRIVATE
_IP, _IP_TYPE, _USER, _USER_INST = Scope.IP, Scope.IP_INST_TYPE, Scope.USER, Scope.USER_INSTRUMENT
_ORDER = "/api/v5/trade/order"
_CANCEL = "/api/v5/trade/cancel-order"

#: The table. Order is OKX's documentation order (public, account, asset, trade).
ENDPOINTS: Final[tuple[Endpoint, ...]] = (
    Endpoint("public_time", "GET", "/api/v5/public/time", PUBLIC, _budget("public/time", 10, _IP),
             client="server_time"),
    Endpoint("instruments", "GET", "/api/v5/public/instruments", PUBLIC,
             _budget("public/instruments", 20, _IP_TYPE), client="instruments"),
    Endpoint("ticker", "GET", "/api/v5/market/ticker", PUBLIC, _budget("market/ticker", 20, _IP), client="ticker"),
    Endpoint("tickers", "GET", "/api/v5/market/tickers", PUBLIC, _budget("market/tickers", 20, _IP),
             client="tickers"),
    Endpoint("books", "GET", "/api/v5/market/books", PUBLIC, _budget("market/books", 40, _IP), client="order_book"),
    Endpoint("candles", "GET", "/api/v5/market/candles", PUBLIC, _budget("market/candles", 40, _IP),
             client="candles"),
    Endpoint("history_candles", "GET", "/api/v5/market/history-candles", PUBLIC,
             _budget("market/history-candles", 20, _IP), client="history_candles"),
    Endpoint("trades", "GET", "/api/v5/market/trades", PUBLIC, _budget("market/trades", 100, _IP), client="trades"),
    Endpoint("history_trades", "GET", "/api/v5/market/history-trades", PUBLIC,
             _budget("market/history-trades", 20, _IP), client="history_trades"),
    Endpoint("system_status", "GET", "/api/v5/system/status", PUBLIC,
             _budget("system/status", 1, _IP, window=5.0), client="system_status"),
    Endpoint("balance", "GET", "/api/v5/account/balance", PRIVATE, _budget("account/balance", 10, _USER),
             client="balance"),
    Endpoint("account_config", "GET", "/api/v5/account/config", PRIVATE, _budget("account/config", 5, _USER),
             client="account_config"),
    Endpoint("trade_fee", "GET", "/api/v5/account/trade-fee", PRIVATE, _budget("account/trade-fee", 5, _USER),
             client="trade_fee"),
    Endpoint("max_size", "GET", "/api/v5/account/max-size", PRIVATE, _budget("account/max-size", 20, _USER),
             client="max_size"),
    Endpoint("max_avail_size", "GET", "/api/v5/account/max-avail-size", PRIVATE,
             _budget("account/max-avail-size", 20, _USER), client="max_avail_size"),
    Endpoint("bills", "GET", "/api/v5/account/bills", PRIVATE, _budget("account/bills", 5, _USER, window=1.0),
             client="bills"),
    Endpoint("bills_archive", "GET", "/api/v5/account/bills-archive", PRIVATE,
             _budget("account/bills-archive", 5, _USER), client="bills_archive"),
    Endpoint("currencies", "GET", "/api/v5/asset/currencies", PRIVATE, None,
             note="served for ccxt, which loads currencies first; the client has no use for it, and its "
                  "budget is not among the facts this project keeps, so neither side throttles it"),
    Endpoint("place_order", "POST", _ORDER, PRIVATE, _budget("trade/order", 60, _USER_INST), trade=True,
             sub_account_orders=True, client="place_order"),
    Endpoint("batch_orders", "POST", "/api/v5/trade/batch-orders", PRIVATE,
             _budget("trade/batch-orders", 300, _USER_INST, counts_orders=True), trade=True,
             sub_account_orders=True, single=_ORDER, client="place_batch_orders"),
    Endpoint("cancel_order", "POST", _CANCEL, PRIVATE, _budget("trade/cancel-order", 60, _USER_INST),
             trade=True, client="cancel_order"),
    Endpoint("cancel_batch", "POST", "/api/v5/trade/cancel-batch-orders", PRIVATE,
             _budget("trade/cancel-batch-orders", 300, _USER_INST, counts_orders=True), trade=True,
             single=_CANCEL, note="served for other clients; this client cancels one order at a time"),
    Endpoint("amend_order", "POST", "/api/v5/trade/amend-order", PRIVATE,
             _budget("trade/amend-order", 60, _USER_INST), trade=True, sub_account_orders=True,
             client="amend_order"),
    Endpoint("amend_batch", "POST", "/api/v5/trade/amend-batch-orders", PRIVATE,
             _budget("trade/amend-batch-orders", 300, _USER_INST, counts_orders=True), trade=True,
             sub_account_orders=True, single="/api/v5/trade/amend-order", client="amend_batch_orders"),
    Endpoint("get_order", "GET", _ORDER, PRIVATE, _budget("trade/order-details", 60, _USER_INST), client="order"),
    Endpoint("orders_pending", "GET", "/api/v5/trade/orders-pending", PRIVATE,
             _budget("trade/orders-pending", 60, _USER), client="pending_orders"),
    Endpoint("orders_history", "GET", "/api/v5/trade/orders-history", PRIVATE,
             _budget("trade/orders-history", 40, _USER), client="order_history"),
    Endpoint("orders_history_archive", "GET", "/api/v5/trade/orders-history-archive", PRIVATE,
             _budget("trade/orders-history-archive", 20, _USER), client="order_history_archive"),
    Endpoint("cancel_all_after", "POST", "/api/v5/trade/cancel-all-after", PRIVATE,
             _budget("trade/cancel-all-after", 1, _USER, window=1.0), trade=True, client="cancel_all_after",
             note="OKX counts it per user and tag; counted per user here, which is never looser"),
    Endpoint("place_algo", "POST", "/api/v5/trade/order-algo", PRIVATE, _budget("trade/order-algo", 20, _USER_INST),
             trade=True, client="place_algo_order"),
    Endpoint("cancel_algos", "POST", "/api/v5/trade/cancel-algos", PRIVATE,
             _budget("trade/cancel-algos", 20, _USER_INST, counts_orders=True), trade=True,
             client="cancel_algo_orders"),
    Endpoint("amend_algos", "POST", "/api/v5/trade/amend-algos", PRIVATE,
             _budget("trade/amend-algos", 20, _USER_INST), trade=True, client="amend_algo_order"),
    Endpoint("get_algo", "GET", "/api/v5/trade/order-algo", PRIVATE, _budget("trade/order-algo-details", 20, _USER),
             client="algo_order"),
    Endpoint("algos_pending", "GET", "/api/v5/trade/orders-algo-pending", PRIVATE,
             _budget("trade/orders-algo-pending", 20, _USER), client="pending_algo_orders"),
    Endpoint("algos_history", "GET", "/api/v5/trade/orders-algo-history", PRIVATE,
             _budget("trade/orders-algo-history", 20, _USER), client="algo_order_history"),
    Endpoint("fills", "GET", "/api/v5/trade/fills", PRIVATE, _budget("trade/fills", 60, _USER), client="fills"),
    Endpoint("fills_history", "GET", "/api/v5/trade/fills-history", PRIVATE,
             _budget("trade/fills-history", 10, _USER),
             note="served for ccxt (fetchMyTrades reads it); the client reads trade/fills, which has a "
                  "six times larger budget and covers the three days it needs"),
)


class _Table:
    """The rows by name, as attributes (``E.balance``): resolved once, at import."""

    def __init__(self, rows: tuple[Endpoint, ...]) -> None:
        for row in rows:
            if hasattr(self, row.name):
                raise ValueError(f"endpoint name {row.name!r} is used twice")
            setattr(self, row.name, row)

    def __getattr__(self, name: str) -> Endpoint:  # only reached for a name no row has
        raise AttributeError(f"no endpoint named {name!r} in okx_wire.endpoints.ENDPOINTS")


E: Final = _Table(ENDPOINTS)
#: (METHOD, path) -> row.
BY_KEY: Final[dict[tuple[str, str], Endpoint]] = {row.key: row for row in ENDPOINTS}
if len(BY_KEY) != len(ENDPOINTS):
    raise ValueError("an endpoint (method, path) appears twice in ENDPOINTS")
for _row in ENDPOINTS:
    if _row.single is not None and ("POST", _row.single) not in BY_KEY:
        raise ValueError(f"{_row.path}: single-order equivalent {_row.single} is not in ENDPOINTS")
del _row
