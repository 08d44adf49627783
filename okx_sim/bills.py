"""The account's bills (``account/bills``, ``bills-archive``), read off its fills.

A spot fill moves two currencies, so OKX writes two trade bills (``type`` 2): the base leg and
the quote leg, each with its balance change, the balance after it and, on the leg the fee was
charged in, the fee (negative). There is no separate fee bill. The simulated account's cash only
ever changes by fills, so every bill can be derived from the fill list and the current balances
(the balance after the newest bill is today's cash, and each older balance is the next one minus
its change) instead of being stored twice and risking disagreement.

Bill ids: the fill's bill id ``n`` becomes ``2n`` for the base leg and ``2n + 1`` for the quote
leg, so ids stay integers that sort in time order, which is what OKX's ``after``/``before``
cursors compare.

``subType`` follows each currency's direction, as in the real capture (the USDT leg of a buy is
subType 2, "sell"): 1 where the account receives the currency, 2 where it gives it up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from okx_sim.records import Holding, SimFill
from okx_wire.precision import format_decimal

TRADE = "2"
BUY, SELL = "1", "2"


@dataclass(frozen=True, slots=True)
class Bill:
    bill_id: int
    fill: SimFill
    ccy: str
    change: Decimal
    fee: Decimal
    balance: Decimal
    quote_leg: bool

    @property
    def sub_type(self) -> str:
        return BUY if self.change > 0 else SELL

    def to_okx(self, mgn_mode: str) -> dict[str, Any]:
        f = self.fill
        notional = f.fill_px * f.fill_sz
        return {
            "bal": format_decimal(self.balance), "balChg": format_decimal(self.change), "billId": str(self.bill_id),
            "ccy": self.ccy, "clOrdId": f.cl_ord_id, "earnAmt": "", "earnApr": "", "execType": f.exec_type,
            "fee": format_decimal(self.fee), "fillFwdPx": "", "fillIdxPx": "", "fillMarkPx": "", "fillMarkVol": "",
            "fillPxUsd": "", "fillPxVol": "", "fillTime": str(f.ts), "from": "", "instId": f.inst_id,
            "instType": "SPOT", "interest": "0", "mgnMode": mgn_mode, "notes": "", "ordId": f.ord_id, "pnl": "0",
            "posBal": "0", "posBalChg": "0", "px": format_decimal(f.fill_px),
            # sz: the amount of this leg's currency the trade moved (base for the base leg,
            # quote for the quote leg), as the real capture's USDT leg shows.
            "subType": self.sub_type,
            "sz": format_decimal(notional if self.quote_leg else f.fill_sz),
            "tag": f.tag, "to": "", "tradeId": f.trade_id, "ts": str(f.ts), "type": TRADE,
        }


def _legs(fill: SimFill, base: str, quote: str) -> tuple[tuple[str, Decimal, Decimal], tuple[str, Decimal, Decimal]]:
    """(ccy, balance change, fee) of the base and the quote leg. The fill's ``fee`` is negative
    when charged, in ``fee_ccy``: the received currency, so it lowers that leg's change."""
    notional = fill.fill_px * fill.fill_sz
    fee = fill.fee
    if fill.side == "buy":
        base_leg = (base, fill.fill_sz + fee, fee)
        quote_leg = (quote, -notional, Decimal(0))
    else:
        base_leg = (base, -fill.fill_sz, Decimal(0))
        quote_leg = (quote, notional + fee, fee)
    return base_leg, quote_leg


def bills(fills: Iterable[SimFill], balances: dict[str, Holding]) -> Iterator[Bill]:
    """Every trade bill, newest first, with the balance after each."""
    after = {ccy: holding.cash for ccy, holding in balances.items()}
    for fill in sorted(fills, key=lambda f: int(f.bill_id), reverse=True):
        n = int(fill.bill_id)
        base, _, quote = fill.inst_id.partition("-")
        base_leg, quote_leg = _legs(fill, base, quote)
        for bill_id, (ccy, change, fee) in ((2 * n + 1, quote_leg), (2 * n, base_leg)):
            balance = after.get(ccy, Decimal(0))
            yield Bill(bill_id, fill, ccy, change, fee, balance, bill_id % 2 == 1)
            after[ccy] = balance - change
