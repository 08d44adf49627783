"""``okx-flows validate SPEC...``: every problem of every spec, one line each (exit 1)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="check spec files (exit 1 with one line per problem)")
    p.add_argument("specs", nargs="+", metavar="SPEC")


def invoke(args: argparse.Namespace, extra: list[str] | None = None) -> int:
    from flows.spec import SpecError, load_spec

    failed = False
    for path in args.specs:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            failed = True
            for line in exc.problems:
                print(line, file=sys.stderr)
            continue
        print(f"ok: {path} (kind {spec.strategy.kind}, name {spec.name}, venue {spec.venue}"
              f"{', dry run' if spec.dry_run else ''})")
    return 1 if failed else 0
