"""Background jobs read what their enqueuing transaction wrote, even when a replica lags: the
digest job of a direct upload and the DXF import job of an uploaded file run while the
replica's replay is paused, right after the commits that queued them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from spacekontext.ids import new_id
from tests.db import servers
from tests.db.conftest import url_for
from tests.db.test_replicas import user_id_of, wait_for
from tests.unit import dxf_samples

Auth = Callable[[str], dict[str, str]]

pytestmark = pytest.mark.slow


def replica_config(pg15: servers.Cluster, database: str, replica: servers.Cluster) -> Any:
    return {
        "database_url": url_for(pg15, database),
        "database_read_urls": [url_for(replica, database)],
        "max_replica_lag_s": 120,
        "replica_check_interval_s": 0.1,
        "public_base_url": "http://testserver",
        "dxf_inline_max_bytes": 2048,  # the sample drawing goes through the job queue
    }


async def project_of(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/api/projects", json={"name": "jobs"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["project"]["id"])


async def test_the_digest_job_sees_the_completed_upload(
    pg15: servers.Cluster,
    pg15_database: str,
    replica: servers.Cluster,
    make_app: Callable[..., Any],
    auth: Auth,
) -> None:
    ann = auth(f"ann-{new_id()}@example.com")
    data = b"glTF" + bytes(range(256)) * 8
    async with make_app(**replica_config(pg15, pg15_database, replica)) as (client, services):
        ann_id = await user_id_of(client, ann)
        router = services.db.router
        project_id = await project_of(client, ann)
        presign = await client.post(
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
        put = await client.put(
            presigned["uploadUrl"].removeprefix("http://testserver"),
            content=data,
            headers=presigned["headers"],
        )
        assert put.status_code == 200, put.text
        # The replica has the pending row; from now on it replays nothing.
        await wait_for(lambda: router.replicas[0].healthy and router.replayed_for(ann_id))
        replica.sql("SELECT pg_wal_replay_pause()")
        try:
            done = await client.post(f"/api/files/{presigned['fileId']}/complete", headers=ann)
            assert done.status_code == 200, done.text
            assert router.replicas[0].healthy  # reads without a user would go to it
            assert await services.worker.run_until_idle() == 1
            read = await client.get(f"/api/files/{presigned['fileId']}", headers=ann)
            assert read.json()["file"]["sha256"] == hashlib.sha256(data).hexdigest()
        finally:
            replica.sql("SELECT pg_wal_replay_resume()")


async def test_the_import_job_sees_the_uploaded_file(
    pg15: servers.Cluster,
    pg15_database: str,
    replica: servers.Cluster,
    make_app: Callable[..., Any],
    auth: Auth,
) -> None:
    ann = auth(f"ann-{new_id()}@example.com")
    async with make_app(**replica_config(pg15, pg15_database, replica)) as (client, services):
        ann_id = await user_id_of(client, ann)
        router = services.db.router
        project_id = await project_of(client, ann)
        await wait_for(lambda: router.replicas[0].healthy and router.replayed_for(ann_id))
        replica.sql("SELECT pg_wal_replay_pause()")
        try:
            uploaded = await client.post(
                "/api/files/upload",
                headers=ann,
                data={"projectId": project_id, "category": "import"},
                files={"file": ("ground.dxf", dxf_samples.aia_mm(), "application/dxf")},
            )
            assert uploaded.status_code == 201, uploaded.text
            queued = await client.post(
                f"/api/projects/{project_id}/floorplans/import",
                headers=ann,
                json={"fileId": uploaded.json()["file"]["id"]},
            )
            assert queued.status_code == 202, queued.text
            assert router.replicas[0].healthy
            assert await services.worker.run_until_idle() == 1
            status = await client.get(queued.json()["job"]["statusUrl"], headers=ann)
            job = status.json()["job"]
            assert job["status"] == "done", job
            assert job["import"]["walls"] == 7
        finally:
            replica.sql("SELECT pg_wal_replay_resume()")
