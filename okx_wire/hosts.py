"""OKX REST hosts and how a client picks one.

Accounts are tied to a regional site: keys made on my.okx.com (EEA) work only on eea.okx.com,
keys made on app.okx.com (US/AU) only on us.okx.com. Demo trading uses the same hosts plus the
``x-simulated-trading: 1`` header and a demo key (``shared/okx/API-FACTS.md`` section 2).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import urlsplit

import idna

from okx_wire.endpoints import DEFAULT_BASE_URL, GLOBAL_HOSTS, OKX_DOMAINS, REGIONS
from okx_wire.errors import ConfigurationError
from okx_wire.runtime import RUNTIME
from okx_wire.settings import ENV_BASE_URL

__all__ = ["DEFAULT_BASE_URL", "ENV_BASE_URL", "OKX_DOMAINS", "REGIONS", "is_global_host", "is_loopback",
           "is_okx_host", "normalized_host", "resolve_base_url"]

#: How messages show a well-formed base URL.
_EXAMPLE: Final = DEFAULT_BASE_URL


def resolve_base_url(base_url: str | None = None, region: str | None = None) -> str:
    """The REST host a client talks to, as ``scheme://host[:port]``.

    Args:
        base_url: an explicit host; wins over everything.
        region: ``global``, ``us`` or ``eea`` (``REGIONS``), used when neither ``base_url`` nor
            the settings' ``base_url`` (``OKX_BASE_URL``) names a host.

    Returns:
        The first of: ``base_url``, ``RUNTIME.settings.base_url``, the region's host, the global host.

    Raises:
        ConfigurationError: an unknown region, or a base URL that is not ``http(s)://host``.
    """
    if base_url is None:
        base_url = RUNTIME.settings.base_url
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
            f"base URL {base_url!r} is not an http(s) URL: write it like {_EXAMPLE}"
        )
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            f"base URL {base_url!r} has a path: give only scheme and host, e.g. {_EXAMPLE}"
        )
    return f"{parts.scheme}://{parts.netloc}"


#: What a host may contain once normalised (IDNA letters, digits, hyphen, dot, underscore; IPv6).
_HOST_CHARS: Final = re.compile(r"[a-z0-9._:-]+")


def _shown(url: str) -> str:
    """``url`` for an error message, without any ``user:password@`` part."""
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1] if "/" not in rest.split("@", 1)[0] else rest
        return repr(f"{scheme}://***@{rest}")
    return repr(text)


def normalized_host(url: str) -> str:
    """The host an http(s) URL connects to, in the one form every host check compares.

    Safety checks (``sim`` must not reach OKX, plain http only to loopback) are only as good
    as their comparison: ``WWW.OKX.COM``, ``www.okx.com.``, ``user@www.okx.com:443`` and the
    full-width ``ｗｗｗ.ｏｋｘ.ｃｏｍ`` all reach the same server, so they must compare equal. The
    name is lower-cased, stripped of userinfo, port and trailing dots, and IDNA-encoded with
    UTS 46 mapping -- the same mapping requests applies before it connects.

    Raises:
        ConfigurationError: ``url`` is not an http(s) URL with a host.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except (ValueError, AttributeError):
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(f"{_shown(url)} is not an http(s) URL with a host -- write it like {_EXAMPLE}")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise ConfigurationError(
                f"{_shown(url)} has a host name that is not a valid international domain name -- "
                f"write the host in ASCII, e.g. {_EXAMPLE}") from None
    host = host.lower().rstrip(".")
    if not host or not _HOST_CHARS.fullmatch(host):
        raise ConfigurationError(f"{_shown(url)} has an invalid host name -- write it like {_EXAMPLE}")
    return host


def is_okx_host(url: str) -> bool:
    """True when ``url`` points at a real OKX host (``okx.com``, ``okex.com`` or a subdomain).

    Any subdomain counts, not a list of known hosts: OKX adds regional and API hosts, and a
    check meant to keep simulator specs off real money must err towards "this is OKX".
    """
    host = normalized_host(url)
    return any(host == domain or host.endswith("." + domain) for domain in OKX_DOMAINS)


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    Only these may be spoken to over plain http: nothing sent to them crosses a network.
    """
    host = normalized_host(url)
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def is_global_host(base_url: str) -> bool:
    """True for OKX's global-site hosts (used to hint at the regional host for unknown keys)."""
    try:
        return normalized_host(base_url) in GLOBAL_HOSTS
    except ConfigurationError:
        return False
