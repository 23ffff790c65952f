from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from spacekontext.db.base import Base, Timestamps, id_column


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[str] = id_column()
    # The identity provider's subject (Clerk user id, or `dev|<email>` for dev tokens).
    clerk_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    image_url: Mapped[str | None] = mapped_column(Text)
