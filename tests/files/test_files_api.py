"""The files API over both backends: uploads streamed through the API, direct uploads, reads,
deletes, and refusals that leave nothing behind."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from spacekontext.errors import NotFound
from spacekontext.files.kinds import KINDS
from spacekontext.files.models import StoredFile
from spacekontext.ids import new_id
from spacekontext.services import Services
from spacekontext.storage.base import ObjectStore
from spacekontext.storage.keys import staging_key
from tests.storage.conftest import SAMPLES, TEST_MAX_UPLOAD, multipart

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"
BOB = "bob@example.com"


# GET /api/files/{id} answers the bytes unless JSON is asked for.
JSON = {"Accept": "application/json"}


async def new_project(api: httpx.AsyncClient, headers: dict[str, str], name: str = "P") -> str:
    response = await api.post("/api/projects", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["project"]["id"])


async def upload(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    project_id: str,
    filename: str,
    data: bytes,
    *,
    category: str = "import",
    file_first: bool = True,
) -> httpx.Response:
    fields: list[tuple[str, str | None, Any]] = [
        ("projectId", None, project_id.encode()),
        ("category", None, category.encode()),
    ]
    file_part: tuple[str, str | None, Any] = ("file", filename, data)
    parts = [file_part, *fields] if file_first else [*fields, file_part]
    form_headers, body = multipart(parts)
    return await api.post("/api/files/upload", content=body, headers=headers | form_headers)


async def everything_stored(store: ObjectStore) -> list[str]:
    return [info.key async for info in store.list("")]


async def file_rows(services: Services) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(StoredFile)) or 0)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("store_backend", ["local"])
async def test_every_kind_round_trips_byte_identical(
    api: httpx.AsyncClient, auth: Auth, fetch: Any, kind: str
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    data = SAMPLES[kind]
    response = await upload(api, ann, project_id, f"sample.{kind}", data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    file = body["file"]
    assert file["fileType"] == kind
    assert file["sizeBytes"] == len(data)
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert file["status"] == "ready"
    downloaded = await fetch(body["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == data


async def test_upload_lands_in_the_store_under_its_key(
    api: httpx.AsyncClient, auth: Auth, fetch: Any, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    # Larger than one S3 part: a multipart upload on the S3 backend, spooled (file sent first).
    data = SAMPLES["png"] + secrets.token_bytes(11 * 1024 * 1024)
    for file_first in (True, False):
        response = await upload(
            api, ann, project_id, "Façade plan (v2).png", data, file_first=file_first
        )
        assert response.status_code == 201, response.text
        file = response.json()["file"]
        assert file["originalName"] == "Façade plan (v2).png"
        assert file["safeName"] == "Facade_plan_v2.png"
        assert file["metadata"]["originalName"] == "Façade plan (v2).png"
        assert file["sha256"] == hashlib.sha256(data).hexdigest()
        async with app_services.db.read() as session:
            key = await session.scalar(
                select(StoredFile.storage_key).where(StoredFile.id == file["id"])
            )
        user_id = file["userId"]
        assert (
            key == f"users/{user_id}/projects/{project_id}/import/{file['id']}-Facade_plan_v2.png"
        )
        assert await store.get_bytes(key) == data
        assert (await fetch(response.json()["url"])).content == data


async def test_oversized_upload_is_413_and_leaves_nothing(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    sent = 0

    async def endless() -> Any:
        nonlocal sent
        yield SAMPLES["pdf"]
        for _ in range(10_000):  # bounded: 640 MB at most, far past the 12 MB limit
            sent += 65536
            yield b"0" * 65536

    for file_first in (True, False):
        sent = 0
        parts: list[tuple[str, str | None, Any]] = [("projectId", None, project_id.encode())]
        file_part = ("file", "big.pdf", endless())
        form_headers, body = multipart([file_part, *parts] if file_first else [*parts, file_part])
        response = await api.post("/api/files/upload", content=body, headers=ann | form_headers)
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "upload_too_large"
        # Refused as soon as the limit was passed, not after reading the whole body.
        assert sent < TEST_MAX_UPLOAD + 2 * 1024 * 1024
    assert await everything_stored(store) == []
    assert await file_rows(app_services) == 0

    declared = await api.post(
        "/api/files/upload",
        content=b"x",
        headers=ann
        | {"content-type": "multipart/form-data; boundary=x", "content-length": str(10**10)},
    )
    assert declared.status_code == 413


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("virus.exe", b"MZ\x90\x00" + b"\x00" * 100, "unsupported_file_type"),
        ("page.html", b"<html><script>alert(1)</script></html>", "unsupported_file_type"),
        ("noextension", b"%PDF-1.4", "unsupported_file_type"),
        ("plan.pdf", b"MZ\x90\x00 this is an executable", "content_mismatch"),
        ("plan.dxf", b"\x89PNG\r\n\x1a\n binary", "content_mismatch"),
        ("model.glb", b'{"asset": {}}', "content_mismatch"),
        ("drawing.svg", b"<html><body>not svg</body></html>", "content_mismatch"),
    ],
)
@pytest.mark.parametrize("store_backend", ["local"])  # refused before the store is involved
async def test_wrong_kind_is_415_and_leaves_nothing(
    api: httpx.AsyncClient,
    auth: Auth,
    app_services: Services,
    store: ObjectStore,
    filename: str,
    data: bytes,
    code: str,
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    response = await upload(api, ann, project_id, filename, data)
    assert response.status_code == 415, response.text
    assert response.json()["code"] == code
    assert await everything_stored(store) == []
    assert await file_rows(app_services) == 0


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd.dxf",
        "plans/ground.dxf",
        "..\\..\\win.ini.dxf",
        "plans\\ground.dxf",
        "plan\x00.dxf",
        "plan\x1b[31m.dxf",
        "plan\x7f.dxf",
        "..",
        "...dxf..",
        "a" * 300 + ".dxf",
        "\u202egnp.dxf",  # right-to-left override hides the real extension
        "   ",
    ],
)
@pytest.mark.parametrize("store_backend", ["local"])  # refused before the store is involved
async def test_hostile_names_are_400_and_leave_nothing(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore, filename: str
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    response = await upload(api, ann, project_id, filename, SAMPLES["dxf"])
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_filename"
    assert await everything_stored(store) == []
    assert await file_rows(app_services) == 0


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([("projectId", None, b"x")], "missing_file"),
        ([("file", "a.pdf", SAMPLES["pdf"])], "missing_field"),
        ([("document", "a.pdf", SAMPLES["pdf"])], "invalid_multipart"),
    ],
)
async def test_incomplete_forms_are_400(
    api: httpx.AsyncClient, auth: Auth, store: ObjectStore, parts: Any, code: str
) -> None:
    form_headers, body = multipart(parts)
    response = await api.post("/api/files/upload", content=body, headers=auth(ANN) | form_headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert await everything_stored(store) == []


async def test_truncated_body_stores_nothing(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    form_headers, body = multipart(
        [("projectId", None, project_id.encode()), ("file", "a.pdf", SAMPLES["pdf"])]
    )
    whole = b"".join([chunk async for chunk in body])
    response = await api.post("/api/files/upload", content=whole[:-40], headers=ann | form_headers)
    assert response.status_code == 400
    assert response.json()["code"] == "upload_incomplete"
    assert await everything_stored(store) == []
    assert await file_rows(app_services) == 0


async def test_bad_category_and_someone_elses_project(
    api: httpx.AsyncClient, auth: Auth, store: ObjectStore
) -> None:
    ann, bob = auth(ANN), auth(BOB)
    project_id = await new_project(api, ann)
    response = await upload(api, ann, project_id, "a.pdf", SAMPLES["pdf"], category="../x")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_category"
    response = await upload(api, bob, project_id, "a.pdf", SAMPLES["pdf"])
    assert response.status_code == 404
    response = await upload(api, ann, "0" * 26, "a.pdf", SAMPLES["pdf"])
    assert response.status_code == 404
    assert await everything_stored(store) == []


async def test_read_list_redirect_and_delete(
    api: httpx.AsyncClient, auth: Auth, fetch: Any, store: ObjectStore
) -> None:
    ann, bob = auth(ANN), auth(BOB)
    first, second = await new_project(api, ann, "A"), await new_project(api, ann, "B")
    made = []
    for project_id, category, name in [
        (first, "import", "a.dxf"),
        (first, "render", "b.png"),
        (second, "import", "c.pdf"),
    ]:
        response = await upload(
            api, ann, project_id, name, SAMPLES[name.rpartition(".")[2]], category=category
        )
        assert response.status_code == 201
        made.append(response.json()["file"])

    listed = (await api.get("/api/files", headers=ann)).json()
    assert listed["success"] is True
    assert [f["id"] for f in listed["files"]] == [f["id"] for f in reversed(made)]
    assert (listed["total"], listed["limit"], listed["offset"]) == (3, 50, 0)

    page = (await api.get("/api/files?limit=1&offset=1", headers=ann)).json()
    assert [f["id"] for f in page["files"]] == [made[1]["id"]]
    assert page["total"] == 3
    only = (await api.get(f"/api/files?category=import&projectId={first}", headers=ann)).json()
    assert [f["id"] for f in only["files"]] == [made[0]["id"]]
    of_project = (await api.get(f"/api/projects/{first}/files", headers=ann)).json()
    assert {f["id"] for f in of_project["files"]} == {made[0]["id"], made[1]["id"]}
    assert (await api.get("/api/files?limit=101", headers=ann)).status_code == 422
    assert (await api.get(f"/api/projects/{first}/files", headers=bob)).status_code == 404
    assert (await api.get("/api/files", headers=bob)).json()["files"] == []

    file_id = made[0]["id"]
    read = (await api.get(f"/api/files/{file_id}", headers=ann | JSON)).json()
    assert read["file"]["id"] == file_id
    assert (await fetch(read["url"])).content == SAMPLES["dxf"]
    redirect = await api.get(f"/api/files/{file_id}?redirect=1", headers=ann)
    assert redirect.status_code == 302
    assert (await fetch(redirect.headers["location"])).content == SAMPLES["dxf"]

    for method in ("GET", "DELETE"):
        response = await api.request(method, f"/api/files/{file_id}", headers=bob)
        assert response.status_code == 404, method
    assert (await api.post(f"/api/files/{file_id}/complete", headers=bob)).status_code == 404

    keys_before = await everything_stored(store)
    assert (await api.delete(f"/api/files/{file_id}", headers=ann)).status_code == 200
    assert (await api.get(f"/api/files/{file_id}", headers=ann)).status_code == 404
    assert len(await everything_stored(store)) == len(keys_before) - 1
    assert not any(file_id in key for key in await everything_stored(store))


async def put_direct(api: httpx.AsyncClient, presigned: dict[str, Any], data: bytes) -> int:
    url = presigned["uploadUrl"]
    if url.startswith("http://testserver"):
        response = await api.put(
            url.removeprefix("http://testserver"), content=data, headers=presigned["headers"]
        )
    else:
        async with httpx.AsyncClient() as http:
            response = await http.put(url, content=data, headers=presigned["headers"])
    return response.status_code


async def test_direct_upload_presign_put_complete(
    api: httpx.AsyncClient, auth: Auth, fetch: Any, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    data = SAMPLES["glb"] + secrets.token_bytes(50_000)
    presign = await api.post(
        "/api/files/presign",
        json={
            "projectId": project_id,
            "filename": "massing.glb",
            "size": len(data),
            "contentType": "model/gltf-binary",
            "category": "export",
        },
        headers=ann,
    )
    assert presign.status_code == 201, presign.text
    presigned = presign.json()
    assert {"fileId", "uploadUrl", "headers", "expiresAt"} <= presigned.keys()
    file_id = presigned["fileId"]
    # Pending: not listed, no URL yet; completing before the PUT is a conflict.
    assert (await api.get("/api/files", headers=ann)).json()["files"] == []
    early = await api.post(f"/api/files/{file_id}/complete", headers=ann)
    assert early.status_code == 409
    assert early.json()["code"] == "upload_missing"

    assert await put_direct(api, presigned, data) == 200
    done = await api.post(f"/api/files/{file_id}/complete", headers=ann)
    assert done.status_code == 200, done.text
    assert done.json()["file"]["status"] == "ready"
    assert (await fetch(done.json()["url"])).content == data
    again = await api.post(f"/api/files/{file_id}/complete", headers=ann)
    assert again.status_code == 200  # idempotent

    # The digest of bytes that never crossed the API is computed by a background job.
    assert await app_services.worker.run_until_idle() >= 1
    read = (await api.get(f"/api/files/{file_id}", headers=ann | JSON)).json()
    assert read["file"]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_a_presigned_put_cannot_replace_a_checked_upload(
    api: httpx.AsyncClient, auth: Auth, fetch: Any, app_services: Services, store: ObjectStore
) -> None:
    """The probe's swap: a PNG checked by /complete, then a second PUT to the same URL with an
    executable of the same size, served afterwards as image/png. The URL writes a staging key;
    /complete moved the object out of its reach before checking it."""
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    png = SAMPLES["png"]
    presigned = (
        await api.post(
            "/api/files/presign",
            json={"projectId": project_id, "filename": "plan.png", "size": len(png)},
            headers=ann,
        )
    ).json()
    file_id = presigned["fileId"]
    assert await put_direct(api, presigned, png) == 200
    done = await api.post(f"/api/files/{file_id}/complete", headers=ann)
    assert done.status_code == 200, done.text

    exe = (b"MZ" + b"\x90" * len(png))[: len(png)]
    # The URL is still within its lifetime; whatever it accepts must not reach the file.
    await put_direct(api, presigned, exe)
    again = await api.post(f"/api/files/{file_id}/complete", headers=ann)
    assert again.status_code == 200
    served = await fetch(again.json()["url"])
    assert served.content == png
    read = await api.get(f"/api/files/{file_id}", headers=ann)
    assert read.content == png

    # Nor does a second complete racing with the PUT: an object in place is never replaced.
    async with app_services.db.read(primary=True) as session:
        key = await session.scalar(select(StoredFile.storage_key).where(StoredFile.id == file_id))
    assert key is not None
    await put_direct(api, presigned, exe)
    assert await store.move(staging_key(key), key) is False
    assert await store.get_bytes(key) == png


async def test_direct_upload_refusals(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)

    def body(**changes: Any) -> dict[str, Any]:
        return {"projectId": project_id, "filename": "a.pdf", "size": 100} | changes

    cases = [
        (body(size=TEST_MAX_UPLOAD + 1), 413),
        (body(filename="a.exe"), 415),
        (body(filename="../a.pdf"), 400),
        (body(projectId="0" * 26), 404),
        (body(size=0), 422),
    ]
    for payload, status in cases:
        response = await api.post("/api/files/presign", json=payload, headers=ann)
        assert response.status_code == status, (payload, response.text)
    assert await file_rows(app_services) == 0

    # Promised 100 bytes, sent 60: refused at completion, object removed, row failed.
    presigned = (await api.post("/api/files/presign", json=body(), headers=ann)).json()
    assert await put_direct(api, presigned, SAMPLES["pdf"][:60]) == 200
    response = await api.post(f"/api/files/{presigned['fileId']}/complete", headers=ann)
    assert response.status_code == 400
    assert response.json()["code"] == "size_mismatch"
    assert await everything_stored(store) == []
    failed = await api.post(f"/api/files/{presigned['fileId']}/complete", headers=ann)
    assert failed.status_code == 409

    # Right size, wrong content.
    fake = b"MZ" + b"\x00" * 98
    presigned = (await api.post("/api/files/presign", json=body(), headers=ann)).json()
    assert await put_direct(api, presigned, fake) == 200
    response = await api.post(f"/api/files/{presigned['fileId']}/complete", headers=ann)
    assert response.status_code == 415
    assert await everything_stored(store) == []


async def test_stale_pending_uploads_are_swept(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    stale, fresh = [
        (
            await api.post(
                "/api/files/presign",
                json={"projectId": project_id, "filename": f"{n}.pdf", "size": 60},
                headers=ann,
            )
        ).json()
        for n in ("stale", "fresh")
    ]
    # The stale one was even uploaded (but never completed).
    assert await put_direct(api, stale, SAMPLES["pdf"][:60]) == 200
    async with app_services.db.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE app.files SET created_at = now() - interval '25 hours' WHERE id = :id"),
            {"id": stale["fileId"]},
        )
        await uow.commit()
    assert await app_services.files.sweep_pending() == 1
    assert await everything_stored(store) == []
    assert (await api.get(f"/api/files/{stale['fileId']}", headers=ann)).status_code == 404
    assert (await api.get(f"/api/files/{fresh['fileId']}", headers=ann)).status_code == 200


async def test_project_deletion_removes_its_objects_through_the_queue(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    doomed, kept = await new_project(api, ann, "doomed"), await new_project(api, ann, "kept")
    for project_id in (doomed, doomed, kept):
        response = await upload(api, ann, project_id, "a.pdf", SAMPLES["pdf"])
        assert response.status_code == 201
    assert (await api.delete(f"/api/projects/{doomed}", headers=ann)).status_code == 200
    # Rows are gone at once (cascade); objects once the job has run.
    assert (await api.get("/api/files", headers=ann)).json()["total"] == 1
    assert len(await everything_stored(store)) == 3
    async with app_services.db.read() as session:
        jobs = (
            await session.execute(
                text("SELECT payload->>'prefix', status, run_after > now() FROM app.jobs")
            )
        ).all()
    assert sorted(j[2] for j in jobs) == [False, True]  # now, and again after the URL lifetime
    assert all(doomed in j[0] and j[1] == "queued" for j in jobs)

    assert await app_services.worker.run_until_idle() == 1
    keys = await everything_stored(store)
    assert len(keys) == 1
    assert kept in keys[0]


async def test_a_file_of_a_project_deleted_meanwhile_is_404_and_leaves_nothing(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    # The owner check passed, the object was stored, then the project went before the row was
    # written: the row's foreign key refuses it, the client hears 404 and the object goes.
    ann = auth(ANN)
    project = await api.post("/api/projects", json={"name": "gone"}, headers=ann)
    user_id = project.json()["project"]["userId"]
    stored = await store.put_bytes(
        f"users/{user_id}/projects/gone/import/x-a.png", SAMPLES["png"], content_type="image/png"
    )
    with pytest.raises(NotFound, match="project not found"):
        await app_services.files._record_stored(
            new_id(), user_id, "no-such-project", "import", "a.png", KINDS["png"], stored, {}
        )
    assert await everything_stored(store) == []
    assert await file_rows(app_services) == 0
