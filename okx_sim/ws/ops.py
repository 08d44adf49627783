"""Order entry over the private WebSocket: the REST handlers, budgets and journal of fills.

An op is answered by the very handler its REST twin uses (``OPS[op].endpoint.name`` names the
``SimApp`` method), on the same engine, after drawing from the same rate budget (per user and
instrument, batches counted in orders): an order placed over WebSocket and one placed over REST
are indistinguishable afterwards, and together they cannot exceed OKX's budget.

What differs from REST is only the envelope (API-FACTS-2 12.6): the reply echoes ``id`` and
``op``; ``expTime`` travels in the message, not a header; args may name the instrument by
``instIdCode`` (mapped through ``public/instruments``); a request OKX cannot parse answers
``60013 "Invalid args"`` with ``data []`` (the REST answer would be 50014/51000 at HTTP 400).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from okx_sim.protocol import SimError
from okx_sim.routes.base import Request
from okx_sim.ws.session import Session
from okx_wire.errors import okx_message
from okx_wire.limits import demands
from okx_wire.ws.protocol import MAX_BATCH_OPS, Op, Url

if TYPE_CHECKING:
    from okx_sim.server import SimApp

_REQUEST_ID = re.compile(r"[A-Za-z0-9]{1,32}")
#: Whole-request refusals OKX answers over WebSocket as 60013 (the request did not parse).
_FORMAT_CODES = frozenset({"50000", "50002", "50014", "51000"})


def handle_op(app: SimApp, session: Session, message: dict[str, Any], op: Op) -> None:
    in_time = time.time_ns() // 1000
    request_id = message.get("id")
    if session.url is not Url.PRIVATE:
        session.error("60018", okx_message("60018", op.name, ""), request_id)
        return
    if session.key is None:
        session.error("60011", okx_message("60011"), request_id)
        return

    def reply(code: str, msg: str, data: list[Any]) -> None:
        session.send({"id": request_id if isinstance(request_id, str) else "", "op": op.name, "code": code,
                      "msg": msg, "data": data, "inTime": str(in_time), "outTime": str(time.time_ns() // 1000)})

    args = message.get("args")
    if (not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id) or not isinstance(args, list)
            or not args or len(args) > (MAX_BATCH_OPS if op.batch else 1)
            or not all(isinstance(a, dict) for a in args)):
        reply("60013", okx_message("60013"), [])
        return
    if op.endpoint.trade and "trade" not in session.key.permissions:
        reply("50120", okx_message("50120"), [])
        return
    items = [_with_inst_id(app, dict(a)) for a in args]
    if app.rate_limits:
        wanted = demands(op.endpoint.method, op.endpoint.path, user=app.exchange.uid,
                         inst_ids=[str(i.get("instId", "")) for i in items])
        if wanted and app.limiter.reserve(wanted) > 0:
            reply("50011", okx_message("50011"), [])
            return
    exp = message.get("expTime")
    headers = {"exptime": str(exp)} if exp not in (None, "") else {}
    now = app.clock()
    req = Request("POST", op.endpoint.path, op.endpoint.path, {}, headers, "", session.client_ip, now, in_time,
                  json=items if op.batch else items[0], key=session.key)
    try:
        _status, payload = getattr(app, op.endpoint.name)(req)
    except SimError as err:
        if err.code in _FORMAT_CODES:
            reply("60013", okx_message("60013"), [])
        else:
            reply(err.code, err.msg, [])
        return
    session.send({"id": request_id, "op": op.name, **payload})


def _with_inst_id(app: SimApp, item: dict[str, Any]) -> dict[str, Any]:
    """``instIdCode`` (an integer, which wins) replaced by the ``instId`` it stands for; an
    unknown code names no listed instrument, so the item is refused with 51001."""
    code = item.pop("instIdCode", None)
    if code is None or code == "":
        return item
    by_code = {row["instIdCode"]: inst_id for inst_id, row in app.exchange.catalogue.rows.items()}
    try:
        item["instId"] = by_code.get(int(code), f"instIdCode:{code}")
    except (TypeError, ValueError):
        item["instId"] = f"instIdCode:{code}"
    return item
