from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column
from spacekontext.db.searchable import search_indexes, search_name_column, search_vector


class CadBlock(Timestamps, Base):
    __tablename__ = "cad_blocks"
    __table_args__ = (
        Index("ix_cad_blocks_category_subcategory", "category", "subcategory", "name"),
        *search_indexes("ix_cad_blocks_search", "ix_cad_blocks_name_trgm"),
        Index("ix_cad_blocks_created_by_user_id", "created_by_user_id"),
    )

    id: Mapped[str] = id_column()
    slug: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    subcategory: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    dxf_key: Mapped[str | None] = mapped_column(Text)
    thumbnail_key: Mapped[str | None] = mapped_column(Text)
    width_m: Mapped[float | None] = mapped_column(Float)
    depth_m: Mapped[float | None] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    is_public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_by_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    search: Mapped[str] = search_vector(
        # Unaccented and lower-cased (migration 0006).
        "setweight(to_tsvector('english', app.search_text(coalesce(name, ''))), 'A') || "
        "setweight(to_tsvector('english', "
        "app.search_text(app.immutable_text_array(tags))), 'B') || "
        "setweight(to_tsvector('english', app.search_text(coalesce(category, '') || ' ' || "
        "coalesce(subcategory, ''))), 'C')"
    )
    search_name: Mapped[str] = search_name_column("name")
