"""The WebSocket side of the simulator: connections, subscriptions, and what feeds them.

One hub per app. Public feeds are driven by the market's steps: a push loop wakes a few times
per step and, when the step changed, pushes each subscription's channel (``okx_sim.ws.feeds``).
Private feeds are driven by the engine: the hub is one of ``MatchingEngine.listeners`` and turns
each commit's order updates, changed currencies and algo orders into ``orders``, ``account``,
``orders-algo`` and ``algo-advance`` pushes. The
engine may commit on another thread (a test calling it directly); pushes are then handed to the
event loop, so a session is only ever touched on the loop.

A connection with no message either way for ``idle_timeout_s`` (OKX: 30 s) is closed with 4004
("No data received in 30s"); a client's ``ping`` counts, so a keep-alive keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from okx_sim.matching import OrderUpdate
from okx_sim.ws import feeds
from okx_sim.ws.private import account_push, algo_row, order_row, wants_algo, wants_order
from okx_sim.ws.session import Session, Subscription

#: The channels the engine's commits feed.
_PRIVATE = frozenset({"orders", "account", "orders-algo", "algo-advance"})

if TYPE_CHECKING:
    from okx_sim.server import SimApp

log = logging.getLogger("okx_sim")

#: Close code OKX uses for an idle connection.
IDLE_CLOSE = 4004


class Hub:
    def __init__(self, app: SimApp) -> None:
        self.app = app
        self.sessions: set[Session] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._task: asyncio.Task[None] | None = None
        self._listening = False

    # -- connections ---------------------------------------------------------------------------
    def add(self, session: Session) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._push_loop())
        self.sessions.add(session)

    def remove(self, session: Session) -> None:
        self.sessions.discard(session)

    def listen_to_engine(self) -> None:
        """Start receiving the engine's commits (from the first private subscription on)."""
        if not self._listening:
            self._listening = True
            self.app.exchange.listeners.append(self._on_commit)

    def drop_all(self) -> int:
        """Cut every connection now (a test's deterministic "the gateway dropped us"); thread-safe."""
        count = len(self.sessions)
        if self._loop is not None:
            self._on_loop(self._drop_all)
        return count

    def _drop_all(self) -> None:
        for session in list(self.sessions):
            session.drop()

    def _on_loop(self, fn: Callable[[], None]) -> None:
        if self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._loop.call_soon(fn)  # after the current message: an op's reply precedes its pushes
        else:
            self._loop.call_soon_threadsafe(fn)

    # -- public feeds --------------------------------------------------------------------------
    async def _push_loop(self) -> None:
        market = self.app.exchange.market
        interval = max(0.02, min(self.app.config.step_ms, 250) / 4000)
        last_step = -1
        while True:
            await asyncio.sleep(interval)
            try:
                now = self.app.clock()
                step = market.step_at(now)
                if step != last_step:
                    last_step = step
                    # Resting orders meet the walk first, so private pushes precede the market's.
                    self.app.exchange.tick(now)
                    for session in list(self.sessions):
                        for sub in list(session.subs.values()):
                            self.feed(session, sub, now, step)
                self._close_idle()
            except Exception:  # pragma: no cover - a bug; keep serving and say so
                log.exception("okx-sim: WebSocket push failed")

    def feed(self, session: Session, sub: Subscription, now: int, step: int, *, first: bool = False) -> None:
        """Push what ``sub``'s channel has new at ``step`` (everything it shows, when ``first``)."""
        name, inst, market = sub.arg["channel"], sub.inst, self.app.exchange.market
        if inst is None:
            return
        if name == "tickers":
            session.send(feeds.ticker_push(sub.arg, market, inst, step))
        elif name in ("books", "books5", "bbo-tbt"):
            book = market.book(inst, step)
            previous = None if first or name != "books" else sub.last_book
            if previous is not None and previous.step == book.step:
                return
            sub.last_book = book
            if previous is not None and self.app.faults.ws_gap():
                return  # lost on the way: the next increment's prevSeqId will not chain
            session.send(feeds.book_push(sub.arg, book, previous))
        elif name == "trades":
            fills = self.app._fills_between(now)
            if first:
                sub.last_trade_id = feeds.newest_trade_id(market, inst, now, fills)
                return
            pushes, sub.last_trade_id = feeds.trade_pushes(sub.arg, market, inst, now, fills, sub.last_trade_id)
            for push in pushes:
                session.send(push)
        elif name.startswith("candle"):
            if not first and now - sub.last_candle_ms < 1000:
                return  # OKX pushes a candle channel at most once a second
            sub.last_candle_ms = now
            pushes, sub.last_candle_open = feeds.candle_pushes(sub.arg, market, inst, now, sub.last_candle_open)
            for push in pushes:
                session.send(push)

    def _close_idle(self) -> None:
        limit = self.app.config.idle_timeout_s
        now = time.monotonic()
        for session in list(self.sessions):
            if now - session.last_active > limit:
                session.close(IDLE_CLOSE)

    # -- private feeds -------------------------------------------------------------------------
    def account_snapshot(self, session: Session, sub: Subscription) -> None:
        ccy = sub.arg.get("ccy")
        balance = self.app.exchange.balance([ccy] if ccy else None, self.app.clock())
        session.send(account_push(sub.push_arg, balance, "snapshot"))

    def _on_commit(self, updates: list[OrderUpdate], changed: set[str], now: int, algos: list[dict[str, Any]]) -> None:
        """Engine listener (inside the engine's commit): render now, deliver on the loop."""
        targets = [(s, sub) for s in list(self.sessions) for sub in list(s.subs.values())
                   if sub.arg["channel"] in _PRIVATE]
        if not targets:
            return
        rows = [order_row(order, fill) for order, fill in updates]
        algo_rows = [algo_row(algo) for algo in algos]
        balance: dict[str, Any] | None = None
        out: list[tuple[Session, dict[str, Any]]] = []
        for session, sub in targets:
            name = sub.arg["channel"]
            if name == "orders":
                out += [(session, {"arg": sub.push_arg, "data": [row]}) for row in rows if wants_order(sub.arg, row)]
            elif name != "account":
                out += [(session, {"arg": sub.push_arg, "data": [row]}) for row in algo_rows
                        if wants_algo(sub.arg, name, row)]
            elif changed:
                ccy = sub.arg.get("ccy")
                wanted = {ccy} & changed if ccy else changed
                if not wanted:
                    continue
                if balance is None:
                    balance = self.app.exchange.balance_now(sorted(changed), now)
                details = [d for d in balance["details"] if d["ccy"] in wanted]
                if details:
                    out.append((session, account_push(sub.push_arg, {**balance, "details": details}, "event_update")))
        if out:
            self._on_loop(lambda: _deliver(out))


def _deliver(out: list[tuple[Session, dict[str, Any]]]) -> None:
    for session, message in out:
        session.send(message)
