"""Search that forgives accents: unaccent in the search columns and the name trigram indexes

`unaccent()` is only STABLE (its dictionary could change), so neither a generated column nor an
index may call it. `app.search_text(text)` is the usual IMMUTABLE wrapper: it names the
dictionary explicitly (schema-qualified, so no search_path is involved) and lower-cases, so that
"Zürich", "ZURICH" and "zurich" index alike. The search columns of projects, files and blocks
are regenerated over it (a generated column's expression cannot be altered before PostgreSQL
17: drop and re-add, with its index), and the trigram indexes on names become expression
indexes over it, which the queries use (`app.search_text(:q) <% app.search_text(name)`). The
database's `pg_trgm.word_similarity_threshold` becomes 0.3: the index's cut-off, below the
tuned threshold the queries apply themselves (search/engine.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:30:00
"""

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"


def _files(wrap: str) -> str:
    name = wrap.format("coalesce(original_name, '')")
    category = wrap.format("coalesce(category, '')")
    return (
        f"setweight(to_tsvector('english', regexp_replace({name}, '[^[:alnum:]]+', ' ', 'g')), "
        f"'A') || setweight(to_tsvector('english', {category}), 'B')"
    )


def _projects(wrap: str) -> str:
    name = wrap.format("coalesce(name, '')")
    description = wrap.format("coalesce(description, '')")
    return (
        f"setweight(to_tsvector('english', {name}), 'A') || "
        f"setweight(to_tsvector('english', {description}), 'B')"
    )


def _blocks(wrap: str) -> str:
    name = wrap.format("coalesce(name, '')")
    tags = wrap.format("app.immutable_text_array(tags)")
    kind = wrap.format("coalesce(category, '') || ' ' || coalesce(subcategory, '')")
    return (
        f"setweight(to_tsvector('english', {name}), 'A') || "
        f"setweight(to_tsvector('english', {tags}), 'B') || "
        f"setweight(to_tsvector('english', {kind}), 'C')"
    )


UNACCENTED = "app.search_text({})"
PLAIN = "{}"
# (table, search column expression builder, trigram index, its column)
TABLES = (
    ("projects", _projects, "ix_projects_name_trgm", "name"),
    ("files", _files, "ix_files_original_name_trgm", "original_name"),
    ("cad_blocks", _blocks, "ix_cad_blocks_name_trgm", "name"),
)


def _search_column(table: str, expression: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS app.ix_{table}_search")
    op.execute(f"ALTER TABLE app.{table} DROP COLUMN search")
    op.execute(
        f"ALTER TABLE app.{table} ADD COLUMN search tsvector NOT NULL "
        f"GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute(f"CREATE INDEX ix_{table}_search ON app.{table} USING gin (search)")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public")
    op.execute(
        "CREATE OR REPLACE FUNCTION app.search_text(text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
        "AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$"
    )
    # The trigram index's cut-off for `<%` (the tuned threshold is applied in the query, see
    # search/engine.py): a database default, since reads run in autocommit. Skipped, with a
    # notice, where the migrating role may not alter the database: near misses between 0.3
    # and 0.6 are then not found until it is set.
    op.execute(
        "DO $$ BEGIN "
        "EXECUTE format('ALTER DATABASE %I SET pg_trgm.word_similarity_threshold = 0.3', "
        "current_database()); "
        "EXCEPTION WHEN insufficient_privilege THEN "
        "RAISE NOTICE 'pg_trgm.word_similarity_threshold not set: %', SQLERRM; END $$"
    )
    for table, expression, trigram, column in TABLES:
        _search_column(table, expression(UNACCENTED))
        op.execute(f"DROP INDEX IF EXISTS app.{trigram}")
        op.execute(
            f"CREATE INDEX {trigram} ON app.{table} "
            f"USING gin (app.search_text({column}) gin_trgm_ops)"
        )


def downgrade() -> None:
    for table, expression, trigram, column in TABLES:
        op.execute(f"DROP INDEX IF EXISTS app.{trigram}")
        op.execute(f"CREATE INDEX {trigram} ON app.{table} USING gin ({column} gin_trgm_ops)")
        _search_column(table, expression(PLAIN))
    op.execute("DROP FUNCTION IF EXISTS app.search_text(text)")
    op.execute(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET pg_trgm.word_similarity_threshold', "
        "current_database()); EXCEPTION WHEN insufficient_privilege THEN NULL; END $$"
    )
    # The extension stays: other objects of the database may use it.
