"""How the app's documents are compressed in PostgreSQL: lz4 where the server has it.

Every json and jsonb column of the app schema (partitions included) is set to lz4, which
compresses and decompresses a large document several times faster than the default pglz
(docs/database.md).
The same statement serves migration 0009 and `spacekontext restore`: backups are dumped without
compression settings (so that one taken on a server with lz4 restores into one without, such as
the embedded server), and the restore sets lz4 again where the target has it."""

from __future__ import annotations

from typing import Literal

Method = Literal["lz4", "default"]


def document_compression_sql(method: Method) -> str:
    """One DO block: the check for the method and the ALTERs, run in the server over the
    catalogue as it is, so that a column added later is not forgotten by a list. `lz4` on a
    server built without it changes nothing; `default` (pglz) always applies."""
    return """
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
                  AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)
                  AND a.attnum > 0 AND NOT a.attisdropped
            LOOP
                EXECUTE format(
                    'ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION METHOD', col.tab, col.name
                );
            END LOOP;
        END
        $$
        """.replace("METHOD", method)  # one of the two literals of `Method`
