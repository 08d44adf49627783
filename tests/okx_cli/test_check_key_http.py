"""``okx-flows check-key`` refuses plain http to anything but this machine, before sending."""

from __future__ import annotations

import pytest
import requests

from okx_cli.main import main
from tests.okx_cli.test_cli import one_line_error


@pytest.fixture
def nothing_sent(monkeypatch):
    """Fail the test if any HTTP request leaves the process."""
    sent: list[str] = []

    def send(self, request, **kwargs):
        sent.append(request.url)
        raise AssertionError(f"a request was sent to {request.url}")

    # Every request, through a Session or straight to the adapter as OkxClient does, ends here.
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return sent


@pytest.mark.parametrize("url", ["http://www.okx.com", "http://WWW.OKX.COM.", "http://10.1.2.3:8123",
                                 "http://127.0.0.1.nip.io:8123", "http://localhost.example"])
def test_plain_http_to_a_remote_host_is_refused(url, sim, monkeypatch, capsys, nothing_sent):
    assert main(["check-key", "--base-url", url]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "plain http" in line and "https://" in line
    assert sim.credentials.passphrase.get_secret_value() not in line
    assert nothing_sent == []


def test_plain_http_from_okx_base_url_is_refused(sim, monkeypatch, capsys, nothing_sent):
    monkeypatch.setenv("OKX_BASE_URL", "http://eea.okx.com")
    assert main(["check-key"]) == 1
    assert "plain http" in one_line_error(capsys.readouterr().err)
    assert nothing_sent == []


def test_plain_http_to_loopback_is_allowed(sim, capsys):
    port = sim.base_url.rsplit(":", 1)[1]
    assert main(["check-key", "--base-url", f"http://localhost:{port}"]) == 0
    assert "server clock" in capsys.readouterr().out
