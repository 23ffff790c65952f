"""Declarative base shared by every domain's models.

The naming convention is fixed from the first migration on so that constraint and index names
are predictable (and droppable) forever after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Computed, DateTime, Index, MetaData, String, Text, func, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from spacekontext.ids import new_id

SCHEMA = "app"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)


def id_column() -> Mapped[str]:
    return mapped_column(String(26), primary_key=True, default=new_id)


# --- name search: every searchable table has the same two generated columns and indexes ---


def search_vector(expression: str) -> Mapped[str]:
    """The `search` column: a stored tsvector generated from `expression`; deferred, since
    only queries ever read it."""
    return mapped_column(TSVECTOR, Computed(expression, persisted=True), deferred=True)


def search_name_column(column: str) -> Mapped[str]:
    """The `search_name` column: `column` unaccented and lower-cased, for trigram near misses
    (migration 0007)."""
    return mapped_column(
        Text, Computed(f"app.search_text(coalesce({column}, ''))", persisted=True), deferred=True
    )


def search_indexes(search_index: str, trigram_index: str) -> tuple[Index, Index]:
    """GIN indexes on `search` (full text) and `search_name` (trigrams)."""
    return (
        Index(search_index, "search", postgresql_using="gin"),
        Index(trigram_index, text("search_name gin_trgm_ops"), postgresql_using="gin"),
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
