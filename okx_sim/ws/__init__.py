"""OKX's WebSocket API in the simulator: the same channels, fed by the same engine and market.

``gateway`` is the ASGI entry (handshake, one message at a time), ``session`` one connection,
``hub`` the subscriptions and what feeds them, ``feeds`` the public pushes, ``private`` login
and the private pushes, ``ops`` order entry. See docs/websocket.md.
"""

from okx_sim.ws.gateway import WsGateway

__all__ = ["WsGateway"]
