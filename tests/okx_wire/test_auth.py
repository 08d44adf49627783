"""Signing under frozen clocks: format, known-answer vectors, offsets, the whitespace trap."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time
from pydantic import ValidationError

from okx_wire.auth import ApiCredentials, Signer, format_timestamp, mask_headers, sign, system_clock
from okx_wire.client import encode_body
from okx_wire.errors import ConfigurationError

SECRET = "22582BD0CFF14C41EDBF1AB98506286D"
TS = "2020-12-08T09:08:57.715Z"
V2_BODY = '{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"b15","side":"buy","ordType":"limit","px":"2.15","sz":"2"}'


def creds(secret: str = SECRET, passphrase: str = "pass-phrase-1") -> ApiCredentials:
    return ApiCredentials(api_key="key-1", secret_key=secret, passphrase=passphrase)


# Published known answers (shared/okx/SIGNING-VECTORS.md): not produced by our code.
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/api/v5/account/balance?ccy=BTC", "", "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="),
        ("POST", "/api/v5/trade/order", V2_BODY, "dI6rrL9rXW/HdaPKJ/6LC1OgvH4/PYju6R3CqixMTNQ="),
    ],
)
def test_published_vectors(method: str, path: str, body: str, expected: str) -> None:
    assert sign(SECRET, TS, method, path, body) == expected
    assert Signer(creds()).signature(TS, method, path, body) == expected


def test_method_is_upper_cased() -> None:
    assert sign(SECRET, TS, "get", "/api/v5/account/balance?ccy=BTC") == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="


def test_whitespace_trap() -> None:
    spaced = json.dumps(json.loads(V2_BODY))  # Python's default separators add spaces
    assert sign(SECRET, TS, "POST", "/api/v5/trade/order", spaced) == "bFEUGiGkCl0dGsPiDFbsfLwA93/UrLulontlA+Lb71o="
    # Our serializer produces the compact body, so the signature is the accepted one.
    compact = encode_body(json.loads(V2_BODY))
    assert compact == V2_BODY
    assert sign(SECRET, TS, "POST", "/api/v5/trade/order", compact) == "dI6rrL9rXW/HdaPKJ/6LC1OgvH4/PYju6R3CqixMTNQ="


def test_non_ascii_body_is_signed_as_utf8() -> None:
    body = encode_body({"instId": "BTC-USDT", "tag": "café"})
    assert "café" in body  # sent as UTF-8, not \u-escaped
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{TS}POST/api/v5/trade/order{body}".encode(), hashlib.sha256).digest()
    ).decode()
    assert sign(SECRET, TS, "POST", "/api/v5/trade/order", body) == expected


@freeze_time("2026-11-24T08:15:30.123456Z")
def test_timestamp_format_at_frozen_instant() -> None:
    signer = Signer(creds())
    assert signer.timestamp() == "2026-11-24T08:15:30.123Z"
    headers = signer.headers("GET", "/api/v5/account/balance")
    assert headers["OK-ACCESS-TIMESTAMP"] == "2026-11-24T08:15:30.123Z"
    assert headers["OK-ACCESS-SIGN"] == sign(SECRET, "2026-11-24T08:15:30.123Z", "GET", "/api/v5/account/balance")


@freeze_time("2026-11-24T08:15:30Z")
def test_timestamp_with_zero_milliseconds_keeps_three_digits() -> None:
    assert Signer(creds()).timestamp() == "2026-11-24T08:15:30.000Z"
    assert system_clock() == 1795508130000


def test_format_timestamp_edges() -> None:
    assert format_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert format_timestamp(1607418537715) == TS
    assert format_timestamp(1607418537009) == "2020-12-08T09:08:57.009Z"


def test_offset_is_applied_to_every_timestamp() -> None:
    signer = Signer(creds(), clock=lambda: 1607418537715)
    signer.offset_ms = -600_000  # server is ten minutes behind us
    assert signer.timestamp() == "2020-12-08T08:58:57.715Z"
    headers = signer.headers("GET", "/api/v5/account/balance?ccy=BTC")
    assert headers["OK-ACCESS-TIMESTAMP"] == "2020-12-08T08:58:57.715Z"


def test_headers_carry_everything_and_demo_flag() -> None:
    clock = lambda: 1607418537715  # noqa: E731
    headers = Signer(creds(), clock=clock).headers("GET", "/api/v5/account/balance?ccy=BTC")
    assert headers == {
        "OK-ACCESS-KEY": "key-1",
        "OK-ACCESS-SIGN": "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=",
        "OK-ACCESS-TIMESTAMP": TS,
        "OK-ACCESS-PASSPHRASE": "pass-phrase-1",
        "Content-Type": "application/json",
    }
    demo = Signer(creds(), clock=clock, demo=True).headers("GET", "/api/v5/account/balance?ccy=BTC")
    assert demo["x-simulated-trading"] == "1"


def test_credentials_never_show_secrets() -> None:
    c = creds(secret="TOPSECRETKEY123", passphrase="MyPassPhrase!")
    for text in (repr(c), str(c), repr(Signer(c)), str(mask_headers(Signer(c).headers("GET", "/x")))):
        assert "TOPSECRETKEY123" not in text
        assert "MyPassPhrase!" not in text


def test_from_env_names_every_missing_variable() -> None:
    with pytest.raises(ConfigurationError) as err:
        ApiCredentials.from_env({"OKX_API_KEY": "k"})
    assert "OKX_SECRET_KEY, OKX_PASSPHRASE" in str(err.value)
    with pytest.raises(ConfigurationError, match="OKX_PASSPHRASE"):
        ApiCredentials.from_env({"OKX_API_KEY": "k", "OKX_SECRET_KEY": "s", "OKX_PASSPHRASE": "  "})
    c = ApiCredentials.from_env({"OKX_API_KEY": "k", "OKX_SECRET_KEY": "s", "OKX_PASSPHRASE": "p"})
    assert c.secret_key.get_secret_value() == "s"


def test_empty_passphrase_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="OKX_PASSPHRASE"):
        ApiCredentials(api_key="k", secret_key="s", passphrase="")
