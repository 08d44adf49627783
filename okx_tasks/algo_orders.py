"""Prefect tasks over the client's algo orders (``okx_wire.algo_orders``), with the conventions of
``okx_tasks.tasks``: the ``OkxCredentials`` block (never a raw secret), typed results, no cache
and no persisted result, Prefect's retries limited to what is safe to repeat, one OKX call and
one log line per task. Placing is made safe to repeat by ``okx_wire.algo_orders.place_algo_once``;
cancelling and amending are idempotent in effect (amendments are absolute), so they retry as reads.

Protection attached to an ordinary order needs no task of its own: give the ``OrderRequest`` a
``tp_sl`` and place it with ``okx_tasks.tasks.place_order``.
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task

from okx_tasks.blocks import OkxCredentials
from okx_tasks.tasks import READ, TRADE, _is_resend, _logger
from okx_wire.algo_orders import (
    AlgoAck,
    AlgoAmend,
    AlgoOrder,
    AlgoOrderRequest,
    AlgoPlacement,
    AlgoRef,
    place_algo_once,
)
from okx_wire.endpoints import PAGE_LIMIT


@task(name="okx-place-algo-order", task_run_name="place-algo-{request.inst_id}-{request.algo_cl_ord_id}", **TRADE)
def place_algo_order(credentials: OkxCredentials, request: AlgoOrderRequest) -> AlgoPlacement:
    """Place one algo order at most once, however often Prefect retries this task.

    Args:
        credentials: the key and venue.
        request: the algo order, with its deterministic ``algo_cl_ord_id``.

    Returns:
        The placement: new, or adopted when an algo with that id already existed.
    """
    result = place_algo_once(credentials.get_client(), request, resend=_is_resend())
    _logger().info("%s %s %s %s: algo %s%s", request.inst_id, request.side, request.ord_type, request.sz,
                   result.algo_id, " (already placed, adopted)" if result.adopted else "")
    return result


@task(name="okx-cancel-algo-orders", task_run_name="cancel-algos", **READ)
def cancel_algo_orders(credentials: OkxCredentials, refs: Sequence[AlgoRef]) -> list[AlgoAck]:
    """Cancel up to 10 algo orders; one already final is reported (51400), not raised.

    Args:
        credentials: the key and venue.
        refs: the algo orders (``AlgoRef``: instrument and algoId or algoClOrdId).

    Returns:
        Each cancellation's outcome, in order.
    """
    acks = credentials.get_client().cancel_algo_orders(list(refs))
    refused = [a for a in acks if a.s_code != "0"]
    _logger().info("cancelled %d of %d algo order(s)%s", len(acks) - len(refused), len(acks),
                   "; refused: " + "; ".join(f"{a.s_code} {a.s_msg.strip()}" for a in refused[:3]) if refused else "")
    return acks


@task(name="okx-amend-algo-order", task_run_name="amend-algo-{amend.inst_id}", **READ)
def amend_algo_order(credentials: OkxCredentials, amend: AlgoAmend) -> AlgoOrder:
    """Amend a conditional, oco or trigger order to absolute values and return it.

    Args:
        credentials: the key and venue.
        amend: the amendment (``AlgoAmend``).

    Returns:
        The algo order as it is after the amendment.
    """
    client = credentials.get_client()
    ack = client.amend_algo_order(amend)
    algo = client.algo_order(algo_id=ack.algo_id or amend.algo_id, algo_cl_ord_id=amend.algo_cl_ord_id)
    _logger().info("%s algo %s amended: %s", amend.inst_id, algo.algo_id, algo.state.value)
    return algo


@task(name="okx-algo-order", task_run_name="algo-order", **READ)
def get_algo_order(credentials: OkxCredentials, algo_id: str | None = None,
                   algo_cl_ord_id: str | None = None) -> AlgoOrder:
    """One algo order's current state (whether it triggered, and the order it placed).

    Args:
        credentials: the key and venue.
        algo_id: OKX's algo id (or give ``algo_cl_ord_id``).
        algo_cl_ord_id: the client's id (the latest algo with it).

    Returns:
        The algo order.
    """
    return credentials.get_client().algo_order(algo_id=algo_id, algo_cl_ord_id=algo_cl_ord_id)


@task(name="okx-find-algo-order", task_run_name="find-algo-{algo_cl_ord_id}", **READ)
def find_algo_order(credentials: OkxCredentials, algo_cl_ord_id: str) -> AlgoOrder | None:
    """The latest algo order with this algoClOrdId (an attachment's ``attach_algo_cl_ord_id``
    finds the protection OKX created for a filled order), or None.

    Args:
        credentials: the key and venue.
        algo_cl_ord_id: the client's id.

    Returns:
        The algo order, or None.
    """
    return credentials.get_client().find_algo_order(algo_cl_ord_id)


@task(name="okx-pending-algo-orders", task_run_name="pending-algo-orders", **READ)
def get_pending_algo_orders(credentials: OkxCredentials, ord_types: Sequence[str] = ("conditional", "oco"),
                            inst_id: str | None = None, limit: int = PAGE_LIMIT) -> list[AlgoOrder]:
    """One page of the algo orders that can still trigger, newest first.

    Args:
        credentials: the key and venue.
        ord_types: one algo type, or conditional and oco together (OKX's rule).
        inst_id: only this instrument.
        limit: page size, at most 100.

    Returns:
        The algo orders.
    """
    algos = credentials.get_client().pending_algo_orders(list(ord_types), inst_id=inst_id, limit=limit)
    _logger().info("%d pending %s algo order(s)", len(algos), ",".join(ord_types))
    return algos


@task(name="okx-algo-order-history", task_run_name="algo-order-history", **READ)
def get_algo_order_history(credentials: OkxCredentials, ord_types: Sequence[str] = ("conditional", "oco"),
                           state: str | None = None, algo_id: str | None = None, inst_id: str | None = None,
                           limit: int = PAGE_LIMIT) -> list[AlgoOrder]:
    """One page of final algo orders of the last 3 months, newest first.

    Args:
        credentials: the key and venue.
        ord_types: one algo type, or conditional and oco together.
        state: ``effective``, ``canceled`` or ``order_failed`` (or give ``algo_id``).
        algo_id: one algo order.
        inst_id: only this instrument.
        limit: page size, at most 100.

    Returns:
        The algo orders.
    """
    return credentials.get_client().algo_order_history(list(ord_types), state=state, algo_id=algo_id,
                                                       inst_id=inst_id, limit=limit)
