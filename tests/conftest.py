from __future__ import annotations

from collections.abc import Iterator

import pytest

from okx_tasks.auth import ApiCredentials
from tests.support.capture import CaptureServer, capture_server

SECRET = "cafe0000SECRETKEYdo-not-leak-7731"
PASSPHRASE = "Pass-phrase-do-not-leak-4412"


@pytest.fixture
def creds() -> ApiCredentials:
    return ApiCredentials(api_key="test-key-1", secret_key=SECRET, passphrase=PASSPHRASE)


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    with capture_server() as server:
        yield server
