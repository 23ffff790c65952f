from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column
from spacekontext.db.searchable import search_indexes, search_name_column, search_vector


class Project(Timestamps, Base):
    __tablename__ = "projects"
    __table_args__ = (
        # The dashboard query: a user's projects, newest first, keyset-paginated.
        Index(
            "ix_projects_user_id_created_at", "user_id", text("created_at DESC"), text("id DESC")
        ),
        *search_indexes("ix_projects_search", "ix_projects_name_trgm"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    search: Mapped[str] = search_vector(
        # Unaccented and lower-cased (migration 0006).
        "setweight(to_tsvector('english', app.search_text(coalesce(name, ''))), 'A') || "
        "setweight(to_tsvector('english', app.search_text(coalesce(description, ''))), 'B')"
    )
    search_name: Mapped[str] = search_name_column("name")
