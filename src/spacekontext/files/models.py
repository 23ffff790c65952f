from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column
from spacekontext.db.searchable import search_indexes, search_name_column, search_vector

FILE_STATUSES = ("pending", "ready", "failed")


class StoredFile(Timestamps, Base):
    __tablename__ = "files"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'ready', 'failed')", name="status_valid"),
        CheckConstraint("size_bytes >= 0", name="size_non_negative"),
        Index("ix_files_user_id_category", "user_id", "category"),
        Index("ix_files_project_id_category", "project_id", "category"),
        # The sweeper's query: stale pending uploads.
        Index(
            "ix_files_pending_created_at",
            "created_at",
            postgresql_where=text("status = 'pending'"),
        ),
        *search_indexes("ix_files_search", "ix_files_original_name_trgm"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    original_name: Mapped[str] = mapped_column(Text, nullable=False)
    safe_name: Mapped[str] = mapped_column(String(255), nullable=False)
    mime_type: Mapped[str] = mapped_column(String(255), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    file_type: Mapped[str] = mapped_column(String(32), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    search: Mapped[str] = search_vector(
        # Names split into words on any non-alphanumeric ("site-plan_v2.dxf" is four
        # words) and stemmed, unaccented and lower-cased; see migrations 0002 and 0006.
        "setweight(to_tsvector('english', regexp_replace("
        "app.search_text(coalesce(original_name, '')), '[^[:alnum:]]+', ' ', 'g')), 'A') || "
        "setweight(to_tsvector('english', app.search_text(coalesce(category, ''))), 'B')"
    )
    search_name: Mapped[str] = search_name_column("original_name")


PROJECT_FILE_TYPES = ("dxf", "png", "svg", "gltf", "obj", "pdf")
PROJECT_FILE_CATEGORIES = ("import", "export", "render")


class ProjectFile(Base):
    """A file registered with a project by URL (the web client's `project_files`): an export or
    a render kept elsewhere, listed beside the project's uploads."""

    __tablename__ = "project_files"
    __table_args__ = (
        CheckConstraint("type IN ('dxf', 'png', 'svg', 'gltf', 'obj', 'pdf')", name="type_valid"),
        CheckConstraint("category IN ('import', 'export', 'render')", name="category_valid"),
        # Only web URLs: never javascript:, data: or file: links handed back to a browser.
        CheckConstraint("url ~ '^https?://'", name="url_http"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        Index("ix_project_files_project_id_uploaded_at", "project_id", "uploaded_at"),
    )

    id: Mapped[str] = id_column()
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(8), nullable=False)
    category: Mapped[str] = mapped_column(String(16), nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
