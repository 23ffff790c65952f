from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from spacekontext.cache.base import Cache
from spacekontext.cache.memory import MemoryCache
from spacekontext.cache.redis import RedisCache
from spacekontext.cache.resp import RespClient
from tests.cache.redisproc import RedisProcess, redis_server_binary
from tests.conftest import require


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this test run (not the machine's shared one: others flush theirs)."""
    require(redis_server_binary() is not None, "redis-server (Debian package redis-server)")
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server this test may kill and restart (with its data kept on disk)."""
    require(redis_server_binary() is not None, "redis-server (Debian package redis-server)")
    server = RedisProcess(tmp_path / "redis", persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def key_prefix() -> str:
    return f"t{secrets.token_hex(4)}:"


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
