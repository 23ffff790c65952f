"""Tables of the web client's contract: project files registered by URL, AI render task
owners, encrypted Sketchfab tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    op.create_table(
        "project_files",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "type IN ('dxf', 'png', 'svg', 'gltf', 'obj', 'pdf')", name="type_valid"
        ),
        sa.CheckConstraint("category IN ('import', 'export', 'render')", name="category_valid"),
        sa.CheckConstraint("url ~ '^https?://'", name="url_http"),
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
        sa.ForeignKeyConstraint(["project_id"], ["app.projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        schema="app",
    )
    op.create_index(
        "ix_project_files_project_id_uploaded_at",
        "project_files",
        ["project_id", "uploaded_at"],
        schema="app",
    )
    op.create_table(
        "ai_render_tasks",
        sa.Column("task_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app.users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
        schema="app",
    )
    op.create_index("ix_ai_render_tasks_user_id", "ai_render_tasks", ["user_id"], schema="app")
    op.create_table(
        "sketchfab_tokens",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app.users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
        schema="app",
    )


def downgrade() -> None:
    op.drop_table("sketchfab_tokens", schema="app")
    op.drop_index("ix_ai_render_tasks_user_id", table_name="ai_render_tasks", schema="app")
    op.drop_table("ai_render_tasks", schema="app")
    op.drop_index(
        "ix_project_files_project_id_uploaded_at", table_name="project_files", schema="app"
    )
    op.drop_table("project_files", schema="app")
