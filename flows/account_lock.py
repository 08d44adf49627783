"""One trading run per account at a time, with Prefect's global concurrency limits.

Two runs that trade one account at once both read the same balances and both trade them:
double the intended change. Every trading run therefore holds one slot of the global
concurrency limit ``okx-account-<digest>`` (limit 1; the digest names the account, never the
key) from before it reconciles and plans until it has settled. A second run waits, saying so
in its log, for at most ``wait_s``; then it plans from the state the first one left.

Prefect keeps the slot in its database and the *lease* that frees it if the holder dies in
its lease storage. The server's repossessor frees expired leases, but an ephemeral (temporary)
server does not run it, and its default lease storage is the memory of that temporary server,
which dies with the run that held the slot: a SIGKILLed ``okx-flows run`` would keep the
account locked forever. So in ephemeral mode the CLI puts the leases on disk under
``PREFECT_HOME`` (shared by every temporary server of that home), and a waiting run frees
expired leases itself, with Prefect's own revocation code, between attempts. On a real server
the repossessor does it; give the server a lease storage that outlives it (filesystem, or
Redis with prefect-redis) so a server restart does not strand slots.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final
from uuid import UUID

from okx_wire.errors import ConfigurationError
from okx_wire.runtime import RUNTIME
from okx_wire.settings import ENV_ACCOUNT_WAIT as ENV_LOCK_WAIT

FILESYSTEM_LEASES: Final = "prefect.server.concurrency.lease_storage.filesystem"
#: A holder renews its lease in the background; a dead holder's slot is free this long after.
LEASE_S: Final = 60.0  # the server's minimum
_POLL_S: Final = 0.5


class AccountBusy(ConfigurationError):
    """Another trading run of the same account held the account for longer than we wait."""


def lock_name(account: str) -> str:
    return f"okx-account-{account}"


def wait_seconds() -> float:
    """How long a run waits for a busy account: the settings' ``account_wait_s``."""
    return RUNTIME.settings.account_wait_s


def _ensure_limit(name: str) -> Any:
    """The limit, created on first use (limit 1); a concurrent creator's 409 is fine."""
    from prefect.client.orchestration import SyncPrefectClient, get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.context import FlowRunContext
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    def ensure(client: Any) -> Any:
        try:
            return client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:
            pass
        return client.read_global_concurrency_limit_by_name(name)

    ctx = FlowRunContext.get()
    if ctx is not None and isinstance(ctx.client, SyncPrefectClient):
        return ensure(ctx.client)  # the run's own client: no new connection per call
    with get_client(sync_client=True) as client:
        return ensure(client)


def repossess_expired_leases() -> int:
    """Free the slots of holders whose lease expired (they died), as Prefect's repossessor does.

    Only where leases are on local disk (the CLI's ephemeral mode: the settings'
    ``repossess_leases``); returns how many were freed.
    """
    if not RUNTIME.settings.repossess_leases:
        return 0
    from prefect.server.concurrency.lease_storage.filesystem import ConcurrencyLeaseStorage
    from prefect.server.database import provide_database_interface
    from prefect.server.services.repossessor import revoke_expired_lease
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def revoke_all() -> int:
        storage = ConcurrencyLeaseStorage()
        expired = await storage.read_expired_lease_ids()
        for lease_id in expired:
            await revoke_expired_lease(lease_id, db=provide_database_interface(), lease_storage=storage)
        return len(expired)

    return int(run_coro_as_sync(revoke_all()) or 0)


@contextmanager
def account_lock(account: str, *, holder: UUID | None, log: logging.Logger | logging.LoggerAdapter[Any],
                 wait_s: float | None = None, label: str = "") -> Iterator[None]:
    """Hold the account's slot for the duration of the block; wait at most ``wait_s`` for it.

    While the slot is taken this polls the limit (freeing slots whose holder died, where that is
    ours to do) rather than blocking in Prefect's acquire, so the wait is visible and bounded;
    the acquire itself runs once the slot looks free.
    """
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder
    from prefect.concurrency.sync import concurrency

    name = lock_name(account)
    wait = wait_seconds() if wait_s is None else wait_s
    what = f"account {account}{f' ({label})' if label else ''}"
    lease_holder = ConcurrencyLeaseHolder(type="flow_run", id=holder) if holder is not None else None
    deadline = time.monotonic() + wait
    waited = False
    limit = _ensure_limit(name)
    while limit.active_slots >= limit.limit:
        if not waited:
            log.warning("%s is busy: another trading run holds it; waiting up to %.0f s", what, wait)
            waited = True
        freed = repossess_expired_leases()
        if freed:
            log.warning("%s: freed %d slot(s) of run(s) that died holding it", what, freed)
        elif time.monotonic() >= deadline:
            raise AccountBusy(f"{what} stayed busy for {wait:.0f} s: another trading run holds it -- wait for it "
                              f"to finish, or raise {ENV_LOCK_WAIT}")
        else:
            time.sleep(_POLL_S)
        limit = _ensure_limit(name)
    try:
        with concurrency(name, occupy=1, timeout_seconds=max(1.0, deadline - time.monotonic()),
                         lease_duration=LEASE_S, strict=True, holder=lease_holder,
                         raise_on_lease_renewal_failure=False):
            if waited:
                log.info("%s: acquired after waiting", what)
            yield
    except TimeoutError:
        raise AccountBusy(f"{what} stayed busy for {wait:.0f} s: another trading run holds it -- wait for it to "
                          f"finish, or raise {ENV_LOCK_WAIT}") from None
