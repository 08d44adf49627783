"""OKX's algo-order endpoints: order-algo, its queries, cancel-algos and amend-algos."""

from __future__ import annotations

from okx_sim.routes.base import Routes


class AlgoRoutes(Routes):
    pass
