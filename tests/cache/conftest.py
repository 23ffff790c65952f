from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from spacekontext.cache.base import Cache
from spacekontext.cache.memory import MemoryCache
from spacekontext.cache.redis import RedisCache
from spacekontext.cache.resp import RespClient


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Cache]:
    backend: Cache
    if request.param == "memory":
        backend = MemoryCache(1000)
    else:
        url = request.getfixturevalue("redis_url")
        backend = RedisCache(RespClient.from_url(url), prefix=key_prefix)
    yield backend
    await backend.aclose()
