"""files.search: split file names into words, stem them

The initial column ran the 'simple' parser over the raw name, which keeps
"site-plan_v2.dxf" as one token: searching "site" or "plans" found nothing. File names are
split on every non-alphanumeric character and stemmed like the other tables, so stems and
prefixes work the same everywhere. A generated column's expression cannot be altered before
PostgreSQL 17, hence drop and re-add (the index with it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:00:00
"""

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"

NEW = (
    "setweight(to_tsvector('english', regexp_replace(coalesce(original_name, ''), "
    "'[^[:alnum:]]+', ' ', 'g')), 'A') || "
    "setweight(to_tsvector('english', coalesce(category, '')), 'B')"
)
OLD = (
    "setweight(to_tsvector('simple', coalesce(original_name, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(category, '')), 'B')"
)


def _replace(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS app.ix_files_search")
    op.execute("ALTER TABLE app.files DROP COLUMN search")
    op.execute(
        f"ALTER TABLE app.files ADD COLUMN search tsvector NOT NULL "
        f"GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute("CREATE INDEX ix_files_search ON app.files USING gin (search)")


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    _replace(OLD)
