"""Where a REST base URL's WebSocket endpoints are.

OKX's REST hosts have their own WebSocket hosts, on port 8443 (python-okx and hummingbot use
it; ccxt uses 443, which OKX serves too): ``www.okx.com`` -> ``ws.okx.com``, and for demo
trading ``wspap.okx.com``; the US and EEA sites have ``wsus``/``wseea`` (demo ``wsuspap``/
``wseeapap``) (API-FACTS-2 12.1). Any other host (the simulator, a proxy) serves WebSocket on
the same host and port as REST: ``http`` becomes ``ws``, ``https`` becomes ``wss``.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from okx_wire.hosts import normalized_host
from okx_wire.ws.protocol import WS_PATH_PREFIX, Url

#: REST host -> (live WebSocket host, demo WebSocket host).
WS_HOSTS: Final[dict[str, tuple[str, str]]] = {
    "www.okx.com": ("ws.okx.com", "wspap.okx.com"),
    "okx.com": ("ws.okx.com", "wspap.okx.com"),
    "openapi.okx.com": ("ws.okx.com", "wspap.okx.com"),
    "aws.okx.com": ("wsaws.okx.com", "wspap.okx.com"),
    "us.okx.com": ("wsus.okx.com", "wsuspap.okx.com"),
    "eea.okx.com": ("wseea.okx.com", "wseeapap.okx.com"),
}
OKX_WS_PORT: Final = 8443


def ws_url(base_url: str, kind: Url, *, demo: bool = False) -> str:
    """The WebSocket URL of ``kind`` (public, private, business) for a REST base URL."""
    parts = urlsplit(base_url)
    hosts = WS_HOSTS.get(normalized_host(base_url))
    if hosts is not None:
        return f"wss://{hosts[1 if demo else 0]}:{OKX_WS_PORT}{WS_PATH_PREFIX}{kind.value}"
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{WS_PATH_PREFIX}{kind.value}"
