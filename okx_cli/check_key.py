"""``okx-flows check-key``: clock drift, permissions and IP whitelist of the OKX_* key."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from typing import Any, TextIO

from okx_cli.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check-key", help="clock drift, permissions and IP whitelist of the OKX_* key")
    p.add_argument("--base-url", help="venue to check against (default OKX_BASE_URL; none: an embedded simulator)")
    p.add_argument("--region", choices=("global", "eea", "us"), help="an OKX regional host instead of --base-url")
    p.add_argument("--demo", action="store_true", help="a demo-trading key (x-simulated-trading: 1)")


def invoke(args: argparse.Namespace, extra: list[str] | None = None) -> int:
    return check_key(args)


def check_key(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from flows.spec import base_url_problem
    from okx_wire.auth import ApiCredentials
    from okx_wire.client import OkxClient
    from okx_wire.hosts import normalized_host
    from okx_wire.orders import ACCOUNT_MODES, spot_td_mode
    from okx_wire.runtime import RUNTIME

    out = out or sys.stdout
    base_url = args.base_url or RUNTIME.settings.base_url
    with ExitStack() as stack:
        if base_url is None and args.region is None:
            from okx_sim import ApiKeySpec, SimConfig, running_simulator

            options: dict[str, Any] = {"state_path": None}
            if RUNTIME.settings.has_env_credentials:
                env = ApiCredentials.from_env()
                options["keys"] = [ApiKeySpec(api_key=env.api_key, secret_key=env.secret_key,
                                              passphrase=env.passphrase, label="okx-sim")]
            sim = stack.enter_context(running_simulator(SimConfig(**options)))
            creds, base_url = sim.credentials, sim.base_url
            where = f"an embedded simulator at {base_url} (no --base-url, --region or OKX_BASE_URL given)"
        else:
            if args.demo:
                problem = base_url_problem("demo", base_url)
                if problem:
                    raise UserError(problem)
            if base_url is not None and _plain_http(base_url) and not _is_local(base_url):
                # The key, passphrase and a signature would cross the network in clear text.
                raise UserError(
                    f"refusing plain http to {normalized_host(base_url)}: the API key and passphrase would be "
                    "sent unencrypted -- use https://, or http only for a simulator on this machine (127.0.0.1)")
            creds = ApiCredentials.from_env()
            where = base_url or f"the OKX {args.region} host"
        client = stack.enter_context(OkxClient(creds, base_url=base_url, region=args.region, demo=args.demo))
        print(f"checking key {creds.api_key} against {where}{' (demo)' if args.demo else ''}", file=out)
        local = time.time()
        server_ms = client.server_time().ts
        drift_ms = server_ms - int((local + time.time()) / 2 * 1000)
        print(f"server clock: {drift_ms:+d} ms from this machine", file=out)
        warnings = []
        if abs(drift_ms) > 5000:
            warnings.append(f"the clock is {drift_ms / 1000:+.1f} s off the server; OKX refuses requests more than "
                            "30 s off -- sync this machine's clock (NTP); the client corrects for the offset")
        client.sync_time()
        config = client.account_config()
        perms = sorted(config.perm)
        print(f"account uid: {config.uid}", file=out)
        mode = ACCOUNT_MODES.get(config.acct_lv or "", f"unknown ({config.acct_lv})")
        print(f"account mode: {mode} (acctLv {config.acct_lv}); spot orders are sent with tdMode "
              f"{spot_td_mode(config.acct_lv)}", file=out)
        print(f"permissions: {', '.join(perms) or 'none'}", file=out)
        print(f"IP whitelist: {', '.join(config.ip) if config.ip else 'none (the key works from any address)'}",
              file=out)
        if config.can_withdraw:
            warnings.append("this key can WITHDRAW funds: a leaked key could empty the account -- make a key with "
                            "read and trade permissions only for okx-flows")
        if not config.can_trade:
            warnings.append("this key cannot trade: runs will fail at the first order -- add the trade permission")
        if not config.ip and (args.region or not _is_local(base_url)):
            warnings.append("the key is not bound to an IP address -- bind it to your server's IP on OKX "
                            "(keys without a whitelist expire after 14 days of inactivity)")
    for warning in warnings:
        print(f"WARNING: {warning}", file=out)
    if not warnings:
        print("ok: the key looks right for okx-flows", file=out)
    return 0


def _is_local(url: str | None) -> bool:
    """True when ``url`` is this machine (loopback), where plain http and no IP whitelist are fine."""
    from okx_wire.hosts import is_loopback

    return url is not None and is_loopback(url)


def _plain_http(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url.strip()).scheme.lower() == "http"
