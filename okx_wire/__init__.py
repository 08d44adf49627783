"""okx_wire: OKX V5 over HTTP -- the exchange's facts, signing, the pooled client and placement.

Imports nothing of Prefect: the simulator, the CLI and any plain script use it alone. The Prefect
layer (``okx_tasks``) and the strategies (``okx_strategies``) sit on top of it.
"""

__version__ = "0.1.0"
