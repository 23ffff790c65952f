from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column


class Massing(Timestamps, Base):
    __tablename__ = "massings"
    __table_args__ = (
        Index(
            "ix_massings_project_id_updated_at_id",
            "project_id",
            text("updated_at DESC"),
            text("id DESC"),
        ),
    )

    id: Mapped[str] = id_column()
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    # json, not jsonb, as a floorplan's document (migration 0010).
    massing_data: Mapped[dict[str, Any]] = deferred(mapped_column(JSON, nullable=False))
    analysis: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSONB))
    volume_m3: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    footprint_m2: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    gross_floor_area_m2: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    height_m: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    floor_area_ratio: Mapped[float | None] = mapped_column(Float)
    data_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
