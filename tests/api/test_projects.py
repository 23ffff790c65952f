from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"
BOB = "bob@example.com"


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:
    response = await client.post("/api/projects", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["project"]


async def test_create_read_update_delete(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project = await create(client, ann, name="Villa Savoye", description="Poissy")
    assert project["name"] == "Villa Savoye"
    assert project["settings"] == {}
    assert {"id", "createdAt", "updatedAt", "userId"} <= project.keys()

    read = await client.get(f"/api/projects/{project['id']}", headers=ann)
    assert read.status_code == 200
    assert read.json() == {"success": True, "project": project}

    patched = await client.patch(
        f"/api/projects/{project['id']}",
        json={"name": "Villa Savoye II", "settings": {"floorToFloorHeight": 3.2}},
        headers=ann,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()["project"]
    assert body["name"] == "Villa Savoye II"
    assert body["description"] == "Poissy"
    assert body["settings"] == {"floorToFloorHeight": 3.2}

    deleted = await client.delete(f"/api/projects/{project['id']}", headers=ann)
    assert deleted.status_code == 200
    assert (await client.get(f"/api/projects/{project['id']}", headers=ann)).status_code == 404


async def test_list_is_newest_first_lean_and_paginated(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth(ANN)
    made = [await create(client, ann, name=f"P{i}", settings={"big": "x" * 100}) for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/projects", params=params, headers=ann)
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        for item in body["projects"]:
            # The web client reads the full row: its small settings and owner are in the list,
            # no document ever is.
            assert item["settings"] == {"big": "x" * 100}
            assert item["userId"] == made[0]["userId"]
            assert set(item) == {
                "id",
                "name",
                "description",
                "createdAt",
                "updatedAt",
                "userId",
                "settings",
            }
        seen += [item["id"] for item in body["projects"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in reversed(made)]


async def test_other_users_project_is_404(client: httpx.AsyncClient, auth: Auth) -> None:
    project = await create(client, auth(ANN), name="Private")
    bob = auth(BOB)
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "stolen"}} if method == "PATCH" else {}
        response = await client.request(
            method, f"/api/projects/{project['id']}", headers=bob, **kwargs
        )
        assert response.status_code == 404, method
        assert response.json()["code"] == "not_found"
    listing = await client.get("/api/projects", headers=bob)
    assert listing.json()["projects"] == []
    still = await client.get(f"/api/projects/{project['id']}", headers=auth(ANN))
    assert still.json()["project"]["name"] == "Private"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": ""}, 422, "validation_error"),
        ({"name": "x" * 256}, 422, "validation_error"),
        ({"name": 42}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"name": "ok", "owner": "someone"}, 422, "validation_error"),
    ],
)
async def test_bad_bodies_are_refused_and_change_nothing(
    client: httpx.AsyncClient, auth: Auth, body: dict, status: int, code: str
) -> None:
    ann = auth(ANN)
    response = await client.post("/api/projects", json=body, headers=ann)
    assert response.status_code == status
    error = response.json()
    assert error["success"] is False
    assert error["code"] == code
    assert error["details"]
    assert (await client.get("/api/projects", headers=ann)).json()["projects"] == []


async def test_malformed_json_is_400(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = auth(ANN) | {"content-type": "application/json"}
    response = await client.post("/api/projects", content=b'{"name": ', headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


async def test_oversized_body_is_413(client: httpx.AsyncClient, auth: Auth, settings) -> None:
    headers = auth(ANN) | {"content-type": "application/json"}
    big = b'{"name": "a", "description": "' + b"x" * settings.max_json_bytes + b'"}'
    response = await client.post("/api/projects", content=big, headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert (await client.get("/api/projects", headers=auth(ANN))).json()["projects"] == []


async def test_bad_limit_and_cursor(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    assert (await client.get("/api/projects?limit=101", headers=ann)).status_code == 422
    assert (await client.get("/api/projects?limit=0", headers=ann)).status_code == 422
    response = await client.get("/api/projects?cursor=%%%garbage", headers=ann)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


async def test_patch_refuses_null_name(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    project = await create(client, ann, name="Keep")
    response = await client.patch(
        f"/api/projects/{project['id']}", json={"name": None}, headers=ann
    )
    assert response.status_code == 400
    assert (await client.get(f"/api/projects/{project['id']}", headers=ann)).json()["project"][
        "name"
    ] == "Keep"


async def test_bad_project_name_carries_the_clients_message(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    for body in ({"name": ""}, {"name": "x" * 256}, {}):
        response = await client.post("/api/projects", json=body, headers=auth(ANN))
        assert response.status_code == 422
        assert response.json()["error"] == "Invalid project name"
        assert response.json()["code"] == "validation_error"
