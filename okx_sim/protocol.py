"""OKX's error shapes as the simulator raises them, with statuses and texts from okx_wire.errors.

Two kinds: ``SimError`` is a whole-request failure (top-level ``code``, ``data: []``, HTTP status
from the shared table); ``ItemError`` is one order's failure inside a trade reply (``sCode`` and
``sMsg``, HTTP 200, top-level code "1" or "2").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from okx_wire.endpoints import PAGE_LIMIT
from okx_wire.errors import ERROR_CODES, okx_message

#: The codes only the algo-order side answers with (attached TP/SL on place-order, and
#: order-algo, cancel-algos, amend-algos); tests/okx_sim/test_algo_orders.py reaches each one.
ALGO_ERROR_CODES: Final = frozenset({
    "51046", "51047", "51048", "51049", "51050", "51051", "51052", "51053", "51065", "51068", "51077",
    "51094", "51133", "51139", "51178", "51258", "51259", "51260", "51261", "51277", "51278", "51279",
    "51280", "51281", "51299", "51327", "51415", "51506", "51531",
})
#: Every OKX code this simulator can answer with (top level or as sCode). A test checks that each
#: one is reached by some test, so the list cannot silently grow untested.
SIM_ERROR_CODES: Final = frozenset({
    "1", "2", "50000", "50001", "50002", "50006", "50011", "50014", "50026", "50037", "50101", "50102",
    "50103", "50104", "50105", "50106", "50107", "50110", "50111", "50112", "50113", "50115", "50120",
    "51000", "51001", "51008", "51010", "51016", "51020", "51121", "51400", "51503", "51603",
}) | ALGO_ERROR_CODES


class SimError(Exception):
    """A failure of the whole request."""

    def __init__(self, code: str, *args: object, msg: str | None = None, http_status: int | None = None) -> None:
        self.code = code
        self.msg = msg if msg is not None else okx_message(code, *args)
        self.http_status = http_status if http_status is not None else ERROR_CODES[code].http_status
        super().__init__(f"{code} {self.msg}")


class ItemError(Exception):
    """A failure of one order inside a trade request; OKX ends these texts with a space."""

    def __init__(self, code: str, *args: object) -> None:
        self.code = code
        self.msg = okx_message(code, *args) + " "
        super().__init__(f"{code} {self.msg}")


def param_error(name: str) -> SimError:
    """51000 with OKX's exact wording, which has a space after the parameter name."""
    return SimError("51000", f"{name} ")


def missing(name: str) -> SimError:
    return SimError("50014", name)


def param(params: dict[str, Any], name: str) -> str | None:
    """A request value as text; absent, ``null`` and ``""`` all mean "not provided" (python-okx sends them)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def page(items: list[Any], params: dict[str, Any], key: Callable[[Any], int]) -> list[Any]:
    """OKX cursor pagination over a newest-first list: ``after`` older than, ``before`` newer than."""
    after, before = param(params, "after"), param(params, "before")
    if after is not None:
        items = [i for i in items if key(i) < int(after)]
    if before is not None:
        items = [i for i in items if key(i) > int(before)]
    limit_text = param(params, "limit")
    limit = PAGE_LIMIT
    if limit_text is not None:
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= PAGE_LIMIT:
            raise param_error("limit")
        limit = int(limit_text)
    return items[:limit]
