"""The hot document saves (PUT and PATCH of floorplans, 3D models and massings, http/hot.py)
answer as the FastAPI routes of the same paths, for successes and for every kind of error, and
really are the ones serving when `HOT_ROUTES` is on.

A save changes what it saves, so the two paths cannot answer the same request against the
same row: each case runs against two documents created alike, one through each path, and the
answers are compared with the documents' own ids and timestamps taken out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY

from spacekontext.app import create_app
from spacekontext.http.hot import HotRoute
from spacekontext.services import Services
from spacekontext.settings import Settings
from tests.api.conftest import app_client
from tests.api.test_hot_routes import (
    HOT_PATH_COVERS,
    HOT_PATH_READS,
    _call,
    uncovered_by_the_hot_path,
)
from tests.documents.conftest import square_room

Auth = Callable[[str], dict[str, str]]
ANN = "ann.hotsave@example.com"
BOB = "bob.hotsave@example.com"
VOLATILE = {"x-request-id", "server-timing", "date"}
TIMES = ("createdAt", "updatedAt")

# (collection, the document's key, a document, a merge patch of it, answer key)
KINDS = [
    ("floorplans", "data", square_room(), {"meta": {"note": "x"}}, "floorplan"),
    (
        "models3d",
        "modelData",
        {"objects": [{"id": "a", "type": "box"}]},
        {"units": "m"},
        "model3d",
    ),
    (
        "massings",
        "massingData",
        {"blocks": [{"id": "b1", "footprint": [[0, 0], [10, 0], [10, 10], [0, 10]],
                     "height": 12.0, "floors": 4}]},
        {"notes": "n"},
        "massing",
    ),
]  # fmt: skip


def _comparable(response: httpx.Response, own_id: str) -> tuple[int, Any, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE | {"content-length"}}
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text.replace(own_id, "ID"), headers

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if k not in TIMES}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return "ID" if value == own_id else value

    return response.status_code, scrub(body), headers


async def _create(client: httpx.AsyncClient, pid: str, kind: tuple[Any, ...], ann: Any) -> str:
    collection, key, document, _, answer = kind
    created = await client.post(
        f"/api/projects/{pid}/{collection}",
        json={"name": "twin", key: document},
        headers=ann,
    )
    assert created.status_code == 201, created.text
    return str(created.json()[answer]["id"])


@pytest.mark.parametrize("kind", KINDS, ids=[k[0] for k in KINDS])
async def test_hot_and_fastapi_saves_answer_alike(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], auth: Auth, kind: tuple[Any, ...]
) -> None:
    hot, plain = pair
    collection, key, document, patch, _ = kind
    ann, bob = auth(ANN), auth(BOB)
    project = await hot.post("/api/projects", json={"name": "twins"}, headers=ann)
    pid = project.json()["project"]["id"]
    ids = (await _create(hot, pid, kind, ann), await _create(plain, pid, kind, ann))

    changed = {**document, "extra": 1}
    cases: list[tuple[str, Any, dict[str, str], int]] = [
        ("PUT", {key: changed}, ann | {"If-Match": '"1"'}, 200),
        ("PUT", {key: changed}, ann, 200),  # the same again: unchanged, same version
        ("PUT", {key: document}, ann | {"If-Match": '"1"'}, 412),  # stale
        ("PATCH", {key: patch}, ann | {"If-Match": '"2"', "Prefer": "return=representation"}, 200),
        ("PATCH", {"name": "renamed"}, ann, 200),
        ("PATCH", {"name": "renamed"}, ann | {"If-Match": "*"}, 200),  # nothing to change
        ("PATCH", {"name": "again"}, ann | {"If-Match": ""}, 412),  # names no version
        ("PATCH", {"name": "again"}, ann | {"If-Match": 'W/"4", "9"'}, 200),
        ("PUT", {key: document, "unknown": 1}, ann, 422),  # declined: FastAPI's 422
        ("PUT", {"name": True, key: document}, ann, 422),
        ("PUT", [document], ann, 422),  # not an object
        ("PATCH", {key: [1, 2]}, ann, 400),  # the service's own refusal
        ("PATCH", {"name": None}, ann, 400),
        ("PUT", {key: document}, {}, 401),
        ("PUT", {"unknown": 1}, {}, 401),  # authentication first, as FastAPI does
        ("PUT", {key: document}, bob, 404),  # somebody else's is missing
    ]
    for method, body, headers, status in cases:
        answers = []
        for client, own in zip((hot, plain), ids, strict=True):
            response = await client.request(
                method, f"/api/{collection}/{own}", json=body, headers=headers
            )
            answers.append(_comparable(response, own))
        assert answers[0] == answers[1], (method, body, headers)
        assert answers[0][0] == status, (method, body, headers, answers[0])
    missing = await hot.put(f"/api/{collection}/does-not-exist", json={key: document}, headers=ann)
    assert missing.status_code == 404


@pytest.mark.parametrize("hot_routes", [True, False])
async def test_the_switch_decides_who_serves_a_save(
    settings: Settings, services: Services, auth: Auth, hot_routes: bool
) -> None:
    configured = settings.model_copy(update={"hot_routes": hot_routes})
    ann = auth(ANN)
    async with app_client(configured, services) as client:
        project = await client.post("/api/projects", json={"name": "switch"}, headers=ann)
        pid = project.json()["project"]["id"]
        fid = await _create(client, pid, KINDS[0], ann)
    app = create_app(configured, services=services)
    labels = {"route": "/api/floorplans/{floorplan_id}", "method": "PATCH", "status": "200"}
    before = REGISTRY.get_sample_value("spacekontext_http_requests_total", labels) or 0.0
    scope = await _call(
        app, f"/api/floorplans/{fid}", b"", ann, method="PATCH", body=b'{"name": "served"}'
    )
    assert isinstance(scope["route"], HotRoute if hot_routes else APIRoute)
    assert scope["route"].path == "/api/floorplans/{floorplan_id}"
    assert REGISTRY.get_sample_value("spacekontext_http_requests_total", labels) == before + 1
    # A declined body is served by FastAPI, whatever the switch says.
    declined = await _call(
        app, f"/api/floorplans/{fid}", b"", ann, method="PATCH", body=b'{"name": 5}', status=422
    )
    assert isinstance(declined["route"], APIRoute)


# What the hot saves do in place of their twins' dependencies and parameters: `hot_caller` for
# `current_user`, the app state for `get_services`, `precondition_from` on the If-Match header
# for `_if_match`; the Prefer header and the path's id are read as they are, and the body is
# validated by the twin's own model (so its fields are the twin's).
SAVE_COVERS = HOT_PATH_COVERS | {"_if_match"}
SAVE_READS = HOT_PATH_READS | {"prefer", "if_match", "document_id"}


@pytest.mark.parametrize("kind", KINDS, ids=[k[0] for k in KINDS])
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_the_fastapi_twins_of_hot_saves_need_nothing_the_hot_path_skips(
    settings: Settings, services: Services, auth: Auth, kind: tuple[Any, ...], method: str
) -> None:
    """The FastAPI route that serves the save when HOT_ROUTES is off, as the app resolves it
    (dependencies added where the router is included, or app-wide, count too)."""
    configured = settings.model_copy(update={"hot_routes": False})
    ann = auth(ANN)
    async with app_client(configured, services) as client:
        project = await client.post("/api/projects", json={"name": "twin"}, headers=ann)
        own = await _create(client, project.json()["project"]["id"], kind, ann)
    app = create_app(configured, services=services)
    body = orjson.dumps({kind[1]: kind[2]})
    scope = await _call(app, f"/api/{kind[0]}/{own}", b"", ann, method=method, body=body)
    twin = scope["route"]
    assert isinstance(twin, APIRoute)
    body_fields = {
        name
        for param in twin.dependant.body_params
        for name in getattr(param.field_info.annotation, "model_fields", {})
    }
    assert body_fields  # the body is read through the twin's own model
    assert uncovered_by_the_hot_path(twin, covers=SAVE_COVERS, reads=SAVE_READS | body_fields) == []
