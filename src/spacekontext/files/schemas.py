from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, computed_field, field_validator

from spacekontext.http.schemas import ApiInput, ApiModel, alias_of

ProjectFileType = Literal["dxf", "png", "svg", "gltf", "obj", "pdf"]
ProjectFileCategory = Literal["import", "export", "render"]


def file_url(file_id: str) -> str:
    """Where a stored file's bytes are served (GET /api/files/{id}, same origin, session)."""
    return f"/api/files/{file_id}"


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
    # Read from a StoredFile's `metadata_` (a declarative model's `metadata` is its tables).
    metadata: dict[str, Any] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    created_at: datetime
    updated_at: datetime
    source: Literal["upload"] = "upload"

    # The web client's keys for the same file (its `project_files` items).
    name = alias_of("original_name", str)  # type: ignore[pydantic-field]
    type = alias_of("file_type", str)  # type: ignore[pydantic-field]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return file_url(self.id)

    size = alias_of("size_bytes", int)  # type: ignore[pydantic-field]
    filename = alias_of("safe_name", str)  # type: ignore[pydantic-field]
    uploaded_at = alias_of("created_at", datetime)  # type: ignore[pydantic-field]


class ProjectFileCreate(ApiInput):
    """A file registered with a project by URL (the web client's `project_files`)."""

    name: str = Field(min_length=1, max_length=255)
    type: ProjectFileType
    category: ProjectFileCategory
    url: str = Field(min_length=1, max_length=2048)
    size: int = Field(gt=0, le=2**53)

    @field_validator("url")
    @classmethod
    def _web_url(cls, url: str) -> str:
        # Handed back to browsers (<img src>, window.open): javascript:, data: and the like
        # never get in.
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be an http(s) URL")
        if any(ch.isspace() or ord(ch) < 32 for ch in url):
            raise ValueError("url must not contain whitespace or control characters")
        return url


class ProjectFileRead(ApiModel):
    id: str
    project_id: str
    name: str
    type: str
    category: str
    url: str
    size: int = Field(validation_alias="size_bytes")
    uploaded_at: datetime
    source: Literal["link"] = "link"


class FilePage(ApiModel):
    files: list[FileRead]
    total: int
    limit: int
    offset: int


class ProjectFilePage(ApiModel):
    """A project's files: its uploads and the files registered by URL, newest first."""

    files: list[FileRead | ProjectFileRead]
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
