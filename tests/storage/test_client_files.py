"""Files as the web client uses them: the bytes from GET /api/files/{id}, a project's files with
the client's keys, files registered by URL (`project_files`), and `projectId=temp` uploads
whose URL a renderer can read without a session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from spacekontext.files.router import inline_disposition
from tests.files.test_files_api import ANN, BOB, JSON, Auth, new_project, upload
from tests.storage.conftest import SAMPLES


@pytest.fixture
def store_backend() -> str:
    return "local"


CLIENT_KEYS = {"id", "projectId", "name", "type", "category", "url", "size", "uploadedAt"}


def test_inline_disposition_escapes_the_name() -> None:
    header = inline_disposition('a"b\\c\r\n.png', 'Façade "final".png')
    assert header == (
        "inline; filename=\"abc.png\"; filename*=UTF-8''Fa%C3%A7ade%20%22final%22.png"
    )
    assert "\r" not in header and "\n" not in header


async def test_get_file_answers_the_bytes(api: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    made = await upload(api, ann, project_id, "plan v2.png", SAMPLES["png"])
    file_id = made.json()["file"]["id"]

    # As the client's fetch, <img> and GLTFLoader send it: Accept */* (or image/*).
    for accept in ("*/*", "image/avif,image/webp,*/*"):
        response = await api.get(f"/api/files/{file_id}", headers=ann | {"Accept": accept})
        assert response.status_code == 200
        assert response.content == SAMPLES["png"]
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-length"] == str(len(SAMPLES["png"]))
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('inline; filename="plan_v2.png"')
        assert "filename*=UTF-8''plan%20v2.png" in disposition
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
    # Our API's JSON, when asked for.
    meta = await api.get(f"/api/files/{file_id}", headers=ann | JSON)
    assert meta.json()["file"]["id"] == file_id
    # Someone else's file is missing.
    assert (await api.get(f"/api/files/{file_id}", headers=auth(BOB))).status_code == 404


async def test_project_files_carry_the_clients_keys(api: httpx.AsyncClient, auth: Auth) -> None:
    ann, bob = auth(ANN), auth(BOB)
    project_id = await new_project(api, ann)
    uploaded = (await upload(api, ann, project_id, "plan.dxf", SAMPLES["dxf"])).json()["file"]
    link = {
        "name": "render.png",
        "type": "png",
        "category": "render",
        "url": "https://f.example.test/render.png",
        "size": 48213,
    }
    registered = await api.post(f"/api/projects/{project_id}/files", json=link, headers=ann)
    assert registered.status_code == 201, registered.text
    file = registered.json()["file"]
    assert set(file) >= CLIENT_KEYS
    assert (file["name"], file["type"], file["url"], file["size"]) == (
        "render.png",
        "png",
        link["url"],
        48213,
    )

    listed = await api.get(f"/api/projects/{project_id}/files", headers=ann)
    assert listed.status_code == 200
    files = listed.json()["files"]
    assert [f["id"] for f in files] == [file["id"], uploaded["id"]]  # newest first
    assert listed.json()["total"] == 2
    for item in files:
        assert set(item) >= CLIENT_KEYS, item
        assert isinstance(item["type"], str) and item["type"].upper()
        assert isinstance(item["size"], int)
    upload_item = files[1]
    assert upload_item["url"] == f"/api/files/{uploaded['id']}"
    assert upload_item["name"] == "plan.dxf" and upload_item["type"] == "dxf"
    only_renders = await api.get(f"/api/projects/{project_id}/files?category=render", headers=ann)
    assert [f["id"] for f in only_renders.json()["files"]] == [file["id"]]
    paged = await api.get(f"/api/projects/{project_id}/files?limit=1&offset=1", headers=ann)
    assert [f["id"] for f in paged.json()["files"]] == [uploaded["id"]]

    # Another user: the project is missing, for every method.
    assert (await api.get(f"/api/projects/{project_id}/files", headers=bob)).status_code == 404
    assert (
        await api.post(f"/api/projects/{project_id}/files", json=link, headers=bob)
    ).status_code == 404
    assert (
        await api.delete(f"/api/projects/{project_id}/files/{file['id']}", headers=bob)
    ).status_code == 404

    # A file of another project of the same user is not deleted through this one.
    other = await new_project(api, ann, name="Other")
    assert (
        await api.delete(f"/api/projects/{other}/files/{file['id']}", headers=ann)
    ).status_code == 404
    # The link, then the upload (row and bytes) through the project's route.
    for item in (file, uploaded):
        gone = await api.delete(f"/api/projects/{project_id}/files/{item['id']}", headers=ann)
        assert gone.status_code == 200 and gone.json()["success"] is True
    assert (await api.get(f"/api/projects/{project_id}/files", headers=ann)).json()["files"] == []
    assert (await api.get(f"/api/files/{uploaded['id']}", headers=ann)).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"url": "javascript:alert(1)"},
        {"url": "data:text/html,<script>alert(1)</script>"},
        {"url": "file:///etc/passwd"},
        {"url": "https://"},
        {"url": "https://ok.test/a b"},
        {"type": "exe"},
        {"category": "secret"},
        {"size": 0},
        {"name": ""},
    ],
)
async def test_registered_files_refuse_bad_data(
    api: httpx.AsyncClient, auth: Auth, change: dict[str, Any]
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    link = {
        "name": "plan.dxf",
        "type": "dxf",
        "category": "import",
        "url": "https://f.example.test/plan.dxf",
        "size": 10,
    } | change
    response = await api.post(f"/api/projects/{project_id}/files", json=link, headers=ann)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "Invalid data"
    listed = await api.get(f"/api/projects/{project_id}/files", headers=ann)
    assert listed.json()["files"] == []


async def test_temp_uploads_are_scratch_with_a_cookieless_url(
    api: httpx.AsyncClient, auth: Auth, fetch: Callable[[str], Any]
) -> None:
    """renderStore.createJob: projectId=temp, category=exports; the url goes to the renderer,
    which has no session."""
    ann = auth(ANN)
    made = await upload(api, ann, "temp", "floorplan.png", SAMPLES["png"], category="exports")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["file"]["id"] and body["file"]["projectId"] is None
    assert body["file"]["metadata"]["scope"] == "scratch"
    public = await fetch(body["url"])  # no Authorization, no cookie
    assert public.status_code == 200
    assert public.content == SAMPLES["png"]
    # Only its owner sees it through the API.
    assert (await api.get(f"/api/files/{body['file']['id']}", headers=auth(BOB))).status_code == 404
    mine = await api.get(f"/api/files/{body['file']['id']}", headers=ann)
    assert mine.content == SAMPLES["png"]
