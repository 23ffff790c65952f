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
from tests.db.conftest import replayed, user_id_of
from tests.unit import dxf_samples

Auth = Callable[[str], dict[str, str]]

pytestmark = pytest.mark.slow


# The sample drawing goes through the job queue; signed URLs point at the test client.
JOB_CONFIG = {"public_base_url": "http://testserver", "dxf_inline_max_bytes": 2048}


# GET /api/files/{id} answers the bytes unless JSON is asked for.
JSON = {"Accept": "application/json"}


async def project_of(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/api/projects", json={"name": "jobs"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["project"]["id"])


async def test_the_digest_job_sees_the_completed_upload(
    replica: servers.Cluster, replica_app: Callable[..., Any], auth: Auth
) -> None:
    ann = auth(f"ann-{new_id()}@example.com")
    data = b"glTF" + bytes(range(256)) * 8
    async with replica_app(**JOB_CONFIG) as (client, services):
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
        await replayed(services, ann_id)
        with replica.replay_paused():
            done = await client.post(f"/api/files/{presigned['fileId']}/complete", headers=ann)
            assert done.status_code == 200, done.text
            assert router.replicas[0].healthy  # reads without a user would go to it
            assert await services.worker.run_until_idle() == 1
            read = await client.get(f"/api/files/{presigned['fileId']}", headers=ann | JSON)
            assert read.json()["file"]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_the_import_job_sees_the_uploaded_file(
    replica: servers.Cluster, replica_app: Callable[..., Any], auth: Auth
) -> None:
    ann = auth(f"ann-{new_id()}@example.com")
    async with replica_app(**JOB_CONFIG) as (client, services):
        ann_id = await user_id_of(client, ann)
        router = services.db.router
        project_id = await project_of(client, ann)
        await replayed(services, ann_id)
        with replica.replay_paused():
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
