"""The local backend: objects are files under a directory of the data dir, served by the app
itself through expiring HMAC-signed URLs (`/api/storage/local/{key}`), so clients follow the
same signed-URL flow as with S3.

Writes go to a temporary file that is renamed into place once complete: a reader never sees a
half-written object and a failed or refused upload leaves nothing behind. File I/O runs in worker
threads in blocks of `_BLOCK` bytes so that the event loop never waits on the disk."""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread

from spacekontext.errors import Invalid, NotFound, Unavailable
from spacekontext.storage.base import (
    ObjectInfo,
    ObjectStore,
    PresignedUpload,
    StoredObject,
    counted,
    counted_iter,
)
from spacekontext.storage.signing import UrlSigner

ROUTE = "/api/storage/local/"
_BLOCK = 1024 * 1024
_TMP_DIR = ".tmp"


def _check_key(key: str) -> None:
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") for part in parts)
        or parts[0] == _TMP_DIR
    ):
        raise Invalid("invalid object key", code="invalid_key")


class LocalObjectStore(ObjectStore):
    backend = "local"

    def __init__(self, root: Path, signer: UrlSigner, *, base_url: str) -> None:
        self.root = root.resolve()
        self._signer = signer
        self._base_url = base_url.rstrip("/")
        (self.root / _TMP_DIR).mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    async def _put_chunks(
        self, key: str, chunks: AsyncIterator[bytes], *, content_type: str
    ) -> StoredObject:
        target = self._path(key)
        tmp = self.root / _TMP_DIR / f"{secrets.token_hex(12)}.part"
        digest = hashlib.sha256()
        size = 0
        block = bytearray()
        stream = aiter(chunks)
        # The first block is read before any file is opened: an object that fits in it (most
        # uploads: a drawing, a thumbnail) is written, hashed and moved into place in one hop
        # to a worker thread. Each hop waits for a thread and then for the event loop to take
        # it back, which under load cost more than the write: an upload made five (open,
        # write, close, move, clean-up) and its p99 was the worst of the capacity test's.
        async for chunk in stream:
            size += len(chunk)
            block += chunk
            if len(block) >= _BLOCK:
                break
        else:
            try:
                await anyio.to_thread.run_sync(_write_whole, tmp, target, digest, bytes(block))
            except OSError as exc:
                raise Unavailable(
                    "the object store cannot write", code="storage_unavailable"
                ) from exc
            return StoredObject(key=key, size_bytes=size, sha256=digest.hexdigest())
        placed = False
        try:
            fh: BinaryIO = await anyio.to_thread.run_sync(tmp.open, "wb")
            try:
                await anyio.to_thread.run_sync(_write, fh, digest, bytes(block))
                block.clear()
                async for chunk in stream:
                    size += len(chunk)
                    block += chunk
                    if len(block) >= _BLOCK:
                        await anyio.to_thread.run_sync(_write, fh, digest, bytes(block))
                        block.clear()
                if block:
                    await anyio.to_thread.run_sync(_write, fh, digest, bytes(block))
            finally:
                await anyio.to_thread.run_sync(fh.close)
            await anyio.to_thread.run_sync(_move_into_place, tmp, target)
            placed = True
        except OSError as exc:
            raise Unavailable("the object store cannot write", code="storage_unavailable") from exc
        finally:
            if not placed:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(_unlink_quietly, tmp)
        return StoredObject(key=key, size_bytes=size, sha256=digest.hexdigest())

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> StoredObject:
        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.put_stream(key, one(), content_type=content_type)

    @counted("get")
    async def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError as exc:
            raise NotFound("object not found") from exc

    @counted_iter("get")
    async def iter_bytes(self, key: str, *, chunk_size: int = _BLOCK) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            fh: BinaryIO = await anyio.to_thread.run_sync(path.open, "rb")
        except FileNotFoundError as exc:
            raise NotFound("object not found") from exc
        try:
            while chunk := await anyio.to_thread.run_sync(fh.read, chunk_size):
                yield chunk
        finally:
            await anyio.to_thread.run_sync(fh.close)

    @counted("head")
    async def head(self, key: str) -> ObjectInfo | None:
        return await self._head(key)

    async def _head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            stat = await anyio.to_thread.run_sync(path.stat)
        except FileNotFoundError:
            return None
        return ObjectInfo(
            key=key,
            size_bytes=stat.st_size,
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            content_type=mimetypes.guess_type(key)[0] or "application/octet-stream",
        )

    @counted("delete")
    async def delete(self, key: str) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(self._remove, path)

    @counted("move")
    async def move(self, source: str, target: str) -> bool:
        source_path, target_path = self._path(source), self._path(target)

        def link_then_unlink() -> bool:
            target_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                # A hard link is created only where no file is: atomic "move if absent".
                os.link(source_path, target_path)
            except FileNotFoundError as exc:
                raise NotFound("object not found") from exc
            except FileExistsError:
                return False
            self._remove(source_path)
            return True

        return await anyio.to_thread.run_sync(link_then_unlink)

    def _remove(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Drop the directories the object leaves empty, so that prefixes disappear as in S3.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    @counted("delete_prefix")
    async def delete_prefix(self, prefix: str) -> int:
        # The internals, not the counted methods: one delete_prefix counts once.
        keys = await anyio.to_thread.run_sync(_keys_under, self.root, prefix)
        for key in keys:
            await anyio.to_thread.run_sync(self._remove, self._path(key))
        return len(keys)

    @counted_iter("list")
    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        # Keys sorted byte-wise, as S3 lists them (reconciliation merges on that order).
        keys = await anyio.to_thread.run_sync(_keys_under, self.root, prefix)
        for key in keys:
            info = await self._head(key)
            if info is not None:
                yield info

    def _url(self, key: str, params: dict[str, str]) -> str:
        return f"{self._base_url}{ROUTE}{quote(key)}?{urlencode(params)}"

    async def signed_download_url(
        self, key: str, *, expires_in_s: int, filename: str | None = None
    ) -> str:
        _check_key(key)
        params = {"filename": filename} if filename else {}
        signed = self._signer.sign("GET", key, params, expires_at=int(time.time()) + expires_in_s)
        return self._url(key, signed)

    async def presigned_upload(
        self, key: str, *, size_bytes: int, content_type: str, expires_in_s: int
    ) -> PresignedUpload:
        _check_key(key)
        expires_at = int(time.time()) + expires_in_s
        params = {"size": str(size_bytes), "contentType": content_type}
        signed = self._signer.sign("PUT", key, params, expires_at=expires_at)
        return PresignedUpload(
            url=self._url(key, signed),
            method="PUT",
            headers={"Content-Type": content_type},
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    def verify(self, method: str, key: str, query: dict[str, str]) -> dict[str, str]:
        """Check a signed URL of this store (raises Forbidden); returns its parameters."""
        _check_key(key)
        return self._signer.verify(method, key, query)

    async def aclose(self) -> None:
        return None


def _write(fh: BinaryIO, digest: hashlib._Hash, block: bytes) -> None:
    digest.update(block)
    fh.write(block)


def _write_whole(tmp: Path, target: Path, digest: hashlib._Hash, data: bytes) -> None:
    """A whole object in one go (in a worker thread): written beside the store, then moved
    into place, so that no reader sees it half written; nothing is left behind on failure."""
    digest.update(data)
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
        _move_into_place(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _move_into_place(tmp: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(target)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _keys_under(root: Path, prefix: str) -> list[str]:
    directory = prefix.rpartition("/")[0]
    start = root / directory if directory else root
    if ".." in directory.split("/") or not start.is_dir():
        return []
    keys = []
    for dirpath, dirnames, filenames in os.walk(start):
        if Path(dirpath) == root and _TMP_DIR in dirnames:
            dirnames.remove(_TMP_DIR)
        for name in filenames:
            key = (Path(dirpath) / name).relative_to(root).as_posix()
            if key.startswith(prefix):
                keys.append(key)
    return sorted(keys, key=lambda k: k.encode())
