"""Everything that shapes one simulator instance, in one validated object.

One account (one uid) may carry several API keys, as on OKX, so tests can hold a read-only key
and a trade key on the same balances. Secrets default to fresh random values per config, which
keeps two simulators in one process from accepting each other's keys.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from okx_wire.auth import ApiCredentials
from okx_wire.orders import SPOT_MAKER_RATE, SPOT_TAKER_RATE

Permission = Literal["read_only", "trade", "withdraw"]
EnvironmentMode = Literal["any", "live", "demo"]


def _token(n: int = 16) -> str:
    return secrets.token_hex(n)


class ApiKeySpec(BaseModel):
    """One API key of the account with OKX's key attributes (permissions, IP binding, environment)."""

    model_config = ConfigDict(frozen=True)

    api_key: str = Field(default_factory=lambda: f"sim-{_token(8)}")
    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(_token(16).upper()))
    passphrase: SecretStr = Field(default_factory=lambda: SecretStr(f"Sim{_token(6)}"))
    permissions: frozenset[Permission] = frozenset({"read_only", "trade"})
    #: Comma-separated whitelist as OKX shows it in account/config; "" means not bound.
    ip: str = ""
    #: The environment the key was created in; None accepts both (the default "any" behaviour).
    environment: Literal["live", "demo"] | None = None
    label: str = "okx-sim"

    @field_validator("permissions")
    @classmethod
    def _read_only_always(cls, value: frozenset[str]) -> frozenset[str]:
        # Every OKX key can read; "trade"/"withdraw" are additions.
        return frozenset(value) | {"read_only"}

    def credentials(self) -> ApiCredentials:
        return ApiCredentials(api_key=self.api_key, secret_key=self.secret_key, passphrase=self.passphrase)

    def ip_list(self) -> list[str]:
        return [part.strip() for part in self.ip.split(",") if part.strip()]


#: The largest fee the simulator takes, as a fraction: ten times OKX's highest spot rate, so a
#: rate given in percent ("-0.1" meant as 0.1 %) is refused instead of charging 10 %.
MAX_FEE_RATE = Decimal("0.01")


class FeeTier(BaseModel):
    """The account's spot fee tier: what ``account/trade-fee`` reports and what every fill pays.

    Rates are OKX's own numbers with OKX's sign (negative = a fee the account pays), so the
    default is OKX's Lv1 spot tier exactly as trade-fee shows it: maker -0.0008, taker -0.001.
    The matching engine charges ``-maker`` / ``-taker`` of what each fill receives, and fills
    report the rate as ``feeRate``. Rebates (positive rates) are not simulated: OKX books them
    in an order's separate ``rebate`` field, which the simulator does not model.
    """

    model_config = ConfigDict(frozen=True)

    #: OKX's fee level label (``level`` in trade-fee and account/config), e.g. "Lv1".
    level: str = Field(default="Lv1", pattern=r"^[A-Za-z0-9]{1,16}$")
    maker: Decimal = -SPOT_MAKER_RATE
    taker: Decimal = -SPOT_TAKER_RATE

    @field_validator("maker", "taker")
    @classmethod
    def _a_fee_in_okx_sign(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value > 0:
            raise ValueError(f"expected OKX's sign, negative for a fee paid (-0.001 is 0.1%), got {value}; "
                             "rebates (positive rates) are not simulated")
        if -value > MAX_FEE_RATE:
            raise ValueError(f"a fee of {-value:%} is over {MAX_FEE_RATE:%}: give the rate as a fraction "
                             "(-0.001 is 0.1%)")
        return value if value else Decimal(0)  # "-0" is 0


def _default_keys() -> list[ApiKeySpec]:
    return [ApiKeySpec(label="trade"), ApiKeySpec(label="read-only", permissions=frozenset({"read_only"}))]


def _default_balances() -> dict[str, Decimal]:
    return {"USDT": Decimal("100000"), "BTC": Decimal("1"), "ETH": Decimal("10")}


class SimConfig(BaseModel):
    """Options of one simulator; the first key with "trade" permission is the handle's credentials."""

    model_config = ConfigDict(validate_assignment=True)

    host: str = "127.0.0.1"
    port: int = 0
    keys: list[ApiKeySpec] = Field(default_factory=_default_keys)
    balances: dict[str, Decimal] = Field(default_factory=_default_balances)
    seed: int = 0
    #: SQLite file; None keeps state in memory for the life of the simulator.
    state_path: Path | None = None
    reset: bool = False
    environment: EnvironmentMode = "any"
    rate_limits: bool = True
    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    clock_skew: float = 0.0
    #: How many spot instruments to list; None = the real pairs only.
    instruments: int | None = Field(default=None, ge=1, le=400)
    #: Simulated time per random-walk step.
    step_ms: int = Field(default=1000, ge=1)
    #: Per-step volatility of the log mid price.
    volatility: float = Field(default=0.0005, ge=0)
    uid: str = ""
    #: The spot fee tier trade-fee reports and fills are charged at.
    fee_tier: FeeTier = Field(default_factory=FeeTier)
    #: The account mode (``acctLv``): 1 Spot, 2 Futures, 3 Multi-currency margin, 4 Portfolio
    #: margin. It decides which ``tdMode`` a spot order must carry, as on OKX.
    acct_lv: Literal["1", "2", "3", "4"] = "1"
    #: Largest request body read, in bytes; beyond it the request is refused unread (the biggest
    #: real body, a 20-order batch, is a few KiB).
    max_body_bytes: int = Field(default=1 << 20, ge=1)
    #: Open connections beyond which a request is answered at once with an OKX-style 503 (50001)
    #: instead of being served. Lowered at start-up to what the descriptor limit allows.
    max_connections: int = Field(default=4096, ge=1)
    #: Listen queue for connections not yet accepted.
    backlog: int = Field(default=2048, ge=1)
    #: Seconds an open connection may stay silent (before its first request or between
    #: requests) before the simulator closes it, so idle sockets cannot hold every slot.
    idle_timeout_s: float = Field(default=30.0, gt=0)
    #: Serve over TLS (``https://`` and ``wss://``) with this certificate chain and key (PEM):
    #: clients that insist on TLS (python-okx's WebSocket classes pass an SSL context, which a
    #: ``ws://`` URL refuses) can then be pointed at the simulator. None serves plain HTTP.
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None

    def trade_key(self) -> ApiKeySpec:
        for key in self.keys:
            if "trade" in key.permissions:
                return key
        return self.keys[0]

    def read_only_key(self) -> ApiKeySpec | None:
        for key in self.keys:
            if "trade" not in key.permissions:
                return key
        return None

    def account_uid(self) -> str:
        """OKX uids are 18-digit numbers; derive one from the seed unless given."""
        return self.uid or str(374579799097793561 + self.seed * 7919)
