"""The object store interface. Two real backends implement it: `local` (a directory under the
data dir, with app-served HMAC-signed URLs) and `s3` (boto3: AWS S3, Cloudflare R2, MinIO).
Every backend passes the same contract test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size_bytes: int
    last_modified: datetime | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    url: str
    method: str
    headers: dict[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None


class ObjectStore(Protocol):
    backend: str

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        """Store a stream without holding it whole in memory; raises TooLarge past
        `max_bytes` (and leaves nothing behind), Unavailable when the store is down."""
        ...

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> StoredObject: ...

    async def get_bytes(self, key: str) -> bytes: ...

    def iter_bytes(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]: ...

    async def head(self, key: str) -> ObjectInfo | None: ...

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing key is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> int: ...

    def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]: ...

    async def signed_download_url(
        self, key: str, *, expires_in_s: int, filename: str | None = None
    ) -> str: ...

    async def presigned_upload(
        self, key: str, *, size_bytes: int, content_type: str, expires_in_s: int
    ) -> PresignedUpload: ...

    async def aclose(self) -> None: ...
