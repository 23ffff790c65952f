"""The cache interface: bytes in, bytes out (values are stored ready to send). Two real
backends: in-process (TTL + LRU, the default) and Redis (`REDIS_URL`). Both pass one contract
suite. Invalidation is by generation counters: keys embed the owner's generation, and a write
bumps it in the same use case, so stale entries are never read again (they just expire)."""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    backend: str

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str) -> int:
        """Atomically increment a counter (created at 1) and return it; for generations."""
        ...

    async def get_int(self, key: str) -> int: ...

    async def aclose(self) -> None: ...
