from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSON, JSONB
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
    # The site's data, stored and returned whole: json (its text), not jsonb (migration 0010);
    # a read sends the stored text as it is (SiteService.get_json).
    sun_path: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))
    weather: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))
    topography: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))
    context: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))
    analysis_results: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))
