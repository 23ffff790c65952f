from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from spacekontext.http.schemas import ApiInput, ApiModel


class FileRead(ApiModel):
    id: str
    user_id: str
    project_id: str | None
    original_name: str
    safe_name: str
    mime_type: str
    size_bytes: int
    sha256: str | None
    status: str
    file_type: str
    category: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class FilePage(ApiModel):
    files: list[FileRead]
    total: int
    limit: int
    offset: int


class FilePresign(ApiInput):
    project_id: str = Field(min_length=1, max_length=64)
    filename: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=1)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    category: str = Field(default="import", min_length=1, max_length=64)


class PresignedFile(ApiModel):
    file_id: str
    upload_url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime | None


class ReconcileReport(ApiModel):
    objects_checked: int
    rows_checked: int
    orphan_count: int
    dangling_count: int
    orphan_objects: list[str]
    dangling_rows: list[str]
    fixed: bool
