"""Request authentication exactly as OKX checks it.

The signature is recomputed over the request-target exactly as it arrived (raw path plus raw
query bytes) and the raw body, never a re-encoded form: clients differ in how they encode
(ccxt %-encodes commas, python-okx encodes nothing, python-okx signs ``{}`` bodies), and a
simulator that normalises would accept signatures OKX rejects.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from okx_sim.config import ApiKeySpec, SimConfig
from okx_sim.protocol import SimError
from okx_wire.auth import sign
from okx_wire.endpoints import REQUEST_WINDOW_MS as WINDOW_MS

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def parse_timestamp(text: str) -> int:
    """Unix ms of an OK-ACCESS-TIMESTAMP, or 50112 if it is not ISO 8601 UTC with 3 ms digits and Z."""
    if not TIMESTAMP.fullmatch(text):
        raise SimError("50112")
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise SimError("50112") from None
    return int(moment.timestamp() * 1000)


class Authenticator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.keys: dict[str, ApiKeySpec] = {key.api_key: key for key in config.keys}

    def verify(self, headers: Mapping[str, str], method: str, request_path: str, body: str, *,
               client_ip: str, now_ms: int, needs_trade: bool) -> ApiKeySpec:
        """The key that signed this request, or the SimError OKX would answer with."""
        api_key = headers.get("ok-access-key", "")
        signature = headers.get("ok-access-sign", "")
        timestamp = headers.get("ok-access-timestamp", "")
        passphrase = headers.get("ok-access-passphrase", "")
        if not api_key:
            raise SimError("50103")
        if not signature:
            raise SimError("50106")
        if not timestamp:
            raise SimError("50107")
        if not passphrase:
            raise SimError("50104")
        sent_ms = parse_timestamp(timestamp)
        if abs(now_ms - sent_ms) > WINDOW_MS:
            raise SimError("50102")
        key = self.keys.get(api_key)
        if key is None:
            raise SimError("50111")
        # Bytes, not str: compare_digest raises TypeError on non-ASCII str (a 500, not OKX's 50105).
        if not hmac.compare_digest(passphrase.encode(), key.passphrase.get_secret_value().encode()):
            raise SimError("50105")
        expected = sign(key.secret_key.get_secret_value(), timestamp, method, request_path, body)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise SimError("50113")
        self._check_environment(key, headers.get("x-simulated-trading", ""))
        allowed = key.ip_list()
        if allowed and client_ip not in allowed:
            raise SimError("50110", client_ip)
        if needs_trade and "trade" not in key.permissions:
            raise SimError("50120")
        return key

    def _check_environment(self, key: ApiKeySpec, flag: str) -> None:
        demo_request = flag.strip() == "1"
        mode = self.config.environment
        if mode == "live" and (demo_request or key.environment == "demo"):
            raise SimError("50101")
        if mode == "demo" and (not demo_request or key.environment == "live"):
            raise SimError("50101")
        if mode == "any" and key.environment is not None and demo_request != (key.environment == "demo"):
            raise SimError("50101")
