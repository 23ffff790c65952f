"""Keeping a project's massing figures in step with the project's floor-to-floor height.

Gross floor area (and with it the floor-area ratio) depends on two things besides the massing
document: the project's `settings.floorToFloorHeight` and the site's area. A write that
changes either refreshes the figures of every massing of the project in its own transaction.

Ordering with concurrent massing writes: the writer of an input holds the project row (its
UPDATE, or `FOR NO KEY UPDATE`) before it locks the massings; a massing create takes
`FOR SHARE` on the project row, so it sees either the old value and is refreshed by the
writer (which then sees the new row), or the new value. An update of an existing massing
holds the massing's row lock, which the refresh waits for and then re-reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spacekontext.documents import rounding
from spacekontext.massings.geometry import derive, floor_to_floor_height
from spacekontext.massings.models import Massing
from spacekontext.site.models import SiteAnalysis


async def refresh_floor_areas(
    session: AsyncSession, project_id: str, old_settings: Any, new_settings: Any
) -> int:
    """Recompute GFA and FAR of the project's massings when the effective floor-to-floor
    height differs between the two settings; returns how many massings changed. A massing
    whose figures change gets a new version: its representation (and so its ETag) changed, and
    a client holding the old one must not be told 304, nor overwrite the new figures."""
    floor_to_floor = floor_to_floor_height(new_settings)
    if floor_to_floor == floor_to_floor_height(old_settings):
        return 0
    rows = await _locked_massings(session, project_id, Massing.massing_data)
    if not rows:
        return 0
    site_area = await session.scalar(
        select(SiteAnalysis.site_area_m2).where(SiteAnalysis.project_id == project_id)
    )
    changes: list[dict[str, Any]] = []
    for row in rows:
        facts = derive(row.massing_data, floor_to_floor)
        if facts.gross_floor_area_m2 != row.gross_floor_area_m2:
            changes.append(
                {
                    "b_id": row.id,
                    "b_gross_floor_area_m2": facts.gross_floor_area_m2,
                    "b_floor_area_ratio": facts.floor_area_ratio(site_area),
                }
            )
    await _save(session, changes, "gross_floor_area_m2", "floor_area_ratio")
    return len(changes)


async def refresh_floor_area_ratios(
    session: AsyncSession, project_id: str, site_area_m2: float | None
) -> int:
    """Recompute the floor-area ratio of the project's massings for a new site area, with the
    same function (and rounding) as a massing save; returns how many changed. A massing whose
    ratio changes gets a new version (its ETag must change with it). The caller holds the
    project row, as every writer of a massing input does (see the module's docstring)."""
    rows = await _locked_massings(session, project_id, Massing.floor_area_ratio)
    changes = [
        {"b_id": row.id, "b_floor_area_ratio": ratio}
        for row in rows
        if (ratio := rounding.floor_area_ratio(row.gross_floor_area_m2, site_area_m2))
        != row.floor_area_ratio
    ]
    await _save(session, changes, "floor_area_ratio")
    return len(changes)


async def _locked_massings(
    session: AsyncSession, project_id: str, *columns: InstrumentedAttribute[Any]
) -> Sequence[Row[Any]]:
    """The project's massings (id, gross floor area and `columns`), locked in id order."""
    query = (
        select(Massing.id, Massing.gross_floor_area_m2, *columns)
        .where(Massing.project_id == project_id)
        .order_by(Massing.id)
        .with_for_update()
    )
    return (await session.execute(query)).all()


async def _save(session: AsyncSession, changes: list[dict[str, Any]], *columns: str) -> None:
    """One executemany keyed by primary key (`b_id`; each column's value as `b_<column>`).
    Every changed massing gets a new version: its representation, and so its ETag, changed."""
    if not changes:
        return
    table = cast(Table, Massing.__table__)  # Core: executemany with a computed version
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            {column: bindparam(f"b_{column}") for column in columns}
            | {"version": table.c.version + 1}
        ),
        changes,
    )
