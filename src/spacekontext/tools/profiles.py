"""Run profiles: `tuned` (the product) and `naive` (the assessment's starting point), so that one
load test can measure both on the same data.

`naive` means what the assessment found:
* a new database connection for every unit of work (NullPool; the Prisma-on-serverless pattern
  of its "No Connection Pooling" section) — applied by the engine (`db/engine.py:pool_options`);
* no cache — applied to the settings here;
* lists that return whole rows, unbounded (its "Fetching entire JSON blob even if only need
  metadata") — applied by the services that list;
* the indexes its "Missing Critical Indexes" section lists, dropped — applied to the database
  by `apply_index_profile`, without a migration, and restored the same way.

Not dropped: the unique constraints on users.clerk_id and users.email (the assessment lists
indexes on them as missing, but its schema had them @unique, which is an index already), and the
files (user_id, category)/(project_id, category) indexes, whose leading columns are the
single-column indexes the assessment's schema already had.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from spacekontext.settings import Settings


@dataclass(frozen=True, slots=True)
class ProfiledIndex:
    name: str
    table: str
    definition: str  # the CREATE INDEX of the migrations, verbatim in effect


# The assessment's "Missing Indexes", as named and defined by the migrations (the document
# lists' since 0004).
NAIVE_DROPPED_INDEXES: tuple[ProfiledIndex, ...] = (
    ProfiledIndex(
        "ix_projects_user_id_created_at",
        "projects",
        "CREATE INDEX IF NOT EXISTS ix_projects_user_id_created_at"
        " ON app.projects (user_id, created_at DESC, id DESC)",
    ),
    ProfiledIndex(
        "ix_floorplans_project_id_level_created_at_id",
        "floorplans",
        "CREATE INDEX IF NOT EXISTS ix_floorplans_project_id_level_created_at_id"
        " ON app.floorplans (project_id, level, created_at, id)",
    ),
    ProfiledIndex(
        "ix_floorplans_project_id_updated_at",
        "floorplans",
        "CREATE INDEX IF NOT EXISTS ix_floorplans_project_id_updated_at"
        " ON app.floorplans (project_id, updated_at DESC)",
    ),
    ProfiledIndex(
        "ix_models_3d_project_id_updated_at_id",
        "models_3d",
        "CREATE INDEX IF NOT EXISTS ix_models_3d_project_id_updated_at_id"
        " ON app.models_3d (project_id, updated_at DESC, id DESC)",
    ),
    ProfiledIndex(
        "ix_models_3d_floorplan_id",
        "models_3d",
        "CREATE INDEX IF NOT EXISTS ix_models_3d_floorplan_id ON app.models_3d (floorplan_id)",
    ),
    ProfiledIndex(
        "ix_massings_project_id_updated_at_id",
        "massings",
        "CREATE INDEX IF NOT EXISTS ix_massings_project_id_updated_at_id"
        " ON app.massings (project_id, updated_at DESC, id DESC)",
    ),
)


def profile_settings(settings: Settings) -> Settings:
    """The settings a profile implies: naive runs without a cache."""
    if settings.profile == "naive" and settings.cache_enabled:
        return settings.model_copy(update={"cache_enabled": False})
    return settings


def index_status(dsn: str) -> dict[str, bool]:
    """Which of the profiled indexes exist."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'app' AND indexname = ANY(%s)",
            ([index.name for index in NAIVE_DROPPED_INDEXES],),
        ).fetchall()
    present = {row[0] for row in rows}
    return {index.name: index.name in present for index in NAIVE_DROPPED_INDEXES}


def apply_index_profile(dsn: str, profile: str) -> list[str]:
    """Drop (naive) or restore (tuned) the profiled indexes; returns the names changed.
    Idempotent: applying a profile twice changes nothing the second time."""
    status = index_status(dsn)
    changed: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for index in NAIVE_DROPPED_INDEXES:
            if profile == "naive" and status[index.name]:
                conn.execute(f"DROP INDEX IF EXISTS app.{index.name}")
                changed.append(index.name)
            elif profile == "tuned" and not status[index.name]:
                conn.execute(index.definition)
                changed.append(index.name)
        if changed:
            conn.execute("ANALYZE app.projects, app.floorplans, app.models_3d, app.massings")
    return changed
