from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column


class SiteAnalysis(Timestamps, Base):
    __tablename__ = "site_analyses"

    id: Mapped[str] = id_column()
    # Unique: one site per project; the unique index also covers the foreign key.
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)
    site_area_m2: Mapped[float | None] = mapped_column(Float)
    scale: Mapped[float | None] = mapped_column(Float)
    rotation_deg: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str | None] = mapped_column(String(64))
    coordinates: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    boundary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    sun_path: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSONB))
    weather: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSONB))
    topography: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSONB))
    context: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSONB))
    analysis_results: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSONB))
