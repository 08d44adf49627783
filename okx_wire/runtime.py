"""The process's state: its settings and every process-wide registry, in one documented object.

Entry points call ``RUNTIME.configure(Settings.from_env())`` (or a ``Settings`` of their own);
code below them reads ``RUNTIME.settings``. A process that never configures follows the
environment as it is when the settings are read (a library user's script, a test that sets a
variable), and only ``okx_wire.settings`` looks at ``os.environ`` for it.

The registries that must be one per process are created here, by the module that owns them,
with ``RUNTIME.registry(name)``; a process-wide value that is not a mapping (a cache of one
entry) registers how it empties itself with ``RUNTIME.on_reset``. Tests call ``RUNTIME.reset()``
so nothing carries state from one test into the next. What lives here, by owner:

- ``okx_wire.client``: "in-process limiters" (one ``SlidingWindowLimiter`` per venue, so every
  client of a key in this process draws from one budget);
- ``okx_wire.shared_limits``: "shared limiters" (one ``RedisLimiter`` per Redis URL and name);
- ``okx_wire.journal``: "journals" (one ``Journal``, one engine, per database URL);
- ``okx_wire.placement``: the process's send log (``PROCESS_SENDS``: the last expTime per clOrdId);
- ``okx_wire.auth``: the formatted-second cache of request timestamps;
- ``okx_tasks.blocks``: "clients" (one pooled ``OkxClient`` per key and venue);
- a simulator kept running for reuse registers its own registry (okx_wire never imports okx_sim).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from okx_wire.settings import Settings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Registry(Generic[K, V]):
    """One process-wide mapping, filled on first use of each key; thread-safe.

    ``close`` is called on every value the registry forgets (``clear``, ``RUNTIME.reset``), so a
    pooled connection is given back rather than dropped.
    """

    def __init__(self, name: str, close: Callable[[V], object] | None = None) -> None:
        self.name = name
        self._close = close
        self._lock = threading.Lock()
        #: The values by key. Read it freely; change it through the methods.
        self.entries: dict[K, V] = {}

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {len(self.entries)} entries)"

    def get(self, key: K, build: Callable[[], V]) -> V:
        """The value for ``key``, built (once, under the lock) if there is none yet.

        A ``build`` that raises leaves nothing behind, so the next call tries again.
        """
        value = self.entries.get(key)
        if value is not None:
            return value
        with self._lock:
            value = self.entries.get(key)
            if value is None:
                value = self.entries[key] = build()
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self.entries[key] = value

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self.entries.pop(key, None)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self.entries))

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        """Forget every value (closing each, if the registry closes its values)."""
        with self._lock:
            values = list(self.entries.values())
            self.entries.clear()
        if self._close is not None:
            for value in values:
                self._close(value)


class Runtime:
    """Settings plus the registries that must be one per process (listed in the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._registries: dict[str, Registry[object, object]] = {}
        self._resets: list[Callable[[], None]] = []

    @property
    def settings(self) -> Settings:
        """The settings the entry point configured; the environment's as of now if none did."""
        settings = self._settings
        return Settings.from_env() if settings is None else settings

    @property
    def configured(self) -> bool:
        """Whether an entry point fixed the settings (else they follow the environment)."""
        return self._settings is not None

    def configure(self, settings: Settings) -> None:
        """Set the settings for this process (an entry point, once, before any client exists)."""
        with self._lock:
            self._settings = settings

    def registry(self, name: str, close: Callable[[V], object] | None = None) -> Registry[K, V]:
        """The process-wide registry called ``name`` (created by its owner at import)."""
        with self._lock:
            if name in self._registries:
                raise ValueError(f"registry {name!r} exists already")
            made: Registry[K, V] = Registry(name, close)
            self._registries[name] = made  # type: ignore[assignment]
            return made

    @property
    def registries(self) -> dict[str, Registry[object, object]]:
        """Every registry by name (for diagnostics and tests)."""
        with self._lock:
            return dict(self._registries)

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Register how a process-wide value that is not a registry empties itself."""
        with self._lock:
            self._resets.append(hook)

    def reset(self) -> None:
        """Forget the settings and empty every registry: a test starts from a fresh process."""
        with self._lock:
            self._settings = None
            registries = list(self._registries.values())
            hooks = list(self._resets)
        for registry in registries:
            registry.clear()
        for hook in hooks:
            hook()


RUNTIME = Runtime()
