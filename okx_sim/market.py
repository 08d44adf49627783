"""Synthetic market data: a seeded random walk per instrument and a book around it.

Time is cut into steps of ``step_ms``. Each instrument's log mid price takes one Gaussian step
per simulated step from its own RNG, so the sequence of mids per step depends only on the seed
and the instrument: the same seed replays the same market. The book for (instrument, step) is
generated from an RNG keyed by both, and cached with its rendered JSON, because market-data
reads are by far the hottest path and must never touch the engine or the database.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

from okx_sim.instruments import Catalogue, SimInstrument
from okx_wire.endpoints import BOOK_DEPTH
from okx_wire.precision import format_decimal

#: The deepest book OKX serves (``market/books`` ``sz``): every book is built this deep.
MAX_DEPTH = BOOK_DEPTH.stop - 1
#: Roughly how much quote value (in USD) one book level holds.
_LEVEL_USD = 25_000.0


@dataclass(slots=True)
class _Walk:
    step: int
    log_mid: float
    rng: random.Random
    high: float
    low: float


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
    """Mid prices and books per step; thread-safe, read-only from the engine's point of view."""

    def __init__(self, catalogue: Catalogue, *, seed: int, step_ms: int, volatility: float,
                 start_step: int, anchor_ms: int) -> None:
        self.catalogue = catalogue
        self.seed = seed
        self.step_ms = step_ms
        self.volatility = volatility
        self._start_step = start_step
        self._anchor_ms = anchor_ms
        self._walks: dict[str, _Walk] = {}
        self._books: dict[str, Book] = {}
        self._rendered: dict[tuple[str, int, int], bytes] = {}
        self._lock = threading.Lock()
        self._usd = self._usd_prices()

    # -- time ------------------------------------------------------------------------------
    def step_at(self, now_ms: int) -> int:
        return self._start_step + max(0, now_ms - self._anchor_ms) // self.step_ms

    def step_time(self, step: int) -> int:
        """The wall-clock ms at which ``step`` began in this run (books' ``ts``)."""
        return self._anchor_ms + (step - self._start_step) * self.step_ms

    # -- walk ------------------------------------------------------------------------------
    def _walk(self, inst: SimInstrument, step: int) -> _Walk:
        walk = self._walks.get(inst.inst_id)
        if walk is None:
            start = math.log(float(inst.start_px))
            walk = _Walk(0, start, random.Random(f"walk/{self.seed}/{inst.inst_id}"), start, start)
            self._walks[inst.inst_id] = walk
        sigma = self.volatility
        gauss = walk.rng.gauss
        while walk.step < step:
            walk.log_mid += gauss(0.0, sigma)
            walk.step += 1
            if walk.log_mid > walk.high:
                walk.high = walk.log_mid
            elif walk.log_mid < walk.low:
                walk.low = walk.log_mid
        return walk

    def mid(self, inst: SimInstrument, step: int) -> Decimal:
        """The mid price at ``step`` rounded to the tick (never below ten ticks)."""
        with self._lock:
            log_mid = self._walk(inst, step).log_mid
        ticks = max(10, round(math.exp(log_mid) / float(inst.tick_sz)))
        return inst.tick_sz * ticks

    # -- books -----------------------------------------------------------------------------
    def book(self, inst: SimInstrument, step: int) -> Book:
        with self._lock:
            cached = self._books.get(inst.inst_id)
            if cached is not None and cached.step == step:
                return cached
            log_mid = self._walk(inst, step).log_mid
        book = self._build(inst, step, log_mid)
        with self._lock:
            self._books[inst.inst_id] = book
        return book

    def _levels(self, inst: SimInstrument, step: int, log_mid: float, count: int
                ) -> tuple[list[tuple[Decimal, Decimal, int]], list[tuple[Decimal, Decimal, int]]]:
        """The first ``count`` levels of each side. Each side draws from its own seeded stream,
        so the top of book (``count=1``, what a ticker shows) is exactly the first level of the
        full book without building the other 399 of every instrument for each tickers answer."""
        tick = inst.tick_sz
        mid_ticks = max(10, round(math.exp(log_mid) / float(tick)))
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
        with self._lock:
            cached = self._books.get(inst.inst_id)
            if cached is not None and cached.step == step:
                return cached.asks[0], cached.bids[0]
            log_mid = self._walk(inst, step).log_mid
        asks, bids = self._levels(inst, step, log_mid, 1)
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

    def ticker(self, inst: SimInstrument, step: int) -> dict[str, Any]:
        (ask_px, ask_sz, _), (bid_px, bid_sz, _) = self.top(inst, step)
        with self._lock:
            walk = self._walk(inst, step)
            high, low = math.exp(walk.high), math.exp(walk.low)
        tick = inst.tick_sz
        open_px = format_decimal(inst.start_px.quantize(tick) if tick < 1 else inst.start_px)
        rng = random.Random(f"vol/{self.seed}/{inst.inst_id}/{step // 60}")
        vol = Decimal(str(round(rng.uniform(500, 5000) * _LEVEL_USD / float(inst.start_px), 6)))
        return {
            "instType": "SPOT", "instId": inst.inst_id,
            "last": format_decimal(bid_px), "lastSz": format_decimal(bid_sz),
            "askPx": format_decimal(ask_px), "askSz": format_decimal(ask_sz),
            "bidPx": format_decimal(bid_px), "bidSz": format_decimal(bid_sz),
            # The walk's extremes are of its mids; the last trade (at the bid here) is inside
            # the day's range by definition, as OKX's tickers always are.
            "open24h": open_px, "high24h": format_decimal(max(_to_tick(high, tick), bid_px)),
            "low24h": format_decimal(min(_to_tick(low, tick), bid_px)),
            "volCcy24h": format_decimal((vol * bid_px).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)),
            "vol24h": format_decimal(vol), "ts": str(self.step_time(step)), "sodUtc0": open_px, "sodUtc8": open_px,
        }

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


def _to_tick(value: float, tick: Decimal) -> Decimal:
    return tick * max(1, round(value / float(tick)))
