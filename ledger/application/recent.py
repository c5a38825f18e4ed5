"""Recent: the organizations a process used lately, kept decoded (events or projectors), bounded by events.

Shared by the single-organization reader, the write pipeline and the views' catch-up; it holds no
ledger type itself, so a module can keep one without loading the event classes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar
from uuid import UUID

# How many events of recently used organizations a ledger object keeps decoded in memory.
RECENT_EVENTS = 20_000
T = TypeVar("T")


class Recent(Generic[T]):
    """Organizations this ledger object used lately, at most about ``max_events`` events in all.

    Only a speed-up: whoever takes an entry out reads the organization's newer rows first, so
    an entry is never trusted beyond the version it holds.
    """

    def __init__(self, max_events: int = RECENT_EVENTS):
        self.max_events = max_events
        self._entries: OrderedDict[UUID, tuple[int, T]] = OrderedDict()
        self._events = 0
        self._lock = threading.Lock()

    def get(self, key: UUID) -> T | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def take(self, key: UUID) -> T | None:
        """Remove and return an entry: whoever is about to change it gives it back only if the change holds."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None:
                return None
            self._events -= entry[0]
            return entry[1]

    def items(self) -> list[tuple[UUID, T]]:
        """The entries, least recently used first."""
        with self._lock:
            return [(key, value) for key, (_, value) in self._entries.items()]

    def put(self, key: UUID, value: T, size: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._events -= old[0]
            self._entries[key] = (size, value)
            self._events += size
            while self._events > self.max_events and len(self._entries) > 1:
                _, (evicted, _) = self._entries.popitem(last=False)
                self._events -= evicted
