"""initial schema: every table of the design, in schema `app`

Revision ID: 0001
Revises:
Create Date: 2026-11-26 11:54:43.170301
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS app")
    # Trigram indexes for typo-tolerant name search.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # array_to_string is only STABLE (type output functions could change); for text[] it is
    # immutable in practice, which a generated tsvector column requires.
    op.execute(
        "CREATE OR REPLACE FUNCTION app.immutable_text_array(text[]) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        "AS $$ SELECT coalesce(array_to_string($1, ' '), '') $$"
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="5", nullable=False),
        sa.Column(
            "run_after", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_jobs_status_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        schema="app",
    )
    op.create_index(
        "ix_jobs_queued_run_after",
        "jobs",
        ["run_after"],
        unique=False,
        schema="app",
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("clerk_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("clerk_id", name=op.f("uq_users_clerk_id")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        schema="app",
    )
    op.create_table(
        "webhook_events",
        sa.Column("svix_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("svix_id", name=op.f("pk_webhook_events")),
        schema="app",
    )
    op.create_table(
        "cad_blocks",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("slug", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("subcategory", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("dxf_key", sa.Text(), nullable=True),
        sa.Column("thumbnail_key", sa.Text(), nullable=True),
        sa.Column("width_m", sa.Float(), nullable=True),
        sa.Column("depth_m", sa.Float(), nullable=True),
        sa.Column("height_m", sa.Float(), nullable=True),
        sa.Column("is_public", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=26), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english', coalesce(name, '')), 'A') || setweight(to_tsvector('english', app.immutable_text_array(tags)), 'B') || setweight(to_tsvector('english', coalesce(category, '') || ' ' || coalesce(subcategory, '')), 'C')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["app.users.id"],
            name=op.f("fk_cad_blocks_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cad_blocks")),
        sa.UniqueConstraint("slug", name=op.f("uq_cad_blocks_slug")),
        schema="app",
    )
    op.create_index(
        "ix_cad_blocks_category_subcategory",
        "cad_blocks",
        ["category", "subcategory", "name"],
        unique=False,
        schema="app",
    )
    op.create_index(
        "ix_cad_blocks_created_by_user_id",
        "cad_blocks",
        ["created_by_user_id"],
        unique=False,
        schema="app",
    )
    op.create_index(
        "ix_cad_blocks_name_trgm",
        "cad_blocks",
        ["name"],
        unique=False,
        schema="app",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_cad_blocks_search",
        "cad_blocks",
        ["search"],
        unique=False,
        schema="app",
        postgresql_using="gin",
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english', coalesce(name, '')), 'A') || setweight(to_tsvector('english', coalesce(description, '')), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app.users.id"],
            name=op.f("fk_projects_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        schema="app",
    )
    op.create_index(
        "ix_projects_name_trgm",
        "projects",
        ["name"],
        unique=False,
        schema="app",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_projects_search",
        "projects",
        ["search"],
        unique=False,
        schema="app",
        postgresql_using="gin",
    )
    op.create_index(
        "ix_projects_user_id_created_at",
        "projects",
        ["user_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        schema="app",
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=26), nullable=True),
        sa.Column("original_name", sa.Text(), nullable=False),
        sa.Column("safe_name", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("file_type", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple', coalesce(original_name, '')), 'A') || setweight(to_tsvector('simple', coalesce(category, '')), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'ready', 'failed')", name=op.f("ck_files_status_valid")
        ),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_files_size_non_negative")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["app.projects.id"],
            name=op.f("fk_files_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app.users.id"], name=op.f("fk_files_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_files_storage_key")),
        schema="app",
    )
    op.create_index(
        "ix_files_original_name_trgm",
        "files",
        ["original_name"],
        unique=False,
        schema="app",
        postgresql_using="gin",
        postgresql_ops={"original_name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_files_pending_created_at",
        "files",
        ["created_at"],
        unique=False,
        schema="app",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_files_project_id_category",
        "files",
        ["project_id", "category"],
        unique=False,
        schema="app",
    )
    op.create_index(
        "ix_files_search", "files", ["search"], unique=False, schema="app", postgresql_using="gin"
    )
    op.create_index(
        "ix_files_user_id_category", "files", ["user_id", "category"], unique=False, schema="app"
    )
    op.create_table(
        "floorplans",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), server_default="0", nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("wall_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opening_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("room_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("furniture_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_area_m2", sa.Float(), server_default="0", nullable=False),
        sa.Column("bbox", postgresql.ARRAY(sa.Float()), nullable=True),
        sa.Column("data_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("content_hash", sa.String(length=64), server_default="", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["app.projects.id"],
            name=op.f("fk_floorplans_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floorplans")),
        schema="app",
    )
    op.create_index(
        "ix_floorplans_project_id_level",
        "floorplans",
        ["project_id", "level"],
        unique=False,
        schema="app",
    )
    op.create_index(
        "ix_floorplans_project_id_updated_at",
        "floorplans",
        ["project_id", sa.literal_column("updated_at DESC")],
        unique=False,
        schema="app",
    )
    op.create_table(
        "massings",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("massing_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("analysis", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("volume_m3", sa.Float(), server_default="0", nullable=False),
        sa.Column("footprint_m2", sa.Float(), server_default="0", nullable=False),
        sa.Column("gross_floor_area_m2", sa.Float(), server_default="0", nullable=False),
        sa.Column("height_m", sa.Float(), server_default="0", nullable=False),
        sa.Column("floor_area_ratio", sa.Float(), nullable=True),
        sa.Column("data_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("content_hash", sa.String(length=64), server_default="", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["app.projects.id"],
            name=op.f("fk_massings_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_massings")),
        schema="app",
    )
    op.create_index(
        "ix_massings_project_id_updated_at",
        "massings",
        ["project_id", sa.literal_column("updated_at DESC")],
        unique=False,
        schema="app",
    )
    op.create_table(
        "site_analyses",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=26), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("site_area_m2", sa.Float(), nullable=True),
        sa.Column("scale", sa.Float(), nullable=True),
        sa.Column("rotation_deg", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("coordinates", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("boundary", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("sun_path", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("weather", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("topography", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("context", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("analysis_results", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["app.projects.id"],
            name=op.f("fk_site_analyses_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_analyses")),
        sa.UniqueConstraint("project_id", name=op.f("uq_site_analyses_project_id")),
        schema="app",
    )
    op.create_table(
        "floorplan_versions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("floorplan_id", sa.String(length=26), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("wall_count", sa.Integer(), nullable=False),
        sa.Column("opening_count", sa.Integer(), nullable=False),
        sa.Column("room_count", sa.Integer(), nullable=False),
        sa.Column("total_area_m2", sa.Float(), nullable=False),
        sa.Column("data_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=26), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["app.users.id"],
            name=op.f("fk_floorplan_versions_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["floorplan_id"],
            ["app.floorplans.id"],
            name=op.f("fk_floorplan_versions_floorplan_id_floorplans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", "created_at", name="pk_floorplan_versions"),
        schema="app",
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index(
        "ix_floorplan_versions_created_by_user_id",
        "floorplan_versions",
        ["created_by_user_id"],
        unique=False,
        schema="app",
    )
    op.create_index(
        "ix_floorplan_versions_floorplan_id_version",
        "floorplan_versions",
        ["floorplan_id", "version"],
        unique=False,
        schema="app",
    )
    op.create_table(
        "models_3d",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=26), nullable=False),
        sa.Column("floorplan_id", sa.String(length=26), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("model_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("object_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("data_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("content_hash", sa.String(length=64), server_default="", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["floorplan_id"],
            ["app.floorplans.id"],
            name=op.f("fk_models_3d_floorplan_id_floorplans"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["app.projects.id"],
            name=op.f("fk_models_3d_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models_3d")),
        schema="app",
    )
    op.create_index(
        "ix_models_3d_floorplan_id", "models_3d", ["floorplan_id"], unique=False, schema="app"
    )
    op.create_index(
        "ix_models_3d_project_id_updated_at",
        "models_3d",
        ["project_id", sa.literal_column("updated_at DESC")],
        unique=False,
        schema="app",
    )
    # Safety net: a save never fails for want of a monthly partition.
    op.execute(
        "CREATE TABLE app.floorplan_versions_default PARTITION OF app.floorplan_versions DEFAULT"
    )


def downgrade() -> None:
    op.drop_index("ix_models_3d_project_id_updated_at", table_name="models_3d", schema="app")
    op.drop_index("ix_models_3d_floorplan_id", table_name="models_3d", schema="app")
    op.drop_table("models_3d", schema="app")
    op.drop_index(
        "ix_floorplan_versions_floorplan_id_version", table_name="floorplan_versions", schema="app"
    )
    op.drop_index(
        "ix_floorplan_versions_created_by_user_id", table_name="floorplan_versions", schema="app"
    )
    op.drop_table("floorplan_versions", schema="app")
    op.drop_table("site_analyses", schema="app")
    op.drop_index("ix_massings_project_id_updated_at", table_name="massings", schema="app")
    op.drop_table("massings", schema="app")
    op.drop_index("ix_floorplans_project_id_updated_at", table_name="floorplans", schema="app")
    op.drop_index("ix_floorplans_project_id_level", table_name="floorplans", schema="app")
    op.drop_table("floorplans", schema="app")
    op.drop_index("ix_files_user_id_category", table_name="files", schema="app")
    op.drop_index("ix_files_search", table_name="files", schema="app", postgresql_using="gin")
    op.drop_index("ix_files_project_id_category", table_name="files", schema="app")
    op.drop_index(
        "ix_files_pending_created_at",
        table_name="files",
        schema="app",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        "ix_files_original_name_trgm",
        table_name="files",
        schema="app",
        postgresql_using="gin",
        postgresql_ops={"original_name": "gin_trgm_ops"},
    )
    op.drop_table("files", schema="app")
    op.drop_index("ix_projects_user_id_created_at", table_name="projects", schema="app")
    op.drop_index("ix_projects_search", table_name="projects", schema="app", postgresql_using="gin")
    op.drop_index(
        "ix_projects_name_trgm",
        table_name="projects",
        schema="app",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_table("projects", schema="app")
    op.drop_index(
        "ix_cad_blocks_search", table_name="cad_blocks", schema="app", postgresql_using="gin"
    )
    op.drop_index(
        "ix_cad_blocks_name_trgm",
        table_name="cad_blocks",
        schema="app",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_index("ix_cad_blocks_created_by_user_id", table_name="cad_blocks", schema="app")
    op.drop_index("ix_cad_blocks_category_subcategory", table_name="cad_blocks", schema="app")
    op.drop_table("cad_blocks", schema="app")
    op.drop_table("webhook_events", schema="app")
    op.drop_table("users", schema="app")
    op.drop_index(
        "ix_jobs_queued_run_after",
        table_name="jobs",
        schema="app",
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.drop_table("jobs", schema="app")
    op.execute("DROP FUNCTION IF EXISTS app.immutable_text_array(text[])")
