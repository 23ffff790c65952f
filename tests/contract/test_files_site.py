"""§2.5-2.15: a project's files, the file store, uploads and the site analysis."""

from __future__ import annotations

from typing import Any

from tests.contract.conftest import Browser, Served
from tests.storage.conftest import SAMPLES

LINK = {
    "name": "plan.dxf",
    "type": "dxf",
    "category": "import",
    "url": "https://f.example/plan.dxf",
    "size": 48213,
}
FILE_KEYS = {"id": str, "projectId": str, "name": str, "type": str, "category": str, "url": str}


def test_project_files(ann: Browser, bob: Browser, project: dict[str, Any]) -> None:
    pid = project["id"]
    # 2.6
    created = ann.post(f"/api/projects/{pid}/files", json=LINK)
    assert created.status_code == 201
    file = created.json()["file"]
    # 2.5: FilesSection groups by category and lists name; FilePreviewModal reads url,
    # type.toUpperCase(), size, category, uploadedAt, projectId, id.
    listed = ann.get(f"/api/projects/{pid}/files")
    assert listed.status_code == 200
    (item,) = listed.json()["files"]
    for key, kind in FILE_KEYS.items():
        assert isinstance(item[key], kind), key
    assert item["type"].upper() == "DXF"
    assert isinstance(item["size"], int) and isinstance(item["uploadedAt"], str)
    assert (item["name"], item["category"], item["url"]) == ("plan.dxf", "import", LINK["url"])

    for bad in (
        {**LINK, "url": "javascript:alert(document.cookie)"},
        {**LINK, "url": "data:text/html,<script>alert(1)</script>"},
        {**LINK, "type": "exe"},
    ):
        refused = ann.post(f"/api/projects/{pid}/files", json=bad)
        assert refused.status_code in (400, 422) and refused.json()["error"] == "Invalid data"
    assert bob.get(f"/api/projects/{pid}/files").status_code == 404
    assert bob.post(f"/api/projects/{pid}/files", json=LINK).status_code == 404
    # 2.7: only within the project and for its owner.
    assert bob.delete(f"/api/projects/{pid}/files/{file['id']}").status_code == 404
    other = ann.post("/api/projects", json={"name": "Other"}).json()["project"]["id"]
    assert ann.delete(f"/api/projects/{other}/files/{file['id']}").status_code == 404
    assert ann.delete(f"/api/projects/{pid}/files/{file['id']}").is_success
    assert ann.get(f"/api/projects/{pid}/files").json()["files"] == []


def test_render_upload_to_temp_and_the_public_url(
    served: Served, ann: Browser, bob: Browser
) -> None:
    # 2.11: renderStore.createJob's FormData; the url goes to the renderer (no cookie).
    response = ann.post(
        "/api/files/upload",
        files={"file": ("floorplan-render.png", SAMPLES["png"], "image/png")},
        data={"projectId": "temp", "category": "exports"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["url"], str) and isinstance(body["file"]["id"], str)
    public = served.anonymous_get(body["url"])  # a stranger: no session at all
    assert public.status_code == 200 and public.content == SAMPLES["png"]

    # 2.9: the bytes, inline, with type and length; not for someone else.
    file_id = body["file"]["id"]
    read = ann.get(f"/api/files/{file_id}")
    assert read.status_code == 200 and read.content == SAMPLES["png"]
    assert read.headers["content-type"] == "image/png"
    assert read.headers["content-length"] == str(len(SAMPLES["png"]))
    assert read.headers["content-disposition"].startswith('inline; filename="')
    assert bob.get(f"/api/files/{file_id}").status_code == 404

    # 2.8: the test-files page's list.
    listed = ann.get("/api/files")
    assert listed.status_code == 200
    assert listed.json()["success"] is True
    assert isinstance(listed.json()["files"], list) and isinstance(listed.json()["total"], int)

    # 2.10
    assert bob.delete(f"/api/files/{file_id}").status_code == 404
    assert ann.delete(f"/api/files/{file_id}").json()["success"] is True
    assert ann.get(f"/api/files/{file_id}").status_code == 404


def test_upload_into_a_project_and_refusals(
    ann: Browser, bob: Browser, project: dict[str, Any]
) -> None:
    made = ann.post(
        "/api/files/upload",
        files={"file": ("plan.dxf", SAMPLES["dxf"], "application/dxf")},
        data={"projectId": project["id"], "category": "floorplans"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["file"]["projectId"] == project["id"]
    listed = ann.get(f"/api/projects/{project['id']}/files").json()["files"]
    assert [f["name"] for f in listed] == ["plan.dxf"] and listed[0]["type"].upper() == "DXF"
    stolen = bob.post(
        "/api/files/upload",
        files={"file": ("plan.dxf", SAMPLES["dxf"], "application/dxf")},
        data={"projectId": project["id"]},
    )
    assert stolen.status_code == 404
    # The test-files page omits projectId.
    missing = ann.post("/api/files/upload", files={"file": ("a.png", SAMPLES["png"], "image/png")})
    assert missing.status_code == 400 and isinstance(missing.json()["error"], str)


def test_files_cleanup_is_admin_only(served: Served, ann: Browser) -> None:
    # 2.12 / 2.13
    assert ann.get("/api/files/cleanup").status_code == 403
    assert ann.post("/api/files/cleanup", json={}).status_code == 403
    with served.browser("user_2contractAdmin") as admin:
        stats = admin.get("/api/files/cleanup")
        swept = admin.post("/api/files/cleanup", json={"maxAgeHours": 24})
    assert stats.status_code == 200
    for key in ("totalFiles", "totalSize", "filesByCategory", "sizeByCategory"):
        assert key in stats.json()["stats"]
    assert swept.status_code == 200
    assert swept.json()["success"] is True and isinstance(swept.json()["deleted"], int)
    assert swept.json()["errors"] == []


def test_site_analysis_save_and_load(ann: Browser, bob: Browser, project: dict[str, Any]) -> None:
    pid = project["id"]
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [[8.54, 47.37], [8.541, 47.37], [8.541, 47.371], [8.54, 47.371], [8.54, 47.37]]
        ],
    }
    body = {
        "projectId": pid,
        "coordinates": {
            "center": {"lat": 47.3705, "lng": 8.5405},
            "boundary": polygon,
            "areaSqFeet": 90418.5,
            "areaSqMeters": 8400.2,
            "scale": None,
            "rotation": 0,
        },
        "boundary": {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": polygon}],
        },
    }
    # 2.15 before any save: 404 means "none yet".
    assert ann.get(f"/api/site-analysis/{pid}").status_code == 404
    # 2.14: SiteAnalysisService.save checks ok.
    saved = ann.post("/api/site-analysis", json=body)
    assert saved.status_code == 200, saved.text
    site = saved.json()["siteAnalysis"]
    for key in (
        "id",
        "projectId",
        "createdAt",
        "updatedAt",
        "sunPathData",
        "weatherData",
        "topographyData",
        "contextData",
        "analysisResults",
        "boundary",
        "coordinates",
    ):
        assert key in site, key
    # 2.15: load reads coordinates.center.lat/lng, areaSqFeet (else areaSqMeters), boundary.
    loaded = ann.get(f"/api/site-analysis/{pid}")
    assert loaded.status_code == 200 and loaded.json()["success"] is True
    read = loaded.json()["siteAnalysis"]
    assert read["coordinates"]["center"] == {"lat": 47.3705, "lng": 8.5405}
    assert read["coordinates"]["areaSqFeet"] == 90418.5
    assert read["boundary"]["type"] == "FeatureCollection"
    assert bob.get(f"/api/site-analysis/{pid}").status_code == 404
    assert bob.post("/api/site-analysis", json=body).status_code == 404
    bad = ann.post("/api/site-analysis", json={"projectId": pid, "coordinates": {"center": {}}})
    assert not bad.is_success and bad.json()["error"] == "Invalid site analysis data"
