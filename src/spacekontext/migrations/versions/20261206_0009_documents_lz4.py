"""Documents compressed with lz4

Every jsonb column of the app schema (floorplans and their history, 3D models, massings, site
analyses, settings) is compressed with lz4 instead of PostgreSQL's default pglz, where the
server was built with lz4 (Debian's is; on a server without it nothing changes). lz4 compresses
and decompresses faster than pglz at about the same size, which is most of what a document save
or read costs the server (figures: docs/database.md, bench/toast_bench.py). Only values written
from now on are compressed with lz4; stored ones are read as they are (each value records its
own method). Partitions follow their parent: the existing ones here, the later ones through
`LIKE … INCLUDING COMPRESSION` (db/partitions.py). The statement is db/compression.py's, which
`spacekontext restore` runs too. (Revision 0009, after 0008.)"""

from alembic import op

from spacekontext.db.compression import document_compression_sql

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    op.execute(document_compression_sql("lz4"))


def downgrade() -> None:
    op.execute(document_compression_sql("default"))
