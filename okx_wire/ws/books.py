"""A local copy of an OKX order book kept from ``books`` pushes, checked as OKX specifies.

OKX sends a snapshot (``action: snapshot``, ``prevSeqId -1``) and then increments whose
``prevSeqId`` is the ``seqId`` before them; a level whose size is ``"0"`` is deleted. Two checks
catch a book that drifted: the sequence (a push whose ``prevSeqId`` is not our last ``seqId`` is
a gap) and the CRC32 ``checksum`` over the first 25 levels of each side of the merged book,
interleaved ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` with each price and size exactly as
received (a side with fewer levels just contributes fewer), as a signed 32-bit integer
(API-FACTS-2 12.5). OKX's June 2026 docs fix ``checksum`` to 0 (deprecated) for ``books``; a 0
is therefore not checked, and the sequence alone decides.

The simulator computes the checksum with ``checksum`` too, so the two sides cannot disagree on
the string. Prices and sizes stay strings here: the checksum is over the text as sent, and a
Decimal round trip could change it (``"8476.90"`` vs ``"8476.9"``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from okx_wire.ws.protocol import CHECKSUM_LEVELS

Level = Sequence[str]


class BookGap(Exception):
    """The local book can no longer be trusted (a sequence gap or a checksum mismatch): take a
    fresh snapshot (resubscribe, or read ``market/books`` over REST)."""


def checksum(bids: Iterable[Level], asks: Iterable[Level], levels: int = CHECKSUM_LEVELS) -> int:
    """OKX's book checksum: signed CRC32 of the interleaved first ``levels`` bids and asks."""
    bid_list, ask_list = list(bids)[:levels], list(asks)[:levels]
    parts: list[str] = []
    for i in range(max(len(bid_list), len(ask_list))):
        if i < len(bid_list):
            parts += (bid_list[i][0], bid_list[i][1])
        if i < len(ask_list):
            parts += (ask_list[i][0], ask_list[i][1])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class LocalBook:
    """One instrument's book from a ``books`` stream: ``apply`` each push's data item.

    Levels are kept as OKX sends them (``[px, sz, "0", numOrders]``), keyed by the Decimal price
    only for ordering; ``bids``/``asks`` are best first.
    """

    def __init__(self, inst_id: str) -> None:
        self.inst_id = inst_id
        self.seq_id: int | None = None
        self.ts = 0
        self._bids: dict[Decimal, list[str]] = {}
        self._asks: dict[Decimal, list[str]] = {}

    @property
    def bids(self) -> list[list[str]]:
        return [self._bids[p] for p in sorted(self._bids, reverse=True)]

    @property
    def asks(self) -> list[list[str]]:
        return [self._asks[p] for p in sorted(self._asks)]

    @property
    def ready(self) -> bool:
        return self.seq_id is not None

    def apply(self, action: str, data: dict[str, Any]) -> None:
        """Apply one push. Raises ``BookGap`` (and forgets the book) on a gap or bad checksum."""
        seq, prev = _int(data.get("seqId")), _int(data.get("prevSeqId"))
        if action == "snapshot":
            self._bids, self._asks = {}, {}
        elif self.seq_id is None:
            raise BookGap(f"{self.inst_id}: an update before any snapshot")
        elif prev is not None and prev != self.seq_id:
            self._forget()
            raise BookGap(f"{self.inst_id}: prevSeqId {prev} does not follow seqId {self.seq_id}")
        _merge(self._bids, data.get("bids", []))
        _merge(self._asks, data.get("asks", []))
        self.seq_id = seq if seq is not None else self.seq_id
        self.ts = _int(data.get("ts")) or self.ts
        expected = _int(data.get("checksum"))
        if expected and checksum(self.bids, self.asks) != expected:
            self._forget()
            raise BookGap(f"{self.inst_id}: checksum mismatch after seqId {seq}")

    def load(self, bids: Iterable[Level], asks: Iterable[Level], seq_id: int, ts: int = 0) -> None:
        """Start over from a REST snapshot (``market/books``). Its ``seqId`` need not chain with the
        stream's, so the stream must be resubscribed for a fresh snapshot; until it arrives the
        REST copy is what the book shows."""
        self._bids, self._asks = {}, {}
        _merge(self._bids, bids)
        _merge(self._asks, asks)
        self.seq_id, self.ts = seq_id, ts

    def _forget(self) -> None:
        self._bids, self._asks, self.seq_id = {}, {}, None


def _merge(side: dict[Decimal, list[str]], levels: Iterable[Level]) -> None:
    for level in levels:
        px = Decimal(level[0])
        if Decimal(level[1]) == 0:
            side.pop(px, None)
        else:
            side[px] = list(level)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)
