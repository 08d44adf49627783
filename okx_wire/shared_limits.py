"""OKX rate budgets shared by every process that points at one Redis.

``SlidingWindowLimiter`` (``okx_wire.limits``) keeps its counts in memory, which is enough for
one process. Prefect workers are separate processes, often on separate machines, yet one API key
has one budget at OKX. ``RedisLimiter`` has the same interface (``reserve``, ``acquire``) and keeps
the counts in Redis, so every process using the same Redis URL and limiter NAME draws from one
budget.

Each bucket is a sorted set, one member per unit taken (member = a unique id, score = Redis server
time in microseconds from ``TIME``, so client clocks never matter). One Lua script does the whole
reserve atomically: trim every bucket of the request to its window, check them all, and only if
all have room add the units to all of them (all-or-nothing, like the in-process limiter); else it
returns how long to wait until the oldest units that block the request leave their window. The
budgets and bucket keys come from ``okx_wire.limits`` (``demands``); nothing is copied here.

A NAME must be set up first (``okx-flows limits apply --redis URL --name NAME``), which writes
``okxflows:{NAME}:config``. A limiter for a name without that marker refuses to start: a misspelled
name is an error, never a silently unlimited client. The braces are a Redis Cluster hash tag, so
all keys of one name live in one slot and the multi-key script also works on a cluster.

Workers select the shared limiter with two settings (``okx_wire.settings``; see ``limiter_for``)::

    OKX_RATE_LIMIT_URL=redis://redis.internal:6379/0   # unset: in-process limiter
    OKX_RATE_LIMIT_NAME=prod-main                        # default "default"
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import redis

from okx_wire.errors import ConfigurationError, ConnectionFailed
from okx_wire.limits import BUDGETS, Budget, Demand, Limiter
from okx_wire.runtime import RUNTIME, Registry
from okx_wire.settings import DEFAULT_RATE_LIMIT_NAME, ENV_RATE_LIMIT_NAME, ENV_RATE_LIMIT_URL, Settings

log = logging.getLogger(__name__)

ENV_URL: Final = ENV_RATE_LIMIT_URL
ENV_NAME: Final = ENV_RATE_LIMIT_NAME
DEFAULT_NAME: Final = DEFAULT_RATE_LIMIT_NAME
#: Extra width of each window. Clients hold grants until their answer (``RedisLimiter.hold``),
#: which covers network delay by itself; this only absorbs clock granularity, as in-process.
DEFAULT_SLACK: Final = 0.005
#: Bumped when the key layout or the script's contract changes.
SCHEMA: Final = "1"
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# KEYS: the bucket sorted sets of one request (distinct).
# ARGV[1]: a member prefix unique to this call; ARGV[2]: 0 to stamp the grant now, or how far
# ahead (us) to stamp it while the request is in flight (see RedisLimiter.hold); then per
# bucket: limit, window in us, units.
# Returns {0, now_us} when everything was taken, {wait_us, now_us} when nothing was taken, or
# {-1, i} when bucket i can never hold the units asked for.
_RESERVE_LUA: Final = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ahead = tonumber(ARGV[2])
local n = #KEYS
local wait = 0
for i = 1, n do
  local limit = tonumber(ARGV[3 * i])
  local window = tonumber(ARGV[3 * i + 1])
  local units = tonumber(ARGV[3 * i + 2])
  if units > limit then return {-1, i} end
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local used = redis.call('ZCARD', KEYS[i])
  if used + units > limit then
    -- the (need)th oldest unit must leave the window before this request fits
    local need = used + units - limit
    local oldest = redis.call('ZRANGE', KEYS[i], need - 1, need - 1, 'WITHSCORES')
    local stamp = tonumber(oldest[2])
    local w = stamp + window - now
    if stamp > now then w = 5000 end  -- still in flight: poll until its answer re-stamps it
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return {math.ceil(wait), now} end
for i = 1, n do
  local window = tonumber(ARGV[3 * i + 1])
  local units = tonumber(ARGV[3 * i + 2])
  local args = {}
  for u = 1, units do
    args[2 * u - 1] = now + ahead
    args[2 * u] = ARGV[1] .. ':' .. i .. ':' .. u
  end
  redis.call('ZADD', KEYS[i], unpack(args))
  redis.call('PEXPIRE', KEYS[i], math.ceil((window + ahead) / 1000) + 1000)
end
return {0, now}
"""

# KEYS: the buckets of a granted request; ARGV[1]: its member prefix; ARGV[i + 1]: units taken
# from bucket i. Re-stamps those members with the current time, once the request's answer is in.
_SETTLE_LUA: Final = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #KEYS do
  for u = 1, tonumber(ARGV[i + 1]) do
    redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1] .. ':' .. i .. ':' .. u)
  end
end
return now
"""

#: How long a held request may stay in flight before its grant stamps itself (longer than any
#: client timeout), so a worker that dies mid-request cannot block a bucket for longer.
IN_FLIGHT_BOUND_S: Final = 30.0


class RateLimitStoreUnavailable(ConnectionFailed):
    """The shared rate-limit store (Redis) did not answer; the request was not sent to OKX.

    Retriable and safe to resend: nothing left this process. The limiter fails closed -- it
    never lets a request through unthrottled because the store is down.
    """


def budget_table_version() -> str:
    """A short digest of ``okx_wire.limits.BUDGETS``: workers on different tables can be spotted."""
    rows = sorted(
        (method, path, b.name, b.limit, b.window, str(b.scope), b.counts_orders)
        for (method, path), b in BUDGETS.items()
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:12]


def redact_url(url: str) -> str:
    """The URL without its password (``redis://user:***@host``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigurationError(
            f"rate-limit name {name!r} is not valid: use 1-64 letters, digits, '_', '.', '-' (no spaces or braces)"
        )
    return name


def config_key(name: str) -> str:
    return f"okxflows:{{{name}}}:config"


def bucket_prefix(name: str) -> str:
    return f"okxflows:{{{name}}}:bucket:"


def apply_command(redis_url: str, name: str) -> str:
    return f"okx-flows limits apply --redis {redact_url(redis_url)} --name {name}"


def connect(redis_url: str, *, timeout: float = 2.0) -> redis.Redis:
    """A Redis client (its own connection pool, fork-safe) with short timeouts."""
    try:
        return redis.Redis.from_url(redis_url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                    health_check_interval=30, decode_responses=True)
    except ValueError as exc:
        raise ConfigurationError(f"bad Redis URL {redact_url(redis_url)!r}: {exc}") from None


def _unreachable(redis_url: str, exc: Exception) -> str:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"cannot reach the rate-limit Redis at {redact_url(redis_url)}: {detail}"


@dataclass(frozen=True, slots=True)
class AppliedConfig:
    name: str
    redis_url: str
    version: str
    slack: float
    budgets: tuple[Budget, ...]

    def lines(self) -> list[str]:
        head = (f"limits {self.name!r} on {redact_url(self.redis_url)}: budget table {self.version}, "
                f"slack {self.slack * 1000:.0f} ms")
        rows = [
            f"  {b.name:<26} {b.limit:>4} {'orders' if b.counts_orders else 'requests'} per "
            f"{b.window:g} s per {b.scope} (honoured over {b.window + self.slack:g} s)"
            for b in self.budgets
        ]
        return [head, *rows]


def apply_limits(redis_url: str, name: str = DEFAULT_NAME, *, slack: float = DEFAULT_SLACK) -> AppliedConfig:
    """Create or update the config of ``name``: the budget table version and the slack.

    Idempotent; bucket counts are left alone, so applying on a live system loses no usage.
    """
    check_name(name)
    if not 0 <= slack <= 1:
        raise ConfigurationError(f"slack must be between 0 and 1 s, not {slack}")
    client = connect(redis_url)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    version = budget_table_version()
    budgets = tuple(sorted({b.name: b for b in BUDGETS.values()}.values(), key=lambda b: b.name))
    try:
        key = config_key(name)
        client.hsetnx(key, "created_at", now)
        client.hset(key, mapping={
            "schema": SCHEMA,
            "version": version,
            "slack": repr(float(slack)),
            "updated_at": now,
            "budgets": json.dumps([[b.name, b.limit, b.window, str(b.scope), b.counts_orders] for b in budgets]),
        })
    except redis.RedisError as exc:
        raise ConfigurationError(_unreachable(redis_url, exc)) from None
    finally:
        client.close()
    return AppliedConfig(name, redis_url, version, float(slack), budgets)


@dataclass(frozen=True, slots=True)
class BucketUsage:
    key: str
    budget: str
    used: int
    limit: int | None
    window: float


class RedisLimiter(Limiter):
    """A sliding-window limiter whose counts live in Redis, shared by every process on ``name``.

    Same contract as ``SlidingWindowLimiter``: ``reserve`` takes the units from every bucket of a
    request and returns 0, or takes nothing and returns the seconds to wait; ``acquire`` blocks
    until the request fits. Times are Redis server times; the slack (stored with the name by
    ``apply_limits``) widens each window as the in-process client limiter does. Thread-safe and
    fork-safe (redis-py's pool reconnects in a child). Redis failures raise
    ``RateLimitStoreUnavailable``; nothing is ever let through unthrottled.
    """

    def __init__(self, redis_url: str, name: str = DEFAULT_NAME, *, slack: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, client: redis.Redis | None = None) -> None:
        self.name = check_name(name)
        self.redis_url = redis_url
        self._redis = client or connect(redis_url)
        self._sleep = sleep
        try:
            config = self._redis.hgetall(config_key(name))
        except redis.RedisError as exc:
            raise ConfigurationError(_unreachable(redis_url, exc)) from None
        if not config:
            raise ConfigurationError(
                f"rate-limit name {name!r} is not set up in {redact_url(redis_url)}; "
                f"create it with: {apply_command(redis_url, name)}"
            )
        if config.get("version") != budget_table_version():
            log.warning("rate-limit name %r was applied with budget table %s, this code has %s; re-run %s",
                        name, config.get("version"), budget_table_version(), apply_command(redis_url, name))
        self.slack = float(config.get("slack", DEFAULT_SLACK)) if slack is None else slack
        self._script = self._redis.register_script(_RESERVE_LUA)
        self._settle = self._redis.register_script(_SETTLE_LUA)
        self._prefix = bucket_prefix(name)
        self._id = secrets.token_hex(6)
        self._seq = itertools.count()
        self._seq_lock = threading.Lock()
        #: Redis time (seconds) of the last grant made by this object: for tests and diagnostics.
        self.last_grant_time: float | None = None

    def __repr__(self) -> str:
        return f"RedisLimiter({redact_url(self.redis_url)!r}, {self.name!r}, slack={self.slack})"

    def close(self) -> None:
        self._redis.close()

    def reserve(self, wanted: Iterable[Demand]) -> float:
        """Take the units if every bucket has room and return 0, else take nothing and return
        the seconds to wait before trying again."""
        return self._reserve(wanted, ahead_us=0)[0]

    def _reserve(self, wanted: Iterable[Demand], ahead_us: int) -> tuple[float, str, list[str], list[int]]:
        merged: dict[str, list[Any]] = {}
        for key, budget, units in wanted:
            if units > budget.limit:
                raise ValueError(f"{units} units can never fit {budget.name}'s budget of {budget.limit}")
            entry = merged.setdefault(key, [budget, 0])
            entry[1] += units
        member = self._member_prefix()
        if not merged:
            return 0.0, member, [], []
        keys: list[str] = []
        counts: list[int] = []
        args: list[Any] = [member, ahead_us]
        for key, (budget, units) in merged.items():
            keys.append(self._prefix + key)
            counts.append(units)
            args += [budget.limit, int(round((budget.window + self.slack) * 1_000_000)), units]
        try:
            code, value = self._script(keys=keys, args=args)
        except redis.RedisError as exc:
            raise RateLimitStoreUnavailable(_unreachable(self.redis_url, exc)) from None
        code = int(code)
        if code == 0:
            self.last_grant_time = int(value) / 1_000_000
            return 0.0, member, keys, counts
        if code < 0:
            key, (budget, units) = list(merged.items())[int(value) - 1]
            raise ValueError(f"{units} units can never fit {budget.name}'s budget of {budget.limit}")
        return code / 1_000_000, member, keys, counts

    @contextmanager
    def hold(self, wanted: Iterable[Demand]) -> Iterator[None]:
        """Block until the request fits; keep it in flight (never expiring, up to
        ``IN_FLIGHT_BOUND_S``) while the body sends it, then re-stamp it with Redis's time.

        The answer came back before the re-stamp, so the stamp is later than the moment OKX saw
        the request, on any machine and whatever the delays: a grant that waits out the window
        from there cannot be refused. No timing assumption, only causality.
        """
        wanted = list(wanted)
        ahead = int(IN_FLIGHT_BOUND_S * 1_000_000)
        while True:
            wait, member, keys, counts = self._reserve(wanted, ahead_us=ahead)
            if wait <= 0:
                break
            self._sleep(wait)
        try:
            yield
        finally:
            if keys:
                try:
                    self._settle(keys=keys, args=[member, *counts])
                except redis.RedisError as exc:  # the grant then simply expires at its bound
                    log.warning("could not settle a rate-limit grant: %s", _unreachable(self.redis_url, exc))

    def usage(self) -> list[BucketUsage]:
        """Units currently inside each live bucket's window (by Redis time), sorted by key."""
        by_name = {b.name: b for b in BUDGETS.values()}
        try:
            seconds, micros = self._redis.time()
            now = seconds * 1_000_000 + micros
            rows = []
            for redis_key in sorted(self._redis.scan_iter(match=self._prefix + "*", count=500)):
                key = redis_key[len(self._prefix):]
                budget = by_name.get(key.split("|", 1)[0])
                window = (budget.window if budget else 2.0) + self.slack
                used = self._redis.zcount(redis_key, f"({now - int(window * 1_000_000)}", "+inf")
                rows.append(BucketUsage(key, budget.name if budget else "?", used,
                                        budget.limit if budget else None, window))
        except redis.RedisError as exc:
            raise RateLimitStoreUnavailable(_unreachable(self.redis_url, exc)) from None
        return rows

    def _member_prefix(self) -> str:
        with self._seq_lock:
            seq = next(self._seq)
        # pid: a forked child keeps the parent's object (and _id) but must not reuse its members.
        return f"{self._id}:{os.getpid()}:{seq}"


_SHARED: Final[Registry[tuple[str, str], RedisLimiter]] = RUNTIME.registry("shared limiters",
                                                                            close=RedisLimiter.close)


def limiter_for(settings: Settings) -> RedisLimiter | None:
    """The shared Redis limiter the settings name (``rate_limit_url``, ``rate_limit_name``), or
    None when they name none (the client then uses its in-process limiter).

    One limiter (one connection pool) per URL and name per process; an unknown name raises
    ``ConfigurationError`` on every call and is never cached.
    """
    url = (settings.rate_limit_url or "").strip()
    name = (settings.rate_limit_name or "").strip()
    if not url:
        if name and name != DEFAULT_NAME:
            log.warning("%s=%s is set but %s is not: using the in-process limiter", ENV_NAME, name, ENV_URL)
        return None
    name = name or DEFAULT_NAME
    return _SHARED.get((url, name), lambda: RedisLimiter(url, name))


def limiter_from_env(environ: Mapping[str, str] | None = None) -> RedisLimiter | None:
    """``limiter_for`` the settings of ``environ`` (default: this process's settings)."""
    return limiter_for(RUNTIME.settings if environ is None else Settings.from_env(environ))
