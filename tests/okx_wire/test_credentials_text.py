"""Credentials with control or non-ASCII characters are refused by name, never by value: the
value shows in no exception text, repr, traceback or log record."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from okx_tasks.blocks import OkxCredentials
from okx_wire.auth import ApiCredentials, Signer
from okx_wire.client import OkxClient
from okx_wire.endpoints import E
from okx_wire.errors import ConfigurationError

BAD = ["ab\ncd", "ab\rcd", "ab\tcd", "ab\x00cd", "ab\x7fcd", "pa€ss", "пароль", "it’s", "“k3y9”"]
GOOD = {"OKX_API_KEY": "key-1", "OKX_SECRET_KEY": "SECRET1", "OKX_PASSPHRASE": "Pass-1"}


def leaks(value: str, exc: BaseException, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every place the value (or a distinctive part of it) shows up."""
    parts = {value, *(value[i:i + 3] for i in range(len(value) - 2))} - {"ab", "cd"}
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)),
             *(record.getMessage() for record in caplog.records),
             *(str(record.exc_info) for record in caplog.records)]
    return [text for text in texts for part in parts if part in text]


def check(make: Callable[[], object], value: str, name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError) as info:
        make()
    text = str(info.value)
    assert "\n" not in text and name in text and "--" in text
    assert not leaks(value, info.value, caplog)


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("variable", ["OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"])
def test_from_env(value: str, variable: str, caplog: pytest.LogCaptureFixture) -> None:
    env = {**GOOD, variable: value}
    check(lambda: ApiCredentials.from_env(env), value, variable, caplog)


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("field", ["api_key", "secret_key", "passphrase"])
def test_block_built_directly(value: str, field: str, caplog: pytest.LogCaptureFixture) -> None:
    fields = {"api_key": "key-1", "secret_key": "SECRET1", "passphrase": "Pass-1", field: value}
    check(lambda: OkxCredentials(**fields), value, f"field {field}", caplog)
    check(lambda: OkxCredentials.model_validate(fields), value, f"field {field}", caplog)
    check(lambda: ApiCredentials(**fields), value, field, caplog)


@pytest.mark.parametrize("value", ["ab\ncd", "pa€ss"])
def test_block_loaded_from_the_server(value: str, prefect_db: object, caplog: pytest.LogCaptureFixture) -> None:
    # A block document saved before this check existed (or edited in the UI) is refused on load.
    bad = OkxCredentials.model_construct(api_key="key-1", secret_key=SecretStr("SECRET1"),
                                         passphrase=SecretStr(value), base_url=None, region=None, demo=False)
    bad.save("okx-bad-passphrase", overwrite=True)
    check(lambda: OkxCredentials.load("okx-bad-passphrase"), value, "field passphrase", caplog)


@pytest.mark.parametrize("value", BAD)
def test_signer_refuses_unvalidated_credentials(value: str, caplog: pytest.LogCaptureFixture) -> None:
    creds = ApiCredentials.model_construct(api_key="key-1", secret_key=SecretStr("SECRET1"),
                                           passphrase=SecretStr(value))
    check(lambda: Signer(creds), value, "passphrase", caplog)
    check(lambda: OkxClient(creds, base_url="http://127.0.0.1:9"), value, "passphrase", caplog)


def test_a_header_http_refuses_is_not_quoted(capture, creds, caplog: pytest.LogCaptureFixture) -> None:
    """Whatever slips past, http.client's 'Invalid header value ...' never reaches the user."""
    client = OkxClient(creds, base_url=capture.base_url, rate_limit=False, time_sync=False)
    with pytest.raises(ConfigurationError) as info:
        client._call(E.balance, headers={"X-Extra": "sec\nret-value"})
    # (the traceback quotes this test's own source line, so look for http.client's text instead)
    for text in (str(info.value), repr(info.value)):
        assert "ret-value" not in text
    assert "Invalid header" not in "".join(traceback.format_exception(info.value))
    assert capture.requests == []


def test_printable_ascii_with_spaces_and_symbols_is_accepted() -> None:
    creds = ApiCredentials.from_env({**GOOD, "OKX_PASSPHRASE": "  A b!~#$%^&*()_+{}|:\"<>?`-=[]\\;',./  "})
    assert creds.passphrase.get_secret_value().startswith("A b!")
    assert OkxCredentials(api_key="k", secret_key="s", passphrase="p~q r").passphrase.get_secret_value() == "p~q r"
