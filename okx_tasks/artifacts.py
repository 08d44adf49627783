"""Dashboard pieces: tasks that publish Prefect artifacts (tables and a markdown summary).

Keys are stable per strategy (``<spec-name>-balances``...), so the Prefect UI's Artifacts page
keeps a history per strategy. Nothing here touches credentials.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from okx_wire.models import Balance, Fill, Order, OrderBook
from okx_wire.precision import format_decimal

_ARTIFACT: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False, "retries": 1, "retry_delay_seconds": 1}


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes only) from readable parts."""
    key = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    return key[:100] or "okx"


def _num(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def balance_rows(balance: Balance, prices: Mapping[str, Decimal] | None = None) -> list[dict[str, str]]:
    rows = []
    for d in sorted(balance.details, key=lambda d: d.ccy):
        row = {"ccy": d.ccy, "total": _num(d.cash_bal or d.eq), "available": _num(d.avail_bal),
               "frozen": _num(d.frozen_bal)}
        if prices is not None:
            price = prices.get(d.ccy)
            row["value"] = _num(((d.cash_bal or d.eq or Decimal(0)) * price).quantize(Decimal("0.01"))
                                if price is not None else None)
        rows.append(row)
    return rows


def book_rows(books: Mapping[str, OrderBook]) -> list[dict[str, str]]:
    return [{"instrument": inst_id, "bid": _num(b.best_bid), "ask": _num(b.best_ask), "mid": _num(b.mid),
             "spread_bps": _num(((b.best_ask - b.best_bid) / b.mid * 10000).quantize(Decimal("0.01")))
             if b.best_ask is not None and b.best_bid is not None and b.mid else ""}
            for inst_id, b in sorted(books.items())]


def order_rows(orders: Sequence[Order]) -> list[dict[str, str]]:
    return [{"instrument": o.inst_id, "clOrdId": o.cl_ord_id, "ordId": o.ord_id, "side": o.side,
             "type": o.ord_type, "size": _num(o.sz), "price": _num(o.px), "filled": _num(o.acc_fill_sz),
             "avg_price": _num(o.avg_px), "fee": _num(o.fee), "fee_ccy": o.fee_ccy, "state": o.state.value}
            for o in orders]


def fill_rows(fills: Sequence[Fill]) -> list[dict[str, str]]:
    return [{"instrument": f.inst_id, "tradeId": f.trade_id, "clOrdId": f.cl_ord_id, "side": f.side,
             "price": _num(f.fill_px), "size": _num(f.fill_sz), "fee": _num(f.fee), "fee_ccy": f.fee_ccy,
             "liquidity": {"T": "taker", "M": "maker"}.get(f.exec_type, f.exec_type)} for f in fills]


@task(name="publish-table", task_run_name="artifact-{key}", **_ARTIFACT)
def publish_table(rows: Sequence[Mapping[str, Any]], key: str, description: str = "") -> None:
    """A table artifact; an empty table still publishes (so 'nothing happened' is visible)."""
    create_table_artifact(table=[dict(r) for r in rows] or [{"note": "nothing to show"}],
                          key=artifact_key(key), description=description)


@task(name="publish-markdown", task_run_name="artifact-{key}", **_ARTIFACT)
def publish_markdown(markdown: str, key: str, description: str = "") -> None:
    create_markdown_artifact(markdown=markdown, key=artifact_key(key), description=description)
