"""In-process cache: a dict kept in LRU order with a per-entry deadline.

Bounded by `CACHE_MEMORY_MAX_ITEMS`; the least recently used entry goes first. Expired entries
are dropped when touched (and pushed out by LRU otherwise), so there is no sweeper task. It is
coherent only inside one process: `spacekontext serve --workers N` without Redis disables the
cache rather than let workers serve each other's stale entries (see docs/caching.md)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

# Counters made by `incr` never expire on their own (they are rare and tiny); LRU still bounds them.
_FOREVER = float("inf")


class MemoryCache:
    backend = "memory"

    def __init__(self, max_items: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._max_items = max_items
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: str, now: float) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, value = entry
        if deadline <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def _store(self, key: str, value: bytes, deadline: float) -> None:
        self._entries[key] = (deadline, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_items:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        return self._lookup(key, self._clock())

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        return [self._lookup(key, now) for key in keys]

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._store(key, bytes(value), self._clock() + ttl_s)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def incr(self, key: str) -> int:
        now = self._clock()
        current = self._lookup(key, now)
        value = (int(current) if current is not None else 0) + 1
        deadline = self._entries[key][0] if current is not None else _FOREVER
        self._store(key, str(value).encode(), deadline)
        return value

    async def get_int(self, key: str) -> int:
        current = self._lookup(key, self._clock())
        return int(current) if current is not None else 0

    async def aclose(self) -> None:
        self._entries.clear()
