"""OKX REST hosts and how a client picks one.

Accounts are tied to a regional site: keys made on my.okx.com (EEA) work only on eea.okx.com,
keys made on app.okx.com (US/AU) only on us.okx.com. Demo trading uses the same hosts plus the
``x-simulated-trading: 1`` header and a demo key (``shared/okx/API-FACTS.md`` section 2).
"""

from __future__ import annotations

import os
from typing import Final
from urllib.parse import urlsplit

from okx_tasks.errors import ConfigurationError

ENV_BASE_URL: Final = "OKX_BASE_URL"

REGIONS: Final[dict[str, str]] = {
    "global": "https://www.okx.com",
    "us": "https://us.okx.com",
    "eea": "https://eea.okx.com",
}
DEFAULT_BASE_URL: Final = REGIONS["global"]


def resolve_base_url(base_url: str | None = None, region: str | None = None) -> str:
    """Explicit base URL, else ``OKX_BASE_URL``, else the region's host, else the global host."""
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or None
    if base_url is None:
        if region is None:
            return DEFAULT_BASE_URL
        try:
            return REGIONS[region]
        except KeyError:
            raise ConfigurationError(
                f"unknown OKX region {region!r}: use one of {', '.join(REGIONS)}"
            ) from None
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"base URL {base_url!r} is not an http(s) URL: write it like https://www.okx.com"
        )
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            f"base URL {base_url!r} has a path: give only scheme and host, e.g. https://www.okx.com"
        )
    return f"{parts.scheme}://{parts.netloc}"


def is_global_host(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    return host in ("www.okx.com", "okx.com", "openapi.okx.com", "aws.okx.com")
