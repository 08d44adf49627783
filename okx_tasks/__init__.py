"""okx_tasks: an OKX V5 client and the Prefect tasks built on it.

Kept import-light on purpose: the simulator and the CLI import pieces of it without paying for
Prefect. Import what you need from its modules (``okx_tasks.client``, ``okx_tasks.tasks``...).
"""

__version__ = "0.1.0"
