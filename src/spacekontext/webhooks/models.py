from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from spacekontext.db.base import Base


class WebhookEvent(Base):
    """Svix message ids already handled: a replayed delivery is acknowledged and ignored."""

    __tablename__ = "webhook_events"

    svix_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
