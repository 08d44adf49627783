"""The OKX credentials Prefect Block: the one seam between secrets and work.

Flows take a block *name*; tasks take the loaded block. Secrets live only in the block's
``SecretStr`` fields (encrypted at rest by the Prefect server) and in the client built from it,
so they never become a flow parameter, a log line, a cache key or a persisted result.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, ClassVar, Final, Literal

from prefect.blocks.abstract import CredentialsBlock
from pydantic import ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from okx_strategies.pushes import open_order_stream, why_not
from okx_wire.auth import ApiCredentials, check_credential
from okx_wire.client import OkxClient
from okx_wire.endpoints import DEFAULT_BASE_URL, REGIONS
from okx_wire.errors import NetworkError, OkxError
from okx_wire.runtime import RUNTIME, Registry
from okx_wire.ws.streams import MarketStream, OrderStream

#: The process's pooled clients, one per key and venue (emptied, and closed, by ``RUNTIME.reset``).
_CLIENTS: Registry[tuple[Any, ...], OkxClient] = RUNTIME.registry("clients", close=OkxClient.close)
_clients = _CLIENTS.entries
#: The process's warm WebSocket streams, one per key and venue like the clients: the account's
#: order stream (open, subscribed) and the venue's market stream (connects on its first watch).
_ORDER_STREAMS: Registry[tuple[Any, ...], OrderStream] = RUNTIME.registry("order streams", close=OrderStream.close)
_MARKET_STREAMS: Registry[tuple[Any, ...], MarketStream] = RUNTIME.registry("market streams",
                                                                           close=MarketStream.close)
#: Keys whose stream could not be had: (when, why). Not tried again for ``STREAM_RETRY_S``, so a
#: venue without WebSocket costs one attempt per process and period, not one per run.
_NO_STREAM: Registry[tuple[Any, ...], tuple[float, str]] = RUNTIME.registry("refused streams")
STREAM_RETRY_S: Final = 300.0


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

    def get_order_stream(self) -> OrderStream:
        """The process's one open order stream for this key and venue (opened on first use:
        logged in, the account's ``orders`` subscription acknowledged), used for every run.

        Raises:
            OkxError: it cannot be opened (no WebSocket at the venue, a refused login, no answer
                in time; remembered for ``STREAM_RETRY_S``): settle by polling.
        """
        key = self._client_key()
        held = _ORDER_STREAMS.entries.get(key)
        if held is not None and not held.usable:
            _ORDER_STREAMS.pop(key)
            held.close()
        refused = _NO_STREAM.entries.get(key)
        if refused is not None and time.monotonic() - refused[0] < STREAM_RETRY_S:
            raise NetworkError(refused[1])
        try:
            return _ORDER_STREAMS.get(key, lambda: open_order_stream(self.get_client()))
        except (OkxError, TimeoutError, OSError) as exc:
            _NO_STREAM.put(key, (time.monotonic(), why_not(exc)))
            if isinstance(exc, OkxError):
                raise
            raise NetworkError(why_not(exc)) from exc

    def get_market_stream(self) -> MarketStream | None:
        """The process's one market stream for this venue (it connects on its first watch), or
        None while this venue's WebSocket is known to be out of reach (``drop_market_stream``)."""
        key = self._client_key()
        refused = _NO_STREAM.entries.get(("market", *key))
        if refused is not None and time.monotonic() - refused[0] < STREAM_RETRY_S:
            return None
        return _MARKET_STREAMS.get(key, lambda: MarketStream(self.get_client()))

    def drop_market_stream(self, why: str) -> None:
        """Close the market stream of this venue and read books over REST for ``STREAM_RETRY_S``."""
        key = self._client_key()
        _NO_STREAM.put(("market", *key), (time.monotonic(), why))
        held = _MARKET_STREAMS.pop(key)
        if held is not None:
            held.close()

    def __hash__(self) -> int:
        return hash(self._client_key())


def drop_cached_clients() -> None:
    """Close every cached client and stream (long-lived processes after a key rotation; tests
    get this from ``RUNTIME.reset``)."""
    _ORDER_STREAMS.clear()
    _MARKET_STREAMS.clear()
    _NO_STREAM.clear()
    _CLIENTS.clear()
