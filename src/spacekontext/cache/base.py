"""The cache interface: bytes in, bytes out (values are stored ready to send). Two real
backends: in-process (TTL + LRU, the default) and Redis (`REDIS_URL`). Both pass one contract
suite (tests/cache/test_contract.py).

Freshness is not the backends' business: `cache.aside` tags every value with its owner's
generation and a write replaces the generation in the same use case, so stale entries are never
read again (they just expire). A backend only has to store, fetch and expire bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class CacheUnavailable(Exception):
    """The backend cannot be reached (Redis down, timeout). Not a domain error: the cache-aside
    layer catches it and serves from the database instead."""


class Cache(Protocol):
    backend: str

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values of several keys in one round trip (None where missing or expired)."""
        ...

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str) -> int:
        """Atomically increment a counter (created at 1) and return it."""
        ...

    async def get_int(self, key: str) -> int:
        """A counter's value; 0 when it does not exist."""
        ...

    async def aclose(self) -> None: ...
