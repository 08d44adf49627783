"""The signal flow: the durable path, one deployment run per signal (``docs/signals.md``).

``okx-flows signals serve --durable`` authenticates a signal, claims its id in the signals table
and emits ``okx-flows.signal.received``; the trigger of the ``signal`` deployment in
``prefect.yaml`` turns that event into a run of this flow with the signal as its parameter
(a ``Signal``: no secret is ever in it). The run resolves the spec's venue as every flow does,
then executes the signal exactly as the resident executor would (``flows.signals.executor``):
one task run, the same clOrdId, the same row, so a signal is placed once whichever path, run or
retry gets to it. A signal no receiver accepted (a hand-made run) is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from flows.signals.executor import Desk, Outcome
from flows.spec import SpecError, load_spec
from flows.venue import resolve_venue
from okx_strategies.signal import Signal, SignalSpec
from okx_wire.errors import ConfigurationError, OkxError
from okx_wire.signals import open_signal_store


class SignalFailed(OkxError):
    """The signal was not placed (refused, or its outcome unknown): the run ends Failed."""


def _run_name() -> str:
    from prefect.runtime import flow_run

    signal = flow_run.parameters.get("signal") or {}
    ident = signal.get("signal_id", "none") if isinstance(signal, dict) else getattr(signal, "signal_id", "none")
    spec = signal.get("spec", "signal") if isinstance(signal, dict) else getattr(signal, "spec", "signal")
    return f"{spec}-{ident}-{datetime.now(UTC):%Y%m%d-%H%M%S}"[:120]


@flow(name="signal", flow_run_name=_run_name, persist_result=False, log_prints=False)
def signal(spec_path: str, signal: Signal | None = None, dry_run: bool | None = None,
           confirm_live: bool = False) -> Outcome:
    """Place the order of one received signal (parameters hold no secret)."""
    spec = load_spec(spec_path)
    if not isinstance(spec.strategy, SignalSpec):
        raise SpecError([f"{spec_path}: strategy.kind: is {spec.strategy.kind}, not signal -- run it with the "
                         f"{spec.strategy.kind} flow"])
    if signal is None:
        raise ConfigurationError(f"spec {spec.name!r} trades only on signals -- serve it with okx-flows signals serve "
                                 f"{spec_path} (a deployment run gets its signal from the receiver's event)")
    if signal.spec != spec.name:
        raise ConfigurationError(f"the signal is for spec {signal.spec!r}, not {spec.name!r} -- check the trigger")
    if dry_run is not None and dry_run != spec.dry_run:
        spec = spec.model_copy(update={"dry_run": dry_run})
    with resolve_venue(spec, confirm_live=confirm_live) as venue:
        # One signal per run, often in a fresh worker process: opening streams would cost more
        # than the one ticker read and one POST they save.
        desk = Desk(spec, venue, open_signal_store(), websocket=False)
        desk.warm()
        outcome = desk.handle(signal, path="durable", claim=False)
        desk.settle()
    if outcome.state in ("placed", "dry-run", "replayed"):
        return outcome
    raise SignalFailed(f"signal {signal.signal_id}: {outcome.state}: {outcome.reason}")
