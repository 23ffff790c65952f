"""The lean Redis client (cache/resp.py) against a real redis-server: commands, pipelines,
scripts, many callers on one connection, timeouts that keep the reply stream in step, lost
connections, AUTH and SELECT from the URL."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
import redis

from spacekontext.cache.resp import RespClient, RespError
from tests.redisproc import RedisProcess, free_port


@pytest.fixture
async def client(redis_url: str) -> RespClient:
    resp = RespClient.from_url(redis_url)
    yield resp  # type: ignore[misc]
    await resp.aclose()


async def test_commands_round_trip(client: RespClient, key_prefix: str) -> None:
    key = key_prefix + "k"
    assert await client.get(key) is None
    await client.set(key, b"\x00binary\r\n", ex=30)
    assert await client.get(key) == b"\x00binary\r\n"
    assert 0 < await client.execute("TTL", key) <= 30
    assert await client.mget([key, key_prefix + "missing"]) == [b"\x00binary\r\n", None]
    assert await client.incr(key_prefix + "n") == 1
    assert await client.incr(key_prefix + "n") == 2
    assert await client.delete(key, key_prefix + "n") == 2
    assert await client.ping()


async def test_a_pipeline_answers_in_order_with_errors_in_place(
    client: RespClient, key_prefix: str
) -> None:
    await client.set(key_prefix + "text", "not a number")
    replies = await client.pipeline(
        [
            ("SET", key_prefix + "a", "1"),
            ("INCR", key_prefix + "text"),  # an error reply, in place
            ("INCR", key_prefix + "a"),
            ("MGET", key_prefix + "a", key_prefix + "none"),
        ]
    )
    assert replies[0] == b"OK"
    assert isinstance(replies[1], RespError)
    assert replies[2:] == [2, [b"2", None]]
    with pytest.raises(RespError, match="not an integer"):
        await client.incr(key_prefix + "text")
    assert await client.get(key_prefix + "a") == b"2"  # the connection is still in step


async def test_scripts_are_loaded_again_after_a_flush(client: RespClient, key_prefix: str) -> None:
    script = client.register_script("return {KEYS[1], ARGV[1]}")
    assert await script([key_prefix + "k"], ["x"]) == [(key_prefix + "k").encode(), b"x"]
    await client.execute("SCRIPT", "FLUSH")
    assert await script([key_prefix + "k"], ["y"]) == [(key_prefix + "k").encode(), b"y"]
    assert await client.execute("SCRIPT", "EXISTS", script.sha) == [1]


async def test_many_callers_share_one_connection(client: RespClient, key_prefix: str) -> None:
    keys = [f"{key_prefix}c{i}" for i in range(300)]
    await asyncio.gather(*(client.set(key, key) for key in keys))
    values = await asyncio.gather(*(client.get(key) for key in keys))
    assert values == [key.encode() for key in keys]
    clients = await client.execute("CLIENT", "LIST")
    mine = [line for line in clients.decode().splitlines() if "cmd=client" in line]
    assert len(mine) == 1


async def test_a_timed_out_reply_is_dropped_and_the_stream_stays_in_step(
    redis_url: str, key_prefix: str
) -> None:
    client = RespClient.from_url(redis_url, timeout_s=0.25)
    try:
        await client.set(key_prefix + "k", "v")
        with pytest.raises(TimeoutError):
            # Blocks this connection for 0.4 s, then answers nil: that nil must not be taken
            # for the next command's reply.
            await client.execute("BLPOP", key_prefix + "empty", "0.4")
        assert await client.get(key_prefix + "k") == b"v"
    finally:
        await client.aclose()


async def test_a_long_turn_of_the_event_loop_before_the_write_is_not_a_timeout(
    redis_url: str, key_prefix: str
) -> None:
    """A command is queued in one turn of the loop and written in the next; on a busy worker
    that turn can outlast the timeout. Redis answers at once once it is asked, so that is no
    outage: the deadline runs from the write (it used to run from the queueing, and a long
    turn opened the circuit breaker and sent every request to the database)."""
    client = RespClient.from_url(redis_url, timeout_s=0.25)
    try:
        await client.set(key_prefix + "k", "v")
        for _ in range(3):
            reply = asyncio.ensure_future(client.get(key_prefix + "k"))
            await asyncio.sleep(0)  # the GET is queued; its write waits for the next turn
            time.sleep(0.6)  # noqa: ASYNC251 - this turn is busy with other work, on purpose
            assert await reply == b"v"
    finally:
        await client.aclose()


async def test_a_silent_server_times_out() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RespClient("127.0.0.1", port, timeout_s=0.2)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await client.get("k")
        assert asyncio.get_running_loop().time() - started < 1.0
    finally:
        await client.aclose()
        server.close()


async def test_refused_and_lost_connections_are_oserrors_and_it_reconnects(
    private_redis: RedisProcess,
) -> None:
    with pytest.raises(OSError):
        await RespClient("127.0.0.1", free_port(), timeout_s=0.2).get("k")
    client = RespClient.from_url(private_redis.url, timeout_s=0.5)
    try:
        await client.set("k", "before")
        private_redis.kill()
        with pytest.raises(ConnectionError):
            await client.get("k")
        private_redis.start()
        assert await client.get("k") == b"before"  # a new connection (data kept in the AOF)
    finally:
        await client.aclose()


async def test_password_user_and_database_come_from_the_url(private_redis: RedisProcess) -> None:
    admin = redis.Redis(host="127.0.0.1", port=private_redis.port)
    password = secrets.token_hex(8)
    admin.execute_command("ACL", "SETUSER", "app", "on", f">{password}", "~*", "+@all")
    admin.config_set("requirepass", password)
    try:
        named = RespClient.from_url(f"redis://app:{password}@127.0.0.1:{private_redis.port}/3")
        await named.set("k", "in db 3")
        await named.aclose()
        default_user = RespClient.from_url(f"redis://:{password}@127.0.0.1:{private_redis.port}/3")
        assert await default_user.get("k") == b"in db 3"
        await default_user.aclose()
        checked = redis.Redis(host="127.0.0.1", port=private_redis.port, password=password, db=3)
        assert checked.get("k") == b"in db 3"
        assert checked.execute_command("SELECT", 0) and checked.get("k") is None
        checked.close()
        wrong = RespClient.from_url(f"redis://:wrong@127.0.0.1:{private_redis.port}/0")
        with pytest.raises(RespError, match=r"WRONGPASS|invalid"):
            await wrong.get("k")
        await wrong.aclose()
    finally:
        admin.close()


def test_only_redis_urls_are_taken() -> None:
    with pytest.raises(ValueError, match="scheme"):
        RespClient.from_url("http://127.0.0.1:6379/0")
    parsed = RespClient.from_url("rediss://u:p%40ss@cache.internal:6380/2")
    assert (parsed.host, parsed.port, parsed.db) == ("cache.internal", 6380, 2)
