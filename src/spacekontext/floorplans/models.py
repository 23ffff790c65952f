from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON
from sqlalchemy.orm import Mapped, deferred, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column


class Floorplan(Timestamps, Base):
    __tablename__ = "floorplans"
    __table_args__ = (
        Index(
            "ix_floorplans_project_id_level_created_at_id",
            "project_id",
            "level",
            "created_at",
            "id",
        ),
        Index("ix_floorplans_project_id_updated_at", "project_id", text("updated_at DESC")),
    )

    id: Mapped[str] = id_column()
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # The document; deferred so that no query loads it unless it asks for it by name. Stored
    # as json (its text), not jsonb: nothing queries inside it (migration 0010).
    data: Mapped[dict[str, Any]] = deferred(mapped_column(JSON, nullable=False))
    wall_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    opening_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    room_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    furniture_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    total_area_m2: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    bbox: Mapped[list[float] | None] = mapped_column(ARRAY(Float))
    data_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")


# Every content-changing save, appended. Range-partitioned by month on created_at; the primary
# key must include the partition key. Partitions are created by `spacekontext partitions ensure`.
floorplan_versions = Table(
    "floorplan_versions",
    Base.metadata,
    Column("id", String(26), nullable=False),
    Column(
        "floorplan_id",
        String(26),
        ForeignKey("floorplans.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("level", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("wall_count", Integer, nullable=False),
    Column("opening_count", Integer, nullable=False),
    Column("room_count", Integer, nullable=False),
    Column("total_area_m2", Float, nullable=False),
    Column("data_bytes", BigInteger, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column(
        "created_by_user_id",
        String(26),
        ForeignKey("users.id", ondelete="SET NULL"),
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("id", "created_at", name="pk_floorplan_versions"),
    Index("ix_floorplan_versions_floorplan_id_version", "floorplan_id", "version"),
    Index("ix_floorplan_versions_created_by_user_id", "created_by_user_id"),
    postgresql_partition_by="RANGE (created_at)",
)


__all__ = ["Floorplan", "floorplan_versions"]
