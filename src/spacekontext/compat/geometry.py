"""POST /api/geometry-operations — the web client's push/pull: a face of a mesh extruded by a
distance along its normal (positive adds material, negative cuts it), with manifold3d.

What the client sends is often a triangle soup: three.js' BoxGeometry has 24 vertices, four
per face, none shared, so as given it is not a closed solid. Coincident vertices are welded
first; the face is then extruded along its normal from its own plane (a unit cube's top at
0.5 pushed by 0.5 ends at 1.0). A push's prism starts on the face plane (measured: starting it
inside the solid left slivers just under the face); a cut's cutter starts a hair outside, so
that the difference leaves no zero-thickness skin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
import manifold3d
import numpy as np
import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spacekontext.auth.deps import CurrentUser
from spacekontext.errors import Invalid, Unprocessable
from spacekontext.http.responses import JSONBytes

router = APIRouter(tags=["geometry"])

# Below this the extrusion is nothing: the input comes back unchanged (as the original).
MIN_DISTANCE = 1e-6
# Vertices closer than this (model units, metres) are one vertex.
WELD_TOLERANCE = 1e-6
# A cutter starts this far outside the face plane.
OVERLAP = 1e-5
MAX_VERTICES = 500_000

# Coordinates in metres: a kilometre-scale site fits many times over; beyond this the welding
# grid (WELD_TOLERANCE) would overflow its integers.
MAX_COORDINATE = 1e6
Coordinate = Annotated[float, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE, allow_inf_nan=False)]
Vec3 = tuple[Coordinate, Coordinate, Coordinate]


class MeshIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    positions: list[Coordinate] = Field(min_length=9, max_length=3 * MAX_VERTICES)
    indices: list[Annotated[int, Field(ge=0, le=2**31)]] | None = Field(
        default=None, max_length=6 * MAX_VERTICES
    )


class FaceIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    normal: Vec3
    plane_offset: float | None = Field(default=None, alias="planeOffset")
    center: Vec3
    vertices: list[Vec3]


class ExtrudeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    operation: Literal["extrude"]
    geometry: MeshIn
    face: FaceIn
    distance: float = Field(allow_inf_nan=False, ge=-MAX_COORDINATE, le=MAX_COORDINATE)


def _payload_error(exc: ValidationError) -> Invalid:
    """The client's 400: zod's flattened errors ({formErrors, fieldErrors})."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(name, []).append(error["msg"])
    return Invalid(
        "Invalid payload", code="invalid_payload", details={"formErrors": [], "fieldErrors": fields}
    )


@router.post("/api/geometry-operations", summary="Push/pull: extrude a face of a mesh")
async def geometry_operation(request: Request, user: CurrentUser) -> JSONBytes:
    try:
        raw = orjson.loads(await request.body())
        payload = ExtrudeIn.model_validate(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid("Invalid payload", code="malformed_json") from exc
    except ValidationError as exc:
        raise _payload_error(exc) from exc
    geometry = await anyio.to_thread.run_sync(extrude, payload)
    return JSONBytes({"success": True, "geometry": geometry})


def _check(payload: ExtrudeIn) -> tuple[np.ndarray, np.ndarray]:
    positions = np.asarray(payload.geometry.positions, dtype=np.float64)
    if positions.size % 3 or not np.isfinite(positions).all():
        raise Invalid("Invalid payload", code="invalid_payload", details={"positions": "xyz"})
    points = positions.reshape(-1, 3)
    if payload.geometry.indices is None:
        if len(points) % 3:
            raise Invalid("Triangle indices length must be divisible by 3", code="invalid_mesh")
        triangles = np.arange(len(points), dtype=np.int64).reshape(-1, 3)
    else:
        indices = np.asarray(payload.geometry.indices, dtype=np.int64)
        if indices.size % 3:
            raise Invalid("Triangle indices length must be divisible by 3", code="invalid_mesh")
        if indices.size and (indices.min() < 0 or indices.max() >= len(points)):
            raise Invalid("Triangle indices point past the positions", code="invalid_mesh")
        triangles = indices.reshape(-1, 3)
    if len(payload.face.vertices) < 3:
        raise Invalid("Face requires at least three vertices", code="invalid_face")
    return points, triangles


def weld(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge coincident vertices and drop the triangles that collapse."""
    keys = np.round(points / WELD_TOLERANCE).astype(np.int64)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    merged = np.zeros((len(unique), 3))
    np.add.at(merged, inverse.ravel(), points)
    merged /= np.bincount(inverse.ravel())[:, None]
    welded = inverse.ravel()[triangles]
    keep = (
        (welded[:, 0] != welded[:, 1])
        & (welded[:, 1] != welded[:, 2])
        & (welded[:, 0] != welded[:, 2])
    )
    return merged, welded[keep]


def _solid(points: np.ndarray, triangles: np.ndarray) -> manifold3d.Manifold:
    mesh = manifold3d.Mesh(
        vert_properties=np.ascontiguousarray(points, dtype=np.float32),
        tri_verts=np.ascontiguousarray(triangles, dtype=np.uint32),
    )
    solid = manifold3d.Manifold(mesh)
    if solid.status() != manifold3d.Error.NoError:
        raise Unprocessable(
            "Geometry operation failed",
            code="not_a_solid",
            details={"message": f"the mesh is not a closed solid ({solid.status().name})"},
        )
    return solid


def _prism(face: FaceIn, distance: float) -> manifold3d.Manifold:
    normal = np.asarray(face.normal, dtype=np.float64)
    length = np.linalg.norm(normal)
    if not np.isfinite(length) or length < 1e-12:
        raise Invalid("Invalid payload", code="invalid_face", details={"normal": "zero length"})
    normal /= length
    # Any unit vector across the normal, and the third completing a right-handed frame
    # (u x v = n), so that the local +z of the extrusion is the face normal.
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(helper, normal)
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    center = np.asarray(face.center, dtype=np.float64)
    vertices = np.asarray(face.vertices, dtype=np.float64) - center
    outline = np.column_stack([vertices @ u, vertices @ v])
    x, y = outline[:, 0], outline[:, 1]
    area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    if abs(area) < 1e-12:
        raise Invalid("Face requires at least three vertices", code="invalid_face")
    if area < 0:
        outline = outline[::-1]
    section = manifold3d.CrossSection([np.ascontiguousarray(outline)])
    direction = normal if distance > 0 else -normal
    overlap = 0.0 if distance > 0 else OVERLAP
    origin = center - direction * overlap
    height = abs(distance) + overlap
    frame = np.column_stack([u, v if distance > 0 else -v, direction, origin])
    return manifold3d.Manifold.extrude(section, height).transform(frame)


def extrude(payload: ExtrudeIn) -> dict[str, Any]:
    points, triangles = _check(payload)
    if abs(payload.distance) < MIN_DISTANCE:
        return {
            "positions": payload.geometry.positions,
            "indices": payload.geometry.indices,
        }
    welded_points, welded_triangles = weld(points, triangles)
    solid = _solid(welded_points, welded_triangles)
    prism = _prism(payload.face, payload.distance)
    result = solid + prism if payload.distance > 0 else solid - prism
    mesh = result.to_mesh()
    positions = np.asarray(mesh.vert_properties)[:, :3].astype(np.float64)
    # float32 inside manifold: round away the noise so 1.0 reads as 1.0.
    positions = np.round(positions, 6)
    return {
        "positions": positions.ravel().tolist(),
        "indices": np.asarray(mesh.tri_verts).ravel().astype(int).tolist(),
    }
