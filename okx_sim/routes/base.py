"""What every handler module shares: the parsed request, the reply shape and the argument checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okx_sim.matching import param
from okx_sim.protocol import SimError, missing, param_error
from okx_wire.endpoints import MAX_BATCH_ORDERS

if TYPE_CHECKING:
    from okx_sim.config import ApiKeySpec, SimConfig
    from okx_sim.matching import MatchingEngine

Reply = tuple[int, dict[str, Any]]


@dataclass
class Request:
    method: str
    path: str
    #: The request-target exactly as sent (what OKX signs): raw path + "?" + raw query.
    target: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    client_ip: str
    now_ms: int
    in_time_us: int
    json: Any = None
    key: ApiKeySpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Request], Any]


class Routes:
    """The state every handler mixin reads; ``SimApp`` sets it."""

    config: SimConfig
    exchange: MatchingEngine


def ok(data: list[Any]) -> Reply:
    return 200, {"code": "0", "msg": "", "data": data}


def required(params: dict[str, Any], name: str) -> str:
    value = param(params, name)
    if value is None:
        raise missing(name)
    return value


def batch(body: Any, cap: int = MAX_BATCH_ORDERS) -> list[Any]:
    """A batch body: a non-empty JSON array of at most ``cap`` items."""
    if not isinstance(body, list):
        raise SimError("50002")
    if not body:
        raise SimError("50000")
    if len(body) > cap:
        raise param_error("batch")
    return body


def ms_param(params: dict[str, Any], name: str) -> int | None:
    """An optional Unix-ms parameter (``begin``, ``end``)."""
    text = param(params, name)
    if text is None:
        return None
    if not text.isdigit():
        raise param_error(name)
    return int(text)
