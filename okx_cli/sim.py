"""``okx-flows sim [...]``: serve the local OKX simulator until Ctrl-C (``okx_sim.cli``)."""

from __future__ import annotations

import argparse


def invoke(args: argparse.Namespace, extra: list[str]) -> int:
    from okx_cli.main import sub_parser
    from okx_sim import cli as sim_cli
    from okx_wire.runtime import RUNTIME

    parser = sub_parser("sim", "Serve the local OKX simulator until Ctrl-C.")
    sim_cli.add_arguments(parser)
    sim_args = parser.parse_args(extra)
    if sim_args.state is None and RUNTIME.settings.sim_state is not None:
        sim_args.state = RUNTIME.settings.sim_state.expanduser()
    return int(sim_cli.main(sim_args))
