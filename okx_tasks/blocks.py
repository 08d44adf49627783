"""The OKX credentials Prefect Block: the one seam between secrets and work.

Flows take a block *name*; tasks take the loaded block. Secrets live only in the block's
``SecretStr`` fields (encrypted at rest by the Prefect server) and in the client built from it,
so they never become a flow parameter, a log line, a cache key or a persisted result.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

from prefect.blocks.abstract import CredentialsBlock
from pydantic import ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from okx_wire.auth import ApiCredentials, check_credential
from okx_wire.client import OkxClient
from okx_wire.endpoints import DEFAULT_BASE_URL, REGIONS
from okx_wire.runtime import RUNTIME, Registry

#: The process's pooled clients, one per key and venue (emptied, and closed, by ``RUNTIME.reset``).
_CLIENTS: Registry[tuple[Any, ...], OkxClient] = RUNTIME.registry("clients", close=OkxClient.close)
_clients = _CLIENTS.entries


class OkxCredentials(CredentialsBlock):
    """An OKX API key (with its secret and passphrase) and the venue it belongs to.

    Example:
        Load a saved block and trade with its client:
        ```python
        from okx_tasks.blocks import OkxCredentials
        okx = OkxCredentials.load("BLOCK_NAME")
        client = okx.get_client()
        ```
    """

    _block_type_name: ClassVar[str] = "OKX Credentials"
    _block_type_slug: ClassVar[str] = "okx-credentials"
    _logo_url: ClassVar[str] = f"{DEFAULT_BASE_URL}/favicon.ico"  # type: ignore[assignment]
    _documentation_url: ClassVar[str] = f"{DEFAULT_BASE_URL}/docs-v5/en/"  # type: ignore[assignment]

    api_key: str = Field(title="API key", description="The OKX API key (not secret on its own).")
    secret_key: SecretStr = Field(title="Secret key", description="The secret shown once when the key was made.")
    passphrase: SecretStr = Field(title="Passphrase", description="The passphrase chosen when the key was made.")
    base_url: str | None = Field(
        default=None, title="Base URL",
        description=f"REST host, e.g. {DEFAULT_BASE_URL}, {REGIONS['eea']} or a local okx-flows sim.",
    )
    region: Literal["global", "us", "eea"] | None = Field(
        default=None, description="Regional host to use when no base URL is given."
    )
    demo: bool = Field(default=False, description="OKX demo trading (adds x-simulated-trading: 1).")

    # Merged into Block's config: a validation error never quotes a field's value.
    model_config = ConfigDict(hide_input_in_errors=True)

    @field_validator("api_key", "secret_key", "passphrase")
    @classmethod
    def _printable_ascii(cls, value: str | SecretStr, info: ValidationInfo) -> str | SecretStr:
        # Raised as ConfigurationError, which pydantic does not wrap, both when the block is
        # built and when it is loaded: the user sees one line naming the field, never its value.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        check_credential(text, f"OkxCredentials field {info.field_name}")
        return value

    @classmethod
    def from_env(cls, *, base_url: str | None = None, demo: bool | None = None) -> OkxCredentials:
        """Build from OKX_API_KEY / OKX_SECRET_KEY / OKX_PASSPHRASE, with the venue from the
        settings (``OKX_BASE_URL``, ``OKX_DEMO``) unless given here.

        Raises:
            ConfigurationError: a credential variable is missing or malformed (named, never quoted).
        """
        creds = ApiCredentials.from_env()
        settings = RUNTIME.settings
        return cls(
            api_key=creds.api_key,
            secret_key=creds.secret_key,
            passphrase=creds.passphrase,
            base_url=base_url or settings.base_url,
            demo=settings.demo if demo is None else demo,
        )

    @classmethod
    def from_api_credentials(cls, creds: ApiCredentials, *, base_url: str | None = None,
                             demo: bool = False) -> OkxCredentials:
        return cls(api_key=creds.api_key, secret_key=creds.secret_key, passphrase=creds.passphrase,
                   base_url=base_url, demo=demo)

    def api_credentials(self) -> ApiCredentials:
        return ApiCredentials(api_key=self.api_key, secret_key=self.secret_key, passphrase=self.passphrase)

    def _client_key(self) -> tuple[Any, ...]:
        # A digest, not the secrets: the key lives in a process-wide dict.
        digest = hashlib.sha256(
            f"{self.secret_key.get_secret_value()}\x1f{self.passphrase.get_secret_value()}".encode()
        ).hexdigest()
        return (self.api_key, digest, self.base_url, self.region, self.demo)

    def get_client(self) -> OkxClient:
        """The process's one pooled client for this key and venue (built on first use)."""
        return _CLIENTS.get(self._client_key(), lambda: OkxClient(
            self.api_credentials(), base_url=self.base_url, region=self.region, demo=self.demo))

    def __hash__(self) -> int:
        return hash(self._client_key())


def drop_cached_clients() -> None:
    """Close every cached client (long-lived processes after a key rotation; tests get this
    from ``RUNTIME.reset``)."""
    _CLIENTS.clear()
