"""The process's state: its settings and every process-wide registry, in one documented object.

Entry points call ``RUNTIME.configure(Settings.from_env())`` (or a ``Settings`` of their own);
code below them reads ``RUNTIME.settings``. A library user who never configures gets the
environment's settings on first read, as a plain script would expect. Tests call
``RUNTIME.reset()`` so no registry carries state from one test into the next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from okx_wire.settings import Settings


class Runtime:
    """Settings plus the registries that must be one per process (see each attribute)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._resets: list[Callable[[], None]] = []

    @property
    def settings(self) -> Settings:
        """The settings the entry point configured (the environment's, if none did)."""
        with self._lock:
            if self._settings is None:
                self._settings = Settings.from_env()
            return self._settings

    def configure(self, settings: Settings) -> None:
        """Set the settings for this process (an entry point, once, before any client exists)."""
        with self._lock:
            self._settings = settings

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Register how a registry empties itself (called by ``reset``)."""
        with self._lock:
            self._resets.append(hook)

    def reset(self) -> None:
        """Forget the settings and empty every registry: a test starts from a fresh process."""
        with self._lock:
            self._settings = None
            hooks = list(self._resets)
        for hook in hooks:
            hook()


RUNTIME = Runtime()
