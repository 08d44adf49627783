"""The simulated account and its matching engine (``MatchingEngine``): validation, fills against the
synthetic book, balances, fees (at the configured ``FeeTier``, the rates trade-fee reports), and
the order/fill history.

One re-entrant lock serialises every operation, and every operation ends with one write-through
commit of exactly what it changed. Value is conserved and checkable: per currency,
``initial == cash + fees collected + net flow to the market`` (see ``conservation``), and no
balance can go negative because every order checks and freezes what it may spend first.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from okx_sim.algos import AlgoBook
from okx_sim.config import SimConfig
from okx_sim.instruments import Catalogue, SimInstrument
from okx_sim.market import Market
from okx_sim.protocol import ItemError, SimError, missing, param, param_error
from okx_sim.protocol import page as _page
from okx_sim.records import Holding, Ledger, SimFill, SimOrder
from okx_sim.state import StateStore
from okx_wire.orders import CL_ORD_ID_PATTERN, ORD_TYPES, PRICED_TYPES, spot_fee_ccy
from okx_wire.precision import format_decimal, is_multiple

log = logging.getLogger("okx_sim")

#: What the engine tells its listeners after each commit: the order updates it made, in order
#: (each an OKX order dict, with the fill it carries, or None), the currencies whose balance
#: changed, the time, and the algo orders the commit changed (each as OKX's algo record, in its
#: state after the commit). The WebSocket hub turns them into ``orders``, ``account``,
#: ``orders-algo`` and ``algo-advance`` pushes.
OrderUpdate = tuple[dict[str, Any], SimFill | None]
Listener = Callable[[list[OrderUpdate], set[str], int, list[dict[str, Any]]], None]

TD_MODES = frozenset({"cash", "cross", "isolated", "spot_isolated"})
TAG = re.compile(r"[A-Za-z0-9]{1,16}")
FIRST_ORD_ID = 1_950_000_000_000_000_000
FIRST_BILL_ID = 1_960_000_000_000_000_000
FIRST_TRADE_ID = 580_000_000

# OKX cancelSource codes for the automatic cancellations the simulator performs.
CANCEL_FOK = ("13", "Order canceled: FOK order was canceled due to incompletely filled")
CANCEL_IOC = ("14", "Order canceled: IOC order was partially canceled due to incompletely filled")
CANCEL_POST_ONLY = ("31", "The post-only order will take liquidity in taker orders")
CANCEL_MARKET = ("", "")
CANCEL_USER = ("1", "Order canceled by system")


def positive_decimal(params: dict[str, Any], name: str) -> Decimal:
    text = param(params, name)
    if text is None:
        raise missing(name)
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise param_error(name) from None
    if not value.is_finite() or value <= 0:
        raise param_error(name)
    return value


@dataclass
class _Request:
    """A place-order request after structural validation (before any rule of the instrument)."""

    params: dict[str, Any]
    inst_id: str
    td_mode: str
    side: str
    ord_type: str
    sz: Decimal
    px: Decimal | None
    tgt_ccy: str
    cl_ord_id: str
    tag: str


class MatchingEngine:
    """The simulated account: its holdings, orders and fills, and the engine that matches orders
    against the synthetic book. Public methods take the simulator clock's ``now_ms``."""

    def __init__(self, config: SimConfig, store: StateStore, clock: Callable[[], int]) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.catalogue = Catalogue(config.instruments)
        self.uid = config.account_uid()
        #: The rates every fill pays; ``account/trade-fee`` reports exactly these.
        self.fee_tier = config.fee_tier
        self.acct_lv = config.acct_lv
        self._lock = threading.RLock()
        snap = store.load()
        now = clock()
        self.orders: dict[str, SimOrder] = {}
        self._by_cl: dict[str, list[str]] = {}
        self._pending_cl: dict[str, str] = {}
        self.fills: list[SimFill] = []
        self.balances: dict[str, Holding] = {}
        self.ledger = Ledger()
        self._dirty_orders: dict[str, SimOrder] = {}
        self._dirty_fills: list[SimFill] = []
        self._dirty_bal: set[str] = set()
        #: Called after every commit (``Listener``); empty unless a WebSocket client listens, and
        #: then order updates are recorded as they happen: one per fill, one per change.
        self.listeners: list[Listener] = []
        self._updates: list[OrderUpdate] = []
        self._fill_updates: dict[str, list[OrderUpdate]] = {}
        if snap.empty:
            self.seed = config.seed
            self._next_ord, self._next_bill = FIRST_ORD_ID, FIRST_BILL_ID
            self._next_trade, self._seq = FIRST_TRADE_ID, 0
            start_step = 0
            for ccy, amount in config.balances.items():
                if amount < 0:
                    raise ValueError(f"initial balance of {ccy} is negative")
                self.balances[ccy] = Holding(Decimal(amount), Decimal(0), now)
                self.ledger.initial[ccy] = Decimal(amount)
                self._dirty_bal.add(ccy)
        else:
            meta = snap.meta
            # The stored seed wins: the walk must continue where it stopped, not jump.
            self.seed = int(meta["seed"])
            self._next_ord, self._next_bill = int(meta["next_ord"]), int(meta["next_bill"])
            self._next_trade, self._seq = int(meta["next_trade"]), int(meta["seq"])
            start_step = int(meta["walk_step"])
            self.ledger = Ledger(*({k: Decimal(v) for k, v in meta[name].items()}
                                   for name in ("initial", "fees", "market")))
            self.balances = snap.balances
            for order in sorted(snap.orders, key=lambda o: o.seq):
                self._index(order)
            self.fills = sorted(snap.fills, key=lambda f: int(f.bill_id))
        self.market = Market(self.catalogue, seed=self.seed, step_ms=config.step_ms, volatility=config.volatility,
                             start_step=start_step, anchor_ms=now)
        #: Attached TP/SL and order-algo's orders (``okx_sim.algos``).
        self.algos = AlgoBook(self, snap.algos)
        self._checked_step = start_step
        self._flush(now)

    # -- persistence -------------------------------------------------------------------------
    def _index(self, order: SimOrder) -> None:
        self.orders[order.ord_id] = order
        if order.cl_ord_id:
            self._by_cl.setdefault(order.cl_ord_id, []).append(order.ord_id)
        if order.cl_ord_id and order.pending:
            self._pending_cl[order.cl_ord_id] = order.ord_id

    def _touch(self, order: SimOrder, now: int) -> None:
        order.u_time = now
        self._dirty_orders[order.ord_id] = order
        if self.listeners:
            # Each fill since the last change was recorded as it happened; this change closes
            # them with the order's state now (the last fill's update carries it).
            fills = self._fill_updates.pop(order.ord_id, [])
            self._updates += fills[:-1]
            self._updates.append((order.to_okx(), fills[-1][1] if fills else None))
        if order.attach_algo_ords and not order.attach_armed and not order.pending:
            self.algos.arm(order, now)
        if order.cl_ord_id:
            if order.pending:
                self._pending_cl[order.cl_ord_id] = order.ord_id
            elif self._pending_cl.get(order.cl_ord_id) == order.ord_id:
                del self._pending_cl[order.cl_ord_id]

    def _flush(self, now: int) -> None:
        meta = {
            "seed": self.seed, "next_ord": self._next_ord, "next_bill": self._next_bill,
            "next_trade": self._next_trade, "seq": self._seq, "uid": self.uid,
            "walk_step": self.market.step_at(now),
            "initial": {k: str(v) for k, v in self.ledger.initial.items()},
            "fees": {k: str(v) for k, v in self.ledger.fees.items()},
            "market": {k: str(v) for k, v in self.ledger.market.items()},
        }
        algos = self.algos.take_dirty()
        self.store.commit(meta=meta, balances={c: self.balances[c] for c in self._dirty_bal},
                          orders=self._dirty_orders.values(), fills=self._dirty_fills, algos=algos)
        changed = self._dirty_bal
        self._dirty_orders, self._dirty_fills, self._dirty_bal = {}, [], set()
        updates, self._updates = self._updates, []
        if self.listeners and (updates or changed or algos):
            # Told only after the commit: nothing is pushed that a crash could still undo.
            algo_rows = [a.to_okx() for a in sorted(algos, key=lambda a: a.seq)]
            for listener in list(self.listeners):
                try:
                    listener(updates, changed, now, algo_rows)
                except Exception:  # pragma: no cover - a bug in a listener must not stop trading
                    log.exception("okx-sim: an engine listener failed")

    def new_id(self) -> str:
        """A fresh id from the order-id counter (orders, algo orders and attachments share it, so
        an algoId never equals an ordId)."""
        self._next_ord += 1
        return str(self._next_ord)

    def close(self) -> None:
        with self._lock:
            self._flush(self.clock())
            self.store.close()

    # -- balances ----------------------------------------------------------------------------
    def _bal(self, ccy: str) -> Holding:
        bal = self.balances.get(ccy)
        if bal is None:
            bal = self.balances[ccy] = Holding()
        return bal

    def _move(self, ccy: str, cash: Decimal, frozen: Decimal, now: int) -> None:
        bal = self._bal(ccy)
        bal.cash += cash
        bal.frozen += frozen
        if bal.cash < 0 or bal.frozen < 0 or bal.frozen > bal.cash:
            raise AssertionError(f"balance invariant broken for {ccy}: {bal}")  # a bug, never a client error
        bal.u_time = now
        self._dirty_bal.add(ccy)

    def _freeze(self, order: SimOrder, ccy: str, amount: Decimal, now: int) -> None:
        self._move(ccy, Decimal(0), amount, now)
        order.frozen += amount
        order.frozen_ccy = ccy

    def _release(self, order: SimOrder, now: int) -> None:
        if order.frozen:
            self._move(order.frozen_ccy, Decimal(0), -order.frozen, now)
            order.frozen = Decimal(0)

    # -- fills -------------------------------------------------------------------------------
    def _fill(self, order: SimOrder, inst: SimInstrument, px: Decimal, qty: Decimal, maker: bool, now: int) -> None:
        """Settle one fill. A maker fill pays out of the order's frozen amount, a taker fill out of cash.

        The fee is the tier's rate (OKX's sign: negative = paid) of what the fill receives.
        """
        okx_rate = self.fee_tier.maker if maker else self.fee_tier.taker
        rate = -okx_rate
        notional = px * qty
        if order.side == "buy":
            fee_ccy, fee_amt = spot_fee_ccy(order.side, inst.base, inst.quote), qty * rate
            if maker:
                order.frozen -= notional
                self._move(inst.quote, -notional, -notional, now)
            else:
                self._move(inst.quote, -notional, Decimal(0), now)
            self._move(inst.base, qty - fee_amt, Decimal(0), now)
            self._ledger(inst.quote, market=notional)
            self._ledger(inst.base, market=-qty, fees=fee_amt)
        else:
            fee_ccy, fee_amt = spot_fee_ccy(order.side, inst.base, inst.quote), notional * rate
            if maker:
                order.frozen -= qty
                self._move(inst.base, -qty, -qty, now)
            else:
                self._move(inst.base, -qty, Decimal(0), now)
            self._move(inst.quote, notional - fee_amt, Decimal(0), now)
            self._ledger(inst.base, market=qty)
            self._ledger(inst.quote, market=-notional, fees=fee_amt)
        self._next_trade += 1
        self._next_bill += 1
        order.acc_fill_sz += qty
        order.fill_notional += notional
        order.fill_px, order.fill_sz, order.fill_time = px, qty, str(now)
        order.trade_id = str(self._next_trade)
        order.fee -= fee_amt
        order.fee_ccy = fee_ccy
        fill = SimFill(str(self._next_bill), order.trade_id, order.ord_id, order.cl_ord_id, order.tag, order.inst_id,
                    order.side, px, qty, "M" if maker else "T", -fee_amt, fee_ccy, okx_rate, now, inst.quote)
        self.fills.append(fill)
        self._dirty_fills.append(fill)
        if self.listeners:
            row = order.to_okx()
            done = order.tgt_ccy != "quote_ccy" and order.acc_fill_sz >= order.sz
            row["state"] = "filled" if done else "partially_filled"
            row["uTime"] = str(now)
            self._fill_updates.setdefault(order.ord_id, []).append((row, fill))

    def _ledger(self, ccy: str, *, market: Decimal = Decimal(0), fees: Decimal = Decimal(0)) -> None:
        self.ledger.market[ccy] = self.ledger.market.get(ccy, Decimal(0)) + market
        if fees:
            self.ledger.fees[ccy] = self.ledger.fees.get(ccy, Decimal(0)) + fees

    def conservation(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per currency: (initial, cash + fees + market). Equal pairs mean nothing was created or lost."""
        with self._lock:
            ccys = set(self.ledger.initial) | set(self.balances) | set(self.ledger.fees) | set(self.ledger.market)
            return {c: (self.ledger.initial.get(c, Decimal(0)),
                        self._bal(c).cash + self.ledger.fees.get(c, Decimal(0)) + self.ledger.market.get(c, Decimal(0)))
                    for c in ccys}

    # -- the book walk -----------------------------------------------------------------------
    @staticmethod
    def _takeable(order_side: str, levels: list[tuple[Decimal, Decimal, int]], limit: Decimal | None,
                  inst: SimInstrument, *, base: Decimal | None = None, quote: Decimal | None = None
                  ) -> list[tuple[Decimal, Decimal]]:
        """The (px, qty) a taker gets walking ``levels`` up to ``limit``, for ``base`` units or
        ``quote`` value, each qty a multiple of lotSz."""
        out: list[tuple[Decimal, Decimal]] = []
        for px, size, _n in levels:
            if limit is not None and ((order_side == "buy" and px > limit) or (order_side == "sell" and px < limit)):
                break
            if base is not None:
                qty = min(size, base)
                base -= qty
            else:
                assert quote is not None
                afford = (quote / px / inst.lot_sz).to_integral_value(rounding=ROUND_FLOOR) * inst.lot_sz
                qty = min(size, afford)
                quote -= qty * px
            if qty > 0:
                out.append((px, qty))
            if (base is not None and base <= 0) or (quote is not None and qty < size):
                break
        return out

    # -- placing -----------------------------------------------------------------------------
    def parse_place(self, params: Any) -> _Request:
        """Structural checks that reject the whole request (top-level 50014/51000, HTTP 400)."""
        if not isinstance(params, dict):
            raise SimError("50002")
        for name in ("instId", "tdMode", "side", "ordType", "sz"):
            if param(params, name) is None:
                raise missing(name)
        side, ord_type, td_mode = param(params, "side"), param(params, "ordType"), param(params, "tdMode")
        if side not in ("buy", "sell"):
            raise param_error("side")
        if ord_type not in ORD_TYPES:
            raise param_error("ordType")
        if td_mode not in TD_MODES:
            raise param_error("tdMode")
        sz = positive_decimal(params, "sz")
        px = positive_decimal(params, "px") if ord_type in PRICED_TYPES else None
        tgt = param(params, "tgtCcy") or ("quote_ccy" if (ord_type == "market" and side == "buy") else "base_ccy")
        if tgt not in ("base_ccy", "quote_ccy"):
            raise param_error("tgtCcy")
        if ord_type != "market":
            tgt = ""
        return _Request(params, str(param(params, "instId")), str(td_mode), str(side), str(ord_type), sz, px,
                        tgt, param(params, "clOrdId") or "", param(params, "tag") or "")

    def place(self, requests: list[_Request], now: int, batch: bool = False) -> list[dict[str, Any]]:
        """Place each order independently; one failing does not stop the others."""
        with self._lock:
            self._sync(now)
            seen: set[str] = set()
            results = []
            for req in requests:
                try:
                    order = self._place_one(req, now, seen)
                    results.append({"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "tag": order.tag,
                                    "ts": str(now), "sCode": "0", "sMsg": "", "subCode": ""})
                except ItemError as err:
                    results.append({"clOrdId": req.cl_ord_id, "ordId": "", "tag": req.tag, "ts": str(now),
                                    "sCode": err.code, "sMsg": err.msg, "subCode": ""})
            self._flush(now)
            return results

    def place_child(self, params: dict[str, Any], link: tuple[str, str, str], now: int) -> SimOrder:
        """Place the order a triggered algo order places: ``link`` is its (algoId, algoClOrdId,
        source). Raises the refusal (``ItemError``) like any order's."""
        return self._place_one(self.parse_place(params), now, set(), link)

    def _place_one(self, req: _Request, now: int, seen: set[str],
                   link: tuple[str, str, str] | None = None) -> SimOrder:
        inst = self.catalogue.get(req.inst_id)
        if inst is None:
            raise ItemError("51001")
        if self.acct_lv in ("3", "4"):
            # Multi-currency and Portfolio margin: spot trades cross; cash is refused with 51000
            # ("Parameter tdMode  error ", as OKX answers it), isolated is not offered in these modes.
            if req.td_mode == "cash":
                raise ItemError("51000", "tdMode ")
            if req.td_mode != "cross":
                raise ItemError("51010")
        elif req.td_mode != "cash":
            raise ItemError("51010")
        if req.cl_ord_id and not CL_ORD_ID_PATTERN.fullmatch(req.cl_ord_id):
            raise ItemError("51000", "clOrdId")
        if req.tag and not TAG.fullmatch(req.tag):
            raise ItemError("51000", "tag")
        if req.px is not None and not is_multiple(req.px, inst.tick_sz):
            raise ItemError("51000", "px")
        base_sized = req.tgt_ccy != "quote_ccy"
        if base_sized:
            if req.sz < inst.min_sz:
                raise ItemError("51020")
            if not is_multiple(req.sz, inst.lot_sz):
                raise ItemError("51121")
        if req.cl_ord_id and (req.cl_ord_id in self._pending_cl or req.cl_ord_id in seen):
            raise ItemError("51016")
        book = self.market.book(inst, self.market.step_at(now))
        attached = self.algos.parse_attached(req.params, req.side, req.ord_type, req.tgt_ccy, req.px, inst, book,
                                             seen)
        levels = book.asks if req.side == "buy" else book.bids
        # What a taker would get now, to check funds before touching anything.
        if req.ord_type == "market":
            plan = self._takeable(req.side, levels, None, inst, base=req.sz if base_sized else None,
                                  quote=None if base_sized else req.sz)
        elif req.ord_type == "post_only":
            plan = []
        else:
            plan = self._takeable(req.side, levels, req.px, inst, base=req.sz)
        filled = sum((q for _, q in plan), Decimal(0))
        if req.ord_type == "market":
            if filled < inst.min_sz:
                raise ItemError("51020")
            need_ccy = inst.quote if req.side == "buy" else inst.base
            need = sum((p * q for p, q in plan), Decimal(0)) if req.side == "buy" else filled
        else:
            assert req.px is not None
            need_ccy = inst.quote if req.side == "buy" else inst.base
            need = req.px * req.sz if req.side == "buy" else req.sz
        if self._bal(need_ccy).available < need:
            raise ItemError("51008", need_ccy)
        if req.cl_ord_id:
            seen.add(req.cl_ord_id)
        self._next_ord += 1
        self._seq += 1
        order = SimOrder(str(self._next_ord), req.cl_ord_id, req.tag, inst.inst_id, inst.base, inst.quote, req.side,
                      req.ord_type, req.px, req.sz, req.tgt_ccy, "live", now, now, seq=self._seq,
                      td_mode=req.td_mode, attach_algo_ords=attached)
        if link is not None:
            order.algo_id, order.algo_cl_ord_id, order.source = link
        self._index(order)
        self._execute(order, inst, plan, now)
        self._touch(order, now)
        return order

    def _execute(self, order: SimOrder, inst: SimInstrument, plan: list[tuple[Decimal, Decimal]], now: int) -> None:
        """Apply an order's taker phase, then rest or cancel what is left as its type says."""
        book = self.market.book(inst, self.market.step_at(now))
        if order.ord_type == "post_only":
            assert order.px is not None
            crosses = order.px >= book.best_ask if order.side == "buy" else order.px <= book.best_bid
            if crosses:
                self._cancel(order, CANCEL_POST_ONLY, now)
                return
        elif order.ord_type == "fok":
            if sum((q for _, q in plan), Decimal(0)) < order.sz:
                self._cancel(order, CANCEL_FOK, now)
                return
        for px, qty in plan:
            self._fill(order, inst, px, qty, False, now)
        if order.ord_type == "market":
            # A quote-sized order is done once its money is spent (up to lot rounding); a
            # base-sized one that ran out of book has its remainder canceled.
            done = order.tgt_ccy == "quote_ccy" or order.acc_fill_sz >= order.sz
            order.state = "filled" if done else "canceled"
            return
        if order.acc_fill_sz >= order.sz:
            order.state = "filled"
            return
        if order.ord_type == "ioc":
            self._cancel(order, CANCEL_IOC, now)
            return
        order.state = "partially_filled" if order.acc_fill_sz else "live"
        self._rest_freeze(order, inst, now)

    def _rest_freeze(self, order: SimOrder, inst: SimInstrument, now: int) -> None:
        assert order.px is not None
        if order.side == "buy":
            self._freeze(order, inst.quote, order.px * order.remaining(), now)
        else:
            self._freeze(order, inst.base, order.remaining(), now)

    def _cancel(self, order: SimOrder, source: tuple[str, str], now: int) -> None:
        self._release(order, now)
        order.state = "canceled"
        order.cancel_source, order.cancel_source_reason = source
        self._touch(order, now)

    # -- resting orders meet the walk --------------------------------------------------------
    def _sync(self, now: int) -> None:
        """Fill resting orders the walk has crossed since the last check (as maker, at their price)."""
        step = self.market.step_at(now)
        if step <= self._checked_step:
            return
        self._checked_step = step
        for ord_id in list(self._pending_cl.values()) + [o.ord_id for o in self._pending_without_cl()]:
            order = self.orders[ord_id]
            inst = self.catalogue.get(order.inst_id)
            if inst is None or order.px is None:
                continue
            book = self.market.book(inst, step)
            crossed = book.best_ask <= order.px if order.side == "buy" else book.best_bid >= order.px
            if crossed:
                self._fill(order, inst, order.px, order.remaining(), True, now)
                order.state = "filled"
                self._release(order, now)
                self._touch(order, now)
        self.algos.check(now)

    def _pending_without_cl(self) -> list[SimOrder]:
        return [o for o in self._pending_orders() if not o.cl_ord_id]

    def _pending_orders(self) -> list[SimOrder]:
        return [o for o in self.orders.values() if o.pending]

    def tick(self, now: int) -> None:
        """Called on every market step by the server; writes only when something filled."""
        with self._lock:
            if self.market.step_at(now) > self._checked_step:
                self._sync_and_flush(now)

    # -- cancel and amend --------------------------------------------------------------------
    def _find(self, inst_id: str, ord_id: str | None, cl_ord_id: str | None) -> SimOrder | None:
        if ord_id:
            order = self.orders.get(ord_id)
        elif cl_ord_id:
            ids = self._by_cl.get(cl_ord_id)
            order = self.orders[ids[-1]] if ids else None
        else:
            return None
        return order if order is not None and order.inst_id == inst_id else None

    def cancel(self, items: list[dict[str, Any]], now: int) -> list[dict[str, Any]]:
        with self._lock:
            self._sync(now)
            results = []
            for params in items:
                inst_id, ord_id, cl = param(params, "instId"), param(params, "ordId"), param(params, "clOrdId")
                item = {"clOrdId": cl or "", "ordId": ord_id or "", "ts": str(now), "sCode": "0", "sMsg": ""}
                if self.catalogue.get(inst_id or "") is None:
                    item.update(sCode="51001", sMsg=ItemError("51001").msg)
                else:
                    order = self._find(str(inst_id), ord_id, cl)
                    if order is None or not order.pending:
                        item.update(sCode="51400", sMsg=ItemError("51400").msg)
                    else:
                        self._cancel(order, CANCEL_USER, now)
                        item.update(ordId=order.ord_id, clOrdId=order.cl_ord_id)
                results.append(item)
            self._flush(now)
            return results

    def amend(self, params: dict[str, Any], now: int) -> dict[str, Any]:
        with self._lock:
            self._sync(now)
            inst_id, ord_id, cl = param(params, "instId"), param(params, "ordId"), param(params, "clOrdId")
            item = {"clOrdId": cl or "", "ordId": ord_id or "", "ts": str(now), "reqId": param(params, "reqId") or "",
                    "sCode": "0", "sMsg": "", "subCode": ""}
            try:
                self._amend(str(inst_id), ord_id, cl, params, now, item)
            except ItemError as err:
                item.update(sCode=err.code, sMsg=err.msg)
            self._flush(now)
            return item

    def _amend(self, inst_id: str, ord_id: str | None, cl: str | None, params: dict[str, Any], now: int,
               item: dict[str, Any]) -> None:
        inst = self.catalogue.get(inst_id)
        if inst is None:
            raise ItemError("51001")
        order = self._find(inst_id, ord_id, cl)
        if order is None or not order.pending or order.px is None:
            raise ItemError("51503")
        item.update(ordId=order.ord_id, clOrdId=order.cl_ord_id)
        new_px = param(params, "newPx")
        new_sz = param(params, "newSz")
        try:
            px = Decimal(new_px) if new_px else order.px
            sz = Decimal(new_sz) if new_sz else order.sz
        except InvalidOperation:
            raise ItemError("51000", "newPx" if new_px else "newSz") from None
        if px <= 0 or not is_multiple(px, inst.tick_sz):
            raise ItemError("51000", "newPx")
        if sz <= order.acc_fill_sz or not is_multiple(sz, inst.lot_sz):
            raise ItemError("51000", "newSz")
        remaining = sz - order.acc_fill_sz
        need_ccy = inst.quote if order.side == "buy" else inst.base
        need = px * remaining if order.side == "buy" else remaining
        if self._bal(need_ccy).available + order.frozen < need:
            raise ItemError("51008", need_ccy)
        self._release(order, now)
        order.px, order.sz = px, sz
        book = self.market.book(inst, self.market.step_at(now))
        plan = [] if order.ord_type == "post_only" else self._takeable(
            order.side, book.asks if order.side == "buy" else book.bids, px, inst, base=remaining)
        if order.ord_type == "post_only":
            crosses = px >= book.best_ask if order.side == "buy" else px <= book.best_bid
            if crosses:
                self._cancel(order, CANCEL_POST_ONLY, now)
                return
        for fpx, qty in plan:
            self._fill(order, inst, fpx, qty, False, now)
        if order.acc_fill_sz >= order.sz:
            order.state = "filled"
        else:
            order.state = "partially_filled" if order.acc_fill_sz else "live"
            self._rest_freeze(order, inst, now)
        self._touch(order, now)

    # -- queries -----------------------------------------------------------------------------
    def get_order(self, inst_id: str, ord_id: str | None, cl_ord_id: str | None, now: int) -> dict[str, Any] | None:
        with self._lock:
            self._sync_and_flush(now)
            order = self._find(inst_id, ord_id, cl_ord_id)
            return None if order is None else order.to_okx()

    def _sync_and_flush(self, now: int) -> None:
        self._sync(now)
        if self._dirty_orders or self.algos.dirty:
            self._flush(now)

    def list_orders(self, *, pending: bool, params: dict[str, Any], now: int) -> list[dict[str, Any]]:
        with self._lock:
            self._sync_and_flush(now)
            inst_id, ord_type, state = param(params, "instId"), param(params, "ordType"), param(params, "state")
            orders: Iterable[SimOrder] = (o for o in self.orders.values() if o.pending == pending)
            selected = [o for o in orders if (inst_id is None or o.inst_id == inst_id)
                        and (ord_type is None or o.ord_type == ord_type) and (state is None or o.state == state)]
            selected.sort(key=lambda o: int(o.ord_id), reverse=True)
            return [o.to_okx() for o in _page(selected, params, lambda o: int(o.ord_id))]

    def list_fills(self, params: dict[str, Any], now: int) -> list[dict[str, Any]]:
        with self._lock:
            self._sync_and_flush(now)
            inst_id, ord_id = param(params, "instId"), param(params, "ordId")
            begin, end = param(params, "begin"), param(params, "end")
            selected = [f for f in reversed(self.fills) if (inst_id is None or f.inst_id == inst_id)
                        and (ord_id is None or f.ord_id == ord_id)
                        and (begin is None or f.ts > int(begin)) and (end is None or f.ts < int(end))]
            return [f.to_okx() for f in _page(selected, params, lambda f: int(f.bill_id))]

    def balance(self, ccys: list[str] | None, now: int) -> dict[str, Any]:
        with self._lock:
            self._sync_and_flush(now)
            return self.balance_now(ccys, now)

    def balance_now(self, ccys: list[str] | Iterable[str] | None, now: int) -> dict[str, Any]:
        """``account/balance``'s data item as the account stands, without first letting resting
        orders meet the walk (a listener reads it in the middle of a commit)."""
        ccys = list(ccys) if ccys is not None else None
        with self._lock:
            step = self.market.step_at(now)
            details = []
            total = Decimal(0)
            for ccy, bal in sorted(self.balances.items()):
                if (ccys and ccy not in ccys) or (bal.cash == 0 and bal.frozen == 0):
                    continue
                usd = bal.cash * self.market.usd_price(ccy, step)
                total += usd
                details.append(_balance_detail(ccy, bal, usd))
            return {"adjEq": "", "availEq": "", "borrowFroz": "", "details": details, "imr": "", "isoEq": "",
                    "mgnRatio": "", "mmr": "", "notionalUsd": "", "notionalUsdForBorrow": "",
                    "notionalUsdForFutures": "", "notionalUsdForOption": "", "notionalUsdForSwap": "",
                    "ordFroz": "", "totalEq": format_decimal(total.quantize(Decimal("0.00000001"))),
                    "uTime": str(now), "upl": ""}

    # -- test inspection ---------------------------------------------------------------------
    def orders_by_client_id(self, cl_ord_id: str) -> list[dict[str, Any]]:
        """Every order ever placed with this clOrdId, oldest first, whatever its state."""
        with self._lock:
            return [self.orders[i].to_okx() for i in self._by_cl.get(cl_ord_id, [])]

    def balance_of(self, ccy: str) -> Holding:
        with self._lock:
            bal = self.balances.get(ccy, Holding())
            return Holding(bal.cash, bal.frozen, bal.u_time)

    def all_orders(self) -> list[dict[str, Any]]:
        with self._lock:
            return [o.to_okx() for o in sorted(self.orders.values(), key=lambda o: o.seq)]


def _balance_detail(ccy: str, bal: Holding, usd: Decimal) -> dict[str, Any]:
    cash, frozen, avail = format_decimal(bal.cash), format_decimal(bal.frozen), format_decimal(bal.available)
    return {"accAvgPx": "", "availBal": avail, "availEq": avail, "borrowFroz": "", "cashBal": cash, "ccy": ccy,
            "clSpotInUseAmt": "", "colBorrAutoConversion": "", "collateralEnabled": False,
            "collateralRestrict": False, "crossLiab": "", "disEq": "0", "eq": cash,
            "eqUsd": format_decimal(usd.quantize(Decimal("0.00000001"))), "fixedBal": "0", "frozenBal": frozen,
            "imr": "", "interest": "", "isoEq": "", "isoLiab": "", "isoUpl": "", "liab": "", "maxLoan": "",
            "maxSpotInUse": "", "mgnRatio": "", "mmr": "", "notionalLever": "", "openAvgPx": "", "ordFrozen": frozen,
            "rewardBal": "", "smtSyncEq": "0", "spotBal": "", "spotCopyTradingEq": "0", "spotInUseAmt": "",
            "spotIsoBal": "0", "spotUpl": "", "spotUplRatio": "", "stgyEq": "0", "totalPnl": "", "totalPnlRatio": "",
            "twap": "0", "uTime": str(bal.u_time), "upl": "", "uplLiab": ""}
