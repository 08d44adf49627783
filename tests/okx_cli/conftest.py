"""A simulator per test, spec copies pointing at it, and the session's Prefect test server."""

from tests.support.flow_env import prefect_for_every_test, sim, sim_config, spec_file

__all__ = ["prefect_for_every_test", "sim", "sim_config", "spec_file"]
