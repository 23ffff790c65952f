"""The load generator's own HTTP/1.1 client, against real sockets on loopback: answers with a
length or chunked, kept-alive connections the server closed while the user was thinking, and
the first node of a floorplan found in PostgreSQL's jsonb text without a parse."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import orjson
import pytest

from spacekontext.tools.loadtest.client import ConnectionClosed, UserConnection
from spacekontext.tools.loadtest.scenario import _first_node, _first_node_found, _multipart
from spacekontext.tools.seed.documents import floorplan

Reply = Callable[[bytes], bytes]


async def _server(reply: Reply, *, close_after: int | None = None) -> AsyncIterator[int]:
    """A loopback server that reads one request head (and a Content-Length body) at a time
    and answers with `reply(request)`; closes each connection after `close_after` answers."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while close_after is None or served < close_after:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                writer.write(reply(head + body))
                await writer.drain()
                served += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def _fixed(status: int, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b'HTTP/1.1 %d X\r\ncontent-length: %d\r\netag: "7"\r\n' % (status, len(body))
        + extra
        + b"\r\n"
        + body
    )


async def test_answers_with_a_length_come_back_whole_on_one_connection() -> None:
    seen: list[bytes] = []

    def reply(request: bytes) -> bytes:
        seen.append(request)
        return _fixed(200, b'{"ok":' + str(len(seen)).encode() + b"}")

    async for port in _server(reply):
        connection = UserConnection("127.0.0.1", port, 5)
        for i in range(1, 4):
            answer = await connection.exchange(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
            assert (answer.status, answer.body, answer.etag) == (200, b'{"ok":%d}' % i, '"7"')
        body = b'{"a":1}'
        answer = await connection.exchange(
            b"PATCH /y HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\n" + body
        )
        assert seen[-1].endswith(body)
        connection.close()


async def test_chunked_answers_are_reassembled() -> None:
    def reply(_request: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
        )

    async for port in _server(reply):
        connection = UserConnection("127.0.0.1", port, 5)
        answer = await connection.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert answer.body == b"hello world"
        connection.close()


async def test_a_connection_closed_while_idle_is_reopened_and_the_request_sent_again() -> None:
    count = 0

    def reply(_request: bytes) -> bytes:
        nonlocal count
        count += 1
        return _fixed(200, b"%d" % count)

    # The server closes every connection after one answer, as a keep-alive timeout would.
    async for port in _server(reply, close_after=1):
        connection = UserConnection("127.0.0.1", port, 5)
        first = await connection.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.sleep(0.05)  # the close arrives while the user thinks
        second = await connection.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert (first.body, second.body) == (b"1", b"2")
        connection.close()


async def test_a_server_that_closes_mid_answer_is_an_error_not_a_retry() -> None:
    def reply(_request: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort"

    async for port in _server(reply, close_after=1):
        connection = UserConnection("127.0.0.1", port, 5)
        with pytest.raises(ConnectionClosed):
            await connection.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")


async def test_a_silent_server_times_out() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        connection = UserConnection("127.0.0.1", server.sockets[0].getsockname()[1], 0.2)
        with pytest.raises(TimeoutError):
            await connection.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")


def test_the_first_node_is_found_in_jsonb_text_as_a_parse_finds_it() -> None:
    document = floorplan(random.Random(4), target_bytes=60_000)
    # PostgreSQL's jsonb text: keys by length then bytes, ", " and ": " separators.
    nodes = {
        k: dict(sorted(v.items(), key=lambda kv: (len(kv[0]), kv[0])))
        for k, v in document["nodes"].items()
    }
    text = orjson.dumps({"edges": document["edges"], "nodes": nodes}).replace(b'":', b'": ')
    body = b'{"success":true,"floorplan":{"id":"f1","data":' + text + b"}}"
    assert _first_node_found(body) == _first_node(orjson.loads(body))
    assert _first_node_found(b'{"floorplan":{"data":{"nodes":{}}}}') is None


def test_the_first_node_is_found_in_the_canonical_text_as_a_parse_finds_it() -> None:
    # What a save stores (a json column): keys sorted, so `connectedEdges` comes first.
    document = floorplan(random.Random(5), target_bytes=60_000)
    text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    body = b'{"success":true,"floorplan":{"id":"f2","data":' + text + b"}}"
    found = _first_node_found(body)
    assert found is not None
    assert found == _first_node(orjson.loads(body))


def test_multipart_bodies_are_well_formed() -> None:
    body = _multipart(
        "b0", {"projectId": "p1"}, filename="a.dxf", content_type="image/vnd.dxf", content=b"0\n"
    )
    assert body == (
        b'--b0\r\nContent-Disposition: form-data; name="projectId"\r\n\r\np1\r\n'
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.dxf"\r\n'
        b"Content-Type: image/vnd.dxf\r\n\r\n0\n\r\n--b0--\r\n"
    )
