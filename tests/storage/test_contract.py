"""One contract, two real backends: the local directory and an S3-compatible server."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import httpx
import pytest

from spacekontext.errors import Forbidden, Invalid, NotFound, TooLarge
from spacekontext.storage.base import ObjectStore
from spacekontext.storage.local import LocalObjectStore
from tests.storage.conftest import BASE_URL, PART_SIZE


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def fetch_url(store: ObjectStore, url: str, api: httpx.AsyncClient | None = None) -> bytes:
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("size", [0, 1000, PART_SIZE * 2 + 12345])
async def test_put_stream_round_trip(store: ObjectStore, size: int) -> None:
    # The large case crosses the S3 part size: a multipart upload of three parts.
    data = secrets.token_bytes(size)
    stored = await store.put_stream("users/u/a/file.bin", chunked(data), content_type="x/y")
    assert stored.size_bytes == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await store.get_bytes("users/u/a/file.bin") == data
    streamed = b"".join([c async for c in store.iter_bytes("users/u/a/file.bin")])
    assert streamed == data
    info = await store.head("users/u/a/file.bin")
    assert info is not None
    assert info.size_bytes == size


async def test_over_the_limit_is_refused_and_leaves_nothing(store: ObjectStore) -> None:
    data = secrets.token_bytes(PART_SIZE + 100_000)
    with pytest.raises(TooLarge):
        await store.put_stream(
            "users/u/big.bin", chunked(data), content_type="x/y", max_bytes=PART_SIZE + 1000
        )
    assert await store.head("users/u/big.bin") is None
    assert [info.key async for info in store.list("")] == []


async def test_a_failing_stream_leaves_nothing(store: ObjectStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield secrets.token_bytes(PART_SIZE + 10)  # one whole part sent already
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await store.put_stream("users/u/broken.bin", broken(), content_type="x/y")
    assert await store.head("users/u/broken.bin") is None
    assert [info.key async for info in store.list("")] == []


async def test_missing_objects(store: ObjectStore) -> None:
    assert await store.head("users/u/none") is None
    with pytest.raises(NotFound):
        await store.get_bytes("users/u/none")
    await store.delete("users/u/none")  # idempotent


async def test_move_never_replaces_an_object_in_place(store: ObjectStore) -> None:
    await store.put_bytes("m/_staging/a", b"first", content_type="application/pdf")
    assert await store.move("m/_staging/a", "m/a") is True
    assert await store.head("m/_staging/a") is None
    assert await store.get_bytes("m/a") == b"first"
    await store.put_bytes("m/_staging/a", b"second", content_type="application/pdf")
    assert await store.move("m/_staging/a", "m/a") is False
    assert await store.get_bytes("m/a") == b"first"
    await store.delete("m/_staging/a")
    with pytest.raises(NotFound):
        await store.move("m/_staging/a", "m/b")
    assert [info.key async for info in store.list("m/")] == ["m/a"]


async def test_list_is_bytewise_sorted_and_prefix_deletion_is_scoped(store: ObjectStore) -> None:
    keys = ["users/u/p/a-b/x", "users/u/p/a/x", "users/u/p/a.c", "users/u/q/z", "users/v/p/a"]
    for key in keys:
        await store.put_bytes(key, key.encode(), content_type="text/plain")
    listed = [info.key async for info in store.list("users/u/")]
    assert listed == sorted(keys[:4], key=str.encode)
    assert [info.key async for info in store.list("users/u/p/a")] == sorted(
        ["users/u/p/a-b/x", "users/u/p/a/x", "users/u/p/a.c"], key=str.encode
    )
    assert await store.delete_prefix("users/u/p/") == 3
    assert [info.key async for info in store.list("users/")] == ["users/u/q/z", "users/v/p/a"]


async def test_signed_download_url(store: ObjectStore, api: httpx.AsyncClient) -> None:
    data = secrets.token_bytes(5000)
    await store.put_bytes("users/u/plan.pdf", data, content_type="application/pdf")
    url = await store.signed_download_url("users/u/plan.pdf", expires_in_s=60, filename="plan.pdf")
    if url.startswith(BASE_URL):
        response = await api.get(url.removeprefix(BASE_URL))
    else:
        async with httpx.AsyncClient() as http:
            response = await http.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert "plan.pdf" in response.headers["content-disposition"]


async def test_presigned_upload(store: ObjectStore, api: httpx.AsyncClient) -> None:
    data = secrets.token_bytes(7000)
    target = await store.presigned_upload(
        "users/u/direct.png", size_bytes=len(data), content_type="image/png", expires_in_s=60
    )
    assert target.method == "PUT"
    if target.url.startswith(BASE_URL):
        response = await api.put(
            target.url.removeprefix(BASE_URL), content=data, headers=target.headers
        )
    else:
        async with httpx.AsyncClient() as http:
            response = await http.put(target.url, content=data, headers=target.headers)
    assert response.status_code == 200, response.text
    info = await store.head("users/u/direct.png")
    assert info is not None
    assert info.size_bytes == len(data)
    assert await store.get_bytes("users/u/direct.png") == data


# --- the local backend's own signatures ----------------------------------------------------


@pytest.mark.parametrize("store_backend", ["local"])
async def test_local_signed_urls_refuse_tampering_and_expiry(
    store: ObjectStore, api: httpx.AsyncClient
) -> None:
    assert isinstance(store, LocalObjectStore)
    await store.put_bytes("users/u/a.pdf", b"%PDF-1.4 secret", content_type="application/pdf")
    await store.put_bytes("users/u/b.pdf", b"%PDF-1.4 other", content_type="application/pdf")
    url = (await store.signed_download_url("users/u/a.pdf", expires_in_s=60)).removeprefix(BASE_URL)
    assert (await api.get(url)).status_code == 200

    other_key = url.replace("a.pdf", "b.pdf")
    response = await api.get(other_key)
    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid"

    longer = url.replace("expires=", "expires=9")
    assert (await api.get(longer)).json()["code"] == "signature_invalid"

    unsigned = url.partition("?")[0]
    assert (await api.get(unsigned)).json()["code"] == "signature_missing"

    expired = await store.signed_download_url("users/u/a.pdf", expires_in_s=-1)
    response = await api.get(expired.removeprefix(BASE_URL))
    assert response.status_code == 403
    assert response.json()["code"] == "signature_expired"

    # A signed GET is not a signed PUT.
    assert (await api.put(url, content=b"overwrite")).json()["code"] == "signature_invalid"
    assert await store.get_bytes("users/u/a.pdf") == b"%PDF-1.4 secret"


@pytest.mark.parametrize("store_backend", ["local"])
async def test_local_presigned_put_enforces_its_size(
    store: ObjectStore, api: httpx.AsyncClient
) -> None:
    target = await store.presigned_upload(
        "users/u/small.png", size_bytes=100, content_type="image/png", expires_in_s=60
    )
    response = await api.put(target.url.removeprefix(BASE_URL), content=b"x" * 101)
    assert response.status_code == 413
    assert await store.head("users/u/small.png") is None


@pytest.mark.parametrize("store_backend", ["local"])
@pytest.mark.parametrize("key", ["../escape", "users/../../etc/passwd", "/abs", "a//b", ".tmp/x"])
async def test_local_refuses_keys_outside_its_root(store: ObjectStore, key: str) -> None:
    with pytest.raises(Invalid):
        await store.put_bytes(key, b"x", content_type="text/plain")


def test_signature_checks_expiry_against_the_clock() -> None:
    from spacekontext.storage.signing import UrlSigner

    signer = UrlSigner(b"k" * 32)
    query = signer.sign("GET", "users/a", {}, expires_at=int(time.time()) + 10)
    assert signer.verify("GET", "users/a", query)["expires"] == query["expires"]
    with pytest.raises(Forbidden):
        signer.verify("GET", "users/a", query, now=time.time() + 11)


@pytest.mark.parametrize(("size", "hops"), [(1000, 1), (3 * 1024 * 1024 + 5, 7)])
async def test_local_store_writes_a_small_object_in_one_thread_hop(
    local_store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch, size: int, hops: int
) -> None:
    # Each hop to a worker thread waits for a thread and then for the event loop: an object
    # that fits in the first block is written, hashed and moved in one; a larger one streams
    # (open, four writes, close, move) and leaves no clean-up hop after its move.
    calls = 0
    run_sync = anyio.to_thread.run_sync

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await run_sync(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    data = secrets.token_bytes(size)
    stored = await local_store.put_stream("users/u/small.dxf", chunked(data), content_type="x/y")
    assert calls == hops
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await local_store.get_bytes("users/u/small.dxf") == data
    assert list((local_store.root / ".tmp").iterdir()) == []
