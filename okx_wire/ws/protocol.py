"""OKX's WebSocket surface as data: the three URLs, the channels each serves, the order ops.

Both sides read this module: the client (``okx_wire.ws``) to know where to subscribe and which
budget an op draws from, the simulator (``okx_sim.ws``) to route, refuse and throttle. A channel
or an op therefore cannot exist in one and not in the other. Facts: API-FACTS-2 section 12.

Order ops share the REST budgets (per user and instrument, batches counted in orders), so each
op names the REST endpoint whose row (``okx_wire.endpoints``) holds its budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from okx_wire.auth import WS_LOGIN_PATH
from okx_wire.endpoints import WINDOW, Budget, E, Endpoint, Scope


class Url(StrEnum):
    """The three WebSocket endpoints, by the last part of their path (``/ws/v5/<kind>``)."""

    PUBLIC = "public"
    PRIVATE = "private"
    BUSINESS = "business"


WS_PATH_PREFIX: Final = "/ws/v5/"
#: What the login signature signs after the timestamp: ``GET`` and this path (no body).
LOGIN_PATH: Final = WS_LOGIN_PATH
#: A login timestamp (Unix seconds) older or newer than this is refused (60006).
LOGIN_WINDOW_S: Final = 30
#: The server drops a connection with no message either way for this long; clients ping sooner.
IDLE_S: Final = 30.0
#: OKX's application-level keep-alive: the text frame ``ping`` is answered by the text ``pong``.
PING, PONG = "ping", "pong"
#: Orders in one batch op, as over REST.
MAX_BATCH_OPS: Final = 20
#: New connections per second per IP (OKX refuses the rest of the handshakes in that second).
CONNECT_BUDGET: Final = Budget("ws/connect", 3, 1.0, Scope.IP)
#: OKX's ``instType`` values for the ``orders`` channel (``ANY`` = every type).
ORDER_INST_TYPES: Final = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS", "ANY"})
#: Candle bars OKX streams (``candle<bar>``; business URL).
CANDLE_BARS: Final = frozenset({
    "1s", "1m", "3m", "5m", "15m", "30m", "1H", "2H", "4H", "6H", "12H", "1D", "2D", "3D", "5D", "1W", "1M", "3M",
    "6Hutc", "12Hutc", "1Dutc", "2Dutc", "3Dutc", "1Wutc", "1Mutc", "3Mutc",
})
#: Book channels and their depth per side (``books`` is a snapshot then increments).
BOOK_DEPTHS: Final = {"books": 400, "books5": 5, "bbo-tbt": 1}
#: Levels per side a ``books`` checksum covers.
CHECKSUM_LEVELS: Final = 25

__all__ = ["ALGO_CHANNEL_OF", "BOOK_DEPTHS", "CANDLE_BARS", "CHANNELS", "CHECKSUM_LEVELS", "CONNECT_BUDGET", "Channel",
           "IDLE_S", "LOGIN_PATH", "LOGIN_WINDOW_S", "MAX_BATCH_OPS", "OPS", "ORDER_INST_TYPES", "PING", "PONG", "Url",
           "WINDOW", "WS_PATH_PREFIX", "channel", "url_kind"]


@dataclass(frozen=True, slots=True)
class Channel:
    """One channel: the URL that serves it, whether it needs a login, and its key argument.

    ``key`` is the argument a subscription must carry (``instId``, ``instType``) or "" for none.
    """

    name: str
    url: Url
    login: bool = False
    key: str = "instId"


_PUBLIC_MARKET = ("tickers", "books", "books5", "bbo-tbt", "trades")
#: The channels served, by name (candles are ``channel()``'s: one per bar).
CHANNELS: Final[dict[str, Channel]] = {
    **{name: Channel(name, Url.PUBLIC) for name in _PUBLIC_MARKET},
    "orders": Channel("orders", Url.PRIVATE, login=True, key="instType"),
    "account": Channel("account", Url.PRIVATE, login=True, key=""),
    # Algo orders push on the business URL, after a login on that connection (API-FACTS-2 11.2,
    # 12.1): conditional, oco and trigger on ``orders-algo``, trailing (move_order_stop) on
    # ``algo-advance``.
    "orders-algo": Channel("orders-algo", Url.BUSINESS, login=True, key="instType"),
    "algo-advance": Channel("algo-advance", Url.BUSINESS, login=True, key="instType"),
}
#: Which algo channel pushes an algo order of each ``ordType``.
ALGO_CHANNEL_OF: Final[dict[str, str]] = {"conditional": "orders-algo", "oco": "orders-algo",
                                          "trigger": "orders-algo", "move_order_stop": "algo-advance"}


def channel(name: str) -> Channel | None:
    """The channel called ``name``, or None if OKX (as modelled here) has none by that name."""
    found = CHANNELS.get(name)
    if found is None and name.startswith("candle") and name[len("candle"):] in CANDLE_BARS:
        return Channel(name, Url.BUSINESS)
    return found


def url_kind(path: str) -> Url | None:
    """``/ws/v5/public`` -> ``Url.PUBLIC``; None for any other path."""
    if not path.startswith(WS_PATH_PREFIX):
        return None
    try:
        return Url(path[len(WS_PATH_PREFIX):].rstrip("/"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Op:
    """One order op: the REST endpoint it mirrors (its budget, its Trade permission) and
    whether its args are a batch (up to ``MAX_BATCH_OPS``) or exactly one item."""

    name: str
    endpoint: Endpoint
    batch: bool


#: Order entry over the private URL; each op draws from its REST twin's budget.
OPS: Final[dict[str, Op]] = {op.name: op for op in (
    Op("order", E.place_order, False),
    Op("batch-orders", E.batch_orders, True),
    Op("cancel-order", E.cancel_order, False),
    Op("batch-cancel-orders", E.cancel_batch, True),
    Op("amend-order", E.amend_order, False),
    Op("batch-amend-orders", E.amend_batch, True),
)}
