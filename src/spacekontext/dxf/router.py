from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.dxf.service import import_options
from spacekontext.errors import Invalid, ValidationFailed
from spacekontext.http.responses import JSONBytes

router = APIRouter(tags=["dxf"])

# ezdxf's $INSUNITS codes a caller may force: inches, feet, mm, cm, m.
UNIT_CODES = {1, 2, 4, 5, 6}


@router.get("/api/floorplans/{floorplan_id}/export.dxf", summary="The floorplan as DXF")
async def export_dxf(floorplan_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    filename, data = await services.dxf.export(user.id, floorplan_id)
    return Response(
        data,
        media_type="image/vnd.dxf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/api/floorplans/{floorplan_id}/preview.svg", summary="An SVG preview of the plan")
async def preview_svg(
    floorplan_id: str,
    user: CurrentUser,
    services: ServicesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    preview = await services.dxf.preview(user.id, floorplan_id, if_none_match)
    headers = {
        "ETag": preview.etag,
        "Cache-Control": "private, no-cache",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }
    if preview.svg is None:
        return Response(status_code=304, headers=headers)
    return Response(preview.svg, media_type="image/svg+xml", headers=headers)


def _field(form: object, key: str) -> str | None:
    value = form.get(key)  # type: ignore[attr-defined]
    return value if isinstance(value, str) and value.strip() else None


@router.post(
    "/api/projects/{project_id}/floorplans/import",
    status_code=201,
    summary="Create a floorplan from a DXF upload",
)
async def import_floorplan(
    project_id: str, request: Request, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    form = await request.form(max_files=1, max_fields=20)
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid("a DXF file is required in the 'file' field", code="file_required")
        try:
            level = int(_field(form, "level") or 0)
            units = int(u) if (u := _field(form, "units")) else None
        except ValueError as exc:
            raise ValidationFailed("level and units must be integers") from exc
        if not -100 <= level <= 1000:
            raise ValidationFailed("level must be between -100 and 1000")
        if units is not None and units not in UNIT_CODES:
            raise ValidationFailed(f"units must be one of {sorted(UNIT_CODES)} ($INSUNITS codes)")
        name = _field(form, "name") or (upload.filename or "Imported plan").rsplit(".", 1)[0]
        options = import_options(
            units=units,
            wall_layers=_field(form, "wallLayers"),
            room_layers=_field(form, "roomLayers"),
            door_layers=_field(form, "doorLayers"),
            window_layers=_field(form, "windowLayers"),
            furniture_layers=_field(form, "furnitureLayers"),
        )
        data = await upload.read()
    finally:
        await form.close()
    imported = await services.dxf.import_dxf(
        user.id, project_id, data, name=name[:255] or "Imported plan", level=level, options=options
    )
    return JSONBytes(
        {
            "success": True,
            "floorplan": imported.floorplan.model_dump(mode="json", by_alias=True),
            "import": imported.summary,
        },
        status_code=201,
    )
