from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from spacekontext.db.base import Base, Timestamps


class RenderTask(Base):
    """An AI render task created through us: its upstream id and who asked for it, so that
    only its owner can poll it."""

    __tablename__ = "ai_render_tasks"
    __table_args__ = (Index("ix_ai_render_tasks_user_id", "user_id"),)

    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class SketchfabToken(Timestamps, Base):
    """A user's Sketchfab OAuth tokens, encrypted (Fernet) with TOKEN_ENCRYPTION_KEY: a copy
    of the database alone does not give access to anyone's Sketchfab account."""

    __tablename__ = "sketchfab_tokens"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    access_token_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
