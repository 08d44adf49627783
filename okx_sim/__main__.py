import sys

from okx_sim.cli import run

sys.exit(run())
