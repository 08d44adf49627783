"""Market history: candles, public trades and the system status (client methods and models).

OKX serves candles from two endpoints: ``market/candles`` holds only the latest 1440 bars (its
budget is twice as large), ``market/history-candles`` three months (and 1 s bars). Both page
newest first with ``after`` (rows older than a ts) and ``before`` (rows newer than it; alone, the
latest rows). ``candles_between`` walks the pages of a time range, choosing the endpoint as ccxt
does; each call draws from its endpoint's budget through the client's limiter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final

from pydantic import model_validator

from okx_wire.calls import CallsOkx
from okx_wire.endpoints import CANDLE_LIMIT, HISTORY_TRADES_LIMIT, TRADES_LIMIT, E
from okx_wire.errors import ConfigurationError
from okx_wire.models import Millis, OkxModel

_SECOND, _MINUTE, _HOUR, _DAY = 1000, 60_000, 3_600_000, 86_400_000
#: Every bar OKX has, with its nominal length in ms (months count 30 days: only used to size
#: pages and to choose the endpoint, never to align bars). ``1s`` is on history-candles only.
BAR_MS: Final[dict[str, int]] = {
    "1s": _SECOND, "1m": _MINUTE, "3m": 3 * _MINUTE, "5m": 5 * _MINUTE, "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE, "1H": _HOUR, "2H": 2 * _HOUR, "4H": 4 * _HOUR,
    **{name + tz: ms for tz in ("", "utc") for name, ms in (
        ("6H", 6 * _HOUR), ("12H", 12 * _HOUR), ("1D", _DAY), ("2D", 2 * _DAY), ("3D", 3 * _DAY),
        ("1W", 7 * _DAY), ("1M", 30 * _DAY), ("3M", 90 * _DAY))},
}
HISTORY_ONLY_BARS: Final = frozenset({"1s"})
#: How many bars ``market/candles`` reaches back; older ones need history-candles.
RECENT_BARS: Final = 1440
#: ``history-trades`` pagination: by tradeId (1, OKX's default) or by ts (2).
TRADES_BY_ID, TRADES_BY_TS = "1", "2"
#: ``system/status`` states (without one OKX lists scheduled, ongoing and pre_open).
STATUS_STATES: Final = frozenset({"scheduled", "ongoing", "pre_open", "completed", "canceled"})


def _candle_row(value: Any) -> Any:
    """OKX's 9-string array as a mapping; 2021-era rows had only 7 elements (no volCcyQuote, no
    confirm): those default to the quote volume and to closed."""
    if isinstance(value, (list, tuple)):
        names = ("ts", "o", "h", "l", "c", "vol", "volCcy", "volCcyQuote", "confirm")
        row = dict(zip(names, value, strict=False))
        row.setdefault("volCcyQuote", row.get("volCcy", ""))
        row.setdefault("confirm", "1")
        return row
    return value


class Candle(OkxModel):
    """One bar of ``market/candles`` or ``history-candles``. ``ts`` is the bar's open; for spot
    ``vol`` is in the base currency and ``vol_ccy``/``vol_ccy_quote`` in the quote currency."""

    ts: int
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - OKX's own name for the low
    c: Decimal
    vol: Decimal
    vol_ccy: Decimal
    vol_ccy_quote: Decimal
    confirm: str = "1"

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, value: Any) -> Any:
        return _candle_row(value)

    @property
    def confirmed(self) -> bool:
        """The bar is closed ("1"); "0" is the bar still forming, whose figures still change."""
        return self.confirm == "1"


class Trade(OkxModel):
    """One public trade; ``side`` is the taker's. ``source`` "0" normal, "1" ELP (absent from
    older answers)."""

    inst_id: str
    trade_id: str
    px: Decimal
    sz: Decimal
    side: str
    source: str = ""
    ts: int


class SystemStatus(OkxModel):
    """One maintenance record of ``system/status``."""

    title: str = ""
    state: str
    begin: Millis = None
    end: Millis = None
    pre_open_begin: Millis = None
    href: str = ""
    service_type: str = ""
    system: str = ""
    sche_desc: str = ""
    maint_type: str = ""
    env: str = ""


def _check_bar(bar: str, *, history: bool) -> None:
    if bar not in BAR_MS:
        raise ConfigurationError(f"unknown bar {bar!r}: OKX has {', '.join(BAR_MS)}")
    if not history and bar in HISTORY_ONLY_BARS:
        raise ConfigurationError(f"bar {bar!r} is served by history-candles only")


def _check_limit(limit: int, cap: int, what: str) -> None:
    if not 1 <= limit <= cap:
        raise ConfigurationError(f"{what} limit must be 1..{cap}, got {limit}")


class MarketDataApi(CallsOkx):
    def candles(self, inst_id: str, bar: str = "1m", *, after: int | None = None, before: int | None = None,
                limit: int = 100) -> list[Candle]:
        """One page of an instrument's latest bars (the last 1440), newest first.

        Args:
            inst_id: e.g. ``BTC-USDT``.
            bar: OKX's bar name (``1m``, ``1H``, ``1D``, ``1Dutc``...; not ``1s``).
            after: only bars that open before this ts (ms).
            before: only bars that open after this ts; alone, the latest such bars.
            limit: 1..300 rows.

        Returns:
            The bars, newest first; the first may be forming (``confirmed`` False).

        Raises:
            ConfigurationError: an unknown bar, ``1s``, or a limit outside 1..300 (not sent).
        """
        _check_bar(bar, history=False)
        _check_limit(limit, CANDLE_LIMIT, "candles")
        data = self._call(E.candles, params={"instId": inst_id, "bar": bar, "after": after, "before": before,
                                             "limit": limit})["data"]
        return [Candle.model_validate(row) for row in data]

    def history_candles(self, inst_id: str, bar: str = "1m", *, after: int | None = None,
                        before: int | None = None, limit: int = 100) -> list[Candle]:
        """One page of an instrument's bars of the last three months, newest first (as
        ``candles``, with ``1s`` bars too and half the budget).

        Raises:
            ConfigurationError: an unknown bar or a limit outside 1..300 (not sent).
        """
        _check_bar(bar, history=True)
        _check_limit(limit, CANDLE_LIMIT, "history-candles")
        data = self._call(E.history_candles, params={"instId": inst_id, "bar": bar, "after": after,
                                                     "before": before, "limit": limit})["data"]
        return [Candle.model_validate(row) for row in data]

    def candles_between(self, inst_id: str, bar: str, start_ms: int, end_ms: int) -> list[Candle]:
        """Every bar that opens in ``[start_ms, end_ms)``, oldest first.

        Pages of 300 rows walk back from ``end_ms``. As ccxt does, a range within the latest
        1440 bars reads ``market/candles`` (the larger budget) and an older one
        ``history-candles``; ``1s`` bars are always history.

        Raises:
            ConfigurationError: an unknown bar, or ``end_ms`` not after ``start_ms``.
        """
        _check_bar(bar, history=True)
        if end_ms <= start_ms:
            raise ConfigurationError(f"end_ms {end_ms} must be after start_ms {start_ms}")
        recent_from = self.now_ms() - (RECENT_BARS - 1) * BAR_MS[bar]
        history = bar in HISTORY_ONLY_BARS or start_ms < recent_from
        read = self.history_candles if history else self.candles
        return list(reversed(list(_pages(read, inst_id, bar, start_ms, end_ms))))

    def trades(self, inst_id: str, limit: int = 100) -> list[Trade]:
        """The latest public trades of an instrument, newest first.

        Raises:
            ConfigurationError: a limit outside 1..500 (not sent).
        """
        _check_limit(limit, TRADES_LIMIT, "trades")
        data = self._call(E.trades, params={"instId": inst_id, "limit": limit})["data"]
        return [Trade.model_validate(item) for item in data]

    def history_trades(self, inst_id: str, *, after: str | int | None = None, before: str | None = None,
                       by: str = TRADES_BY_ID, limit: int = HISTORY_TRADES_LIMIT) -> list[Trade]:
        """One page of public trades of the last three months, newest first.

        Args:
            after: with ``by`` "1" a tradeId, with "2" a ts (ms): only older trades.
            before: a tradeId: only newer trades.
            by: ``TRADES_BY_ID`` ("1") or ``TRADES_BY_TS`` ("2"), OKX's ``type``.
            limit: 1..100 rows.

        Raises:
            ConfigurationError: an unknown ``by`` or a limit outside 1..100 (not sent).
        """
        if by not in (TRADES_BY_ID, TRADES_BY_TS):
            raise ConfigurationError(f"history-trades type must be 1 (by tradeId) or 2 (by ts), got {by!r}")
        _check_limit(limit, HISTORY_TRADES_LIMIT, "history-trades")
        data = self._call(E.history_trades, params={"instId": inst_id, "type": by, "after": after,
                                                    "before": before, "limit": limit})["data"]
        return [Trade.model_validate(item) for item in data]

    def system_status(self, state: str | None = None) -> list[SystemStatus]:
        """OKX's maintenance notices: scheduled, ongoing and pre-open ones unless ``state`` asks
        for another (``completed``, ``canceled``). Empty when nothing is planned.

        Raises:
            ConfigurationError: an unknown state (not sent).
        """
        if state is not None and state not in STATUS_STATES:
            raise ConfigurationError(f"unknown maintenance state {state!r}: one of {', '.join(sorted(STATUS_STATES))}")
        data = self._call(E.system_status, params={"state": state})["data"]
        return [SystemStatus.model_validate(item) for item in data]


def _pages(read: Callable[..., list[Candle]], inst_id: str, bar: str, start_ms: int, end_ms: int) -> Iterator[Candle]:
    """Bars opening in ``[start_ms, end_ms)``, newest first, one 300-row page at a time."""
    after = end_ms
    while True:
        page = read(inst_id, bar, after=after, before=start_ms - 1, limit=CANDLE_LIMIT)
        for candle in page:
            if candle.ts < start_ms:
                return
            yield candle
        if len(page) < CANDLE_LIMIT:
            return
        after = page[-1].ts
