"""Design documents and site data stored as json, not jsonb

The documents of floorplans (and their history), 3D models and massings, and a site's data
(sun path, weather, topography, context, analysis results) are JSON the editor owns: the server validates them, derives its metadata columns from them in Python, and stores
and returns them whole. No query looks inside one. As jsonb, PostgreSQL parsed every saved
document into its binary form (twice for a floorplan: the row and its history row) and turned
it back into text at every read: the replica's largest cost under the capacity test. As json,
a save checks the text's syntax and stores it, and a read returns it as it is (figures:
docs/database.md, bench/toast_bench.py). What the app sends is its canonical encoding (sorted
keys, no insignificant space, checked for NaN and NUL beforehand), so the stored text is as
normalised as jsonb's was. The small JSON columns beside them (settings, a massing's
analysis, a site's coordinates and boundary) stay jsonb.

The type change rewrites each table under an exclusive lock: 10.7 s for the 80 MB of documents
of 200 seeded users on a 2-core machine (`bench/migration_bench.py`), so about 13 s per 100 MB;
on a large installation plan it as a maintenance step (reads and saves of documents wait for
it). Stored values keep
their content; their text becomes jsonb's rendering (`", "`, `": "`) until the next save.
The rewritten columns are set to lz4 again (migration 0009's statement): a type change puts
a column back on the server's default compression. (Revision 0010, after 0009.)"""

from alembic import op

from spacekontext.db.compression import document_compression_sql

revision: str = "0010"
down_revision: str | None = "0009"

DOCUMENTS = (
    ("floorplans", "data"),
    ("floorplan_versions", "data"),  # partitioned: the parent's change reaches every partition
    ("models_3d", "model_data"),
    ("massings", "massing_data"),
    # A site's data, returned whole by every site read (sun path, weather, …).
    ("site_analyses", "sun_path"),
    ("site_analyses", "weather"),
    ("site_analyses", "topography"),
    ("site_analyses", "context"),
    ("site_analyses", "analysis_results"),
)


def upgrade() -> None:
    for table, column in DOCUMENTS:
        op.execute(f"ALTER TABLE app.{table} ALTER COLUMN {column} TYPE json USING {column}::json")
    # A column whose type changes is back on the server's default compression: lz4 again where
    # the server has it (migration 0009's statement, which covers json columns too).
    op.execute(document_compression_sql("lz4"))


def downgrade() -> None:
    for table, column in DOCUMENTS:
        op.execute(
            f"ALTER TABLE app.{table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb"
        )
    op.execute(document_compression_sql("lz4"))
