"""The walk as a path over all time: mids at any step, candles at any bar size, a trade tape.

The simulator's market is one seeded path per instrument over integer steps (``step_ms`` each).
Step 0 is the first start of the simulator's state; negative steps are its history, which must
exist (history-candles reaches three months back) and join the live walk without a seam. The
path is therefore not simulated step after step but *built coarse to fine*:

- Time is cut into blocks of ``2**bits`` steps (about a week). The path at block boundaries is a
  Gaussian random walk from ``log(start_px)`` at step 0, forwards and backwards.
- Inside a block, each node (a dyadic interval of steps) knows its two endpoint values, its high
  and its low and where they are reached, its volume and its quote volume. Splitting a node in
  two draws the midpoint from the Brownian bridge between the endpoints (clipped into the node's
  range), and for each half the extreme it does not inherit from the Brownian-bridge maximum
  distribution, capped by the parent's. Every draw comes from a hash of (seed, instrument,
  level, index), so a node is the same whenever and in whatever order it is built.
- Volume (in lots) and quote volume (in lot x tick units) are integers split exactly between the
  halves at a drawn share; the quote so that both halves' average prices sit at the same height
  of their own ranges (so a bar's volCcy / vol stays, up to rounding, inside its low..high).

Hence every aggregate is exact at every scale: a bar's high is the high of its sub-bars, a 1D
volume is the sum of its 1440 one-minute volumes, a ticker's 24 h figures are the sums of the
last 1440 one-minute candles. A bar of any size is read from O(log n) nodes (a 1M bar never
visits its 2.6 million steps), and nodes are cached in two generations (bounded memory, the
recently used ones kept).

The trade tape: every step prints 1..3 synthetic trades at that step's price, whose sizes add up
to the step's volume, stamped at the step's start; tradeIds are ``(step + TAPE_BIAS) * TAPE_SLOTS +
slot``, so they grow with time and name their step. Slots from ``SYNTHETIC_SLOTS`` on are left
for the account's own fills, which ``okx_sim.routes.public`` merges in.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

SECOND: Final = 1000
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
#: OKX's default bars are aligned to Hong Kong time (UTC+8); the ``utc`` variants to UTC.
_UTC8: Final = 8 * HOUR
#: The Unix epoch was a Thursday; OKX's weeks start on Monday, four days later.
_MONDAY: Final = 4 * DAY
#: How far back history-candles and history-trades reach (OKX: "the last 3 months").
HISTORY_MS: Final = 92 * DAY
#: How many bars market/candles reaches back (older ones are on history-candles only).
RECENT_BARS: Final = 1440
#: Trade ids: ``(step + TAPE_BIAS) * TAPE_SLOTS + slot``; slots below ``SYNTHETIC_SLOTS`` are the
#: walk's own prints, the rest are free for the account's fills in that step.
TAPE_SLOTS: Final = 1000
SYNTHETIC_SLOTS: Final = 3
TAPE_BIAS: Final = 10_000_000_000
#: Nodes kept per cache generation (all instruments together); two generations at most.
CACHE_NODES: Final = 60_000
#: Log prices are kept inside this range so that exp() never overflows, whatever the volatility.
_LOG_BOUND: Final = 600.0
_U64: Final = float(1 << 64)
_TWO_PI: Final = 2 * math.pi


@dataclass(frozen=True, slots=True)
class Bar:
    """One OKX bar size: a fixed length in ms, or a number of calendar months, in a time zone."""

    name: str
    ms: int = 0
    months: int = 0
    offset: int = 0
    anchor: int = 0

    def open_at(self, t: int) -> int:
        """The open time (ms) of the bar that contains instant ``t``."""
        if self.months:
            moment = datetime.fromtimestamp((t + self.offset) // 1000, UTC)
            month = moment.month - (moment.month - 1) % self.months
            return _month_start(moment.year, month) - self.offset
        return (t + self.offset - self.anchor) // self.ms * self.ms + self.anchor - self.offset

    def index(self, open_ms: int) -> int:
        """A running number of the bar (consecutive bars differ by 1)."""
        if self.months:
            moment = datetime.fromtimestamp((open_ms + self.offset) // 1000, UTC)
            return (moment.year * 12 + moment.month - 1) // self.months
        return (open_ms + self.offset - self.anchor) // self.ms

    def shift(self, open_ms: int, bars: int) -> int:
        """The open time ``bars`` bars later (earlier when negative)."""
        if not self.months:
            return open_ms + bars * self.ms
        moment = datetime.fromtimestamp((open_ms + self.offset) // 1000, UTC)
        months = moment.year * 12 + moment.month - 1 + bars * self.months
        return _month_start(months // 12, months % 12 + 1) - self.offset


def _month_start(year: int, month: int) -> int:
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


def _bars() -> dict[str, Bar]:
    bars = {name: Bar(name, ms) for name, ms in (
        ("1s", SECOND), ("1m", MINUTE), ("3m", 3 * MINUTE), ("5m", 5 * MINUTE), ("15m", 15 * MINUTE),
        ("30m", 30 * MINUTE), ("1H", HOUR), ("2H", 2 * HOUR), ("4H", 4 * HOUR))}
    for suffix, offset in (("", _UTC8), ("utc", 0)):
        for name, ms in (("6H", 6 * HOUR), ("12H", 12 * HOUR), ("1D", DAY), ("2D", 2 * DAY), ("3D", 3 * DAY)):
            bars[name + suffix] = Bar(name + suffix, ms, offset=offset)
        bars["1W" + suffix] = Bar("1W" + suffix, 7 * DAY, offset=offset, anchor=_MONDAY)
        bars["1M" + suffix] = Bar("1M" + suffix, months=1, offset=offset)
        bars["3M" + suffix] = Bar("3M" + suffix, months=3, offset=offset)
    return bars


#: Every bar size of history-candles, by OKX's name; market/candles serves all but ``1s``.
BARS: Final = _bars()
HISTORY_ONLY_BARS: Final = frozenset({"1s"})


class Node:
    """A dyadic interval of steps ``[index << level, (index + 1) << level]`` (both ends included).

    ``a``/``b`` are the log prices at the two ends, ``hi``/``lo`` the extremes over every step of
    the interval and ``ih``/``il`` the steps where they are reached. ``vol`` (lots) and
    ``quote`` (lot x tick units) belong to the interval's steps ``[start, end)``: a step's volume
    is traded while its price holds.
    """

    __slots__ = ("a", "b", "hi", "ih", "lo", "il", "vol", "quote", "hi_t", "lo_t")

    def __init__(self, a: float, b: float, hi: float, ih: int, lo: float, il: int, vol: int, quote: int,
                 hi_t: int, lo_t: int) -> None:
        self.a, self.b, self.hi, self.ih, self.lo, self.il = a, b, hi, ih, lo, il
        self.vol, self.quote, self.hi_t, self.lo_t = vol, quote, hi_t, lo_t


@dataclass(frozen=True, slots=True)
class Summary:
    """OHLC in ticks and volumes of a stretch of steps (a candle before rendering)."""

    open: int
    high: int
    low: int
    close: int
    vol: int
    quote: int


class NodeCache:
    """Split results keyed by (path, level, index), in two generations: a lookup that hits the
    old generation promotes the entry, and when the young one is full it becomes the old one. So
    memory stays bounded and what the hot path keeps touching is never dropped."""

    def __init__(self, capacity: int = CACHE_NODES) -> None:
        self.capacity = capacity
        self._young: dict[tuple[int, int, int], tuple[Node, Node]] = {}
        self._old: dict[tuple[int, int, int], tuple[Node, Node]] = {}

    def get(self, key: tuple[int, int, int]) -> tuple[Node, Node] | None:
        found = self._young.get(key)
        if found is None:
            found = self._old.get(key)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key: tuple[int, int, int], value: tuple[Node, Node]) -> None:
        if len(self._young) >= self.capacity:
            self._old, self._young = self._young, {}
        self._young[key] = value

    def __len__(self) -> int:
        return len(self._young) + len(self._old)


def _gauss(u1: float, u2: float) -> float:
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


class Path:
    """One instrument's path: log price per step, extremes and volumes of any stretch of steps.

    Args:
        ident: a small integer naming the path in the shared cache.
        key: the hash key (seed and instrument) every draw of this path derives from.
        x0: the log price at step 0.
        sigma: the per-step standard deviation of the log price.
        bits: log2 of the block length in steps.
        lots_per_step: the mean volume per step, in lots.
        tick: the price tick, to turn log prices into whole ticks.
        cache: the node cache (shared by every path of one market).
    """

    def __init__(self, ident: int, key: bytes, x0: float, sigma: float, bits: int, lots_per_step: float,
                 tick: float, cache: NodeCache) -> None:
        self.ident, self.key, self.x0, self.sigma, self.bits = ident, key, x0, sigma, bits
        self.lots_per_step, self.tick, self.cache = lots_per_step, tick, cache
        self._edges: dict[int, float] = {0: x0}
        self._blocks: dict[int, Node] = {}

    # -- draws -------------------------------------------------------------------------------
    def _uniforms(self, level: int, index: int) -> tuple[float, ...]:
        digest = hashlib.blake2b(self.key + struct.pack("<bq", level, index), digest_size=64).digest()
        return tuple((value + 0.5) / _U64 for value in struct.unpack("<8Q", digest))

    def ticks(self, x: float) -> int:
        """A log price as whole ticks, never below ten ticks (the book needs room under it)."""
        return max(10, round(math.exp(x) / self.tick))

    # -- blocks ------------------------------------------------------------------------------
    def _edge(self, j: int) -> float:
        """The log price at step ``j << bits``: a random walk over blocks, both ways from step 0."""
        known = self._edges.get(j)
        if known is not None:
            return known
        scale = self.sigma * math.sqrt(1 << self.bits)
        near = max((k for k in self._edges if k <= j), default=None) if j > 0 else \
            min((k for k in self._edges if k >= j), default=None)
        k = 0 if near is None else near
        x = self._edges[k]
        while k != j:
            if j > k:
                u = self._uniforms(-1, k)
                x = _bound(x + scale * _gauss(u[0], u[1]))
                k += 1
            else:
                k -= 1
                u = self._uniforms(-1, k)
                x = _bound(x - scale * _gauss(u[0], u[1]))
            self._edges[k] = x
        return x

    def block(self, j: int) -> Node:
        node = self._blocks.get(j)
        if node is None:
            node = self._root(j)
            if len(self._blocks) > 4096:
                self._blocks.clear()
            self._blocks[j] = node
        return node

    def _root(self, j: int) -> Node:
        a, b = self._edge(j), self._edge(j + 1)
        n = 1 << self.bits
        s0, s1 = j * n, (j + 1) * n
        u = self._uniforms(-2, j)
        hi, ih = self._extreme(a, b, s0, s1, math.inf, None, u[0], u[1], +1)
        lo, il = self._extreme(a, b, s0, s1, -math.inf, ih, u[2], u[3], -1, hi)
        hi_t, lo_t = self.ticks(hi), self.ticks(lo)
        vol = max(0, round(self.lots_per_step * n * (0.6 + 0.8 * u[4])))
        # The block's average price at the middle of its range, the height its halves start from.
        return Node(a, b, hi, ih, lo, il, vol, vol * ((lo_t + hi_t) // 2), hi_t, lo_t)

    def _extreme(self, a: float, b: float, s0: int, s1: int, cap: float, taken: int | None, u_val: float,
                 u_pos: float, sign: int, other: float = 0.0) -> tuple[float, int]:
        """A new high (``sign`` +1) or low (-1) of the interval ``[s0, s1]`` with ends ``a``, ``b``:
        the Brownian-bridge extreme, no further than ``cap``, at an interior step other than
        ``taken`` (the other extreme's); at the better end when there is no such step."""
        end, at = (a, s0) if sign * a >= sign * b else (b, s1)
        n = s1 - s0
        blocked = taken is not None and s0 < taken < s1
        free = n - 1 - (1 if blocked else 0)
        if free <= 0 or self.sigma == 0:
            return end, at
        # P(max > m) = exp(-2 (m - a)(m - b) / (n sigma^2)), solved for m at a uniform draw.
        reach = (sign * (a + b) + math.sqrt((a - b) ** 2 - 2 * n * self.sigma ** 2 * math.log(u_val))) / 2
        value = min(reach, sign * cap) * sign
        if sign * value <= sign * end:
            return end, at
        # Where: the path climbs value-a, then falls value-b; first-passage times over a distance
        # d scale as d^2 / Z^2, so the share before the extreme is 1 / (1 + (d2/d1)^2 C^2) with C
        # a Cauchy draw (for a == b: the arcsine law of a Brownian bridge's argmax).
        rise, fall = max(sign * (value - a), 1e-300), sign * (value - b)
        cauchy = math.tan(math.pi * (u_pos - 0.5))
        at_share = n / (1 + (fall / rise) ** 2 * cauchy ** 2)
        # Given the length, neither climb may be steeper than ~3 sigma per square-root step: the
        # ratio alone would sometimes ask a large excess of a few steps (a jump, not a walk).
        earliest, latest = (rise / (3 * self.sigma)) ** 2, n - (fall / (3 * self.sigma)) ** 2
        if earliest > latest:
            at_share = n * rise / (rise + fall)
        else:
            at_share = min(max(at_share, earliest), latest)
        pos = s0 + min(n - 1, max(1, round(at_share)))
        if blocked and taken is not None:
            # Nor may the path run from the other extreme (``other`` at ``taken``) to this one faster.
            gap = max(1, math.ceil((sign * (value - other) / (3 * self.sigma)) ** 2))
            if abs(pos - taken) < gap:
                sides = [p for p in (taken - gap, taken + gap) if s0 < p < s1]
                if sides:
                    pos = min(sides, key=lambda p: abs(p - pos))
                else:  # no room that far: the extreme is only as far from the other as room allows
                    pos = s0 + 1 if taken - s0 > s1 - taken else s1 - 1
        # Wherever it landed, the extreme must be reachable from both ends and from the other
        # extreme at ~3 sigma per square-root step: otherwise a single step would jump (seen:
        # a new low one step after the start, 280 sigma below it).
        reach3 = 3 * self.sigma
        limits = [a + sign * reach3 * math.sqrt(pos - s0), b + sign * reach3 * math.sqrt(s1 - pos)]
        if blocked and taken is not None:
            limits.append(other + sign * reach3 * math.sqrt(abs(pos - taken)))
        value = sign * min(sign * value, *(sign * v for v in limits))
        if sign * value <= sign * end:
            return end, at
        return _bound(value), pos

    # -- splitting ---------------------------------------------------------------------------
    def children(self, node: Node, level: int, index: int) -> tuple[Node, Node]:
        key = (self.ident, level, index)
        found = self.cache.get(key)
        if found is None:
            found = self._split(node, level, index)
            self.cache.put(key, found)
        return found

    def _split(self, node: Node, level: int, index: int) -> tuple[Node, Node]:
        n = 1 << level
        s0 = index << level
        c, s1 = s0 + n // 2, s0 + n
        u = self._uniforms(level, index)
        if node.ih == c:
            m = node.hi
        elif node.il == c:
            m = node.lo
        else:
            m = (node.a + node.b) / 2 + self.sigma * math.sqrt(n) / 2 * _gauss(u[0], u[1])
            # Within reach of the extremes it must still climb to (3 sigma per square-root step).
            floor = node.hi - 3 * self.sigma * math.sqrt(abs(c - node.ih))
            ceiling = node.lo + 3 * self.sigma * math.sqrt(abs(c - node.il))
            m = min(max(m, floor), ceiling) if floor <= ceiling else (floor + ceiling) / 2
            m = min(node.hi, max(node.lo, m))
        halves = []
        for a, b, t0, t1 in ((node.a, m, s0, c), (m, node.b, c, s1)):
            hi, ih = (node.hi, node.ih) if t0 <= node.ih <= t1 else (None, None)
            lo, il = (node.lo, node.il) if t0 <= node.il <= t1 else (None, None)
            if hi is None or ih is None:
                hi, ih = self._extreme(a, b, t0, t1, node.hi, il, u[2], u[3], +1, node.lo if il is not None else 0.0)
            if lo is None or il is None:
                lo, il = self._extreme(a, b, t0, t1, node.lo, ih, u[4], u[5], -1, hi)
            halves.append((a, b, hi, ih, lo, il, self.ticks(hi), self.ticks(lo)))
        (la, lb, lhi, lih, llo, lil, lhi_t, llo_t), (ra, rb, rhi, rih, rlo, ril, rhi_t, rlo_t) = halves
        vol_l, quote_l = _split_volume(node.vol, node.quote, 0.3 + 0.4 * u[6], (llo_t, lhi_t), (rlo_t, rhi_t))
        return (Node(la, lb, lhi, lih, llo, lil, vol_l, quote_l, lhi_t, llo_t),
                Node(ra, rb, rhi, rih, rlo, ril, node.vol - vol_l, node.quote - quote_l, rhi_t, rlo_t))

    # -- queries -----------------------------------------------------------------------------
    def point(self, s: int) -> float:
        """The log price at step ``s``."""
        level = self.bits
        index = s >> level
        node = self.block(index)
        while True:
            s0 = index << level
            if s == s0:
                return node.a
            if s == s0 + (1 << level):
                return node.b
            left, right = self.children(node, level, index)
            level -= 1
            index = index * 2
            if s >= s0 + (1 << level):
                node, index = right, index + 1
            else:
                node = left

    def leaf(self, s: int) -> Node:
        """The one-step node of step ``s``: its price (``a``) and its volume."""
        level = self.bits
        index = s >> level
        node = self.block(index)
        while level:
            left, right = self.children(node, level, index)
            level -= 1
            index = index * 2
            if s >= (index + 1) << level:
                node, index = right, index + 1
            else:
                node = left
        return node

    def extremes(self, p0: int, p1: int) -> tuple[float, float]:
        """(high, low) of the log price over steps ``p0..p1`` (both included)."""
        hi, lo = -math.inf, math.inf
        for j in range(p0 >> self.bits, (p1 >> self.bits) + 1):
            h, low = self._extremes(self.block(j), self.bits, j, p0, p1)
            hi, lo = max(hi, h), min(lo, low)
        return hi, lo

    def _extremes(self, node: Node, level: int, index: int, p0: int, p1: int) -> tuple[float, float]:
        s0 = index << level
        s1 = s0 + (1 << level)
        if p0 <= s0 and s1 <= p1:
            return node.hi, node.lo
        if level == 0:  # one end of a single step is in the range
            value = node.a if p0 <= s0 <= p1 else node.b
            return value, value
        left, right = self.children(node, level, index)
        c = s0 + (1 << (level - 1))
        hi, lo = -math.inf, math.inf
        if p0 <= c:
            hi, lo = self._extremes(left, level - 1, index * 2, p0, p1)
        if p1 >= c:
            h, low = self._extremes(right, level - 1, index * 2 + 1, p0, p1)
            hi, lo = max(hi, h), min(lo, low)
        return hi, lo

    def volume(self, e0: int, e1: int) -> tuple[int, int]:
        """(lots, quote units) traded in steps ``e0 <= s < e1``."""
        if e1 <= e0:
            return 0, 0
        vol = quote = 0
        for j in range(e0 >> self.bits, ((e1 - 1) >> self.bits) + 1):
            v, q = self._volume(self.block(j), self.bits, j, e0, e1)
            vol, quote = vol + v, quote + q
        return vol, quote

    def _volume(self, node: Node, level: int, index: int, e0: int, e1: int) -> tuple[int, int]:
        s0 = index << level
        s1 = s0 + (1 << level)
        if e0 <= s0 and s1 <= e1:
            return node.vol, node.quote
        left, right = self.children(node, level, index)
        c = s0 + (1 << (level - 1))
        vol = quote = 0
        if e0 < c:
            vol, quote = self._volume(left, level - 1, index * 2, e0, e1)
        if e1 > c:
            v, q = self._volume(right, level - 1, index * 2 + 1, e0, e1)
            vol, quote = vol + v, quote + q
        return vol, quote

    def summary(self, p0: int, p1: int, e0: int, e1: int) -> Summary:
        """Prices over steps ``p0..p1`` and volume of steps ``e0 <= s < e1``, in ticks and lots."""
        hi, lo = self.extremes(p0, p1)
        vol, quote = self.volume(e0, e1)
        return Summary(self.ticks(self.point(p0)), self.ticks(hi), self.ticks(lo), self.ticks(self.point(p1)),
                       vol, quote)

    # -- the tape ----------------------------------------------------------------------------
    def prints(self, s: int) -> list[tuple[int, str, int]]:
        """The walk's trades in step ``s``, in tape order: (lots, taker side, slot). Their sizes add
        up to the step's volume (one lot when the step has none)."""
        vol = self.leaf(s).vol
        digest = hashlib.blake2b(self.key + b"tape" + struct.pack("<q", s), digest_size=16).digest()
        count = min(1 + digest[0] % SYNTHETIC_SLOTS, max(1, vol))
        cuts = sorted({1 + (int.from_bytes(digest[2 + 2 * i:4 + 2 * i], "little") * (vol - 1)) // 65536
                       for i in range(count - 1)}) if vol > 1 else []
        bounds = [0, *cuts, vol]
        sizes = [bounds[i + 1] - bounds[i] for i in range(len(bounds) - 1)] if vol > 0 else [1]
        return [(size, "buy" if digest[1] >> i & 1 else "sell", i) for i, size in enumerate(sizes)]


def _bound(x: float) -> float:
    return min(_LOG_BOUND, max(-_LOG_BOUND, x))


def _split_volume(vol: int, quote: int, height: float, left: tuple[int, int], right: tuple[int, int]
                  ) -> tuple[int, int]:
    """The left half's (lots, quote units) of a node's ``vol`` and ``quote``.

    Each half's average price (quote / lots) must stay inside its own [low, high] in ticks, or a
    candle's volCcy / vol could leave its range. The lots are split so that both averages can sit
    at the drawn relative ``height`` of their ranges (kept between 15 % and 85 % of the lots,
    and within what keeps both averages feasible); the quote is then split at the common height
    the parent's average asks for. Integers throughout: a parent is exactly the sum of its
    halves, at every scale."""
    if vol <= 0:
        return 0, 0
    (lo_l, hi_l), (lo_r, hi_r) = left, right
    at_l, at_r = lo_l + height * (hi_l - lo_l), lo_r + height * (hi_r - lo_r)
    wanted = (quote - vol * at_r) / (at_l - at_r) if at_l != at_r else vol / 2
    least, most = _feasible_lots(vol, quote, left, right)
    vol_l = round(min(max(wanted, 0.15 * vol), 0.85 * vol))
    vol_l = min(max(vol_l, least), most) if least <= most else (least + most) // 2
    vol_l = min(max(vol_l, 0), vol)
    vol_r = vol - vol_l
    floor = vol_l * lo_l + vol_r * lo_r
    span = vol_l * (hi_l - lo_l) + vol_r * (hi_r - lo_r)
    t = min(1.0, max(0.0, (quote - floor) / span)) if span else 0.5
    quote_l = vol_l * lo_l + round(t * vol_l * (hi_l - lo_l))
    low, high = max(vol_l * lo_l, quote - vol_r * hi_r), min(vol_l * hi_l, quote - vol_r * lo_r)
    if low <= high:
        quote_l = min(max(quote_l, low), high)
    return vol_l, min(max(quote_l, 0), quote)


def _feasible_lots(vol: int, quote: int, left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    """The range of left lots ``x`` for which both halves can keep their average price in range:
    ``x*lo_l + (vol-x)*lo_r <= quote <= x*hi_l + (vol-x)*hi_r``."""
    (lo_l, hi_l), (lo_r, hi_r) = left, right
    least, most = 0, vol
    slope = lo_l - lo_r
    if slope > 0:
        most = min(most, (quote - vol * lo_r) // slope)
    elif slope < 0:
        least = max(least, -((quote - vol * lo_r) // -slope))
    slope = hi_l - hi_r
    if slope > 0:
        least = max(least, -(-(quote - vol * hi_r) // slope))
    elif slope < 0:
        most = min(most, (vol * hi_r - quote) // -slope)
    return least, most
