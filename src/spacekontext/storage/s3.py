"""The S3 backend (AWS S3, Cloudflare R2, MinIO, any S3-compatible endpoint) through boto3.

boto3 is blocking. Every call runs in a worker thread (`anyio.to_thread`), bounded by a
capacity limiter of the same size as the client's connection pool: a slow or stalled endpoint
then ties up at most that many threads and connections, and the event loop keeps serving other
requests. The client itself is thread-safe and shared.

Uploads are streamed: bodies up to `part_size` go in one PUT; larger ones become a multipart
upload whose parts are sent as soon as they fill, so at most two parts (the one being sent
and the one filling) are in memory per upload, whatever the file size. A failed or refused
upload is aborted, which leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from spacekontext.errors import NotFound, Unavailable
from spacekontext.storage.base import (
    ObjectInfo,
    ObjectStore,
    PresignedUpload,
    StoredObject,
    counted,
    counted_iter,
)

T = TypeVar("T")

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's floor for every part but the last
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError"}


def _translate(exc: Exception) -> Exception:
    original: Exception = exc  # botocore is untyped: keep the declared type for the fallthrough
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND_CODES:
            return NotFound("object not found")
        if status >= 500 or code in _UNAVAILABLE_CODES or code == "NoSuchBucket":
            return Unavailable(
                "the object store is unavailable", code="storage_unavailable", details={"s3": code}
            )
        return original
    if isinstance(exc, BotoCoreError):
        return Unavailable(
            "the object store is unreachable",
            code="storage_unavailable",
            details={"s3": type(exc).__name__},
            headers={"Retry-After": "5"},
        )
    return original


class S3ObjectStore(ObjectStore):
    backend = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        part_size: int = 8 * 1024 * 1024,
        max_concurrency: int = 16,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.part_size = part_size
        config = Config(
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=3,
            read_timeout=60,
            max_pool_connections=max_concurrency,
            # Custom endpoints (MinIO, R2, test servers) rarely have wildcard DNS per bucket.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        self._limiter = anyio.CapacityLimiter(max_concurrency)

    async def _call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        try:
            return await anyio.to_thread.run_sync(
                functools.partial(fn, *args, **kwargs), limiter=self._limiter
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc) from exc

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests; production buckets
        are provisioned with their policies beforehand)."""
        try:
            await self._call(self._client.head_bucket, Bucket=self.bucket)
        except (NotFound, ClientError):
            await self._call(self._client.create_bucket, Bucket=self.bucket)

    async def _put_chunks(
        self, key: str, chunks: AsyncIterator[bytes], *, content_type: str
    ) -> StoredObject:
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        in_flight: asyncio.Task[None] | None = None

        def send_part(number: int, body: bytes) -> None:
            # Runs in a worker thread; parts are hashed in order because only one is in flight.
            digest.update(body)
            response = self._client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
            parts.append({"PartNumber": number, "ETag": response["ETag"]})

        async def start_part(body: bytes) -> None:
            nonlocal upload_id, in_flight
            if upload_id is None:
                created = await self._call(
                    self._client.create_multipart_upload,
                    Bucket=self.bucket,
                    Key=key,
                    ContentType=content_type,
                )
                upload_id = created["UploadId"]
            if in_flight is not None:
                await in_flight
            number = len(parts) + 1
            in_flight = asyncio.create_task(self._call(send_part, number, body))

        try:
            async for chunk in chunks:
                size += len(chunk)
                buffer += chunk
                if len(buffer) >= self.part_size:
                    body = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    await start_part(body)
            if upload_id is None:
                body = bytes(buffer)
                digest.update(body)
                await self._put_object(key, body, content_type)
            else:
                if buffer:
                    await start_part(bytes(buffer))
                    buffer.clear()
                assert in_flight is not None
                await in_flight
                in_flight = None
                await self._call(
                    self._client.complete_multipart_upload,
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": sorted(parts, key=lambda p: p["PartNumber"])},
                )
        except BaseException:
            with anyio.CancelScope(shield=True):
                if in_flight is not None:
                    await asyncio.gather(in_flight, return_exceptions=True)
                if upload_id is not None:
                    await self._abort(key, upload_id)
            raise
        return StoredObject(key=key, size_bytes=size, sha256=digest.hexdigest())

    async def _put_object(self, key: str, body: bytes, content_type: str) -> None:
        put = self._client.put_object
        await self._call(put, Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    async def _abort(self, key: str, upload_id: str) -> None:
        # Best effort: if the store is down, its lifecycle rule for incomplete multipart
        # uploads (recommended in docs/storage.md) collects the parts.
        with contextlib.suppress(Exception):
            await self._call(
                self._client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id
            )

    @counted("put")
    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> StoredObject:
        await self._put_object(key, data, content_type)
        return StoredObject(key=key, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    @counted("get")
    async def get_bytes(self, key: str) -> bytes:
        response = await self._call(self._client.get_object, Bucket=self.bucket, Key=key)
        body = response["Body"]
        try:
            data: bytes = await self._call(body.read)
        finally:
            body.close()
        return data

    @counted_iter("get")
    async def iter_bytes(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        response = await self._call(self._client.get_object, Bucket=self.bucket, Key=key)
        body = response["Body"]
        try:
            while chunk := await self._call(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    @counted("head")
    async def head(self, key: str) -> ObjectInfo | None:
        try:
            response = await self._call(self._client.head_object, Bucket=self.bucket, Key=key)
        except NotFound:
            return None
        return ObjectInfo(
            key=key,
            size_bytes=int(response["ContentLength"]),
            last_modified=response.get("LastModified"),
            content_type=response.get("ContentType"),
        )

    @counted("delete")
    async def delete(self, key: str) -> None:
        await self._call(self._client.delete_object, Bucket=self.bucket, Key=key)

    @counted("move")
    async def move(self, source: str, target: str) -> bool:
        # S3 has no rename: a server-side copy (multipart past 5 GB, by boto3's managed
        # transfer), then the source removed. "Unless the target exists" is a HEAD before the
        # copy: S3's conditional writes do not cover copies everywhere (nor does moto).
        if await self.head(target) is not None:
            return False
        await self._call(
            self._client.copy,
            {"Bucket": self.bucket, "Key": source},
            self.bucket,
            target,
        )
        await self._call(self._client.delete_object, Bucket=self.bucket, Key=source)
        return True

    @counted("delete_prefix")
    async def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise ValueError("refusing to delete the whole bucket")
        deleted = 0
        while True:
            # Always list from the start: what was deleted no longer appears.
            page = await self._call(
                self._client.list_objects_v2, Bucket=self.bucket, Prefix=prefix, MaxKeys=1000
            )
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not keys:
                return deleted
            await self._call(
                self._client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": keys, "Quiet": True},
            )
            deleted += len(keys)

    @counted_iter("list")
    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": 1000}
            if token:
                kwargs["ContinuationToken"] = token
            page = await self._call(self._client.list_objects_v2, **kwargs)
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    key=item["Key"],
                    size_bytes=int(item["Size"]),
                    last_modified=item.get("LastModified"),
                )
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    async def signed_download_url(
        self, key: str, *, expires_in_s: int, filename: str | None = None
    ) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        # Presigning is local computation (no request), cheap enough to run inline.
        url: str = self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in_s
        )
        return url

    async def presigned_upload(
        self, key: str, *, size_bytes: int, content_type: str, expires_in_s: int
    ) -> PresignedUpload:
        url: str = self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in_s,
        )
        return PresignedUpload(
            url=url,
            method="PUT",
            headers={"Content-Type": content_type},
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in_s),
        )

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._client.close)
