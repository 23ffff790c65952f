"""A floorplan save in one statement: the versioned update and its history row.

A save used to take five round trips in a transaction of its own (BEGIN, the row lock, the
history INSERT, the UPDATE, COMMIT) through the ORM session; on a 55 KB document they cost
more CPU than validating and encoding it (docs/benchmarks.md, "Document saves"). Here the
whole write is one statement, sent straight to the driver (`Database.write`):

- the UPDATE is a compare-and-set: it applies only when the floorplan belongs to the user,
  its version is one the client's If-Match accepts (or any, without If-Match) and something
  changes; PostgreSQL re-evaluates that condition on the newest row version when a concurrent
  save got there first (READ COMMITTED's recheck), so two saves from the same version still
  serialize and the second fails its version check, as under the row lock;
- the history row is copied from the updated row in the same statement (a data-modifying
  CTE), so a large document crosses the network once;
- when nothing was updated, one read of the current row tells why: not found (404), a version
  the client does not accept (412), or nothing to change (the answer carries the current
  version and no history row is written).

A merge patch of the document reads the stored document first (it is the base of the merge)
and then saves with that version as the condition, so a concurrent save between the read and
the write makes the write miss and the patch start again from the newer document."""

from __future__ import annotations

from spacekontext.db.engine import Statement

# What a write answers with (FloorplanSummary): every metadata column, never the document.
_SUMMARY = (
    "id, project_id, name, level, wall_count, opening_count, room_count, furniture_count, "
    "total_area_m2, bbox, data_bytes, content_hash, version, created_at, updated_at"
)
_OWNED = (
    "EXISTS (SELECT 1 FROM app.projects AS p WHERE p.id = f.project_id AND p.user_id = :user_id)"
)
_ACCEPTED_VERSION = (
    "(CAST(:versions AS integer[]) IS NULL OR f.version = ANY(CAST(:versions AS integer[])))"
)
# The history copies these from the saved row (created_at is the partition key's default).
_HISTORY = (
    "version, name, level, data, wall_count, opening_count, room_count, total_area_m2, "
    "data_bytes, content_hash"
)


def _save(document: bool) -> Statement:
    """The save statement, with the document and its figures (`document`) or of the name and
    level alone (a merge patch that leaves the document as it is)."""
    figures = (
        """
        data = :data, wall_count = :wall_count, opening_count = :opening_count,
        room_count = :room_count, furniture_count = :furniture_count,
        total_area_m2 = :total_area_m2, bbox = :bbox, data_bytes = :data_bytes,
        content_hash = :content_hash,"""
        if document
        else ""
    )
    changes = "f.content_hash <> :content_hash OR " if document else ""
    return Statement(f"""
        WITH saved AS (
            UPDATE app.floorplans AS f
            SET name = COALESCE(:name, f.name), level = COALESCE(:level, f.level),{figures}
                version = f.version + 1, updated_at = now()
            WHERE f.id = :floorplan_id AND {_OWNED} AND {_ACCEPTED_VERSION}
              AND ({changes}f.name <> COALESCE(:name, f.name)
                   OR f.level <> COALESCE(:level, f.level))
            RETURNING f.*
        ), history AS (
            INSERT INTO app.floorplan_versions (id, floorplan_id, {_HISTORY}, created_by_user_id)
            SELECT CAST(:history_id AS varchar), id, {_HISTORY}, CAST(:user_id AS varchar)
            FROM saved
        )
        SELECT {_SUMMARY} FROM saved
        """)  # noqa: S608 - every piece is a constant of this module


SAVE_DOCUMENT = _save(document=True)
SAVE_NAME = _save(document=False)
