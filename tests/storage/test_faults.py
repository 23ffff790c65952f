"""Consistency under faults: the S3 server dies mid-upload, the row insert fails, the project
disappears during the upload. Nothing may be left behind."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spacekontext.services import Services
from spacekontext.storage.base import ObjectStore
from tests.files.test_files_api import everything_stored, file_rows, new_project, upload
from tests.storage.conftest import PART_SIZE, SAMPLES, MotoServer, multipart

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"


@pytest.mark.parametrize("store_backend", ["s3"])
async def test_s3_dying_mid_upload_is_503_and_leaves_no_row(
    api: httpx.AsyncClient,
    auth: Auth,
    app_services: Services,
    store: ObjectStore,
    moto_server: MotoServer,
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)

    async def body() -> AsyncIterator[bytes]:
        yield SAMPLES["pdf"]
        for _ in range(3):  # more than two parts: the first is on its way to the store
            yield secrets.token_bytes(PART_SIZE // 2)
        moto_server.stop()
        for _ in range(4):
            yield secrets.token_bytes(PART_SIZE // 2)

    form_headers, stream = multipart(
        [("projectId", None, project_id.encode()), ("file", "plan.pdf", body())]
    )
    response = await api.post("/api/files/upload", content=stream, headers=ann | form_headers)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "storage_unavailable"
    assert await file_rows(app_services) == 0

    # With the store down, even a small upload is a clean 503.
    response = await upload(api, ann, project_id, "small.pdf", SAMPLES["pdf"])
    assert response.status_code == 503
    assert await file_rows(app_services) == 0
    moto_server.start()


@pytest.mark.parametrize("store_backend", ["s3"])
async def test_delete_while_s3_is_down_keeps_the_row(
    api: httpx.AsyncClient, auth: Auth, moto_server: MotoServer, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    file_id = (await upload(api, ann, project_id, "a.pdf", SAMPLES["pdf"])).json()["file"]["id"]
    moto_server.stop()
    try:
        response = await api.delete(f"/api/files/{file_id}", headers=ann)
        assert response.status_code == 503
    finally:
        moto_server.start()
    # The row is kept (its metadata; the restarted server has lost the bytes).
    kept = await api.get(f"/api/files/{file_id}", headers=ann | {"Accept": "application/json"})
    assert kept.status_code == 200


async def test_a_failing_insert_removes_the_object(
    api: httpx.AsyncClient,
    auth: Auth,
    app_services: Services,
    store: ObjectStore,
    connection: AsyncConnection,
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    # A real trigger refuses the row after the object has been written (rolled back with the
    # test's transaction).
    await connection.exec_driver_sql(
        """
        CREATE FUNCTION app.refuse_files() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'refused by test' USING ERRCODE = 'check_violation',
                CONSTRAINT = 'ck_files_injected';
        END $$
        """
    )
    await connection.exec_driver_sql(
        "CREATE TRIGGER refuse_files BEFORE INSERT ON app.files"
        " FOR EACH ROW EXECUTE FUNCTION app.refuse_files()"
    )
    response = await upload(api, ann, project_id, "plan.pdf", SAMPLES["pdf"])
    assert response.status_code == 409, response.text
    assert response.json()["details"]["constraint"] == "ck_files_injected"
    assert await everything_stored(store) == []
    assert await file_rows(app_services) == 0


async def test_an_unexpected_database_error_removes_the_object(
    api: httpx.AsyncClient,
    auth: Auth,
    store: ObjectStore,
    connection: AsyncConnection,
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    await connection.exec_driver_sql(
        """
        CREATE FUNCTION app.break_files() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'disk full, say'; END $$
        """
    )
    await connection.exec_driver_sql(
        "CREATE TRIGGER break_files BEFORE INSERT ON app.files"
        " FOR EACH ROW EXECUTE FUNCTION app.break_files()"
    )
    response = await upload(api, ann, project_id, "plan.pdf", SAMPLES["pdf"])
    assert response.status_code == 500
    assert await everything_stored(store) == []


async def test_project_deleted_during_upload(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    user_id = (await api.get(f"/api/projects/{project_id}", headers=ann)).json()["project"][
        "userId"
    ]

    async def body() -> AsyncIterator[bytes]:
        yield SAMPLES["pdf"]
        yield secrets.token_bytes(100_000)
        await app_services.projects.delete(user_id, project_id)
        yield secrets.token_bytes(100_000)

    form_headers, stream = multipart(
        [("projectId", None, project_id.encode()), ("file", "plan.pdf", body())]
    )
    response = await api.post("/api/files/upload", content=stream, headers=ann | form_headers)
    assert response.status_code == 404, response.text
    assert await everything_stored(store) == []
    assert await file_rows(app_services) == 0


async def test_reconcile_finds_and_fixes_orphans_and_dangling_rows(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store: ObjectStore
) -> None:
    ann = auth(ANN)
    project_id = await new_project(api, ann)
    kept = (await upload(api, ann, project_id, "kept.pdf", SAMPLES["pdf"])).json()["file"]
    lost = (await upload(api, ann, project_id, "lost.pdf", SAMPLES["pdf"])).json()["file"]
    pending: dict[str, Any] = (
        await api.post(
            "/api/files/presign",
            json={"projectId": project_id, "filename": "p.pdf", "size": 10},
            headers=ann,
        )
    ).json()
    orphans = [
        f"users/{kept['userId']}/projects/{project_id}/import/zz-orphan.pdf",
        "users/nobody/projects/none/import/a-orphan.png",
    ]
    for key in orphans:
        await store.put_bytes(key, b"%PDF-1.4 planted", content_type="application/pdf")
    async with app_services.db.read() as session:
        lost_key = (
            await session.execute(
                text("SELECT storage_key FROM app.files WHERE id = :id"), {"id": lost["id"]}
            )
        ).scalar_one()
    await store.delete(lost_key)

    report = await app_services.files.reconcile(grace_s=0)
    assert sorted(report.orphan_objects) == sorted(orphans)
    assert report.dangling_rows == [lost["id"]]  # the pending row is no dangling row
    assert (report.orphan_count, report.dangling_count) == (2, 1)
    assert report.fixed is False
    assert len(await everything_stored(store)) == 3  # a report changes nothing

    # Young objects may belong to uploads in flight: not reported within the grace period.
    assert (await app_services.files.reconcile(grace_s=3600)).orphan_objects == []

    fixed = await app_services.files.reconcile(fix=True, grace_s=0)
    assert fixed.fixed is True
    after = await app_services.files.reconcile(grace_s=0)
    assert (after.orphan_objects, after.dangling_rows) == ([], [])
    assert (await api.get(f"/api/files/{lost['id']}", headers=ann)).status_code == 404
    assert (await api.get(f"/api/files/{kept['id']}", headers=ann)).status_code == 200
    assert (await api.get(f"/api/files/{pending['fileId']}", headers=ann)).status_code == 200
