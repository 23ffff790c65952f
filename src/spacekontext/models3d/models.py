from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column


class Model3D(Timestamps, Base):
    __tablename__ = "models_3d"
    __table_args__ = (
        Index(
            "ix_models_3d_project_id_updated_at_id",
            "project_id",
            text("updated_at DESC"),
            text("id DESC"),
        ),
        Index("ix_models_3d_floorplan_id", "floorplan_id"),
    )

    id: Mapped[str] = id_column()
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    floorplan_id: Mapped[str | None] = mapped_column(
        ForeignKey("floorplans.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    # json, not jsonb, as a floorplan's document (migration 0010).
    model_data: Mapped[dict[str, Any]] = deferred(mapped_column(JSON, nullable=False))
    settings: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    object_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    data_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
