"""Connection URL helpers: users write plain `postgresql://` URLs; the app needs a driver."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def async_url(url: str) -> URL:
    """`postgresql://…` (libpq style, as printed by hosting providers) → asyncpg URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
    # libpq spells TLS `sslmode`; asyncpg spells it `ssl`.
    query = dict(parsed.query)
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    return parsed.set(query=query)


def sync_url(url: str) -> URL:
    """The same server through psycopg 3 (used by tools that want a blocking driver)."""
    return async_url(url).set(drivername="postgresql+psycopg")


def libpq_dsn(url: str) -> str:
    """A plain libpq URI (psql, pg_dump, psycopg.connect)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)
