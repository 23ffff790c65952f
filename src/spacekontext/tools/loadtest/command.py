"""Setting up a load test run: user tokens and the database to watch."""

from __future__ import annotations

from rich.console import Console

from spacekontext.auth.tokens import DevTokens
from spacekontext.db.embedded import running_postmaster
from spacekontext.db.urls import libpq_dsn
from spacekontext.settings import Settings


def monitoring_dsn(settings: Settings) -> str | None:
    """The database to watch: DATABASE_URL, else the embedded server running in the data dir.
    Never starts a server (the one under test owns it)."""
    if settings.database_url:
        return libpq_dsn(settings.database_url)
    postmaster = running_postmaster(settings.data_dir / "pgdata")
    return libpq_dsn(postmaster.uri) if postmaster else None


def seeded_emails(dsn: str | None, count: int, seed: int) -> list[str]:
    """Users with projects, as seeded (their token subject is `dev|<email>`); by the seed's
    naming scheme when the database cannot be read."""
    if dsn is not None:
        import psycopg

        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                rows = conn.execute(
                    "SELECT u.email FROM app.users u"
                    " WHERE u.clerk_id = 'dev|' || u.email"
                    " AND EXISTS (SELECT 1 FROM app.projects p WHERE p.user_id = u.id)"
                    " ORDER BY u.id LIMIT %s",
                    (count,),
                ).fetchall()
            if rows:
                return [str(row[0]) for row in rows]
        except psycopg.Error:
            pass
    from spacekontext.tools.seed.writer import seed_email

    return [seed_email(seed, index) for index in range(count)]


def prepare_run(
    settings: Settings, users: int, seed: int, console: Console
) -> tuple[list[str], str | None]:
    dsn = monitoring_dsn(settings)
    if dsn is None:
        console.print(
            "[yellow]no database to watch (set DATABASE_URL or run the server on the embedded "
            "database of this SPACEKONTEXT_HOME): connection figures will be n/a[/yellow]"
        )
    emails = seeded_emails(dsn, users, seed)
    tokens = DevTokens.from_data_dir(settings.data_dir)
    console.print(f"{len(emails)} distinct users for up to {users} sessions")
    return [tokens.mint(email, ttl_s=24 * 3600) for email in emails], dsn
