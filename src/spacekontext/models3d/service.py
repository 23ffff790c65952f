"""3D models: stored whole, listed by metadata, saved under the same version check as
floorplans (row lock, If-Match against the locked version). They keep no history table: a
model is regenerated from its floorplan or re-exported by the editor, and the issue that asks
for history asks it of floorplans."""

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
from spacekontext.errors import Invalid
from spacekontext.floorplans.models import Floorplan
from spacekontext.models3d.models import Model3D
from spacekontext.models3d.objects import KIND, count_objects
from spacekontext.models3d.schemas import (
    Model3DCreate,
    Model3DPatch,
    Model3DRead,
    Model3DReplace,
    Model3DSummary,
)

SUMMARY_COLUMNS = (
    Model3D.id,
    Model3D.project_id,
    Model3D.floorplan_id,
    Model3D.name,
    Model3D.object_count,
    Model3D.data_bytes,
    Model3D.content_hash,
    Model3D.version,
    Model3D.created_at,
    Model3D.updated_at,
)
READ_COLUMNS = (*SUMMARY_COLUMNS, Model3D.settings)


def _settings(value: Any) -> dict[str, Any]:
    settings = json_object_field(value, "settings", nullable=False)
    assert settings is not None
    return settings


class Model3DService(VersionedDocumentService[Model3DRead, Model3DSummary, tuple[int, Encoded]]):
    table = DocumentTable(
        Model3D,
        columns=READ_COLUMNS,
        document=Model3D.model_data,
        summary_columns=SUMMARY_COLUMNS,
    )
    kind = KIND

    async def create(
        self, user_id: str, project_id: str, body: Model3DCreate
    ) -> SavedDocument[Model3DRead]:
        checked = await self.validate(body.model_data)
        settings = _settings(body.settings)

        async def columns(session: AsyncSession) -> dict[str, Any]:
            await _check_floorplan(session, project_id, body.floorplan_id)
            fields = {"floorplan_id": body.floorplan_id, "name": body.name, "settings": settings}
            return fields | _derived(*checked)

        return await self._create(user_id, project_id, body.model_data, columns)

    async def replace(
        self, user_id: str, model_id: str, body: Model3DReplace, pre: Precondition
    ) -> SavedDocument[Model3DRead]:
        checked = await self.validate(body.model_data)
        changes: dict[str, Any] = _derived(*checked)
        if body.name is not None:
            changes["name"] = body.name
        if body.settings is not None:
            changes["settings"] = _settings(body.settings)
        if "floorplan_id" in body.model_fields_set:
            changes["floorplan_id"] = body.floorplan_id
        return await self._write(user_id, model_id, pre, changes, body.model_data)

    async def patch(
        self, user_id: str, model_id: str, body: Model3DPatch, pre: Precondition
    ) -> SavedDocument[Model3DRead]:
        fields = patched_fields(body, merged=("model_data", "settings"))
        changes: dict[str, Any] = {}
        if body.name is not None:
            changes["name"] = body.name
        if "floorplan_id" in fields:
            changes["floorplan_id"] = body.floorplan_id
        return await self._write(
            user_id,
            model_id,
            pre,
            changes,
            None,
            data_patch=body.model_data if "model_data" in fields else None,
            settings_patch=body.settings if "settings" in fields else None,
        )

    # --- internals ------------------------------------------------------------------------------

    def check(self, data: Any) -> tuple[int, Encoded]:
        encoded = self.encoded(data)
        return count_objects(data), encoded

    async def _write(
        self,
        user_id: str,
        model_id: str,
        pre: Precondition,
        changes: dict[str, Any],
        data: Any,
        *,
        data_patch: Any = None,
        settings_patch: Any = None,
    ) -> SavedDocument[Model3DRead]:
        async def change(session: AsyncSession, current: Row[Any]) -> tuple[dict[str, Any], Any]:
            document = data
            if data_patch is not None:
                document = merge_patch(await self._stored_document(session, model_id), data_patch)
                changes.update(_derived(*await self.validate(document)))
            if settings_patch is not None:
                changes["settings"] = _settings(merge_patch(current.settings, settings_patch))
            if changes.get("floorplan_id") is not None:
                await _check_floorplan(session, current.project_id, changes["floorplan_id"])
            if changes.get("content_hash") == current.content_hash:
                changes.pop("model_data")
            # The document itself is compared through its hash (also in `changes`).
            unchanged = all(
                key == "model_data" or getattr(current, key) == value
                for key, value in changes.items()
            )
            return ({} if unchanged else changes), document

        return await self._update(user_id, model_id, pre, change)


def _derived(objects: int, encoded: Encoded) -> dict[str, Any]:
    return {
        # The canonical text, encoded once by `encode`, stored as it is.
        "model_data": encoded.text,
        "object_count": objects,
        "data_bytes": encoded.data_bytes,
        "content_hash": encoded.content_hash,
    }


async def _check_floorplan(
    session: AsyncSession, project_id: str, floorplan_id: str | None
) -> None:
    if floorplan_id is None:
        return
    found = await session.scalar(
        select(Floorplan.id).where(Floorplan.id == floorplan_id, Floorplan.project_id == project_id)
    )
    if found is None:
        raise Invalid(
            "floorplanId does not name a floorplan of this project", code="unknown_floorplan"
        )
