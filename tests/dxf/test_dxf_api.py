from __future__ import annotations

import io
from collections.abc import Callable

import ezdxf
import httpx
import pytest

from spacekontext.app import create_app
from spacekontext.db.engine import Database
from spacekontext.dxf import read_dxf
from spacekontext.services import build_services
from tests.unit import dxf_samples

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"
BOB = "bob@example.com"


async def project(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/api/projects", json={"name": "Plans"}, headers=headers)
    return response.json()["project"]["id"]


async def import_dxf(
    client: httpx.AsyncClient, headers: dict[str, str], project_id: str, data: bytes, **fields
) -> httpx.Response:
    return await client.post(
        f"/api/projects/{project_id}/floorplans/import",
        headers=headers,
        data=fields,
        files={"file": ("plan.dxf", data, "image/vnd.dxf")},
    )


async def floorplans(client: httpx.AsyncClient, headers: dict[str, str], project_id: str) -> list:
    response = await client.get(f"/api/projects/{project_id}/floorplans", headers=headers)
    return response.json()["floorplans"]


async def test_import_creates_a_floorplan_with_derived_metadata(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann)
    response = await import_dxf(client, ann, project_id, dxf_samples.aia_mm(), name="Ground floor")
    assert response.status_code == 201, response.text
    body = response.json()
    plan = body["floorplan"]
    assert plan["name"] == "Ground floor"
    # Derived by the floorplan service on save, from the imported document.
    assert (plan["wallCount"], plan["openingCount"], plan["roomCount"]) == (7, 2, 2)
    assert plan["totalAreaM2"] == pytest.approx(35.0)
    assert body["import"]["units"] == "mm"
    document = (await client.get(f"/api/floorplans/{plan['id']}", headers=ann)).json()
    assert len(document["floorplan"]["data"]["edges"]) == 7


async def test_import_with_custom_layers_and_units(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann)
    data = dxf_samples.outlines_unitless()
    refused = await import_dxf(client, ann, project_id, data)
    assert refused.status_code == 422 and refused.json()["code"] == "dxf_no_geometry"
    response = await import_dxf(
        client, ann, project_id, data, wallLayers="BAU-W", roomLayers="BAU-R", units="5"
    )
    assert response.status_code == 201, response.text
    assert response.json()["floorplan"]["totalAreaM2"] == pytest.approx(2400.0)  # cm, not mm


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "dxf_empty"),
        (b"AC1027" + bytes(500), "dxf_is_dwg"),
        (bytes(range(256)) * 10, "dxf_not_dxf"),
        (b"0\nSECTION\n2\nENTITIES\n0\nLINE\n8\nWALL\n", "dxf_truncated"),
    ],
)
async def test_unreadable_files_are_422_and_create_nothing(
    client: httpx.AsyncClient, auth: Auth, data: bytes, code: str
) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann)
    response = await import_dxf(client, ann, project_id, data)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["error"]
    assert await floorplans(client, ann, project_id) == []


async def test_import_into_someone_elses_project_is_404(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    project_id = await project(client, auth(ANN))
    response = await import_dxf(client, auth(BOB), project_id, dxf_samples.aia_mm())
    assert response.status_code == 404
    assert await floorplans(client, auth(ANN), project_id) == []


async def test_bad_fields_and_missing_file(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann)
    bad_units = await import_dxf(client, ann, project_id, dxf_samples.aia_mm(), units="99")
    assert bad_units.status_code == 422
    no_file = await client.post(
        f"/api/projects/{project_id}/floorplans/import", headers=ann, data={"name": "x"}
    )
    assert no_file.status_code == 400 and no_file.json()["code"] == "file_required"
    assert await floorplans(client, ann, project_id) == []


async def test_export_round_trips(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann)
    created = await client.post(
        f"/api/projects/{project_id}/floorplans",
        json={"name": "Flat 3/B", "data": dxf_samples.sample_document()},
        headers=ann,
    )
    assert created.status_code == 201, created.text
    plan_id = created.json()["floorplan"]["id"]
    response = await client.get(f"/api/floorplans/{plan_id}/export.dxf", headers=ann)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="Flat_3_B.dxf"'
    doc = ezdxf.read(io.StringIO(response.content.decode()))
    assert {"WALLS", "OPENINGS", "ZONES", "FURNITURE"} <= {layer.dxf.name for layer in doc.layers}
    again = read_dxf(response.content).summary
    assert (again["walls"], again["openings"], again["zones"]) == (7, 3, 2)
    assert again["totalAreaM2"] == pytest.approx(20.0, rel=0.005)
    reimported = await import_dxf(client, ann, project_id, response.content)
    assert reimported.status_code == 201
    assert reimported.json()["floorplan"]["totalAreaM2"] == pytest.approx(20.0, rel=0.005)
    other = await client.get(f"/api/floorplans/{plan_id}/export.dxf", headers=auth(BOB))
    assert other.status_code == 404


async def test_preview_with_etag(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann)
    created = await client.post(
        f"/api/projects/{project_id}/floorplans",
        json={"name": "P", "data": dxf_samples.sample_document()},
        headers=ann,
    )
    plan = created.json()["floorplan"]
    url = f"/api/floorplans/{plan['id']}/preview.svg"
    first = await client.get(url, headers=ann)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("image/svg+xml")
    assert first.text.startswith("<svg") and "Kitchen" in first.text
    etag = first.headers["etag"]
    assert plan["contentHash"] in etag
    cached = await client.get(url, headers=ann | {"If-None-Match": etag})
    assert cached.status_code == 304
    # A change of content gives a new ETag and a new picture.
    changed = await client.patch(
        f"/api/floorplans/{plan['id']}",
        json={
            "data": {"zones": [{"id": "z", "points": [[0, 0], [3, 0], [3, 3]], "label": "Hall"}]}
        },
        headers=ann | {"If-Match": created.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    fresh = await client.get(url, headers=ann | {"If-None-Match": etag})
    assert fresh.status_code == 200 and "Hall" in fresh.text and "Kitchen" not in fresh.text
    assert fresh.headers["etag"] != etag
    assert (await client.get(url, headers=auth(BOB))).status_code == 404


@pytest.fixture
async def small_inline(settings, engine, connection):
    """An app whose inline import limit is 2 KB, so the samples go through the job queue."""
    small = settings.model_copy(update={"dxf_inline_max_bytes": 2048})
    built = build_services(small, Database(engine, bind=connection))
    app = create_app(small, services=built)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, built
    await built.aclose()


async def test_large_files_are_imported_by_a_job(small_inline, auth: Auth) -> None:
    client, built = small_inline
    ann = auth(ANN)
    project_id = await project(client, ann)
    response = await import_dxf(client, ann, project_id, dxf_samples.aia_mm(), name="Big")
    assert response.status_code == 202, response.text
    job = response.json()["job"]
    assert job["status"] == "queued"
    status = await client.get(job["statusUrl"], headers=ann)
    assert status.json()["job"]["status"] == "queued"
    assert await floorplans(client, ann, project_id) == []
    assert (await client.get(job["statusUrl"], headers=auth(BOB))).status_code == 404

    assert await built.worker.run_until_idle() >= 1
    done = (await client.get(job["statusUrl"], headers=ann)).json()["job"]
    assert done["status"] == "done", done
    assert done["import"]["walls"] == 7
    (plan,) = await floorplans(client, ann, project_id)
    assert plan["id"] == done["floorplanId"] and plan["name"] == "Big"
    assert plan["totalAreaM2"] == pytest.approx(35.0)
    # The staged upload is gone once imported.
    staged = [o async for o in built.store.list("users/")]
    assert not [o for o in staged if "/imports/" in o.key]


async def test_a_large_unreadable_file_fails_its_job_and_creates_nothing(
    small_inline, auth: Auth
) -> None:
    client, built = small_inline
    ann = auth(ANN)
    project_id = await project(client, ann)
    junk = b"0\nSECTION\n" + bytes(range(256)) * 40
    response = await import_dxf(client, ann, project_id, junk)
    assert response.status_code == 202
    await built.worker.run_until_idle()
    job = (await client.get(response.json()["job"]["statusUrl"], headers=ann)).json()["job"]
    assert job["status"] == "failed"
    assert job["error"]["code"] == "dxf_truncated"
    assert await floorplans(client, ann, project_id) == []


async def test_import_an_uploaded_file_by_id(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann)
    uploaded = await client.post(
        "/api/files/upload",
        headers=ann,
        data={"projectId": project_id, "category": "import"},
        files={"file": ("ground-floor.dxf", dxf_samples.aia_mm(), "application/dxf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["file"]["id"]
    response = await client.post(
        f"/api/projects/{project_id}/floorplans/import",
        headers=ann,
        json={"fileId": file_id, "level": 1},
    )
    assert response.status_code == 201, response.text
    plan = response.json()["floorplan"]
    assert plan["name"] == "ground-floor" and plan["level"] == 1 and plan["wallCount"] == 7
    other = await client.post(
        f"/api/projects/{project_id}/floorplans/import",
        headers=ann,
        json={"fileId": "nope"},
    )
    assert other.status_code == 404
    bob_project = await project(client, auth(BOB))
    stolen = await client.post(
        f"/api/projects/{bob_project}/floorplans/import",
        headers=auth(BOB),
        json={"fileId": file_id},
    )
    assert stolen.status_code == 404
