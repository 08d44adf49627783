"""Settle what earlier runs of a spec left open, before a new run plans.

A run that was killed, lost its connection or ended while an order rested leaves rows in the
journal whose outcome the exchange alone knows. Before planning, a trading run:

1. waits until exchange time is past the latest ``expTime`` those rows were sent with (after
   that no send still in the network can execute), then looks every clOrdId up;
2. records what it finds: absent (never reached the exchange), filled, cancelled, or live;
3. cancels what still rests, so its frozen funds are free again and the plan sees them, and
   says so in the run's report; orders carrying the spec's tag that the journal does not know
   (a journal on another machine, an older version) are found on the exchange and cancelled too.

A dry run does the same reads and waits nothing, cancels nothing: it reports what a real run
would settle.

Multi-step executions (TWAP) are not silently restarted: ``unfinished`` finds the last run
of the spec that did part of its work, and the flow refuses to start, or resumes it, or starts
over, as the user says.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials
from okx_wire.errors import ConfigurationError
from okx_wire.journal import UNFINISHED_RUNS, Journal, OrderRecord, RunRecord
from okx_wire.models import Order
from okx_wire.precision import format_decimal

_EXP_MARGIN_MS: Final = 250
#: States of an order that did part of a run's work (it reached the exchange).
_REACHED: Final = frozenset({"sent", "live", "filled", "canceled"})


class UnfinishedRun(ConfigurationError):
    """The last run of a multi-step spec stopped part-way; the user says how to go on."""


@dataclass
class Settlement:
    """What a run found and did about earlier runs' orders; ``notes`` go into its report."""

    looked_up: int = 0
    absent: int = 0
    cancelled: list[Order] = field(default_factory=list)
    would_cancel: list[Order] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _describe(order: Order) -> str:
    return (f"{order.side} {format_decimal(order.sz)} {order.inst_id} @ {format_decimal(order.px or Decimal(0))} "
            f"(clOrdId {order.cl_ord_id or '-'}, {format_decimal(order.filled)} filled)")


def settle_earlier_runs(journal: Journal, credentials: OkxCredentials, *, spec: str, account: str, this_run: str,
                        tag: str | None, act: bool, log: logging.Logger | logging.LoggerAdapter[Any],
                        keep: Iterable[str] = (), sleep: Callable[[float], None] = time.sleep) -> Settlement:
    """Settle every open journal row of earlier runs of ``spec`` on ``account`` (see module doc).

    ``keep`` are clOrdIds this run owns (a Prefect rerun of this flow run keeps its own orders).
    Every exchange call is a retried read task: a passing 5xx must not stop a run from settling.
    """
    client = credentials.get_client()
    found = Settlement()
    keep_ids = set(keep)
    rows = [r for r in journal.open_orders(spec, account, exclude_run=this_run) if r.cl_ord_id not in keep_ids]
    sent = [r.exp_ms for r in rows if r.exp_ms is not None]
    if rows and sent and act:
        remaining = max(sent) + _EXP_MARGIN_MS - client.now_ms()
        if remaining > 0:
            log.info("earlier runs left %d order(s) in flight: waiting %.1f s for their expTime to pass",
                     len(rows), remaining / 1000)
            sleep(remaining / 1000)
    for row in rows:
        if row.exp_ms is None:
            # Intended, never sent: the row was written, the request never left.
            if act:
                journal.record(row.run_id, row.cl_ord_id, "absent")
            found.absent += 1
            continue
        found.looked_up += 1
        order = tasks.find_order(credentials, row.inst_id, row.cl_ord_id)
        if order is None:
            if act or row.exp_ms + _EXP_MARGIN_MS <= client.now_ms():
                journal.record(row.run_id, row.cl_ord_id, "absent")
            found.absent += 1
            continue
        order = _settle_live(credentials, order, act, found)
        journal.record_order(row.run_id, order)
    if tag:
        known = {r.cl_ord_id for r in rows} | keep_ids
        for order in tasks.get_all_pending_orders(credentials):
            if order.tag == tag and order.cl_ord_id not in known:
                _settle_live(credentials, order, act, found)
    _mark_runs_ended(journal, rows, act)
    if found.cancelled:
        found.notes.append(f"cancelled {len(found.cancelled)} order(s) earlier runs left resting, before planning "
                           "(their frozen funds are counted): " + "; ".join(_describe(o) for o in found.cancelled))
    if found.would_cancel:
        found.notes.append(f"{len(found.would_cancel)} order(s) of earlier runs still rest; a real run cancels them "
                           "before planning: " + "; ".join(_describe(o) for o in found.would_cancel))
    if found.looked_up or found.absent:
        log.info("settled %d open order(s) of earlier runs: %d looked up, %d never reached the exchange, "
                 "%d cancelled", len(rows), found.looked_up, found.absent, len(found.cancelled))
    for note in found.notes:
        log.warning(note)
    return found


def _settle_live(credentials: OkxCredentials, order: Order, act: bool, found: Settlement) -> Order:
    if order.is_final:
        return order
    if not act:
        found.would_cancel.append(order)
        return order
    order = tasks.cancel_order(credentials, order.inst_id, ord_id=order.ord_id)
    found.cancelled.append(order)
    return order


def _mark_runs_ended(journal: Journal, rows: Sequence[OrderRecord], act: bool) -> None:
    """An earlier run still marked running whose orders are all settled did not end by itself."""
    if not act:
        return
    for run_id in sorted({r.run_id for r in rows}):
        run = journal.run(run_id)
        if run is not None and run.status == "running" and not any(o.open for o in journal.orders(run_id)):
            journal.finish_run(run_id, "interrupted", "ended without finishing; settled by a later run")


# -- multi-step executions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far a (possibly resumed) execution got: its root run, legs used, quantity done."""

    last: RunRecord
    root: str
    legs: frozenset[str]
    done: Decimal
    orders: tuple[OrderRecord, ...]


def progress_of(journal: Journal, last: RunRecord) -> Progress:
    root = last.resumes or last.run_id
    chain = [root] + [r.run_id for r in journal.runs(last.spec, last.account, kind=last.kind, limit=200)
                      if r.resumes == root]
    orders = tuple(o for run_id in dict.fromkeys(chain) for o in journal.orders(run_id))
    reached = [o for o in orders if o.state in _REACHED]
    return Progress(last=last, root=root, legs=frozenset(o.leg for o in reached),
                    done=sum((o.filled for o in reached), Decimal(0)), orders=orders)


def unfinished(journal: Journal, *, spec: str, account: str, kind: str, this_run: str) -> Progress | None:
    """The last run of this spec, if it stopped after part of its work reached the exchange."""
    earlier = [r for r in journal.runs(spec, account, kind=kind, limit=5) if r.run_id != this_run]
    if not earlier or earlier[0].status not in UNFINISHED_RUNS:
        return None
    progress = progress_of(journal, earlier[0])
    if not progress.legs:
        journal.finish_run(earlier[0].run_id, "abandoned", "nothing of it reached the exchange")
        return None
    return progress
