"""Search names stored unaccented: `search_name` columns with the trigram indexes

Migration 0006 indexed `app.search_text(name)` as an expression. `app.search_text` is a SQL
function over `unaccent`, which is only STABLE; PostgreSQL does not inline an IMMUTABLE SQL
function whose body is not, so each call ran the SQL-function executor: per row, several times
per query (word similarity for the score, the recheck of `<%`). A stored generated column
computes it once per write; the queries compare it with parameters put in the same form once
per query (search/engine.py, `in_search_form`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 13:15:00
"""

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"

# (table, trigram index, name column)
TABLES = (
    ("projects", "ix_projects_name_trgm", "name"),
    ("files", "ix_files_original_name_trgm", "original_name"),
    ("cad_blocks", "ix_cad_blocks_name_trgm", "name"),
)


def upgrade() -> None:
    for table, index, column in TABLES:
        op.execute(f"DROP INDEX IF EXISTS app.{index}")
        op.execute(
            f"ALTER TABLE app.{table} ADD COLUMN search_name text NOT NULL "
            f"GENERATED ALWAYS AS (app.search_text(coalesce({column}, ''))) STORED"
        )
        op.execute(f"CREATE INDEX {index} ON app.{table} USING gin (search_name gin_trgm_ops)")


def downgrade() -> None:
    for table, index, column in TABLES:
        op.execute(f"DROP INDEX IF EXISTS app.{index}")
        op.execute(f"ALTER TABLE app.{table} DROP COLUMN search_name")
        op.execute(
            f"CREATE INDEX {index} ON app.{table} "
            f"USING gin (app.search_text({column}) gin_trgm_ops)"
        )
