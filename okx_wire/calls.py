"""The request path the endpoint mixins of ``OkxClient`` send through.

``OkxClient`` is composed of its transport (``okx_wire.client``) and one mixin per area of OKX's
API that has grown large enough to deserve its own module (``okx_wire.market_data``,
``okx_wire.algo_orders``). A mixin only builds parameters and reads answers: signing, budgets,
envelope checks and error mapping stay in the one ``_call``. This base declares what a mixin may
use, so that each type-checks alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from okx_wire.endpoints import Endpoint
from okx_wire.errors import OkxError
from okx_wire.models import OrderAck


class CallsOkx:
    def _call(
        self,
        endpoint: Endpoint,
        *,
        params: Mapping[str, object] | None = None,
        payload: object = None,
        inst_ids: Sequence[str] = (),
        inst_type: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - OkxClient provides it

    def item_error(self, ack: OrderAck, method: str, path: str) -> OkxError | None:
        raise NotImplementedError  # pragma: no cover - OkxClient provides it

    def spot_td_mode(self) -> str:
        raise NotImplementedError  # pragma: no cover - OkxClient provides it

    def now_ms(self) -> int:
        raise NotImplementedError  # pragma: no cover - OkxClient provides it
