"""Indexes that serve the keyset-paginated document lists in their exact order

Floorplans are listed by (level, created_at, id), 3D models and massings by
(updated_at DESC, id DESC), each within one project. The previous indexes lacked the trailing
keys, so every page was sorted after the scan; with them a page is an index range scan that
stops after `limit` rows. Each new index also leads with project_id, covering the foreign key
(and (project_id, level) for floorplans, as the assessment asks).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"

Columns = list[str | sa.TextClause | sa.ColumnElement[object]]

# (table, old index, its columns, new index, its columns)
CHANGES: list[tuple[str, str, Columns, str, Columns]] = [
    (
        "floorplans",
        "ix_floorplans_project_id_level",
        ["project_id", "level"],
        "ix_floorplans_project_id_level_created_at_id",
        ["project_id", "level", "created_at", "id"],
    ),
    (
        "models_3d",
        "ix_models_3d_project_id_updated_at",
        ["project_id", sa.literal_column("updated_at DESC")],
        "ix_models_3d_project_id_updated_at_id",
        ["project_id", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
    ),
    (
        "massings",
        "ix_massings_project_id_updated_at",
        ["project_id", sa.literal_column("updated_at DESC")],
        "ix_massings_project_id_updated_at_id",
        ["project_id", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
    ),
]


def upgrade() -> None:
    for table, old, _, new, columns in CHANGES:
        op.create_index(new, table, columns, unique=False, schema="app")
        op.drop_index(old, table_name=table, schema="app")


def downgrade() -> None:
    for table, old, columns, new, _ in CHANGES:
        op.create_index(old, table, columns, unique=False, schema="app")
        op.drop_index(new, table_name=table, schema="app")
