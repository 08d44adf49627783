"""Synthetic market data: a seeded path per instrument, the books, tickers, candles and tape on it.

Time is cut into steps of ``step_ms``; step 0 is the first start of the simulator's state and
``start_step`` is where this run resumes (``anchor_ms`` is its wall-clock start), so step ``s``
holds from ``anchor_ms + (s - start_step) * step_ms``. Each instrument's log mid price per step is
a point of one seeded path (``okx_sim.candles.Path``), built coarse to fine: the same seed replays
the same market, steps before 0 are its history, and the mid of any step costs a few dozen
cached node lookups, never a replay of the steps before it.

Everything served is read off that one path, so it all agrees: the forming one-minute bar closes
at the current mid, which is the ticker's ``last``; the ticker's 24 h open, high, low and volumes
are exactly those of the last 1440 one-minute candles; the tape's prints in a step are at that
step's price and add up to its volume. The book for (instrument, step) is generated around the
mid from an RNG keyed by both, and cached with its rendered JSON, because market-data reads are
by far the hottest path and must never touch the engine or the database.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import orjson

from okx_sim.candles import (
    BARS,
    DAY,
    HISTORY_MS,
    RECENT_BARS,
    SYNTHETIC_SLOTS,
    TAPE_BIAS,
    TAPE_SLOTS,
    Bar,
    NodeCache,
    Path,
    Summary,
)
from okx_sim.instruments import Catalogue, SimInstrument
from okx_wire.endpoints import BOOK_DEPTH
from okx_wire.precision import format_decimal

#: The deepest book OKX serves (``market/books`` ``sz``): every book is built this deep.
MAX_DEPTH = BOOK_DEPTH.stop - 1
#: Roughly how much quote value (in USD) one book level holds.
_LEVEL_USD = 25_000.0
#: A day's traded volume, in book levels (so about 50 million USD a day per instrument).
_DAILY_LEVELS = 2_000.0
#: A path block spans about a week of steps (whatever ``step_ms``), so three months are a dozen.
_BLOCK_MS = 7 * DAY
#: The ticker's 24 h are the last 1440 one-minute bars, the forming one included.
_TICKER_BAR: Final = BARS["1m"]
_DAY_UTC8, _DAY_UTC = BARS["1D"], BARS["1Dutc"]
#: The states ``system/status`` lists when no ``state`` is asked for (OKX's default).
OPEN_MAINTENANCE_STATES: Final = frozenset({"scheduled", "ongoing", "pre_open"})

#: Own fills of an instrument with ts in (begin, end), as OKX fill dicts (the engine's reader).
FillsBetween = Callable[[str, int, int], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Book:
    """One side list is ``[(px, sz, numOrders)]``, best first, plus its OKX rendering."""

    inst_id: str
    step: int
    ts: int
    asks: list[tuple[Decimal, Decimal, int]]
    bids: list[tuple[Decimal, Decimal, int]]
    asks_rendered: list[list[str]]
    bids_rendered: list[list[str]]

    @property
    def best_ask(self) -> Decimal:
        return self.asks[0][0]

    @property
    def best_bid(self) -> Decimal:
        return self.bids[0][0]


class Market:
    """Mid prices, books, tickers, candles and trades per step; thread-safe, read-only from the
    engine's point of view."""

    def __init__(self, catalogue: Catalogue, *, seed: int, step_ms: int, volatility: float,
                 start_step: int, anchor_ms: int) -> None:
        self.catalogue = catalogue
        self.seed = seed
        self.step_ms = step_ms
        self.volatility = volatility
        self._start_step = start_step
        self._anchor_ms = anchor_ms
        self._usd = self._usd_prices()
        self._bits = min(40, max(4, math.ceil(math.log2(max(2, _BLOCK_MS // step_ms)))))
        self._nodes = NodeCache()
        self._paths: dict[str, Path] = {}
        #: Per instrument, the last step asked for and its log mid (the hot path asks many times).
        self._current: dict[str, tuple[int, float]] = {}
        self._books: dict[str, Book] = {}
        self._tickers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._rendered: dict[tuple[str, int, int], bytes] = {}
        self._lock = threading.Lock()
        #: ``system/status`` records (OKX's field set); empty unless a test or operator adds one.
        self.maintenance: list[dict[str, str]] = []

    # -- time ------------------------------------------------------------------------------
    def step_at(self, now_ms: int) -> int:
        return self._start_step + max(0, now_ms - self._anchor_ms) // self.step_ms

    def step_of(self, t_ms: int) -> int:
        """The step in effect at ``t_ms``, also before this run (history: possibly below 0)."""
        return self._start_step + (t_ms - self._anchor_ms) // self.step_ms

    def step_time(self, step: int) -> int:
        """The wall-clock ms at which ``step`` began in this run (books' ``ts``)."""
        return self._anchor_ms + (step - self._start_step) * self.step_ms

    # -- the path --------------------------------------------------------------------------
    def path(self, inst: SimInstrument) -> Path:
        path = self._paths.get(inst.inst_id)
        if path is None:
            key = hashlib.blake2b(f"walk/{self.seed}/{inst.inst_id}".encode(), digest_size=16).digest()
            usd = float(inst.start_px) * self._usd.get(inst.quote, 1.0)
            lots = _DAILY_LEVELS * _LEVEL_USD / max(usd, 1e-12) / float(inst.lot_sz) * self.step_ms / DAY
            path = Path(len(self._paths), key, math.log(float(inst.start_px)), self.volatility, self._bits, lots,
                        float(inst.tick_sz), self._nodes)
            with self._lock:
                path = self._paths.setdefault(inst.inst_id, path)
        return path

    def log_mid(self, inst: SimInstrument, step: int) -> float:
        current = self._current.get(inst.inst_id)
        if current is not None and current[0] == step:
            return current[1]
        value = self.path(inst).point(step)
        self._current[inst.inst_id] = (step, value)
        return value

    def mid(self, inst: SimInstrument, step: int) -> Decimal:
        """The mid price at ``step`` rounded to the tick (never below ten ticks)."""
        return inst.tick_sz * self.path(inst).ticks(self.log_mid(inst, step))

    # -- books -----------------------------------------------------------------------------
    def book(self, inst: SimInstrument, step: int) -> Book:
        cached = self._books.get(inst.inst_id)
        if cached is not None and cached.step == step:
            return cached
        book = self._build(inst, step, self.log_mid(inst, step))
        self._books[inst.inst_id] = book
        return book

    def _levels(self, inst: SimInstrument, step: int, log_mid: float, count: int
                ) -> tuple[list[tuple[Decimal, Decimal, int]], list[tuple[Decimal, Decimal, int]]]:
        """The first ``count`` levels of each side. Each side draws from its own seeded stream,
        so the top of book (``count=1``, what a ticker shows) is exactly the first level of the
        full book without building the other 399 of every instrument for each tickers answer."""
        tick = inst.tick_sz
        mid_ticks = self.path(inst).ticks(log_mid)
        half_spread = random.Random(f"spread/{self.seed}/{inst.inst_id}/{step}").randint(1, 2)
        level_base = _LEVEL_USD / (math.exp(log_mid) * self._usd.get(inst.quote, 1.0))
        lot = float(inst.lot_sz)

        def side(name: str, start: int, direction: int) -> list[tuple[Decimal, Decimal, int]]:
            rng = random.Random(f"book/{self.seed}/{inst.inst_id}/{step}/{name}")
            levels = []
            px_ticks = start
            for _ in range(count):
                if px_ticks <= 0:
                    break
                units = max(1, int(level_base * rng.uniform(0.05, 1.5) / lot))
                size = max(inst.lot_sz * units, inst.min_sz)
                levels.append((tick * px_ticks, size, rng.randint(1, 25)))
                px_ticks += direction * rng.randint(1, 3)
            return levels

        return side("asks", mid_ticks + half_spread, 1), side("bids", mid_ticks - half_spread, -1)

    def _build(self, inst: SimInstrument, step: int, log_mid: float) -> Book:
        asks, bids = self._levels(inst, step, log_mid, MAX_DEPTH)
        return Book(inst.inst_id, step, self.step_time(step), asks, bids,
                    [[format_decimal(p), format_decimal(s), "0", str(n)] for p, s, n in asks],
                    [[format_decimal(p), format_decimal(s), "0", str(n)] for p, s, n in bids])

    def top(self, inst: SimInstrument, step: int) -> tuple[tuple[Decimal, Decimal, int], tuple[Decimal, Decimal, int]]:
        """The best ask and best bid at ``step``: the full book's when it is built, else drawn
        alone (the same numbers: see ``_levels``)."""
        cached = self._books.get(inst.inst_id)
        if cached is not None and cached.step == step:
            return cached.asks[0], cached.bids[0]
        asks, bids = self._levels(inst, step, self.log_mid(inst, step), 1)
        return asks[0], bids[0]

    def books_body(self, inst: SimInstrument, step: int, depth: int) -> bytes:
        """The whole ``/market/books`` response, cached per (instrument, step, depth)."""
        key = (inst.inst_id, step, depth)
        body = self._rendered.get(key)
        if body is None:
            book = self.book(inst, step)
            payload = {"code": "0", "msg": "", "data": [{
                "asks": book.asks_rendered[:depth], "bids": book.bids_rendered[:depth],
                "ts": str(book.ts), "seqId": step * 1000 + depth % 1000,
            }]}
            body = orjson.dumps(payload)
            if len(self._rendered) > 4096:
                self._rendered.clear()
            self._rendered[key] = body
        return body

    # -- tickers ---------------------------------------------------------------------------
    def ticker(self, inst: SimInstrument, step: int) -> dict[str, Any]:
        """OKX's ticker at ``step``: ``last`` is the mid (the forming bar's close and the latest
        print), the 24 h figures aggregate the last 1440 one-minute candles."""
        cached = self._tickers.get(inst.inst_id)
        if cached is not None and cached[0] == step:
            return cached[1]
        (ask_px, ask_sz, _), (bid_px, bid_sz, _) = self.top(inst, step)
        t = self.step_time(step)
        day = self.summary(inst, _TICKER_BAR.shift(_TICKER_BAR.open_at(t), 1 - RECENT_BARS), t + 1, t)
        path = self.path(inst)
        last_sz = path.prints(step)[-1][0]
        ticker = {
            "instType": "SPOT", "instId": inst.inst_id,
            "last": self._px(inst, day.close), "lastSz": format_decimal(inst.lot_sz * last_sz),
            "askPx": format_decimal(ask_px), "askSz": format_decimal(ask_sz),
            "bidPx": format_decimal(bid_px), "bidSz": format_decimal(bid_sz),
            "open24h": self._px(inst, day.open), "high24h": self._px(inst, day.high),
            "low24h": self._px(inst, day.low), "volCcy24h": self._quote(inst, day.quote),
            "vol24h": self._lots(inst, day.vol), "ts": str(t),
            "sodUtc0": self._px(inst, path.ticks(path.point(self.step_of(_DAY_UTC.open_at(t))))),
            "sodUtc8": self._px(inst, path.ticks(path.point(self.step_of(_DAY_UTC8.open_at(t))))),
        }
        self._tickers[inst.inst_id] = (step, ticker)
        return ticker

    # -- candles ---------------------------------------------------------------------------
    def summary(self, inst: SimInstrument, t0: int, t1: int, now_ms: int) -> Summary:
        """OHLC (ticks) and volume (lots, quote units) of the time ``[t0, t1)``, cut at ``now_ms``.

        Its prices are those of every step in effect during the time; its volume that of the
        steps that begin in it, so adjacent bars share no volume and add up exactly."""
        last = self.step_of(min(t1, now_ms + 1) - 1)
        first = self.step_of(t0)
        return self.path(inst).summary(first, last, self.step_of(t0 - 1) + 1, last + 1)

    def candles(self, inst: SimInstrument, bar: Bar, now_ms: int, *, after: int | None, before: int | None,
                limit: int, history: bool) -> list[list[str]]:
        """One page of OKX candle rows, newest first: bars that open before ``after`` and after
        ``before`` (both exclusive, either optional), never ahead of ``now_ms``. ``history``
        reaches three months back; otherwise only the latest 1440 bars are served."""
        newest = bar.open_at(now_ms)
        top = newest if after is None else min(newest, bar.open_at(after - 1))
        if history:
            oldest = bar.open_at(now_ms - HISTORY_MS)
        else:
            oldest = bar.shift(newest, 1 - RECENT_BARS)
        floor = oldest if before is None else max(oldest, before + 1)
        rows: list[list[str]] = []
        t0 = top
        while len(rows) < limit and t0 >= floor:
            t1 = bar.shift(t0, 1)
            rows.append(self._candle_row(inst, t0, t1, now_ms))
            t0 = bar.shift(t0, -1)
        return rows

    def _candle_row(self, inst: SimInstrument, t0: int, t1: int, now_ms: int) -> list[str]:
        s = self.summary(inst, t0, t1, now_ms)
        quote = self._quote(inst, s.quote)
        return [str(t0), self._px(inst, s.open), self._px(inst, s.high), self._px(inst, s.low),
                self._px(inst, s.close), self._lots(inst, s.vol), quote, quote, "1" if t1 <= now_ms else "0"]

    @staticmethod
    def _px(inst: SimInstrument, ticks: int) -> str:
        return format_decimal(inst.tick_sz * ticks)

    @staticmethod
    def _lots(inst: SimInstrument, lots: int) -> str:
        return format_decimal(inst.lot_sz * lots)

    @staticmethod
    def _quote(inst: SimInstrument, units: int) -> str:
        return format_decimal(inst.lot_sz * inst.tick_sz * units)

    # -- the tape --------------------------------------------------------------------------
    @staticmethod
    def tape_step(trade_id: int) -> tuple[int, int]:
        """(step, slot) of a tape tradeId."""
        step, slot = divmod(trade_id, TAPE_SLOTS)
        return step - TAPE_BIAS, slot

    def trades(self, inst: SimInstrument, now_ms: int, fills_between: FillsBetween, *, limit: int,
               after_id: int | None = None, after_ts: int | None = None, before_id: int | None = None,
               history: bool = False) -> list[dict[str, Any]]:
        """One page of the public tape, newest first: the walk's prints merged with the
        account's own fills (each at its step, after the walk's prints of that step).

        Args:
            fills_between: reads the account's fills of the instrument between two times.
            limit: at most this many prints.
            after_id, after_ts: only prints before this tradeId / earlier than this ts.
            before_id: only prints after this tradeId.
            history: reach three months back (else the pages stop after ``limit``).
        """
        step = self.step_at(now_ms)
        if after_ts is not None:
            step = min(step, self.step_of(after_ts - 1))
        if after_id is not None:
            step = min(step, self.tape_step(after_id - 1)[0])
        oldest = self.step_of(now_ms - HISTORY_MS) if history else step - limit
        # Every step prints at least once, so ``limit`` steps always fill the page.
        low = max(oldest, step - limit)
        own = self._own_prints(inst, low, step, fills_between)
        path = self.path(inst)
        found: list[dict[str, Any]] = []
        for s in range(step, low - 1, -1):
            px = self._px(inst, path.ticks(path.point(s)))
            ts = str(self.step_time(s))
            prints = [{"instId": inst.inst_id, "tradeId": str((s + TAPE_BIAS) * TAPE_SLOTS + slot), "px": px,
                       "sz": self._lots(inst, lots), "side": side, "source": "0", "ts": ts}
                      for lots, side, slot in path.prints(s)]
            for row in reversed(prints + own.get(s, [])):
                trade_id = int(row["tradeId"])
                if before_id is not None and trade_id <= before_id:
                    return found
                if (after_id is not None and trade_id >= after_id) or (after_ts is not None and
                                                                       int(row["ts"]) >= after_ts):
                    continue
                found.append(row)
                if len(found) == limit:
                    return found
        return found

    def _own_prints(self, inst: SimInstrument, low: int, high: int,
                    fills_between: FillsBetween) -> dict[int, list[dict[str, Any]]]:
        """The account's fills in steps ``low..high`` as tape prints, by step in tape order. The
        print's side is the taker's, as OKX's tape shows it."""
        fills = fills_between(inst.inst_id, self.step_time(low) - 1, self.step_time(high + 1))
        by_step: dict[int, list[dict[str, Any]]] = {}
        for fill in sorted(fills, key=lambda f: int(f["billId"])):
            step = self.step_of(int(fill["ts"]))
            rows = by_step.setdefault(step, [])
            slot = min(TAPE_SLOTS - 1, SYNTHETIC_SLOTS + len(rows))
            taker_side = fill["side"] if fill["execType"] == "T" else ("sell" if fill["side"] == "buy" else "buy")
            rows.append({"instId": inst.inst_id, "tradeId": str((step + TAPE_BIAS) * TAPE_SLOTS + slot),
                         "px": fill["fillPx"], "sz": fill["fillSz"], "side": taker_side, "source": "0",
                         "ts": fill["ts"]})
        return by_step

    # -- system status ---------------------------------------------------------------------
    def status(self, state: str | None) -> list[dict[str, str]]:
        """The maintenance records in ``state``, or the open ones (OKX's default)."""
        wanted = OPEN_MAINTENANCE_STATES if state is None else {state}
        return [dict(record) for record in self.maintenance if record.get("state") in wanted]

    # -- valuation -------------------------------------------------------------------------
    def _usd_prices(self) -> dict[str, float]:
        prices = {"USDT": 1.0, "USDC": 1.0, "USD": 1.0}
        for inst in self.catalogue.instruments:
            if inst.quote == "USDT":
                prices.setdefault(inst.base, float(inst.start_px))
        for known in ("BTC", "ETH"):
            prices.setdefault(known, {"BTC": 68000.0, "ETH": 3500.0}[known])
        return prices

    def usd_price(self, ccy: str, step: int) -> Decimal:
        """USD value of one unit, from the ccy-USDT mid when listed (stablecoins count as 1)."""
        if ccy in ("USDT", "USDC", "USD"):
            return Decimal(1)
        inst = self.catalogue.get(f"{ccy}-USDT")
        if inst is not None:
            return self.mid(inst, step)
        return Decimal(str(self._usd.get(ccy, 0.0)))

