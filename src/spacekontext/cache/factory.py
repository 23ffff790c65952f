"""Builds the cache a process uses from settings."""

from __future__ import annotations

from spacekontext.cache.aside import CacheAside
from spacekontext.cache.base import Cache
from spacekontext.cache.memory import MemoryCache
from spacekontext.cache.metrics import ThrottledWarning
from spacekontext.cache.redis import RedisCache
from spacekontext.cache.resp import RespClient
from spacekontext.settings import Settings


def build_cache(
    settings: Settings,
    *,
    redis: RespClient | None = None,
    warning: ThrottledWarning | None = None,
) -> CacheAside:
    """Redis when `REDIS_URL` is set (through `redis`, a client the caller owns), the in-process
    backend otherwise, nothing when `CACHE_ENABLED=false`."""
    backend: Cache | None = None
    if settings.cache_enabled:
        if settings.redis_url:
            if redis is None:
                backend = RedisCache.from_url(settings.redis_url, prefix=settings.cache_key_prefix)
            else:
                backend = RedisCache(redis, prefix=settings.cache_key_prefix, owns_client=False)
        else:
            backend = MemoryCache(settings.cache_memory_max_items)
    return CacheAside(backend, ttl_s=settings.cache_ttl_s, warning=warning)
