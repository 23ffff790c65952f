"""Name search: every searchable table has the same two generated columns (`search`, full text;
`search_name`, for trigram near misses) and a GIN index on each."""

from __future__ import annotations

from sqlalchemy import Computed, Index, Text, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column


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
