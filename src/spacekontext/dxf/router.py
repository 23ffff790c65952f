from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import Field, ValidationError

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.dxf.service import Imported, ImportJob, import_options
from spacekontext.errors import Invalid, ValidationFailed
from spacekontext.http.immutable import ContentKind, serve_by_hash
from spacekontext.http.openapi import file_response
from spacekontext.http.responses import JSONBytes
from spacekontext.http.schemas import ApiInput

router = APIRouter(tags=["dxf"])

# ezdxf's $INSUNITS codes a caller may force: inches, feet, mm, cm, m.
UNIT_CODES = {1, 2, 4, 5, 6}
DXF_FILE = file_response("image/vnd.dxf", "DXF")
SVG_FILE = file_response("image/svg+xml", "SVG")


def _preview_headers(etag: str, cache_control: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }


# A plan's preview: its entity tags are its content hash, prefixed.
PREVIEW = ContentKind("image/svg+xml", _preview_headers, etag_prefix="svg-")


@router.get("/api/floorplans/{floorplan_id}/export.dxf", summary="The floorplan as DXF", **DXF_FILE)
async def export_dxf(floorplan_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    filename, data = await services.dxf.export(user.id, floorplan_id)
    return Response(
        data,
        media_type="image/vnd.dxf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/api/floorplans/{floorplan_id}/preview.svg",
    summary="An SVG preview of the plan",
    **SVG_FILE,
)
async def preview_svg(
    floorplan_id: str,
    user: CurrentUser,
    services: ServicesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    preview = await services.dxf.preview(user.id, floorplan_id, if_none_match)
    headers = _preview_headers(preview.etag, "private, no-cache")
    if preview.svg is None:
        return Response(status_code=304, headers=headers)
    return Response(preview.svg, media_type="image/svg+xml", headers=headers)


@router.get(
    "/api/floorplans/{floorplan_id}/preview/{content_hash}.svg",
    summary="The SVG preview of one content of the plan, by its hash (cached for a year)",
    **SVG_FILE,
)
async def preview_by_hash(
    floorplan_id: str, content_hash: str, request: Request, services: ServicesDep
) -> Response:
    # The plan's `contentHash` (or a saved version's) names bytes that never change: a cache
    # keeps them a year, and a copy the client holds is confirmed without a query.
    return await serve_by_hash(
        request,
        services,
        PREVIEW,
        content_hash,
        lambda user_id: services.dxf.preview_by_hash(user_id, floorplan_id, content_hash),
    )


def _field(form: object, key: str) -> str | None:
    value = form.get(key)  # type: ignore[attr-defined]
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL's text cannot hold it.
        raise Invalid(f"field {key!r} contains a NUL character", code="invalid_field")
    return value if isinstance(value, str) and value.strip() else None


class ImportFromFile(ApiInput):
    """JSON body of an import of a DXF uploaded earlier through the files API."""

    file_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    level: int = Field(default=0, ge=-100, le=1000)
    units: int | None = None
    wall_layers: str | None = Field(default=None, max_length=2000)
    room_layers: str | None = Field(default=None, max_length=2000)
    door_layers: str | None = Field(default=None, max_length=2000)
    window_layers: str | None = Field(default=None, max_length=2000)
    furniture_layers: str | None = Field(default=None, max_length=2000)


def _check_units(units: int | None) -> None:
    if units is not None and units not in UNIT_CODES:
        raise ValidationFailed(f"units must be one of {sorted(UNIT_CODES)} ($INSUNITS codes)")


def _answer(outcome: Imported | ImportJob) -> JSONBytes:
    if isinstance(outcome, ImportJob):
        return JSONBytes({"success": True, "job": outcome.body()}, status_code=202)
    return JSONBytes(
        {
            "success": True,
            "floorplan": outcome.floorplan.model_dump(mode="json", by_alias=True),
            "import": outcome.summary,
        },
        status_code=201,
    )


@router.post(
    "/api/projects/{project_id}/floorplans/import",
    status_code=201,
    summary="Create a floorplan from a DXF (multipart upload, or JSON {fileId})",
    responses={202: {"description": "Large file: imported by a background job"}},
)
async def import_floorplan(
    project_id: str, request: Request, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = ImportFromFile.model_validate_json(await request.body())
        except ValidationError as exc:
            raise ValidationFailed("invalid import request", details=exc.errors()) from exc
        _check_units(body.units)
        options = import_options(
            units=body.units,
            wall_layers=body.wall_layers,
            room_layers=body.room_layers,
            door_layers=body.door_layers,
            window_layers=body.window_layers,
            furniture_layers=body.furniture_layers,
        )
        return _answer(
            await services.dxf.import_file(
                user.id, project_id, body.file_id, name=body.name, level=body.level, options=options
            )
        )
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
        _check_units(units)
        name = _field(form, "name") or (upload.filename or "Imported plan").rsplit(".", 1)[0]
        name = name.replace("\x00", "")
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
    return _answer(
        await services.dxf.import_dxf(
            user.id,
            project_id,
            data,
            name=name[:255] or "Imported plan",
            level=level,
            options=options,
        )
    )


@router.get("/api/floorplans/imports/{job_id}", summary="Status of a background DXF import")
async def import_status(job_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    job = await services.dxf.import_status(user.id, job_id)
    return JSONBytes({"success": True, "job": job.body()})
