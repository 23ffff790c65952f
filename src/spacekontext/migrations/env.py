"""Alembic environment: runs against `sqlalchemy.url` (set by `spacekontext migrate` or the
`DATABASE_URL` environment variable), with a blocking psycopg connection."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool, text

from spacekontext.db.base import SCHEMA
from spacekontext.db.urls import sync_url
from spacekontext.migrations.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL") or ""
if not url:
    raise RuntimeError("no database URL: set DATABASE_URL or use `spacekontext migrate`")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Monthly partitions are managed by `spacekontext partitions ensure`, not by migrations.
    return not (type_ == "table" and name is not None and name.startswith("floorplan_versions_"))


def run_migrations_online() -> None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table_schema=SCHEMA,
            include_schemas=True,
            include_object=include_object,
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
