"""Everything ``okx-flows signals serve`` runs, for the CLI, the tests and the benchmark alike.

``signal_service(paths)`` loads each spec (one-line errors), resolves its secrets (a missing
one fails here, before the port opens), and for a resident spec resolves its venue, warms its
client and starts its executor flow run; a durable spec (``strategy.durable``, or
``durable=True`` for all) needs neither: its deployment runs resolve the venue themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from flows.signals.auth import resolve_secrets
from flows.signals.executor import Desk, Executor
from flows.signals.receiver import Served, SignalReceiver
from flows.spec import SpecError, load_spec
from flows.venue import resolve_venue
from okx_strategies.signal import SignalSpec
from okx_wire.signals import open_signal_store


@contextmanager
def signal_service(paths: Sequence[str | Path], *, durable: bool | None = None, confirm_live: bool = False,
                   prefect: bool = True) -> Iterator[SignalReceiver]:
    """The receiver app for ``paths``, its executors running until the block exits.

    ``durable`` overrides every spec's ``strategy.durable``; ``prefect=False`` executes without
    Prefect (the benchmark's baseline only)."""
    served: list[Served] = []
    with ExitStack() as stack:
        names: set[str] = set()
        for path in paths:
            spec = load_spec(path)
            if not isinstance(spec.strategy, SignalSpec):
                raise SpecError([f"{path}: strategy.kind: is {spec.strategy.kind}, not signal -- serve signal specs "
                                 "only"])
            if spec.name in names:
                raise SpecError([f"{path}: name: {spec.name} is served twice -- give each signal spec its own name"])
            names.add(spec.name)
            secrets = resolve_secrets(spec.strategy, spec.name)
            store = open_signal_store()
            if durable if durable is not None else spec.strategy.durable:
                served.append(Served(spec, secrets, store))
                continue
            venue = stack.enter_context(resolve_venue(spec, confirm_live=confirm_live))
            desk = Desk(spec, venue, store)
            desk.warm()
            executor = Executor(desk, prefect=prefect).start()
            stack.callback(executor.stop)
            served.append(Served(spec, secrets, store, executor))
        yield SignalReceiver(served)
