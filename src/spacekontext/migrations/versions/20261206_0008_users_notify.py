"""Changes to user rows announced on the `app_users` channel

Every process may keep the user rows it has read (token subject → id and e-mail, users/directory.py)
while it listens on this channel: a row that is updated or deleted, by whatever path (a webhook,
first sight's upsert, an operator's SQL, a restore), sends its subject once the transaction
commits, and every listening process drops its copy. A TRUNCATE sends an empty payload: drop
everything. (Revision 0008, after 0007.)"""

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app.notify_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                PERFORM pg_notify('app_users', '');
            ELSE
                PERFORM pg_notify('app_users', OLD.clerk_id);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER users_notify_change AFTER UPDATE OR DELETE ON app.users "
        "FOR EACH ROW EXECUTE FUNCTION app.notify_user_change()"
    )
    op.execute(
        "CREATE TRIGGER users_notify_truncate AFTER TRUNCATE ON app.users "
        "FOR EACH STATEMENT EXECUTE FUNCTION app.notify_user_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS users_notify_truncate ON app.users")
    op.execute("DROP TRIGGER IF EXISTS users_notify_change ON app.users")
    op.execute("DROP FUNCTION IF EXISTS app.notify_user_change()")
