"""Every environment setting okx-flows reads, in one typed place.

The entry points (the ``okx-flows`` command, each flow when Prefect starts it, the simulator's
command, a benchmark) call ``Settings.from_env()`` once and pass the result, or the values taken
from it, down. Nothing below them reads ``os.environ``: a library user builds ``Settings(...)``
(or passes plain arguments) and gets the same behaviour whatever the shell holds.

Secrets are not settings: the API key, secret and passphrase stay in ``ApiCredentials`` /
``OkxCredentials`` (whose reprs hide them); ``has_env_credentials`` only says whether the three
variables are present.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from okx_wire.errors import ConfigurationError

ENV_API_KEY: Final = "OKX_API_KEY"
ENV_SECRET_KEY: Final = "OKX_SECRET_KEY"
ENV_PASSPHRASE: Final = "OKX_PASSPHRASE"
ENV_BASE_URL: Final = "OKX_BASE_URL"
ENV_DEMO: Final = "OKX_DEMO"
ENV_RATE_LIMIT_URL: Final = "OKX_RATE_LIMIT_URL"
ENV_RATE_LIMIT_NAME: Final = "OKX_RATE_LIMIT_NAME"
ENV_JOURNAL_URL: Final = "OKX_FLOWS_JOURNAL_URL"
ENV_SIM_STATE: Final = "OKX_SIM_STATE"
ENV_ACCOUNT_WAIT: Final = "OKX_FLOWS_ACCOUNT_WAIT_SECONDS"
ENV_REPOSSESS_LEASES: Final = "OKX_FLOWS_REPOSSESS_LEASES"
ENV_PREFECT_API_URL: Final = "PREFECT_API_URL"
ENV_WEBSOCKET: Final = "OKX_FLOWS_WEBSOCKET"

DEFAULT_RATE_LIMIT_NAME: Final = "default"
DEFAULT_ACCOUNT_WAIT_S: Final = 600.0
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("", "0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment says about venues, rate budgets, the journal and Prefect.

    Attributes:
        base_url: ``OKX_BASE_URL``: the REST host a spec without its own ``base_url`` uses.
        demo: ``OKX_DEMO``: send ``x-simulated-trading: 1`` (OKX demo trading).
        rate_limit_url: ``OKX_RATE_LIMIT_URL``: Redis holding the budget all workers of a key share.
        rate_limit_name: ``OKX_RATE_LIMIT_NAME``: which applied budget set to draw from.
        journal_url: ``OKX_FLOWS_JOURNAL_URL``: the run journal's database (None: the per-user SQLite).
        sim_state: ``OKX_SIM_STATE``: the embedded simulator's state file (None: the per-user default).
        account_wait_s: ``OKX_FLOWS_ACCOUNT_WAIT_SECONDS``: how long a run waits for a busy account.
        repossess_leases: ``OKX_FLOWS_REPOSSESS_LEASES``: a waiting run may revoke expired account
            leases itself (set by the CLI when it runs its own temporary Prefect server).
        prefect_api_url: ``PREFECT_API_URL``: a running Prefect server (None: a temporary one).
        websocket: ``OKX_FLOWS_WEBSOCKET`` (default on): runs settle their orders on the private
            ``orders`` pushes and price TWAP slices from the public ``books`` stream, with REST
            behind both; ``0`` settles by polling REST and reads every book over REST.
        has_env_credentials: all three of ``OKX_API_KEY``, ``OKX_SECRET_KEY``, ``OKX_PASSPHRASE`` set.
    """

    base_url: str | None = None
    demo: bool = False
    rate_limit_url: str | None = None
    rate_limit_name: str = DEFAULT_RATE_LIMIT_NAME
    journal_url: str | None = None
    sim_state: Path | None = None
    account_wait_s: float = DEFAULT_ACCOUNT_WAIT_S
    repossess_leases: bool = False
    prefect_api_url: str | None = None
    websocket: bool = True
    has_env_credentials: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings once, at an entry point.

        Raises:
            ConfigurationError: a value that cannot mean anything (one line naming the variable).
        """
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        sim_state = text(ENV_SIM_STATE)
        return cls(
            base_url=text(ENV_BASE_URL),
            demo=_flag(env, ENV_DEMO),
            rate_limit_url=text(ENV_RATE_LIMIT_URL),
            rate_limit_name=text(ENV_RATE_LIMIT_NAME) or DEFAULT_RATE_LIMIT_NAME,
            journal_url=text(ENV_JOURNAL_URL),
            sim_state=Path(sim_state).expanduser() if sim_state else None,
            account_wait_s=_seconds(env, ENV_ACCOUNT_WAIT, DEFAULT_ACCOUNT_WAIT_S),
            repossess_leases=_flag(env, ENV_REPOSSESS_LEASES),
            prefect_api_url=text(ENV_PREFECT_API_URL),
            websocket=_flag(env, ENV_WEBSOCKET, default=True),
            has_env_credentials=all(text(v) for v in (ENV_API_KEY, ENV_SECRET_KEY, ENV_PASSPHRASE)),
        )


def credential_values(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The raw values of ``OKX_API_KEY``, ``OKX_SECRET_KEY`` and ``OKX_PASSPHRASE`` (None when unset),
    for an entry point's defaults. Not part of ``Settings``: secrets are not settings."""
    env = os.environ if environ is None else environ
    return {name: env.get(name) for name in (ENV_API_KEY, ENV_SECRET_KEY, ENV_PASSPHRASE)}


def _flag(env: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={value!r} is not a yes/no value -- use 1 or 0")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not a number of seconds -- e.g. 600") from None
    if not 0 <= seconds <= 86_400:
        raise ConfigurationError(f"{name}={value!r} is outside 0..86400 seconds")
    return seconds
