"""A faithful local OKX V5 REST exchange for tests and dry runs (see okx_sim/README.md)."""

from okx_sim.config import ApiKeySpec, SimConfig
from okx_sim.embedded import running_simulator

__all__ = ["ApiKeySpec", "SimConfig", "running_simulator"]
