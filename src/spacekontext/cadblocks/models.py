from __future__ import annotations

from sqlalchemy import Boolean, Computed, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column


class CadBlock(Timestamps, Base):
    __tablename__ = "cad_blocks"
    __table_args__ = (
        Index("ix_cad_blocks_category_subcategory", "category", "subcategory", "name"),
        Index("ix_cad_blocks_search", "search", postgresql_using="gin"),
        Index(
            "ix_cad_blocks_name_trgm",
            text("search_name gin_trgm_ops"),
            postgresql_using="gin",
        ),
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
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            # Unaccented and lower-cased (migration 0006).
            "setweight(to_tsvector('english', app.search_text(coalesce(name, ''))), 'A') || "
            "setweight(to_tsvector('english', "
            "app.search_text(app.immutable_text_array(tags))), 'B') || "
            "setweight(to_tsvector('english', app.search_text(coalesce(category, '') || ' ' || "
            "coalesce(subcategory, ''))), 'C')",
            persisted=True,
        ),
        deferred=True,
    )
    # The name unaccented and lower-cased, for trigram near misses (migration 0007).
    search_name: Mapped[str] = mapped_column(
        Text,
        Computed("app.search_text(coalesce(name, ''))", persisted=True),
        deferred=True,
    )
