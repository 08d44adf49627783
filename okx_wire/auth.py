"""Credentials, clock and request signing for OKX V5.

The signature is base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)), where
requestPath carries the query string exactly as it goes on the wire and body is the exact body
string sent. Everything here is pure or takes its clock as an argument, so signing can be tested
under frozen clocks without touching Prefect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationInfo, field_validator

from okx_wire.errors import ConfigurationError
from okx_wire.runtime import RUNTIME
from okx_wire.settings import ENV_API_KEY, ENV_PASSPHRASE, ENV_SECRET_KEY

#: What OKX keys, secrets and passphrases are made of: printable ASCII (space to tilde).
_PRINTABLE_ASCII: Final = frozenset(chr(c) for c in range(0x20, 0x7F))


def credential_problem(value: str) -> str | None:
    """Why ``value`` cannot be an OKX credential, or None; never quotes the value.

    The key and passphrase travel as HTTP headers: a newline or CR would split the header (and
    http.client's refusal quotes the whole value), a non-Latin-1 character fails to encode with
    an error that quotes it. A typographic quote or a stray tab is a copy-paste accident, never
    part of a real OKX credential, so all of these are refused up front, by name only.
    """
    if all(ch in _PRINTABLE_ASCII for ch in value):
        return None
    if any(ch < " " or ch == "\x7f" for ch in value):
        return "contains a control character (newline, carriage return, tab, NUL...)"
    return "contains non-ASCII characters"


def check_credential(value: str, name: str) -> None:
    """Raise a one-line ConfigurationError naming ``name`` (never the value) if ``value`` is unusable."""
    problem = credential_problem(value)
    if problem is not None:
        raise ConfigurationError(
            f"{name} {problem} -- copy it exactly as OKX showed it (OKX keys, secrets and passphrases "
            "are plain ASCII)")


#: What a WebSocket login signs after its timestamp and ``GET`` (``okx_wire.ws.protocol.LOGIN_PATH``).
WS_LOGIN_PATH: Final = "/users/self/verify"

#: A clock returns Unix time in milliseconds. Injected wherever time matters, so tests can freeze it.
Clock = Callable[[], int]


def system_clock() -> int:
    """Milliseconds since the epoch from the wall clock (freezegun patches ``time.time``)."""
    return int(time.time() * 1000)


class ApiCredentials(BaseModel):
    """An OKX API key with its secret and passphrase; the secrets never show in repr or str."""

    # Validation errors must never quote a credential back.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    api_key: str
    secret_key: SecretStr
    passphrase: SecretStr

    @field_validator("api_key", "secret_key", "passphrase")
    @classmethod
    def _printable_ascii(cls, value: str | SecretStr, info: ValidationInfo) -> str | SecretStr:
        # A ConfigurationError (not a ValueError) passes through pydantic unwrapped: the user
        # gets the one-line message, and no ValidationError quoting the input is ever built.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        check_credential(text, str(info.field_name))
        return value

    @field_validator("api_key")
    @classmethod
    def _api_key_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(f"the API key is empty: set {ENV_API_KEY} or pass api_key")
        return value

    @field_validator("secret_key", "passphrase")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if not value.get_secret_value().strip():
            name = info.field_name or "secret"
            env = ENV_SECRET_KEY if name == "secret_key" else ENV_PASSPHRASE
            raise ValueError(f"the {name.replace('_', ' ')} is empty: set {env} or pass {name}")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiCredentials:
        """Build from OKX_API_KEY / OKX_SECRET_KEY / OKX_PASSPHRASE, naming every missing one."""
        env = os.environ if environ is None else environ
        names = (ENV_API_KEY, ENV_SECRET_KEY, ENV_PASSPHRASE)
        missing = [name for name in names if not env.get(name, "").strip()]
        if missing:
            raise ConfigurationError(
                "missing OKX credentials: set the environment variable"
                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                "(or pass the credentials explicitly, or use an OkxCredentials block)"
            )
        for name in names:
            # Checked here too, so the message names the variable rather than the field.
            check_credential(env[name].strip(), name)
        return cls(
            api_key=env[ENV_API_KEY].strip(),
            secret_key=SecretStr(env[ENV_SECRET_KEY].strip()),
            passphrase=SecretStr(env[ENV_PASSPHRASE].strip()),
        )


def sign(secret_key: str, timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """base64(HMAC-SHA256(secret_key, timestamp + METHOD + request_path + body))."""
    message = f"{timestamp}{method.upper()}{request_path}{body}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


#: ".000Z" ... ".999Z": the millisecond tails, built once.
_MILLIS: Final = tuple(f".{m:03d}Z" for m in range(1000))
#: (second, "YYYY-MM-DDTHH:MM:SS") of the last second formatted; one tuple, so threads never see
#: a second paired with another second's text.
_second_cache: tuple[int, str] = (-1, "")


def _forget_second() -> None:
    global _second_cache
    _second_cache = (-1, "")


RUNTIME.on_reset(_forget_second)


def format_timestamp(epoch_ms: int) -> str:
    """ISO 8601 UTC with exactly three millisecond digits and a Z, as OKX requires.

    The seconds prefix is cached because formatting dates is the slowest part of signing; the
    cache holds one entry, the current second.
    """
    global _second_cache
    seconds, millis = divmod(epoch_ms, 1000)
    cached_second, prefix = _second_cache
    if cached_second != seconds:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second_cache = (seconds, prefix)
    return prefix + _MILLIS[millis]


def _keyed_mac(secret: bytes) -> Any:
    """The keyed HMAC-SHA256 that every request copies.

    ``hmac.HMAC`` wraps OpenSSL's HMAC object in Python-level copy/update/digest methods that cost
    a third of a signed header set; the wrapped object (``_hmac``, present whenever OpenSSL backs
    hmac) has the same three methods, so it is used directly, and the wrapper where it is absent.
    """
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    return getattr(mac, "_hmac", None) or mac


class Signer:
    """Signs requests for one key: holds the keyed HMAC so each request only copies it.

    The secret stays inside the HMAC object; this class has no attribute that holds it as text,
    and its repr names only the API key.
    """

    __slots__ = ("_api_key", "_passphrase", "_mac", "_clock", "offset_ms", "_demo")

    def __init__(
        self,
        credentials: ApiCredentials,
        *,
        clock: Clock = system_clock,
        demo: bool = False,
    ) -> None:
        # Checked again: credentials built with model_construct skip validation, and a header
        # value http.client refuses comes back quoted in its error.
        check_credential(credentials.api_key, "api_key")
        check_credential(credentials.passphrase.get_secret_value(), "passphrase")
        self._api_key = credentials.api_key
        self._passphrase = credentials.passphrase
        self._mac = _keyed_mac(credentials.secret_key.get_secret_value().encode())
        self._clock = clock
        self._demo = demo
        #: Milliseconds to add to the local clock to get the server's clock (learned by a sync).
        self.offset_ms = 0

    def __repr__(self) -> str:
        return f"Signer(api_key={self._api_key!r}, offset_ms={self.offset_ms})"

    def redact(self, text: str) -> str:
        """``text`` with the passphrase masked: for quoting what a venue sent back."""
        return text.replace(self._passphrase.get_secret_value(), "***")

    def timestamp(self) -> str:
        return format_timestamp(self._clock() + self.offset_ms)

    def signature(self, timestamp: str, method: str, request_path: str, body: str = "") -> str:
        mac = self._mac.copy()
        mac.update(f"{timestamp}{method}{request_path}{body}".encode())
        return base64.b64encode(mac.digest()).decode()

    def ws_login(self) -> dict[str, str]:
        """The argument of a WebSocket ``login`` op, signed now (in exchange time).

        OKX's WebSocket login signs ``timestamp + "GET" + "/users/self/verify"`` with the
        timestamp in Unix **seconds** (not the REST ISO form), and refuses one more than 30 s
        away from its clock (60006); the offset learned over REST applies here too. The
        passphrase is part of the argument: the dict goes on the wire only, never into a log.
        """
        ts = str((self._clock() + self.offset_ms) // 1000)
        return {"apiKey": self._api_key, "passphrase": self._passphrase.get_secret_value(), "timestamp": ts,
                "sign": self.signature(ts, "GET", WS_LOGIN_PATH)}

    def headers(self, method: str, request_path: str, body: str = "") -> dict[str, str]:
        """The four OK-ACCESS-* headers (plus the demo flag) for one request, signed now."""
        # timestamp() and signature() inlined: this runs once per private request.
        ts = format_timestamp(self._clock() + self.offset_ms)
        mac = self._mac.copy()
        mac.update(f"{ts}{method}{request_path}{body}".encode())
        headers = {
            "OK-ACCESS-KEY": self._api_key,
            "OK-ACCESS-SIGN": base64.b64encode(mac.digest()).decode(),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": self._passphrase.get_secret_value(),
            "Content-Type": "application/json",
        }
        if self._demo:
            headers["x-simulated-trading"] = "1"
        return headers


SECRET_HEADERS: Final = frozenset({"OK-ACCESS-SIGN", "OK-ACCESS-PASSPHRASE"})


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy safe to log: signature and passphrase replaced by a fixed mask."""
    return {k: ("***" if k.upper() in SECRET_HEADERS else v) for k, v in headers.items()}
