"""The block DXF by URL (never an open proxy), public thumbnails, the client's block vocabulary,
the materials library, push/pull geometry and the admin file clean-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as WerkzeugResponse

from spacekontext.cadblocks.library import library
from tests.compat.conftest import ADMIN, ANN, BOB, AppFactory, Auth
from tests.storage.conftest import SAMPLES, multipart

DXF = b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n"


async def _seeded(make_app: AppFactory, **overrides: Any) -> Any:
    client = await make_app(**overrides)
    assert make_app.services is not None
    specs = [s for s in library() if s.category in ("doors", "windows", "bath", "furniture")]
    await make_app.services.cadblocks.seed(specs)
    return client


async def test_blocks_in_the_clients_vocabulary(make_app: AppFactory, auth: Auth) -> None:
    client = await _seeded(make_app)
    ann = auth(ANN)
    doors = await client.get("/api/cad-blocks?category=door&subcategory=door", headers=ann)
    blocks = doors.json()["blocks"]
    assert blocks and {b["category"] for b in blocks} == {"doors"}
    for block in blocks:
        assert isinstance(block["tags"], list)
        assert block["width"] == block["widthM"] and block["depth"] == block["depthM"]
        for key in ("id", "slug", "name", "dxfUrl", "thumbnailUrl"):
            assert block[key]
    windows = await client.get("/api/cad-blocks?category=window&subcategory=window", headers=ann)
    assert {b["category"] for b in windows.json()["blocks"]} == {"windows"}
    baths = await client.get("/api/cad-blocks?category=bathroom&subcategory=bathroom", headers=ann)
    assert {b["category"] for b in baths.json()["blocks"]} == {"bath"}
    beds = await client.get("/api/cad-blocks?category=furniture&subcategory=bedroom", headers=ann)
    assert {b["subcategory"] for b in beds.json()["blocks"]} == {"beds"}
    # Our own names still work.
    swing = await client.get("/api/cad-blocks?category=doors&subcategory=swing", headers=ann)
    assert {b["subcategory"] for b in swing.json()["blocks"]} == {"swing"}

    # The thumbnail of a public block loads in an <img>: no credentials.
    thumb = await client.get(blocks[0]["thumbnailUrl"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"].startswith("image/svg+xml")
    assert (await client.get("/api/cad-blocks/no-such-block/thumbnail.svg")).status_code == 401


async def test_dxf_by_url_of_our_own_blocks(make_app: AppFactory, auth: Auth) -> None:
    client = await _seeded(make_app)
    ann = auth(ANN)
    block = (await client.get("/api/cad-blocks?category=door", headers=ann)).json()["blocks"][0]
    for url in (block["dxfUrl"], f"http://testserver{block['dxfUrl']}"):
        response = await client.get("/api/cad-blocks/dxf", params={"url": url}, headers=ann)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert b"SECTION" in response.content
    missing = await client.get("/api/cad-blocks/dxf", headers=ann)
    assert missing.status_code == 400
    assert missing.json()["error"] == "URL parameter is required"
    unknown = await client.get(
        "/api/cad-blocks/dxf", params={"url": "/api/cad-blocks/nope/dxf"}, headers=ann
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "make_url",
    [
        lambda base: base.replace("://localhost:", "://localhost.evil.test:") + "a.dxf",
        lambda base: base.replace("://localhost:", "://evil.test:") + "a.dxf",
        lambda base: base,  # the prefix itself is no file
        lambda base: base.replace("http://", "https://") + "a.dxf",
        lambda base: base.replace("/cad-blocks/", "/other/") + "a.dxf",
        lambda base: base.replace("/cad-blocks/", "/cad-blocks-x/") + "a.dxf",
        lambda base: base + "../secret.dxf",
        lambda base: base + "%2e%2e/secret.dxf",
        lambda base: base.replace("http://", "http://user:pw@") + "a.dxf",
        lambda base: base.rsplit(":", 1)[0] + ":1/cad-blocks/a.dxf",
        lambda base: "http://169.254.169.254/latest/meta-data/",
        lambda base: "file:///etc/passwd",
        lambda base: "javascript:alert(1)",
    ],
)
async def test_dxf_by_url_is_no_open_proxy(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer, make_url: Any
) -> None:
    store = httpserver.url_for("/cad-blocks/")
    assert "://localhost:" in store
    client = await make_app(cad_blocks_store_url=store)
    response = await client.get(
        "/api/cad-blocks/dxf", params={"url": make_url(store)}, headers=auth(ANN)
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Invalid URL - must be from configured storage"
    assert httpserver.log == []  # nothing was fetched


async def test_dxf_by_url_from_the_configured_store(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/cad-blocks/door/door-1.dxf").respond_with_data(DXF)
    httpserver.expect_request("/cad-blocks/moved.dxf").respond_with_response(
        WerkzeugResponse(status=302, headers={"Location": "http://169.254.169.254/"})
    )
    httpserver.expect_request("/cad-blocks/huge.dxf").respond_with_data(b"0" * 5000)
    httpserver.expect_request("/cad-blocks/gone.dxf").respond_with_data("no", status=404)
    client = await make_app(
        cad_blocks_store_url=httpserver.url_for("/cad-blocks/"), cad_block_dxf_max_bytes=4096
    )
    ann = auth(ANN)

    async def get(path: str) -> Any:
        url = httpserver.url_for(path)
        return await client.get("/api/cad-blocks/dxf", params={"url": url}, headers=ann)

    ok = await get("/cad-blocks/door/door-1.dxf")
    assert ok.status_code == 200 and ok.content == DXF
    assert ok.headers["cache-control"] == "public, max-age=31536000, immutable"
    moved = await get("/cad-blocks/moved.dxf")
    assert moved.status_code == 502
    assert moved.json()["details"]["upstreamStatus"] == 302  # not followed
    assert (await get("/cad-blocks/huge.dxf")).status_code == 413
    gone = await get("/cad-blocks/gone.dxf")
    assert gone.status_code == 502 and gone.json()["details"]["upstreamStatus"] == 404


def _texture_set(root: Path, category: str, folder: str) -> None:
    where = root / category / folder
    where.mkdir(parents=True)
    for part in ("diff_2k", "nor_gl_2k", "rough_2k", "ao_2k"):
        (where / f"{folder.replace(' ', '_')}_{part}.jpg").write_bytes(b"\xff\xd8\xff" + b"x" * 10)


async def test_materials(make_app: AppFactory, auth: Auth, tmp_path: Path) -> None:
    unconfigured = await make_app()
    empty = await unconfigured.get("/api/materials", headers=auth(ANN))
    assert empty.status_code == 200
    assert empty.json()["materials"] == [] and "error" not in empty.json()

    root = tmp_path / "materials"
    _texture_set(root, "Floor", "textures 10")
    _texture_set(root, "Wall", "brick")
    (root / "Wall" / "incomplete").mkdir()
    (root / "Wall" / "incomplete" / "x_diff.jpg").write_bytes(b"\xff\xd8\xff")
    client = await make_app(materials_dir=root)
    listed = (await client.get("/api/materials", headers=auth(ANN))).json()["materials"]
    assert [m["id"] for m in listed] == ["floor-textures-10", "wall-brick"]
    floor = listed[0]
    assert floor["basePath"] == "/Materials/Floor/textures 10"
    assert floor["name"] == "textures 10" and floor["category"] == "Floor"
    for key in ("diffuse", "normal", "rough", "ao"):
        assert floor[key].startswith("/Materials/Floor/textures 10/")
    texture = await client.get(floor["diffuse"].replace(" ", "%20"))
    assert texture.status_code == 200 and texture.content.startswith(b"\xff\xd8\xff")


def box_geometry() -> tuple[list[float], list[int]]:
    """three.js BoxGeometry(1, 1, 1): 24 vertices, four per face, none shared."""
    positions: list[float] = []
    indices: list[int] = []
    axes = np.eye(3)
    for axis in range(3):
        for sign in (1.0, -1.0):
            normal = axes[axis] * sign
            a = axes[(axis + 1) % 3]
            b = np.cross(normal, a)
            base = len(positions) // 3
            for i, j in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                positions += list(normal * 0.5 + a * 0.5 * i + b * 0.5 * j)
            indices += [base, base + 1, base + 2, base, base + 2, base + 3]
    return positions, indices


TOP = [[-0.5, 0.5, -0.5], [0.5, 0.5, -0.5], [0.5, 0.5, 0.5], [-0.5, 0.5, 0.5]]


def _extrude(distance: float, **changes: Any) -> dict[str, Any]:
    positions, indices = box_geometry()
    body = {
        "operation": "extrude",
        "geometry": {"positions": positions, "indices": indices},
        "face": {"normal": [0, 1, 0], "planeOffset": 0.5, "center": [0, 0.5, 0], "vertices": TOP},
        "distance": distance,
    }
    return body | changes


async def test_push_pull_on_a_box_geometry(make_app: AppFactory, auth: Auth) -> None:
    client = await make_app(geometry_max_body_bytes=64 * 1024)
    ann = auth(ANN) | {"Origin": "http://testserver"}

    async def run(body: dict[str, Any]) -> Any:
        return await client.post("/api/geometry-operations", json=body, headers=ann)

    pushed = await run(_extrude(0.5))
    assert pushed.status_code == 200, pushed.text
    points = np.array(pushed.json()["geometry"]["positions"]).reshape(-1, 3)
    assert points[:, 1].max() == pytest.approx(1.0) and points[:, 1].min() == pytest.approx(-0.5)
    assert len(pushed.json()["geometry"]["indices"]) % 3 == 0
    cut = (await run(_extrude(-0.25))).json()["geometry"]["positions"]
    assert np.array(cut).reshape(-1, 3)[:, 1].max() == pytest.approx(0.25)
    same = (await run(_extrude(1e-9))).json()["geometry"]
    assert same["positions"] == box_geometry()[0]

    few = await run(_extrude(0.5, face={**_extrude(0)["face"], "vertices": TOP[:2]}))
    assert few.status_code == 400 and few.json()["error"] == "Face requires at least three vertices"
    odd = _extrude(0.5)
    odd["geometry"]["indices"] = odd["geometry"]["indices"][:-1]
    bad_indices = await run(odd)
    assert bad_indices.json()["error"] == "Triangle indices length must be divisible by 3"
    for absurd in (
        _extrude(1e300),
        _extrude(0.5, face={**_extrude(0)["face"], "center": [0, 1e300, 0]}),
        _extrude(0.5, geometry={"positions": [1e300] * 9, "indices": [0, 1, 2]}),
        _extrude(0.5, geometry={"positions": box_geometry()[0], "indices": [-1, 0, 1]}),
    ):
        refused = await run(absurd)
        assert refused.status_code == 400 and refused.json()["error"] == "Invalid payload"
    invalid = await run({"operation": "twist"})
    assert invalid.status_code == 400 and invalid.json()["error"] == "Invalid payload"
    assert set(invalid.json()["details"]) == {"formErrors", "fieldErrors"}
    open_mesh = _extrude(0.5)
    open_mesh["geometry"]["indices"] = open_mesh["geometry"]["indices"][:-6]
    not_solid = await run(open_mesh)
    assert not_solid.status_code == 422
    assert not_solid.json()["error"] == "Geometry operation failed"
    huge = _extrude(0.5)
    huge["geometry"]["positions"] = huge["geometry"]["positions"] * 1000
    assert (await run(huge)).status_code == 413


async def test_files_cleanup_is_for_admins(make_app: AppFactory, auth: Auth) -> None:
    client = await make_app()
    ann, admin = auth(ANN), auth(ADMIN)
    fields: list[tuple[str, str | None, Any]] = [
        ("file", "render-input.png", SAMPLES["png"]),
        ("projectId", None, b"temp"),
        ("category", None, b"exports"),
    ]
    form_headers, body = multipart(fields)
    made = await client.post("/api/files/upload", content=body, headers=ann | form_headers)
    assert made.status_code == 201, made.text
    file_id = made.json()["file"]["id"]

    for method in ("GET", "POST"):
        refused = await client.request(
            method, "/api/files/cleanup", headers=ann | {"Origin": "http://testserver"}
        )
        assert refused.status_code == 403, method
    stats = await client.get("/api/files/cleanup", headers=admin)
    assert stats.status_code == 200
    assert stats.json()["stats"]["filesByCategory"]["temporary"] >= 1
    kept = await client.post("/api/files/cleanup", json={}, headers=admin)
    assert kept.json()["deleted"] == 0  # younger than 24 h
    swept = await client.post("/api/files/cleanup", json={"maxAgeHours": 0}, headers=admin)
    assert swept.json() == {"success": True, "deleted": 1, "errors": []}
    assert (await client.get(f"/api/files/{file_id}", headers=ann)).status_code == 404
    assert (await client.get(f"/api/files/{file_id}", headers=auth(BOB))).status_code == 404
