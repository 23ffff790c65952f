"""pg_stat_statements: create the extension where the server offers it and the role may

Slow-query reports (`spacekontext assess`, the queries check) read pg_stat_statements, and the
embedded server preloads its library; without the extension in this database the assessment
only warns that it is missing. Not every server has it (the contrib package may be absent) and
creating it needs more than a database owner's rights on most servers (it is not a trusted
extension), so the migration creates it only when it is available and the role may: otherwise
it leaves a NOTICE and goes on — a deployment must not fail for lack of a monitoring aid.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:00:00
"""

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_available_extensions
                       WHERE name = 'pg_stat_statements') THEN
                BEGIN
                    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                EXCEPTION WHEN insufficient_privilege THEN
                    RAISE NOTICE 'pg_stat_statements not created: this role may not create it';
                END;
            ELSE
                RAISE NOTICE 'pg_stat_statements not created: not available on this server';
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    # Left in place on purpose. The extension holds no application data and its view is shared
    # by whoever monitors the database: a DBA or a monitoring agent may have created it before
    # this migration ran (IF NOT EXISTS cannot tell), and may rely on it after a rollback of
    # the application. Dropping it would take their statistics away; keeping it costs nothing.
    pass
