"""Build the configured object store from settings (no I/O happens here)."""

from __future__ import annotations

from spacekontext.settings import Settings
from spacekontext.storage.base import ObjectStore
from spacekontext.storage.local import LocalObjectStore
from spacekontext.storage.s3 import S3ObjectStore
from spacekontext.storage.signing import UrlSigner


def public_base_url(settings: Settings) -> str:
    return settings.public_base_url or f"http://{settings.host}:{settings.port}"


def s3_object_store(settings: Settings, bucket: str | None = None) -> S3ObjectStore:
    """The configured S3 endpoint and credentials; the configured bucket unless another is
    named (a backup's)."""
    return S3ObjectStore(
        bucket=settings.s3_bucket if bucket is None else bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        part_size=settings.s3_part_size_bytes,
    )


def build_object_store(settings: Settings) -> ObjectStore:
    if settings.storage_backend == "s3":
        return s3_object_store(settings)
    return LocalObjectStore(
        settings.data_dir / "objects",
        UrlSigner.from_file(settings.data_dir / "storage-url-secret"),
        base_url=public_base_url(settings),
    )
