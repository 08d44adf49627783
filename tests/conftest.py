from __future__ import annotations

import decimal
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Prefect writes under PREFECT_HOME (results, logs, its DB): keep the suite's writes in one
# throw-away place, never the developer's ~/.prefect. Must happen before prefect is imported.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="okxflows-test-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")

import pytest  # noqa: E402

from okx_wire.auth import ApiCredentials  # noqa: E402
from okx_wire.runtime import RUNTIME  # noqa: E402
from tests.support.capture import CaptureServer, capture_server  # noqa: E402

SECRET = "cafe0000SECRETKEYdo-not-leak-7731"
PASSPHRASE = "Pass-phrase-do-not-leak-4412"


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Every test starts as in a fresh process: no settings fixed, every registry empty (pooled
    clients and journals closed, send log and limiters forgotten), and leaves it so."""
    RUNTIME.reset()
    yield
    RUNTIME.reset()


@pytest.fixture(autouse=True)
def _decimal_context() -> Iterator[None]:
    """Every test starts with Python's default decimal context and leaves it so: ccxt, which the
    conformance tests run in-process, sets the thread's context to round half up (and to trap
    underflow) and never restores it, which changed the results of later tests."""
    decimal.setcontext(decimal.Context())
    yield
    decimal.setcontext(decimal.Context())


@pytest.fixture(autouse=True)
def _own_journal(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own run journal (it would otherwise be the user's, shared by all)."""
    path = tmp_path_factory.mktemp("journal") / "journal.sqlite3"
    monkeypatch.setenv("OKX_FLOWS_JOURNAL_URL", f"sqlite:///{path}")


@pytest.fixture
def creds() -> ApiCredentials:
    return ApiCredentials(api_key="test-key-1", secret_key=SECRET, passphrase=PASSPHRASE)


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    with capture_server() as server:
        yield server


@pytest.fixture(scope="session")
def prefect_db() -> Iterator[Path]:
    """One Prefect test server for the whole session (starting one costs ~7 s); yields the path
    of its SQLite database, so tests can search everything Prefect stored.

    The flow heartbeat is switched off: with it on, every sync flow run waits ~1 s at exit.
    """
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_DATABASE_CONNECTION_URL,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield Path(url.split("///", 1)[1])
