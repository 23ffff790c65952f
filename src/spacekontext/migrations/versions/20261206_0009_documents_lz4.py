"""Documents compressed with lz4

Every jsonb column of the app schema (floorplans and their history, 3D models, massings, site
analyses, settings) is compressed with lz4 instead of PostgreSQL's default pglz, where the
server was built with lz4 (Debian's is; on a server without it nothing changes). lz4 compresses
and decompresses faster than pglz at about the same size, which is most of what a document save
or read costs the server (figures: docs/database.md, bench/toast_bench.py). Only values written
from now on are compressed with lz4; stored ones are read as they are (each value records its
own method). Partitions follow their parent: the existing ones here, the later ones through
`LIKE … INCLUDING COMPRESSION` (db/partitions.py). (Revision 0009, after 0008.)"""

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"


def _set_compression(method: str) -> None:
    # One DO block: the check for lz4 and the ALTERs in the server, over the catalogue as it is
    # (partitions included), so that a column added later is not forgotten here by a list.
    op.execute(
        """
        DO $$
        DECLARE
            col record;
        BEGIN
            IF 'METHOD' <> 'default' AND NOT EXISTS (
                SELECT 1 FROM pg_settings
                WHERE name = 'default_toast_compression' AND 'METHOD' = ANY (enumvals)
            ) THEN
                RETURN;
            END IF;
            FOR col IN
                SELECT c.oid::regclass AS tab, a.attname AS name
                FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p')
                  AND a.atttypid = 'jsonb'::regtype AND a.attnum > 0 AND NOT a.attisdropped
            LOOP
                EXECUTE format(
                    'ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION METHOD', col.tab, col.name
                );
            END LOOP;
        END
        $$
        """.replace("METHOD", method)  # one of this module's two literals
    )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
