"""The OpenAPI document documents every answer: the error envelope for every 4xx/5xx, a
schema or a media type for every success, the statuses each kind of route can answer; and a
405 names the methods the path really has."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from spacekontext.app import create_app
from spacekontext.settings import Settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(env="test")).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_error_answer_is_the_envelope(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path)


def test_every_success_has_a_schema_or_a_media_type(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] != "2" or not path.startswith("/api/"):
                continue
            content = response.get("content")
            if not content:
                continue  # a redirect or an empty answer, described in words
            for media, body in content.items():
                assert body.get("schema"), (method, path, status, media)


def test_statuses_by_kind_of_route(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert {"400", "401", "403", "429", "503", "422"} <= paths["/api/projects"]["get"][
        "responses"
    ].keys()
    patch = paths["/api/floorplans/{floorplan_id}"]["put"]["responses"]
    assert {"404", "409", "412", "413", "422"} <= patch.keys()
    assert "304" in paths["/api/floorplans/{floorplan_id}"]["get"]["responses"]
    assert "415" in paths["/api/files/presign"]["post"]["responses"]
    preview = paths["/api/floorplans/{floorplan_id}/preview.svg"]["get"]["responses"]["200"]
    assert list(preview["content"]) == ["image/svg+xml"]
    export = paths["/api/floorplans/{floorplan_id}/export.dxf"]["get"]["responses"]["200"]
    assert list(export["content"]) == ["image/vnd.dxf"]
    listed = paths["/api/projects"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"] == {"$ref": "#/components/schemas/ProjectsEnvelope"}


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/projects", "GET, POST"),
        ("/api/projects/x", "DELETE, GET, PATCH"),
        ("/api/files/presign", "POST"),
        ("/api/files/x", "DELETE, GET"),
    ],
)
async def test_405_lists_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    response = await client.request("TRACE", path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["code"] == "method_not_allowed"
