"""The object half of a backup: every object copied between two stores, hashed on the way.

A copy streams (no object is held whole in memory) and several run at once, since a store is
mostly waiting on the network or the disk. The hash is the destination's own (every store
returns the sha256 of what it wrote), so what the manifest records is what was stored."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from spacekontext.errors import NotFound
from spacekontext.storage.base import ObjectStore, StoredObject

T = TypeVar("T")
CONTENT_TYPE = "application/octet-stream"


async def for_each(
    items: AsyncIterable[T], work: Callable[[T], Awaitable[None]], *, concurrency: int
) -> None:
    """Run `work` on every item, at most `concurrency` at once, without a task per item up
    front (a store may hold millions of objects). The first failure cancels the rest."""
    queue: asyncio.Queue[T | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            await work(item)

    async def feed() -> None:
        async for item in items:
            await queue.put(item)
        for _ in range(concurrency):
            await queue.put(None)

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
        group.create_task(feed())


async def copy_object(
    source: ObjectStore,
    source_key: str,
    target: ObjectStore,
    target_key: str,
    *,
    content_type: str | None = None,
) -> StoredObject:
    """Raises NotFound when the source object is missing."""
    return await target.put_stream(
        target_key, source.iter_bytes(source_key), content_type=content_type or CONTENT_TYPE
    )


async def sha256_of(store: ObjectStore, key: str) -> tuple[int, str] | None:
    """(size, sha256) of a stored object, or None when it is missing."""
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in store.iter_bytes(key):
            digest.update(chunk)
            size += len(chunk)
    except NotFound:
        return None
    return size, digest.hexdigest()


def file_size_and_sha256(path: Path) -> tuple[int, str]:
    """Blocking: run it in a worker thread."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


@dataclass
class Counter:
    """Objects and bytes done, read by the progress reporter."""

    objects: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.objects += 1
        self.bytes += size


async def keys_of(store: ObjectStore, prefix: str = "") -> AsyncIterator[str]:
    async for info in store.list(prefix):
        yield info.key
