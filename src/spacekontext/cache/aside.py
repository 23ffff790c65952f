"""Cache-aside with generation tags and single-flight.

Every cached value belongs to a *generation key* (one per owner: `gen:projects:<user id>`, or
one for a shared collection: `gen:cad-blocks`). The generation holds a random tag; a value is
stored as `tag + body` and is a hit only while its tag equals the generation's current tag. A
write replaces the tag after its commit (`bump`), so every value cached before the write stops
matching at once, in every process sharing the cache. Readers fetch the generation and the value
in one round trip (`get_many`), and always read the tag *before* loading from the database, so a
load that raced a write is stored under a tag that is already dead.

Tags are random, not counters: a generation key that is evicted or expires comes back with a
new random tag, never with an old one that stale values could still carry.

Concurrent misses for one key (and one tag) in a process share one load (single-flight). When
the backend is unreachable the request is served from the database (a `bypass`), a counter goes
up and a warning is logged at most once a minute; generations that could not be replaced are
remembered and replaced before this process uses the cache again. See docs/caching.md."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable

from spacekontext.cache.base import Cache, CacheUnavailable
from spacekontext.cache.metrics import (
    CACHE_COALESCED,
    CACHE_ERRORS,
    CACHE_LOOKUPS,
    ThrottledWarning,
)
from spacekontext.tasks import stop_task

Loader = Callable[[], Awaitable[bytes]]

TAG_BYTES = 16
# Generations only need to outlive the values tagged with them; when one does expire, the next
# reader installs a fresh random tag, so expiry costs misses, never stale reads.
GENERATION_TTL_S = 7 * 24 * 3600
# Key parts longer than this (cursors, search strings) are hashed to keep keys short and safe.
_MAX_PART = 64
_UNSAFE_IN_KEY = re.compile(r"[: \n\r\t]")
OWED_RETRY_S = 1.0
INSTALL_GRACE_S = 1.0
FLIGHT_GRACE_S = 1.0


# Pure, and asked for the same few keys per request several times over (read-ahead, the reader,
# the generation): remembered.
@functools.lru_cache(maxsize=65_536)
def cache_key(namespace: str, *parts: str | int | None) -> str:
    """`cache_key("projects:list", user_id, 50, cursor)` → `projects:list:<user>:50:<cursor>`."""
    rendered = []
    for part in parts:
        text = "" if part is None else str(part)
        if len(text) > _MAX_PART or _UNSAFE_IN_KEY.search(text):
            text = "#" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        rendered.append(text)
    return ":".join((namespace, *rendered))


def owner_generation(kind: str, owner_id: str) -> str:
    """The generation of everything of one kind owned by one user (`projects`, `files`…)."""
    return cache_key("gen:" + kind, owner_id)


def shared_generation(kind: str) -> str:
    """The generation of a collection everybody reads (`cad-blocks`)."""
    return "gen:" + kind


def _new_tag() -> bytes:
    return secrets.token_hex(TAG_BYTES // 2).encode()


class CacheAside:
    def __init__(
        self,
        cache: Cache | None,
        *,
        ttl_s: int = 300,
        warning: ThrottledWarning | None = None,
        reads: bool = True,
    ) -> None:
        """`cache=None` turns caching off: every call goes to the loader. `reads=False` keeps
        the bumps but sends every read to the loader (see `bumps_only`)."""
        self.cache = cache
        self.ttl_s = ttl_s
        self._reads = reads
        self.backend = cache.backend if cache is not None else "off"
        self._warning = warning or ThrottledWarning()
        self._flights: dict[str, asyncio.Future[bytes]] = {}
        self._installing: dict[str, asyncio.Future[bytes]] = {}
        self._owed: dict[str, None] = {}  # insertion-ordered set of generations to replace
        self._owed_retry: asyncio.Task[None] | None = None
        self._hit = CACHE_LOOKUPS.labels(self.backend, "hit")
        self._miss = CACHE_LOOKUPS.labels(self.backend, "miss")
        self._bypass = CACHE_LOOKUPS.labels(self.backend, "bypass")

    @property
    def enabled(self) -> bool:
        return self.cache is not None and self._reads

    def bumps_only(self) -> CacheAside:
        """A view of the same cache that never serves from it but still bumps generations, so
        that values cached before (or by processes that do read) never outlive a write made
        while reads were off. It does not own the backend: close the original."""
        return CacheAside(self.cache, ttl_s=self.ttl_s, warning=self._warning, reads=False)

    @property
    def owed_generations(self) -> int:
        return len(self._owed)

    async def cached_bytes(
        self, key: str, loader: Loader, *, generation: str, ttl_s: int | None = None
    ) -> bytes:
        """The bytes cached under `key` if still current for `generation`, else `loader()`'s
        result (stored for next time). Errors from the loader propagate and are not cached."""
        cache = self.cache
        if cache is None or not self._reads:
            return await loader()
        if self._owed and not await self._settle_owed():
            self._bypass.inc()
            return await loader()
        try:
            tag, value = await cache.get_many((generation, key))
        except CacheUnavailable as exc:
            return await self._bypassed("get", exc, loader)
        if tag is not None and value is not None and value[:TAG_BYTES] == tag:
            self._hit.inc()
            return value[TAG_BYTES:]
        self._miss.inc()
        seen_current = tag is not None
        if tag is None:
            try:
                tag = await self._install_generation(generation)
            except CacheUnavailable as exc:
                return await self._bypassed("set", exc, loader)
        return await self._single_flight(
            key, tag, loader, ttl_s or self.ttl_s, seen_current=seen_current
        )

    async def bump(self, *generations: str) -> None:
        """Make every value cached under these generations stale. Called after the commit of
        the write that changed them; never raises (the write has already happened)."""
        cache = self.cache
        if cache is None:
            return
        for generation in generations:
            self._installing.pop(generation, None)
            try:
                await cache.set(generation, _new_tag(), ttl_s=GENERATION_TTL_S)
            except CacheUnavailable as exc:
                self._owe(generation)
                self._failed("bump", exc)

    async def aclose(self) -> None:
        await stop_task(self._owed_retry)
        if self.cache is not None:
            await self.cache.aclose()

    # --- internals ------------------------------------------------------------------------------

    async def _single_flight(
        self, key: str, tag: bytes, loader: Loader, ttl_s: int, *, seen_current: bool
    ) -> bytes:
        # The tag is part of the flight: a request that saw a newer generation must not join a
        # load that started before the write. A finished load is only reused by requests that
        # saw its tag current in the cache; one that found no generation at all cannot know
        # the tag was not replaced (and then evicted) since, so it loads afresh.
        flight_key = key + "\x00" + tag.decode()
        flight = self._flights.get(flight_key)
        if flight is not None and flight.done() and not seen_current:
            flight = None
        if flight is None:
            flight = asyncio.ensure_future(self._fill(flight_key, key, tag, loader, ttl_s))
            flight.add_done_callback(_retrieve_exception)
            self._flights[flight_key] = flight
        else:
            CACHE_COALESCED.labels(self.backend).inc()
        # shield: a client that disconnects cancels its own wait, not the load others await.
        return await asyncio.shield(flight)

    async def _install_generation(self, generation: str) -> bytes:
        # Concurrent first readers of a generation share one tag (and so one load); otherwise
        # each would install its own tag and miss the others' values. Any tag that was current
        # before the load began is safe to store under.
        pending = self._installing.get(generation)
        if pending is None:
            pending = asyncio.ensure_future(self._install(generation))
            pending.add_done_callback(_retrieve_exception)
            self._installing[generation] = pending
        return await asyncio.shield(pending)

    async def _install(self, generation: str) -> bytes:
        assert self.cache is not None
        tag = _new_tag()
        try:
            await self.cache.set(generation, tag, ttl_s=GENERATION_TTL_S)
        except BaseException:
            self._installing.pop(generation, None)
            raise
        # Keep the installed tag briefly for readers whose lookup was answered (with "no
        # generation") before the install landed; forgetting it at once would send each of
        # them to install a tag of their own, and to a load of their own.
        installed = self._installing.get(generation)
        asyncio.get_running_loop().call_later(
            INSTALL_GRACE_S, _forget, self._installing, generation, installed
        )
        return tag

    async def _fill(
        self, flight_key: str, key: str, tag: bytes, loader: Loader, ttl_s: int
    ) -> bytes:
        try:
            body = await loader()
        except BaseException:
            self._flights.pop(flight_key, None)  # errors are not kept: the next request retries
            raise
        assert self.cache is not None
        try:
            await self.cache.set(key, tag + body, ttl_s=ttl_s)
        except CacheUnavailable as exc:
            self._failed("set", exc)
        # A request whose lookup (for this same tag) was answered just before the value was
        # stored still finds the finished load for a moment, instead of loading again. That is
        # a hit in all but name: the tag it saw current is the tag the body was loaded under.
        flight = self._flights.get(flight_key)
        asyncio.get_running_loop().call_later(
            FLIGHT_GRACE_S, _forget, self._flights, flight_key, flight
        )
        return body

    async def _bypassed(self, operation: str, exc: CacheUnavailable, loader: Loader) -> bytes:
        # No single-flight here on purpose: without a tag we cannot tell a load that started
        # before a write from one that started after it.
        self._failed(operation, exc)
        self._bypass.inc()
        return await loader()

    def _failed(self, operation: str, exc: CacheUnavailable) -> None:
        CACHE_ERRORS.labels(self.backend, operation).inc()
        self._warning.warn("cache %s unavailable, serving from the database: %s", self.backend, exc)

    def _owe(self, generation: str) -> None:
        self._owed[generation] = None
        if self._owed_retry is None or self._owed_retry.done():
            self._owed_retry = asyncio.get_running_loop().create_task(self._retry_owed())

    async def _settle_owed(self) -> bool:
        """Replace the generations whose bump failed; True once none is owed."""
        assert self.cache is not None
        for generation in list(self._owed):
            try:
                await self.cache.set(generation, _new_tag(), ttl_s=GENERATION_TTL_S)
            except CacheUnavailable:
                return False
            self._owed.pop(generation, None)
        return True

    async def _retry_owed(self) -> None:
        # Other processes keep reading the shared cache; settle the debt as soon as Redis is
        # back, not only when this process next serves a cached route.
        while self._owed:
            await asyncio.sleep(OWED_RETRY_S)
            await self._settle_owed()


def _forget(registry: dict[str, asyncio.Future[bytes]], key: str, entry: object) -> None:
    if registry.get(key) is entry:
        del registry[key]


def _retrieve_exception(future: asyncio.Future[bytes]) -> None:
    # A load whose every waiter went away must not log "exception was never retrieved".
    if not future.cancelled():
        future.exception()
