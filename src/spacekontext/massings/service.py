"""Massings: volumetric studies, stored whole, listed by their derived figures, saved under the
same version check as floorplans. Gross floor area uses the project's floor-to-floor height and
the floor-area ratio the site's area; both are refreshed whenever either input changes
(`massings.figures`, `site.service`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.documents import (
    Encoded,
    Precondition,
    SavedDocument,
    json_object_field,
    merge_patch,
)
from spacekontext.documents.versioned import (
    DocumentTable,
    VersionedDocumentService,
    patched_fields,
)
from spacekontext.massings.geometry import KIND, MassingShape, floor_to_floor_height, shape
from spacekontext.massings.models import Massing
from spacekontext.massings.schemas import (
    MassingCreate,
    MassingPatch,
    MassingReplace,
    MassingSummary,
)
from spacekontext.projects.models import Project
from spacekontext.site.models import SiteAnalysis

SUMMARY_COLUMNS = (
    Massing.id,
    Massing.project_id,
    Massing.name,
    Massing.volume_m3,
    Massing.footprint_m2,
    Massing.gross_floor_area_m2,
    Massing.height_m,
    Massing.floor_area_ratio,
    Massing.data_bytes,
    Massing.content_hash,
    Massing.version,
    Massing.created_at,
    Massing.updated_at,
)


def _analysis(value: Any) -> dict[str, Any] | None:
    return json_object_field(value, "analysis")


class MassingService(
    VersionedDocumentService[MassingSummary, MassingSummary, tuple[MassingShape, Encoded]]
):
    table = DocumentTable(
        Massing,
        columns=SUMMARY_COLUMNS,
        document=Massing.massing_data,
        extra_json={"analysis": Massing.analysis},
    )
    kind = KIND

    async def create(
        self, user_id: str, project_id: str, body: MassingCreate
    ) -> SavedDocument[MassingSummary]:
        checked = await self.validate(body.massing_data)
        analysis = _analysis(body.analysis)

        async def columns(session: AsyncSession) -> dict[str, Any]:
            context = await _project_context(session, project_id, share_lock=True)
            return {"name": body.name, "analysis": analysis} | _derived(*checked, *context)

        return await self._create(user_id, project_id, body.massing_data, columns)

    async def replace(
        self, user_id: str, massing_id: str, body: MassingReplace, pre: Precondition
    ) -> SavedDocument[MassingSummary]:
        checked = await self.validate(body.massing_data)
        return await self._write(
            user_id,
            massing_id,
            pre,
            name=body.name,
            data=body.massing_data,
            checked=checked,
            analysis_given="analysis" in body.model_fields_set,
            analysis=_analysis(body.analysis),
        )

    async def patch(
        self, user_id: str, massing_id: str, body: MassingPatch, pre: Precondition
    ) -> SavedDocument[MassingSummary]:
        fields = patched_fields(body, merged=("massing_data",))
        return await self._write(
            user_id,
            massing_id,
            pre,
            name=body.name,
            data_patch=body.massing_data if "massing_data" in fields else None,
            analysis_given="analysis" in fields,
            analysis_patch=body.analysis,
        )

    # --- internals ------------------------------------------------------------------------------

    def check(self, data: Any) -> tuple[MassingShape, Encoded]:
        encoded = self.encoded(data)
        return shape(data), encoded

    async def _write(
        self,
        user_id: str,
        massing_id: str,
        pre: Precondition,
        *,
        name: str | None,
        data: Any = None,
        checked: tuple[MassingShape, Encoded] | None = None,
        data_patch: Any = None,
        analysis_given: bool,
        analysis: dict[str, Any] | None = None,
        analysis_patch: Any = None,
    ) -> SavedDocument[MassingSummary]:
        async def change(session: AsyncSession, current: Row[Any]) -> tuple[dict[str, Any], Any]:
            document, measured, kept = data, checked, analysis
            changes: dict[str, Any] = {}
            if name is not None and name != current.name:
                changes["name"] = name
            if data_patch is not None:
                stored = await self._stored_document(session, massing_id)
                document = merge_patch(stored, data_patch)
                measured = await self.validate(document)
            if measured is not None and measured[1].content_hash != current.content_hash:
                context = await _project_context(session, current.project_id)
                changes |= _derived(*measured, *context)
            if analysis_given:
                stored_analysis = await session.scalar(
                    select(Massing.analysis).where(Massing.id == massing_id)
                )
                if analysis_patch is not None or kept is None:
                    # A merge patch: null removes the analysis, an object merges into it.
                    kept = _analysis(
                        merge_patch(stored_analysis, analysis_patch)
                        if analysis_patch is not None
                        else None
                    )
                if kept != stored_analysis:
                    changes["analysis"] = kept
            return changes, document

        return await self._update(user_id, massing_id, pre, change)


def _derived(
    shape: MassingShape, encoded: Encoded, floor_to_floor_m: float, site_area_m2: float | None
) -> dict[str, Any]:
    facts = shape.facts(floor_to_floor_m)
    return {
        # The canonical text, encoded once by `encode`, stored as it is.
        "massing_data": encoded.text,
        "volume_m3": facts.volume_m3,
        "footprint_m2": facts.footprint_m2,
        "gross_floor_area_m2": facts.gross_floor_area_m2,
        "height_m": facts.height_m,
        "floor_area_ratio": facts.floor_area_ratio(site_area_m2),
        "data_bytes": encoded.data_bytes,
        "content_hash": encoded.content_hash,
    }


async def _project_context(
    session: AsyncSession, project_id: str, *, share_lock: bool = False
) -> tuple[float, float | None]:
    """The project's floor-to-floor height and its site's area (None without a site).

    `share_lock` for a new massing: a concurrent change of either input, which locks the
    project row before refreshing the project's massings, cannot miss the new row then (see
    `massings.figures`)."""
    query = (
        select(Project.settings, SiteAnalysis.site_area_m2)
        .select_from(Project)
        .outerjoin(SiteAnalysis, SiteAnalysis.project_id == Project.id)
        .where(Project.id == project_id)
    )
    if share_lock:
        query = query.with_for_update(read=True, of=Project)
    row = (await session.execute(query)).one()
    return floor_to_floor_height(row.settings), row.site_area_m2
