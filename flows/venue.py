"""Where a spec trades: its venue resolved to an ``OkxCredentials`` block object, inside the run.

The flow receives only the spec *path*; the key is found here, in the flow run's own process:

* ``credentials: {block: NAME}`` -> ``OkxCredentials.load(NAME)`` (the spec's ``base_url``, when
  given, overrides the block's);
* otherwise the ``OKX_API_KEY`` / ``OKX_SECRET_KEY`` / ``OKX_PASSPHRASE`` environment variables
  with the spec's ``base_url`` (else the settings' ``base_url``, ``OKX_BASE_URL``);
* ``venue: sim`` with neither a ``base_url`` nor a settings ``base_url`` and no block -> the
  embedded simulator, started in this process for the duration of the run, its state kept in the
  settings' ``sim_state`` (``OKX_SIM_STATE``, the CLI's ``--sim-state``) or
  ``okx_sim.cli.default_state_path()`` between runs. Its credentials exist only in this process:
  never saved as a block, never a parameter.

Settings come from ``okx_wire.runtime.RUNTIME``: the CLI configures them once; a flow run a
Prefect worker started reads them from the worker's environment at first use.

Safety rules, all checked before anything is sent: ``live`` needs ``confirm_live``; ``demo`` and
``live`` refuse plain-http base URLs (also from a block or ``OKX_BASE_URL``); ``sim`` refuses real
OKX hosts, so a spec written for the simulator can never trade real money by accident.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from flows.spec import Spec, base_url_problem
from okx_wire.errors import ConfigurationError
from okx_wire.hosts import is_okx_host
from okx_wire.runtime import RUNTIME


class LiveNotConfirmed(ConfigurationError):
    """A live spec was run without the explicit confirmation."""


@dataclass
class ResolvedVenue:
    """The resolved venue: the credentials block object plus a label safe to log."""

    credentials: Any  # OkxCredentials (typed loosely: importing it pulls in Prefect)
    label: str
    embedded: bool = False
    simulator: Any = None  # okx_sim.embedded.SimulatorHandle when embedded

    def account(self, uid: str) -> str:
        """The account digest: where (this venue) and whose (OKX ``uid``) -- never the key itself."""
        from okx_wire.journal import account_id

        if self.embedded and self.simulator is not None:
            where = f"sim:{self.simulator.config.state_path}"
        else:
            from urllib.parse import urlsplit

            where = (urlsplit(self.credentials.get_client().base_url).netloc.lower()
                     + (":demo" if self.credentials.demo else ""))
        return account_id(where, uid)


def sim_state_path() -> Path:
    """The embedded simulator's state file: the settings' ``sim_state`` or the per-user default."""
    override = RUNTIME.settings.sim_state
    if override is not None:
        return override.expanduser()
    from okx_sim.cli import default_state_path

    return default_state_path()


def uses_embedded_simulator(spec: Spec) -> bool:
    """True when this spec runs against an in-process simulator (no host or block named)."""
    return (spec.venue == "sim" and spec.base_url is None and spec.credentials.block is None
            and not RUNTIME.settings.base_url)


def check_live(spec: Spec, confirm_live: bool) -> None:
    """Refuse a live spec without the confirmation; cheap, so the CLI calls it before Prefect."""
    if spec.venue == "live" and not confirm_live:
        raise LiveNotConfirmed(
            f"spec {spec.name!r} trades real money on OKX live: rerun with --confirm-live "
            "(flow parameter confirm_live=true) if that is what you want")


def _check_url(spec: Spec, url: str | None) -> None:
    problem = base_url_problem(spec.venue, url)
    if problem:
        raise ConfigurationError(problem)
    # is_okx_host normalises case, trailing dots, userinfo, port and IDNA, and takes every
    # subdomain of okx.com/okex.com, so no spelling of a real host slips past as "not OKX".
    if spec.venue == "sim" and (url is None or is_okx_host(url)):
        raise ConfigurationError(
            f"spec {spec.name!r} says venue: sim but its key points at {url or 'the default OKX host'} "
            "-- set base_url to the simulator's URL, or venue: demo/live for OKX itself")


# -- the embedded simulator --------------------------------------------------------------------

_prestarted: dict[Path, Any] = {}
_prestarted_lock = threading.Lock()


@contextmanager
def embedded_simulator(state_path: Path | None = None) -> Iterator[Any]:
    """Serve the simulator in this process (a background thread) for the duration of the block.

    If ``prestarted_simulator`` already serves this state file in this process, that one is
    reused (the CLI starts it before Prefect is up, so the two start-ups overlap).
    """
    path = (state_path or sim_state_path()).resolve()
    with _prestarted_lock:
        handle = _prestarted.get(path)
    if handle is not None:
        yield handle
        return
    from okx_sim import SimConfig, running_simulator

    with running_simulator(SimConfig(state_path=path)) as handle:
        yield handle


@contextmanager
def prestarted_simulator(state_path: Path | None = None) -> Iterator[Any]:
    """Start the embedded simulator now and let every run in this process use it until exit."""
    path = (state_path or sim_state_path()).resolve()
    from okx_sim import SimConfig, running_simulator

    with running_simulator(SimConfig(state_path=path)) as handle:
        with _prestarted_lock:
            _prestarted[path] = handle
        try:
            yield handle
        finally:
            with _prestarted_lock:
                _prestarted.pop(path, None)


# -- resolution ----------------------------------------------------------------------------------


@contextmanager
def resolve_venue(spec: Spec, *, confirm_live: bool = False) -> Iterator[ResolvedVenue]:
    """The credentials block object for ``spec``'s venue, valid inside the ``with`` block."""
    from okx_tasks.blocks import OkxCredentials

    check_live(spec, confirm_live)
    if uses_embedded_simulator(spec):
        with embedded_simulator() as sim:
            credentials = OkxCredentials.from_api_credentials(sim.credentials, base_url=sim.base_url)
            yield ResolvedVenue(credentials, f"embedded simulator ({sim.config.state_path})", embedded=True,
                                simulator=sim)
        return
    demo = spec.venue == "demo"
    if spec.credentials.block is not None:
        try:
            credentials = cast(OkxCredentials, OkxCredentials.load(spec.credentials.block))
        except ValueError as exc:
            raise ConfigurationError(
                f"cannot load the OkxCredentials block {spec.credentials.block!r}: {' '.join(str(exc).split())} "
                "-- create it (OkxCredentials(...).save(name)) or fix credentials.block") from None
        updates: dict[str, Any] = {}
        if spec.base_url is not None:
            updates["base_url"] = spec.base_url
        if demo and not credentials.demo:
            updates["demo"] = True
        if updates:
            credentials = credentials.model_copy(update=updates)
        source = f"block {spec.credentials.block}"
    else:
        credentials = OkxCredentials.from_env(base_url=spec.base_url, demo=demo)
        source = "OKX_* environment variables"
    from okx_wire.hosts import resolve_base_url

    url = credentials.base_url or (resolve_base_url(None, credentials.region)
                                   if spec.venue != "sim" else None)
    _check_url(spec, url)
    if spec.venue == "live" and credentials.demo:
        raise ConfigurationError(f"spec {spec.name!r} is venue: live but its key is a demo key -- use venue: demo")
    yield ResolvedVenue(credentials, f"{spec.venue} at {url} ({source})")
