"""§2.16-2.19: the block library, block DXFs by URL, materials and push/pull geometry."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compat.test_blocks_materials_geometry import TOP, box_geometry
from tests.contract.conftest import Browser, Served

DXF = b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n"


@pytest.mark.parametrize("kind", ["door", "window"])
def test_cad_blocks_as_the_openings_panel_asks(ann: Browser, served: Served, kind: str) -> None:
    response = ann.get(f"/api/cad-blocks?category={kind}&subcategory={kind}")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["blocks"]
    for block in body["blocks"]:
        assert isinstance(block["tags"], list)  # tags.some(...)
        for key in ("id", "slug", "name", "category", "dxfUrl", "thumbnailUrl"):
            assert isinstance(block[key], str) and block[key], key
        assert isinstance(block["width"], float) and isinstance(block["depth"], float)
    block = body["blocks"][0]
    # The thumbnail in an <img>: loads with no credentials.
    image = served.anonymous_get(block["thumbnailUrl"])
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg")
    # 2.17: dxfConverter.parseDXFFromURL on a canvas drop.
    from urllib.parse import quote

    dxf = ann.get(f"/api/cad-blocks/dxf?url={quote(block['dxfUrl'], safe='')}")
    assert dxf.status_code == 200 and dxf.headers["content-type"].startswith("text/plain")
    assert "SECTION" in dxf.text


def test_dxf_proxy_reaches_only_the_store(ann: Browser, served: Served) -> None:
    store = served.upstream.url_for("/r2/cad-blocks/").replace("localhost", "127.0.0.1")
    served.upstream.expect_request("/r2/cad-blocks/door/door-1.dxf").respond_with_data(DXF)
    assert ann.get("/api/cad-blocks/dxf").json()["error"] == "URL parameter is required"
    # The configured store URL in the settings uses the server's own host string.
    configured = served.upstream.url_for("/r2/cad-blocks/")
    ok = ann.get("/api/cad-blocks/dxf", params={"url": configured + "door/door-1.dxf"})
    assert ok.status_code == 200 and ok.content == DXF
    host = configured.split("//", 1)[1].split(":", 1)[0]
    for url in (
        configured.replace(f"//{host}:", f"//{host}.evil.test:") + "door/door-1.dxf",
        configured + "../secret",
        "http://169.254.169.254/latest/meta-data/",
        store.replace("/r2/cad-blocks/", "/elsewhere/") + "x.dxf",
    ):
        refused = ann.get("/api/cad-blocks/dxf", params={"url": url})
        assert refused.status_code == 400, url
        assert refused.json()["error"] == "Invalid URL - must be from configured storage"


def test_materials_list_without_error(ann: Browser, served: Served) -> None:
    response = ann.get("/api/materials")
    assert response.status_code == 200
    body = response.json()
    assert "error" not in body  # any error key hides the list
    (material,) = body["materials"]
    assert material["id"] == "floor-textures-10"
    for key in ("id", "name", "category", "diffuse", "normal", "rough", "ao"):
        assert isinstance(material[key], str)
    texture = served.anonymous_get(material["diffuse"])
    assert texture.status_code == 200


def test_push_pull_as_the_box_tool_sends_it(ann: Browser) -> None:
    positions, indices = box_geometry()
    body = {
        "operation": "extrude",
        "geometry": {"positions": positions, "indices": indices},
        "face": {"normal": [0, 1, 0], "planeOffset": 0.5, "center": [0, 0.5, 0], "vertices": TOP},
        "distance": 0.5,
    }
    response = ann.post("/api/geometry-operations", json=body)
    assert response.status_code == 200, response.text
    geometry = response.json()["geometry"]
    assert geometry["positions"] and len(geometry["indices"]) % 3 == 0
    top = np.array(geometry["positions"]).reshape(-1, 3)[:, 1].max()
    assert top == pytest.approx(1.0)
    few = ann.post(
        "/api/geometry-operations", json={**body, "face": {**body["face"], "vertices": TOP[:2]}}
    )
    assert few.status_code == 400 and few.json()["error"] == "Face requires at least three vertices"
    invalid = ann.post("/api/geometry-operations", json={"operation": "extrude"})
    assert invalid.status_code == 400 and invalid.json()["error"] == "Invalid payload"
    assert "fieldErrors" in invalid.json()["details"]
