"""okx_strategies: one module per strategy (spec section, needs, plan, execution body), the pure
planning math they share, the venue port and its direct binding. No Prefect here.

Any directory named ``okx_strategies`` on ``sys.path`` adds its modules to this package, so a
strategy kept outside this repository is found the same way (see docs/adding-a-strategy.md).
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
