"""Hosts: which one a client talks to, and one normalisation, so no spelling of a real OKX host
passes as "not OKX"."""

from __future__ import annotations

import re

import pytest

from flows.spec import load_spec
from flows.venue import _check_url, resolve_venue
from okx_wire.errors import ConfigurationError
from okx_wire.hosts import (
    DEFAULT_BASE_URL,
    REGIONS,
    is_global_host,
    is_loopback,
    is_okx_host,
    normalized_host,
    resolve_base_url,
)
from okx_wire.runtime import RUNTIME
from okx_wire.settings import Settings

OKX_SPELLINGS = [
    "https://www.okx.com",
    "https://WWW.OKX.COM",
    "https://www.okx.com.",
    "https://www.okx.com..",
    "https://www.okx.com:443",
    "https://x@www.okx.com",
    "https://user:pw@www.okx.com:8443/",
    "https://ｗｗｗ．ｏｋｘ．ｃｏｍ",  # full-width: requests maps it to www.okx.com (UTS 46)
    "https://okx.com",
    "https://us.okx.com",
    "https://eea.okx.com",
    "https://openapi.okx.com",
    "https://aws.okx.com",
    "https://wspap.okx.com",
    "https://okex.com",
    "https://www.okex.com",
    "http://www.okx.com",
]


@pytest.mark.parametrize("url", OKX_SPELLINGS)
def test_every_spelling_of_an_okx_host_is_okx(url):
    assert is_okx_host(url)
    assert not is_loopback(url)


@pytest.mark.parametrize("url", [
    "https://notokx.com", "https://okx.com.evil.example", "https://okxcom.io", "https://www-okx.com",
    "http://127.0.0.1:8123", "https://okx.co",
])
def test_lookalikes_are_not_okx(url):
    assert not is_okx_host(url)


@pytest.mark.parametrize(("url", "host"), [
    ("https://WWW.OKX.COM.", "www.okx.com"),
    ("https://a:b@Host.Example:99/x", "host.example"),
    ("https://bücher.de", "xn--bcher-kva.de"),
    ("http://[::1]:8080", "::1"),
    ("http://LOCALHOST.", "localhost"),
])
def test_normalized_host(url, host):
    assert normalized_host(url) == host


@pytest.mark.parametrize("url", ["ftp://www.okx.com", "www.okx.com", "https://", "https://.", "http://[::1", ""])
def test_not_an_http_url_is_one_configuration_line(url):
    with pytest.raises(ConfigurationError) as info:
        normalized_host(url)
    assert "\n" not in str(info.value) and "--" in str(info.value)


def test_error_does_not_echo_a_password_in_the_url():
    with pytest.raises(ConfigurationError) as info:
        normalized_host("https://me:hunter2@[::1")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1", "http://127.8.9.10:1", "http://[::1]:9", "http://localhost:80",
                                 "http://LocalHost.", "http://[::ffff:127.0.0.1]:5"])
def test_loopback(url):
    assert is_loopback(url)


@pytest.mark.parametrize("url", ["http://128.0.0.1", "http://10.0.0.1", "http://localhost.example",
                                 "http://evil-localhost", "http://[::2]"])
def test_not_loopback(url):
    assert not is_loopback(url)


@pytest.mark.parametrize("url", ["https://WWW.OKX.COM", "https://www.okx.com.", "https://x@okx.com:443"])
def test_global_host_uses_the_same_normalisation(url):
    assert is_global_host(url)
    assert not is_global_host("https://eea.okx.com")
    assert not is_global_host("not a url")


@pytest.mark.parametrize("url", ["https://www.okx.com.", "https://WWW.OKX.COM", "https://wspap.okx.com",
                                 "https://x@www.okx.com:443"])
def test_sim_spec_refuses_every_spelling_of_okx(url):
    spec = load_spec("specs/dca.yaml")
    assert spec.venue == "sim"
    with pytest.raises(ConfigurationError, match="venue: sim"):
        _check_url(spec, url)


def test_sim_spec_refuses_okx_from_the_environment(monkeypatch):
    monkeypatch.setenv("OKX_API_KEY", "k")
    monkeypatch.setenv("OKX_SECRET_KEY", "s")
    monkeypatch.setenv("OKX_PASSPHRASE", "p")
    monkeypatch.setenv("OKX_BASE_URL", "https://WWW.OKX.COM.")
    with pytest.raises(ConfigurationError, match="venue: sim"), resolve_venue(load_spec("specs/dca.yaml")):
        pass


def test_sim_spec_accepts_the_simulator():
    _check_url(load_spec("specs/dca.yaml"), "http://127.0.0.1:8123")


def test_base_url_explicit_then_settings_then_region_then_global(monkeypatch):
    monkeypatch.delenv("OKX_BASE_URL", raising=False)
    assert resolve_base_url() == DEFAULT_BASE_URL == "https://www.okx.com"
    assert resolve_base_url(region="eea") == REGIONS["eea"] == "https://eea.okx.com"
    assert resolve_base_url(region="us") == "https://us.okx.com"
    RUNTIME.configure(Settings(base_url="http://127.0.0.1:8765"))
    assert resolve_base_url(region="eea") == "http://127.0.0.1:8765"  # the settings beat the region
    assert resolve_base_url("https://eea.okx.com/", region="us") == "https://eea.okx.com"  # explicit beats all


def test_an_unconfigured_process_follows_the_environment(monkeypatch):
    monkeypatch.setenv("OKX_BASE_URL", "http://localhost:9000")
    assert resolve_base_url() == "http://localhost:9000"
    RUNTIME.configure(Settings())  # an entry point fixed the settings: the shell no longer matters
    assert resolve_base_url() == DEFAULT_BASE_URL


@pytest.mark.parametrize(("base_url", "region", "problem"), [
    (None, "asia", "unknown OKX region 'asia': use one of global, us, eea"),
    ("www.okx.com", None, "is not an http(s) URL"),
    ("https://www.okx.com/api/v5", None, "has a path"),
])
def test_a_bad_base_url_or_region_is_one_line(base_url, region, problem):
    with pytest.raises(ConfigurationError, match=re.escape(problem)) as info:
        resolve_base_url(base_url, region)
    assert "\n" not in str(info.value)
