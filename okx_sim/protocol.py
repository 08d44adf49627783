"""OKX's error shapes as the simulator raises them, with statuses and texts from okx_wire.errors.

Two kinds: ``SimError`` is a whole-request failure (top-level ``code``, ``data: []``, HTTP status
from the shared table); ``ItemError`` is one order's failure inside a trade reply (``sCode`` and
``sMsg``, HTTP 200, top-level code "1" or "2").
"""

from __future__ import annotations

from typing import Final

from okx_wire.errors import ERROR_CODES, okx_message

#: Every OKX code this simulator can answer with (top level or as sCode). A test checks that each
#: one is reached by some test, so the list cannot silently grow untested.
SIM_ERROR_CODES: Final = frozenset({
    "1", "2", "50000", "50001", "50002", "50006", "50011", "50014", "50026", "50037", "50101", "50102",
    "50103", "50104", "50105", "50106", "50107", "50110", "50111", "50112", "50113", "50115", "50120",
    "51000", "51001", "51008", "51010", "51016", "51020", "51121", "51400", "51503", "51603",
})


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
