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


#: Every OKX budget window, in seconds.
WINDOW: Final = 2.0


def _budget(name: str, limit: int, scope: Scope, *, counts_orders: bool = False) -> Budget:
    return Budget(name, limit, WINDOW, scope, counts_orders)


# -- request limits OKX documents (section 3 of API-FACTS.md) ---------------------------------------

#: Orders in one batch request (place, cancel, amend).
MAX_BATCH_ORDERS: Final = 20
#: Currencies in one ``account/balance`` filter.
MAX_BALANCE_CCYS: Final = 20
#: ``market/books`` depth per side: ``sz`` in 1..400 (default 1).
BOOK_DEPTH: Final = range(1, 401)
#: Rows per page of the order and fill listings: ``limit`` at most 100, also the default.
PAGE_LIMIT: Final = 100
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
    Endpoint("balance", "GET", "/api/v5/account/balance", PRIVATE, _budget("account/balance", 10, _USER),
             client="balance"),
    Endpoint("account_config", "GET", "/api/v5/account/config", PRIVATE, _budget("account/config", 5, _USER),
             client="account_config"),
    Endpoint("trade_fee", "GET", "/api/v5/account/trade-fee", PRIVATE, _budget("account/trade-fee", 5, _USER),
             client="trade_fee"),
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
