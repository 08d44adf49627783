"""The public pushes, read off the same seeded market the REST endpoints serve.

Each function renders one push (``{"arg", "data"}`` and, for ``books``, ``action``) for one
subscription; the hub calls them once per market step. Everything comes from ``okx_sim.market``
at the current step, so a ``tickers`` push and ``market/ticker`` at the same step agree, a
``books`` snapshot equals ``market/books?sz=400``, and candles are ``market/candles``' rows.

``books``: the synthetic book is redrawn every step, so an increment is the difference between
the book last sent to this subscription and the book now: changed or new levels, and removed
ones with size ``"0"``. ``seqId`` is the market step, ``prevSeqId`` the step last sent (``-1``
in a snapshot). The checksum is OKX's CRC32 (``okx_wire.ws.books.checksum``) of the book the
client holds after applying the push, which is exactly the book now.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okx_sim.candles import BARS
from okx_sim.instruments import SimInstrument
from okx_sim.market import Book, FillsBetween, Market
from okx_wire.ws.books import checksum
from okx_wire.ws.protocol import BOOK_DEPTHS


def ticker_push(arg: dict[str, Any], market: Market, inst: SimInstrument, step: int) -> dict[str, Any]:
    return {"arg": arg, "data": [market.ticker(inst, step)]}


def book_push(arg: dict[str, Any], book: Book, previous: Book | None) -> dict[str, Any]:
    """A ``books``/``books5``/``bbo-tbt`` push of ``book``; for ``books``, an increment over
    ``previous`` when given, else a snapshot."""
    name = arg["channel"]
    depth = BOOK_DEPTHS[name]
    asks, bids = book.asks_rendered[:depth], book.bids_rendered[:depth]
    item: dict[str, Any] = {"asks": asks, "bids": bids, "ts": str(book.ts)}
    if name != "books":
        if name == "books5":
            item["instId"] = book.inst_id
        item["seqId"] = book.step
        return {"arg": arg, "data": [item]}
    action = "snapshot"
    prev_seq = -1
    if previous is not None:
        action, prev_seq = "update", previous.step
        item["asks"] = _diff(previous.asks_rendered, asks, ascending=True)
        item["bids"] = _diff(previous.bids_rendered, bids, ascending=False)
    item.update(checksum=checksum(bids, asks), prevSeqId=prev_seq, seqId=book.step)
    return {"arg": arg, "action": action, "data": [item]}


def _diff(before: list[list[str]], after: list[list[str]], *, ascending: bool) -> list[list[str]]:
    """The levels that changed from ``before`` to ``after`` (removed ones with size "0"), best first."""
    old = {row[0]: row for row in before}
    new = {row[0]: row for row in after}
    changed = [row for px, row in new.items() if old.get(px) != row]
    changed += [[px, "0", "0", "0"] for px in old if px not in new]
    changed.sort(key=lambda row: Decimal(row[0]), reverse=not ascending)
    return changed


def trade_pushes(arg: dict[str, Any], market: Market, inst: SimInstrument, now_ms: int, fills: FillsBetween,
                 after_id: int) -> tuple[list[dict[str, Any]], int]:
    """One push per print newer than ``after_id`` (oldest first), and the newest tradeId seen.

    OKX aggregates a taker order's prints per price into one message with ``count``; the
    simulator's prints are single trades, so ``count`` is "1" and ``seqId`` the tradeId.
    """
    rows = market.trades(inst, now_ms, fills, limit=100, before_id=after_id)
    pushes = [{"arg": arg, "data": [{**row, "count": "1", "seqId": int(row["tradeId"])}]} for row in reversed(rows)]
    newest = max((int(row["tradeId"]) for row in rows), default=after_id)
    return pushes, newest


def newest_trade_id(market: Market, inst: SimInstrument, now_ms: int, fills: FillsBetween) -> int:
    rows = market.trades(inst, now_ms, fills, limit=1)
    return int(rows[0]["tradeId"]) if rows else 0


def candle_pushes(arg: dict[str, Any], market: Market, inst: SimInstrument, now_ms: int,
                  last_open: int | None) -> tuple[list[dict[str, Any]], int]:
    """The forming bar, preceded by the bar just closed (``confirm "1"``) when a new one began
    since ``last_open``; and the open time of the forming bar."""
    bar = BARS[arg["channel"][len("candle"):]]
    current = market.candles(inst, bar, now_ms, after=None, before=None, limit=1, history=False)
    rows = []
    if last_open is not None and current and int(current[0][0]) != last_open:
        rows = market.candles(inst, bar, now_ms, after=int(current[0][0]), before=last_open - 1, limit=1,
                              history=False)
    rows += current
    return [{"arg": arg, "data": [row]} for row in rows], int(current[0][0]) if current else (last_open or 0)
