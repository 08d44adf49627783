"""Is a request really from the signal's sender, and fresh? Secrets are resolved here, once.

Two ways to prove it, per spec (``strategy.auth``):

* ``hmac_secret``: the ``X-Signature`` header holds ``sha256=<hex>`` (or the bare hex), the
  HMAC-SHA256 of the raw body under the secret. Strong: the body cannot be altered or forged.
* ``token``: the body's ``token`` field equals the shared token. Weaker (whoever sees one
  request can send others until the token is changed), but TradingView cannot sign.

A request with a signature header is judged by it alone (a wrong signature is never rescued by a
token). Then replay protection: the signal's ``time`` must be within ``max_age_seconds`` of now
(either way), and its id must be new (the signals table, ``okx_wire.signals``).

The secret values live only in ``Secrets`` (its repr masks them), read from the environment
variable or Prefect Secret block the spec names; they are never logged, stored, put in a
parameter or quoted in a refusal.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from okx_strategies.signal import SecretRef, SignalSpec
from okx_wire.errors import ConfigurationError

SIGNATURE_HEADER = "x-signature"


@dataclass(frozen=True)
class Secrets:
    """A spec's resolved signal secrets (bytes), masked in every repr."""

    hmac_key: bytes | None = field(default=None, repr=False)
    token: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"Secrets(hmac_key={'***' if self.hmac_key else None}, "
                f"token={'***' if self.token else None})")


def _resolve(ref: SecretRef, what: str, env: Mapping[str, str]) -> bytes:
    if ref.env is not None:
        value = env.get(ref.env, "")
        if not value:
            raise ConfigurationError(f"{what}: the environment variable {ref.env} is not set -- export it in the "
                                     "receiver's environment (never write the secret in the spec)")
        return value.encode()
    from prefect.blocks.system import Secret

    assert ref.block is not None
    try:
        block: Any = Secret.load(ref.block)
    except ValueError as exc:
        raise ConfigurationError(f"{what}: cannot load the Secret block {ref.block!r} "
                                 f"({' '.join(str(exc).split())[:200]}) -- create it: "
                                 f"Secret(value=...).save({ref.block!r})") from None
    value = block.get()
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what}: the Secret block {ref.block!r} holds no text -- save the secret as text")
    return value.encode()


def resolve_secrets(strategy: SignalSpec, spec_name: str, env: Mapping[str, str] | None = None) -> Secrets:
    """Read the spec's secrets now (at serve start: a missing one fails before any request)."""
    env = os.environ if env is None else env
    auth = strategy.auth
    return Secrets(
        hmac_key=_resolve(auth.hmac_secret, f"spec {spec_name!r} strategy.auth.hmac_secret", env)
        if auth.hmac_secret else None,
        token=_resolve(auth.token, f"spec {spec_name!r} strategy.auth.token", env) if auth.token else None)


def sign(key: bytes, body: bytes) -> str:
    """The ``X-Signature`` value for ``body`` (what a sender computes)."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class Unauthenticated(Exception):
    """The request is not from the sender, or not fresh: the 401 answer (one line, no secret)."""


def check_signature(secrets: Secrets, body: bytes, signature: str | None) -> bool:
    """True when the body is proven by its signature; False when it carries none (the token
    decides then). Raises ``Unauthenticated`` for a wrong one, or a missing one where only
    signatures are accepted."""
    if signature is None:
        if secrets.token is None:
            raise Unauthenticated(f"no {SIGNATURE_HEADER} header -- sign the body with HMAC-SHA256")
        return False
    if secrets.hmac_key is None:
        raise Unauthenticated("this spec takes no signature, only a token in the body")
    given = signature.strip()
    given = given[len("sha256="):] if given.lower().startswith("sha256=") else given
    wanted = hmac.new(secrets.hmac_key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.lower().encode(), wanted.encode()):
        raise Unauthenticated("bad signature")
    return True


def check_token(secrets: Secrets, token: str | None) -> None:
    """The body's token against the spec's (constant time)."""
    if secrets.token is None:
        raise Unauthenticated(f"this spec takes signed requests only ({SIGNATURE_HEADER} header)")
    if token is None or not hmac.compare_digest(token.encode(), secrets.token):
        raise Unauthenticated("bad or missing token")


def check_fresh(signal_ms: int, now_ms: int, max_age_s: int) -> None:
    """Refuse a signal older (or further ahead) than ``max_age_s``: a replay, or a bad clock."""
    age = (now_ms - signal_ms) / 1000
    if abs(age) > max_age_s:
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        raise Unauthenticated(f"stale signal: its time is {when}, outside the {max_age_s} s window")
