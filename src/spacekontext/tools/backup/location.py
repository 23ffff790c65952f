"""Where a backup lives: a directory, or a prefix in a bucket (`s3://bucket/prefix`). Both are
reached through the object store interface the app uses for its own objects (a local store
rooted at the directory, or the S3 store on the bucket, with the endpoint and credentials of
the S3_* settings), so a backup copies objects between two stores of one interface."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from spacekontext.settings import Settings
from spacekontext.storage.base import ObjectStore, StoredObject
from spacekontext.storage.factory import s3_object_store
from spacekontext.storage.local import LocalObjectStore
from spacekontext.storage.signing import UrlSigner
from spacekontext.tools.backup.manifest import MANIFEST_NAME, Manifest, NotABackup

_FILE_BLOCK = 1024 * 1024


@dataclass
class BackupLocation:
    store: ObjectStore
    prefix: str  # "" or ends with "/"
    # The directory of a directory location: pg_dump writes there and pg_restore reads from
    # there directly, with no copy.
    directory: Path | None
    description: str

    @classmethod
    def parse(cls, target: str, settings: Settings, *, must_exist: bool) -> BackupLocation:
        if target.startswith("s3://"):
            bucket, _, prefix = target.removeprefix("s3://").partition("/")
            if not bucket:
                raise NotABackup(f"{target}: no bucket name")
            prefix = prefix.strip("/")
            bucket_store = s3_object_store(settings, bucket)
            return cls(bucket_store, f"{prefix}/" if prefix else "", None, target)
        directory = Path(target).resolve()
        if must_exist and not directory.is_dir():
            raise NotABackup(f"{target}: no such directory")
        if not must_exist and directory.exists() and not directory.is_dir():
            raise NotABackup(f"{target}: exists and is not a directory")
        # The local store signs URLs for the API; a backup never hands out URLs.
        dir_store = LocalObjectStore(directory, UrlSigner(secrets.token_bytes(32)), base_url="")
        return cls(dir_store, "", directory, str(directory))

    def key(self, name: str) -> str:
        return self.prefix + name

    def local_path(self, name: str) -> Path | None:
        return self.directory / self.key(name) if self.directory is not None else None

    async def is_empty(self) -> bool:
        async for _ in self.store.list(self.prefix):
            return False
        return True

    async def read_manifest(self) -> Manifest:
        if await self.store.head(self.key(MANIFEST_NAME)) is None:
            raise NotABackup(f"{self.description}: no {MANIFEST_NAME}: not a backup")
        return Manifest.from_json(await self.store.get_bytes(self.key(MANIFEST_NAME)))

    async def write_manifest(self, manifest: Manifest) -> None:
        await self.store.put_bytes(
            self.key(MANIFEST_NAME), manifest.to_json(), content_type="application/json"
        )

    async def upload_file(self, name: str, path: Path) -> StoredObject:
        return await self.store.put_stream(
            self.key(name), _file_chunks(path), content_type="application/octet-stream"
        )

    @contextlib.asynccontextmanager
    async def file(self, name: str) -> AsyncIterator[Path]:
        """A local file with the content of `name`: the file itself in a directory location,
        a temporary download from a bucket (pg_restore needs a seekable file to restore in
        parallel)."""
        path = self.local_path(name)
        if path is not None:
            yield path
            return
        with _temporary_dir() as tmp:
            target = tmp / Path(name).name
            fh = await anyio.to_thread.run_sync(target.open, "wb")
            try:
                async for chunk in self.store.iter_bytes(self.key(name)):
                    await anyio.to_thread.run_sync(fh.write, chunk)
            finally:
                await anyio.to_thread.run_sync(fh.close)
            yield target

    async def aclose(self) -> None:
        await self.store.aclose()
        if self.directory is not None:
            # The local store's staging directory for writes; a backup leaves none behind.
            with contextlib.suppress(OSError):
                (self.directory / ".tmp").rmdir()


@contextlib.contextmanager
def _temporary_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="spacekontext-backup-") as name:
        yield Path(name)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    fh = await anyio.to_thread.run_sync(path.open, "rb")
    try:
        while chunk := await anyio.to_thread.run_sync(fh.read, _FILE_BLOCK):
            yield chunk
    finally:
        await anyio.to_thread.run_sync(fh.close)


@contextlib.contextmanager
def staging_file(location: BackupLocation, name: str) -> Iterator[Path]:
    """Where pg_dump writes: into the directory location itself, or a temporary file that is
    then uploaded to the bucket."""
    path = location.local_path(name)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with _temporary_dir() as tmp:
        yield tmp / Path(name).name
