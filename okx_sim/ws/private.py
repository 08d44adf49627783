"""Login verification and the private pushes (``orders``, ``account``), as OKX does them.

Login (API-FACTS-2 12.3): ``sign = base64(HMAC_SHA256(secret, timestamp + "GET" +
"/users/self/verify"))`` with ``timestamp`` in Unix seconds, sent as a string (ccxt) or a JSON
number (python-okx); both are accepted and the signature is checked over the text as sent. The
checks and their codes, in order: the four fields present (60009), timestamp format (60004),
timestamp within 30 s of the simulator's clock (60006), key (60005), passphrase (60024),
signature (60007), IP whitelist (60009), another key already logged in on this connection
(60031). A second login with the same key is accepted again (python-okx logs in before every
private subscribe).

``orders-algo`` (conditional, oco, trigger) and ``algo-advance`` (trailing) push on the business
URL after a login there: the REST algo record in its state after each change (placed, amended,
triggered, failed, cancelled); changes made in one engine commit push once, in the last state.

``orders`` pushes: the REST order fields plus the fields "for this update" OKX adds (API-FACTS-2
12.5): a fill's ``fillSz fillPx tradeId fillTime fillFee fillFeeCcy execType``, and otherwise
``fillSz "0"`` with the rest empty; one push per fill and per change. ``account`` pushes: the REST
balance item, a snapshot on subscribe, then only the currencies that changed.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from okx_sim.auth import Authenticator
from okx_sim.config import ApiKeySpec
from okx_sim.records import SimFill
from okx_wire.auth import sign
from okx_wire.precision import format_decimal
from okx_wire.ws.protocol import ALGO_CHANNEL_OF, LOGIN_PATH, LOGIN_WINDOW_S

_SECONDS = re.compile(r"\d{1,12}(\.\d{1,6})?")


class LoginRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def verify_login(auth: Authenticator, arg: Any, *, now_ms: int, client_ip: str,
                 current: ApiKeySpec | None) -> ApiKeySpec:
    """The key a login argument proves, or ``LoginRefused`` with OKX's code."""
    if not isinstance(arg, dict):
        raise LoginRefused("60009")
    api_key, passphrase, raw_ts, signature = (arg.get(k) for k in ("apiKey", "passphrase", "timestamp", "sign"))
    if not all(isinstance(v, str) and v for v in (api_key, passphrase, signature)) or raw_ts in (None, ""):
        raise LoginRefused("60009")
    ts = str(raw_ts) if not isinstance(raw_ts, bool) else ""
    if not _SECONDS.fullmatch(ts):
        raise LoginRefused("60004")
    if abs(now_ms / 1000 - float(ts)) > LOGIN_WINDOW_S:
        raise LoginRefused("60006")
    key = auth.keys.get(str(api_key))
    if key is None:
        raise LoginRefused("60005")
    if not hmac.compare_digest(str(passphrase).encode(), key.passphrase.get_secret_value().encode()):
        raise LoginRefused("60024")
    expected = sign(key.secret_key.get_secret_value(), ts, "GET", LOGIN_PATH)
    if not hmac.compare_digest(str(signature).encode(), expected.encode()):
        raise LoginRefused("60007")
    allowed = key.ip_list()
    if allowed and client_ip not in allowed:
        raise LoginRefused("60009")
    if current is not None and current.api_key != key.api_key:
        raise LoginRefused("60031")
    return key


def order_row(order: dict[str, Any], fill: SimFill | None) -> dict[str, Any]:
    """One ``orders`` push item: the order now, with the fields of this update's fill."""
    row = dict(order)
    if fill is None:
        row.update(fillSz="0", fillPx="", tradeId="", fillTime="", fillFee="0", fillFeeCcy="", execType="",
                   fillNotionalUsd="")
    else:
        row.update(fillSz=format_decimal(fill.fill_sz), fillPx=format_decimal(fill.fill_px), tradeId=fill.trade_id,
                   fillTime=str(fill.ts), fillFee=format_decimal(fill.fee), fillFeeCcy=fill.fee_ccy,
                   execType=fill.exec_type, fillNotionalUsd="")
    row.update(fillPnl="0", notionalUsd="", amendResult="", amendSource="", reqId="", code="0", msg="",
               lastPx=row.get("fillPx", ""))
    return row


def wants_order(arg: dict[str, Any], order: dict[str, Any]) -> bool:
    """Whether an ``orders`` subscription (instType, optional instId) covers this order."""
    inst_type = arg.get("instType")
    if inst_type not in ("ANY", order.get("instType")):
        return False
    inst_id = arg.get("instId")
    return not inst_id or inst_id == order.get("instId")


def algo_row(algo: dict[str, Any]) -> dict[str, Any]:
    """One ``orders-algo`` / ``algo-advance`` push item: OKX's algo record as REST shows it, plus
    the fields only the push carries (``reqId`` and ``amendResult`` answer an amend made with a
    ``reqId``; the simulator's amends carry none, so both are empty, as OKX sends them)."""
    return {**algo, "reqId": "", "amendResult": ""}


def wants_algo(arg: dict[str, Any], channel: str, algo: dict[str, Any]) -> bool:
    """Whether an algo subscription (instType, optional instId; ``algo-advance`` also an
    optional algoId) covers this algo order, pushed on ``channel``."""
    if ALGO_CHANNEL_OF.get(str(algo.get("ordType"))) != channel or not wants_order(arg, algo):
        return False
    algo_id = arg.get("algoId")
    return not algo_id or algo_id == algo.get("algoId")


def account_push(arg: dict[str, Any], balance: dict[str, Any], event: str) -> dict[str, Any]:
    """An ``account`` push; ``event`` is ``snapshot`` or ``event_update``."""
    push: dict[str, Any] = {"arg": arg, "eventType": event}
    if event == "snapshot":
        push.update(curPage=1, lastPage=True)
    push["data"] = [balance]
    return push
