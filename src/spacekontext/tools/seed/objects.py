"""File objects of the seed, written through the configured ObjectStore (local or S3)."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from typing import Any

from spacekontext.settings import Settings
from spacekontext.tools.seed.writer import ObjectSinkFactory, StoredObjectRef


@dataclass
class StoreSink:
    """Built in each worker process, with its own store client and event loop (neither crosses
    a process boundary)."""

    settings: Settings
    _state: dict[str, Any] = field(default_factory=dict, repr=False)

    def __call__(self, objects: list[StoredObjectRef]) -> None:
        if "loop" not in self._state:
            from spacekontext.storage.factory import build_object_store

            self._state["loop"] = asyncio.new_event_loop()
            self._state["store"] = build_object_store(self.settings)
        loop: asyncio.AbstractEventLoop = self._state["loop"]
        loop.run_until_complete(self._put(objects))

    def close(self) -> None:
        loop = self._state.pop("loop", None)
        store = self._state.pop("store", None)
        if loop is not None:
            if store is not None:
                loop.run_until_complete(store.aclose())
            loop.close()

    async def _put(self, objects: list[StoredObjectRef]) -> None:
        store = self._state["store"]
        # A few at a time: S3 round trips overlap, the local store's thread pool stays small.
        limit = asyncio.Semaphore(8)

        async def put(obj: StoredObjectRef) -> None:
            async with limit:
                await store.put_bytes(obj.key, obj.content, content_type=obj.content_type)

        await asyncio.gather(*(put(obj) for obj in objects))


def store_sink_factory(settings: Settings) -> ObjectSinkFactory:
    """A picklable factory: each worker process calls it to make its own sink."""
    return functools.partial(StoreSink, settings)
