from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.floorplans.schemas import FloorplanCreate, FloorplanPatch, FloorplanReplace
from spacekontext.http.conditional import IfMatch
from spacekontext.http.document_routes import DocumentKind, Prefer, document_routes
from spacekontext.http.documents import saved_response, stored_response
from spacekontext.http.responses import JSONBytes

router, hot_routes = document_routes(
    DocumentKind(
        "floorplans",
        "data",
        FloorplanCreate,
        FloorplanReplace,
        FloorplanPatch,
        service=lambda services: services.floorplans,
        by_level=True,
        delete_summary="Delete a floorplan and its history",
    )
)

# A floorplan's own routes: its history.
VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


@router.get("/api/floorplans/{floorplan_id}/versions", summary="A floorplan's saved versions")
async def list_versions(floorplan_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    rows = await services.floorplans.versions(user.id, floorplan_id)
    return JSONBytes({"success": True, "versions": [_dump(row) for row in rows]})


@router.get(
    "/api/floorplans/{floorplan_id}/versions/{version}", summary="One saved version's document"
)
async def get_version(
    floorplan_id: str, version: VersionNumber, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    stored = await services.floorplans.version_document(user.id, floorplan_id, version)
    return stored_response("version", stored, data_key="data")


@router.post(
    "/api/floorplans/{floorplan_id}/versions/{version}/restore",
    summary="Restore a saved version as a new version",
)
async def restore_version(
    floorplan_id: str,
    version: VersionNumber,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.floorplans.restore(user.id, floorplan_id, version, pre)
    return saved_response(
        "floorplan", saved, version=saved.meta.version, data_key="data", prefer=prefer
    )


@router.post(
    "/api/floorplans/{floorplan_id}/rooms",
    summary="Find the rooms from the walls, beside the editor's own zones, as a new version",
)
async def derive_rooms(
    floorplan_id: str,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    """A save derives rooms by itself when a plan has walls and no zones of the editor's own;
    this asks for them when it has both. The editor's zones stay as drawn (a room where the
    editor drew a zone is left out), earlier derived rooms are replaced. The document's
    `derivedRooms` says how many were found, their net and gross areas, and why none were."""
    saved = await services.floorplans.derive_rooms(user.id, floorplan_id, pre)
    return saved_response(
        "floorplan", saved, version=saved.meta.version, data_key="data", prefer=prefer
    )
