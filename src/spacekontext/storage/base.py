"""The object store interface. Two real backends implement it: `local` (a directory under the
data dir, with app-served HMAC-signed URLs) and `s3` (boto3: AWS S3, Cloudflare R2, MinIO).
Every backend passes the same contract test suite."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from spacekontext.errors import DomainError, NotFound, TooLarge, Unavailable
from spacekontext.observability.metrics import STORAGE_OPERATIONS

# Room for the multipart framing and the small fields around an uploaded file.
FORM_OVERHEAD_BYTES = 64 * 1024


def upload_too_large(limit_bytes: int) -> TooLarge:
    """The one answer to an upload over its limit (`MAX_UPLOAD_BYTES`, or the size a presigned
    URL was signed for), wherever it is noticed: the declared length, the streamed body, the
    store's write, a presign request."""
    return TooLarge(
        f"the upload exceeds {limit_bytes} bytes",
        code="upload_too_large",
        details={"limitBytes": limit_bytes},
    )


def upload_body_limit(max_upload_bytes: int) -> int:
    """What a multipart upload's whole body may hold: the file at its limit plus the form."""
    return max_upload_bytes + FORM_OVERHEAD_BYTES


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


# --- operation counts -----------------------------------------------------------------------------
# Every backend counts its interface operations (not the HTTP calls under them: a multipart
# upload is one `put`) in `spacekontext_storage_operations_total{backend, operation, result}`.
# result: ok, not_found, refused (a domain refusal such as a size limit), error (the store
# failed or is unreachable), cancelled (the caller went away).

P = ParamSpec("P")
R = TypeVar("R")
Y = TypeVar("Y")
Method = Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]


def _result_of(exc: BaseException) -> str:
    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, DomainError) and not isinstance(exc, Unavailable):
        return "refused"
    if isinstance(exc, Exception):
        return "error"
    return "cancelled"


def counted(operation: str) -> Callable[[Method[P, R]], Method[P, R]]:
    """Count a coroutine method of a store (`self.backend` labels it). A `head` that finds
    nothing (returns None) counts as not_found."""

    def wrap(method: Method[P, R]) -> Method[P, R]:
        @functools.wraps(method)
        async def run(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                value = await method(self, *args, **kwargs)
            except BaseException as exc:
                STORAGE_OPERATIONS.labels(self.backend, operation, _result_of(exc)).inc()
                raise
            result = "not_found" if value is None and operation == "head" else "ok"
            STORAGE_OPERATIONS.labels(self.backend, operation, result).inc()
            return value

        return run

    return wrap


def counted_iter(
    operation: str,
) -> Callable[
    [Callable[Concatenate[Any, P], AsyncIterator[Y]]],
    Callable[Concatenate[Any, P], AsyncIterator[Y]],
]:
    """Count an async-generator method of a store once, when it ends. A consumer that stops
    early (a sniff of the first bytes) ends it normally: ok."""

    def wrap(
        method: Callable[Concatenate[Any, P], AsyncIterator[Y]],
    ) -> Callable[Concatenate[Any, P], AsyncIterator[Y]]:
        @functools.wraps(method)
        async def run(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Y]:
            result = "ok"
            try:
                async for item in method(self, *args, **kwargs):
                    yield item
            except GeneratorExit:
                raise
            except BaseException as exc:
                result = _result_of(exc)
                raise
            finally:
                STORAGE_OPERATIONS.labels(self.backend, operation, result).inc()

        return run

    return wrap


class ObjectStore(Protocol):
    backend: str

    @counted("put")
    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        """Store a stream without holding it whole in memory; raises TooLarge past
        `max_bytes` (and leaves nothing behind), Unavailable when the store is down.

        Shared by the backends (they subclass this protocol): the limit is checked here, on
        each chunk before the backend sees it; the backend stores what it is handed."""
        return await self._put_chunks(
            key, _within_limit(chunks, max_bytes), content_type=content_type
        )

    async def _put_chunks(
        self, key: str, chunks: AsyncIterator[bytes], *, content_type: str
    ) -> StoredObject:
        """The backend's write of a stream; an error while it reads `chunks` leaves
        nothing behind."""
        ...

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> StoredObject: ...

    async def get_bytes(self, key: str) -> bytes: ...

    def iter_bytes(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]: ...

    async def head(self, key: str) -> ObjectInfo | None: ...

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing key is not an error."""
        ...

    async def move(self, source: str, target: str) -> bool:
        """Put the object at `source` under `target` and remove it from `source`, unless
        `target` already holds an object: then nothing changes and the answer is False (an
        object, once in place, is never replaced this way). NotFound when `source` is empty."""
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


async def _within_limit(
    chunks: AsyncIterator[bytes], max_bytes: int | None
) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise upload_too_large(max_bytes)
        yield chunk


def require_store(store: ObjectStore | None) -> ObjectStore:
    """The store of a service built without one (some commands and tests) is a 503, not a
    crash."""
    if store is None:
        raise Unavailable("object storage is not configured", code="storage_unavailable")
    return store
