"""``okx-flows limits apply|show``: set up and inspect the shared (Redis) rate limits.

    okx-flows limits apply --redis redis://host:6379/0 --name prod-main [--slack 0.05]
    okx-flows limits show  --redis redis://host:6379/0 --name prod-main

``--redis`` and ``--name`` default to ``OKX_RATE_LIMIT_URL`` and ``OKX_RATE_LIMIT_NAME`` (then
"default"), the variables the workers read (as the process settings: ``RUNTIME.settings``).
``okx-flows limits ...`` reaches ``invoke``, which parses the rest of the command line with
``add_arguments`` and calls ``main``.

Exit codes: 0 done, 2 configuration error (unknown name, unreachable Redis, bad URL).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from okx_wire.errors import ConfigurationError, OkxError
from okx_wire.limits import BUDGETS, Scope
from okx_wire.runtime import RUNTIME
from okx_wire.shared_limits import (
    DEFAULT_NAME,
    DEFAULT_SLACK,
    ENV_NAME,
    ENV_URL,
    RedisLimiter,
    apply_limits,
    redact_url,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``apply`` and ``show`` sub-commands to ``parser`` (the ``limits`` command)."""
    sub = parser.add_subparsers(dest="limits_command", metavar="{apply,show}", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--redis", metavar="URL", default=None,
                       help=f"Redis URL shared by every worker (default: ${ENV_URL})")
        p.add_argument("--name", metavar="NAME", default=None,
                       help=f"limiter name, one per API key / budget (default: ${ENV_NAME} or {DEFAULT_NAME!r})")

    apply = sub.add_parser("apply", help="create or update the shared limits of NAME")
    common(apply)
    apply.add_argument("--slack", type=float, default=DEFAULT_SLACK, metavar="SECONDS",
                       help=f"extra width of each window against arrival jitter (default {DEFAULT_SLACK})")
    show = sub.add_parser("show", help="current usage per bucket of NAME")
    common(show)


def invoke(args: argparse.Namespace, extra: list[str]) -> int:
    """``okx-flows limits ...``: the rest of the command line is this command's own."""
    from okx_cli.main import sub_parser

    parser = sub_parser("limits", "Shared OKX rate limits (Redis).")
    add_arguments(parser)
    return main(parser.parse_args(extra))


def main(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    url = args.redis or RUNTIME.settings.rate_limit_url or ""
    name = args.name or RUNTIME.settings.rate_limit_name or DEFAULT_NAME
    if not url:
        print(f"error: no Redis URL: pass --redis URL or set {ENV_URL}", file=err)
        return 2
    try:
        if args.limits_command == "apply":
            applied = apply_limits(url, name, slack=args.slack)
            for line in applied.lines():
                print(line, file=out)
            print(f"workers use it with {ENV_URL}={redact_url(url)} {ENV_NAME}={name}", file=out)
            return 0
        if args.limits_command == "show":
            return _show(RedisLimiter(url, name), out)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=err)
        return 2
    except OkxError as exc:  # the store went away between calls
        print(f"error: {exc}", file=err)
        return 2
    print(f"error: unknown limits command {args.limits_command!r}", file=err)
    return 2


def _mask_user(key: str) -> str:
    """Bucket keys hold the API key as OKX's "user": show only its first 4 characters."""
    parts = key.split("|")
    scopes = {b.name: b.scope for b in BUDGETS.values()}
    if scopes.get(parts[0]) in (Scope.USER, Scope.USER_INSTRUMENT) and len(parts) > 1 and len(parts[1]) > 4:
        parts[1] = parts[1][:4] + "…"
    return "|".join(parts)


def _show(limiter: RedisLimiter, out: TextIO) -> int:
    try:
        rows = limiter.usage()
    finally:
        limiter.close()
    print(f"limits {limiter.name!r} on {redact_url(limiter.redis_url)}, slack {limiter.slack * 1000:.0f} ms: "
          f"{len(rows)} live bucket(s)", file=out)
    for row in rows:
        limit = "?" if row.limit is None else str(row.limit)
        print(f"  {_mask_user(row.key):<48} {row.used:>4}/{limit:<4} in the last {row.window:g} s", file=out)
    return 0
