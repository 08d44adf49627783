"""flows: the Prefect flows, one ten-line entry point per strategy, and the run frame they share.

Any directory named ``flows`` on ``sys.path`` adds its modules to this package, so the flow of
a strategy kept outside this repository sits beside the others (docs/adding-a-strategy.md).
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
