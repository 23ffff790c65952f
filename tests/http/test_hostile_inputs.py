"""Hostile inputs found by probing the API: each is a precise 4xx with the error envelope, and
changes nothing. Most are refused by the one JSON body check of the edge layer
(http/jsonbody.py) or its NUL check of paths and queries, so they hold for every route."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from spacekontext.http.jsonbody import MAX_JSON_DEPTH
from tests.documents.conftest import square_room

Auth = Callable[[str], dict[str, str]]


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["code"] == code, body
    assert "\x00" not in response.text
    return body


@pytest.fixture
def ann(auth: Auth) -> dict[str, str]:
    return auth("ann@example.com")


@pytest.fixture
async def project(client: httpx.AsyncClient, ann: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/api/projects", json={"name": "Villa"}, headers=ann)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()["project"]
    return project


async def project_names(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get("/api/projects", headers=headers)
    return [p["name"] for p in response.json()["projects"]]


# --- NUL characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": "a\x00b"}, "/name"),
        ({"name": "ok", "description": "\x00"}, "/description"),
        ({"name": "ok", "settings": {"k": ["x", "y\x00"]}}, "/settings/k/1"),
        ({"name": "ok", "settings": {"k\x00": 1}}, "/settings/k\\u0000"),
    ],
)
async def test_nul_in_a_json_body_is_400_with_its_pointer(
    client: httpx.AsyncClient, ann: dict[str, str], body: dict[str, Any], pointer: str
) -> None:
    response = await client.post("/api/projects", json=body, headers=ann)
    assert refused(response, 400, "invalid_characters")["details"]["pointer"] == pointer
    assert await project_names(client, ann) == []


async def test_nul_in_documents_and_site_is_400(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any]
) -> None:
    pid = project["id"]
    plan = square_room(extra={"notes": "a\x00"})
    created = await client.post(
        f"/api/projects/{pid}/floorplans", json={"name": "G", "data": plan}, headers=ann
    )
    assert refused(created, 400, "invalid_characters")["details"]["pointer"] == "/data/notes"
    site = {"projectId": pid, "coordinates": {"lat": 47.37, "lng": 8.54}, "weather": {"t": "\x00"}}
    refused(
        await client.post("/api/site-analysis", json=site, headers=ann), 400, "invalid_characters"
    )
    patched = await client.patch(f"/api/projects/{pid}", json={"name": "\x00"}, headers=ann)
    refused(patched, 400, "invalid_characters")
    assert await project_names(client, ann) == ["Villa"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/files?projectId=a%00b",
        "/api/files?category=%00",
        "/api/search?q=villa%00",
        "/api/cad-blocks?search=%00",
        "/api/projects?cursor=%00",
        "/api/projects/abc%00def",
        "/api/projects/abc%00def/floorplans",
    ],
)
async def test_nul_in_the_path_or_query_is_400(
    client: httpx.AsyncClient, ann: dict[str, str], url: str
) -> None:
    refused(await client.get(url, headers=ann), 400, "invalid_characters")


async def test_nul_in_a_multipart_field_is_400(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any]
) -> None:
    response = await client.post(
        "/api/files/upload",
        data={"projectId": project["id"], "category": "imp\x00ort"},
        files={"file": ("plan.dxf", b"0\nSECTION\n", "application/dxf")},
        headers=ann,
    )
    refused(response, 400, "invalid_field")


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (
            b'{"name": "n", "settings": {"k": 1000000000000000000000000000000}}',
            "number_out_of_range",
        ),
        (b'{"name": "n", "settings": {"k": 9223372036854775808}}', "number_out_of_range"),
        (b'{"name": "n", "settings": {"k": -9223372036854775809}}', "number_out_of_range"),
        (b'{"name": "n", "settings": {"k": NaN}}', "malformed_json"),
        (b'{"name": "n", "settings": {"k": Infinity}}', "malformed_json"),
        (b'{"name": "n", "settings": {"k": 1e400}}', "malformed_json"),
    ],
)
async def test_numbers_json_and_int64_cannot_hold_are_400(
    client: httpx.AsyncClient, ann: dict[str, str], raw: bytes, code: str
) -> None:
    headers = ann | {"content-type": "application/json"}
    body = refused(await client.post("/api/projects", content=raw, headers=headers), 400, code)
    if code == "number_out_of_range":
        assert body["details"]["pointer"] == "/settings/k"
    else:
        assert body["details"]["line"] == 1 and body["details"]["column"] > 30
    assert await project_names(client, ann) == []


async def test_int64_bounds_are_kept_exactly(
    client: httpx.AsyncClient, ann: dict[str, str]
) -> None:
    raw = b'{"name": "n", "settings": {"max": 9223372036854775807, "min": -9223372036854775808}}'
    headers = ann | {"content-type": "application/json"}
    created = await client.post("/api/projects", content=raw, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["project"]["settings"] == {"max": 2**63 - 1, "min": -(2**63)}


async def test_offset_past_int64_is_422(client: httpx.AsyncClient, ann: dict[str, str]) -> None:
    refused(await client.get(f"/api/files?offset={2**63}", headers=ann), 422, "validation_error")
    far = await client.get(f"/api/files?offset={2**63 - 1}", headers=ann)
    assert far.status_code == 200, far.text
    assert far.json()["files"] == []


async def test_absurd_coordinates_are_refused_with_a_pointer(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any]
) -> None:
    plan = square_room()
    plan["zones"][0]["points"][1] = [1e308, 0.0]
    response = await client.post(
        f"/api/projects/{project['id']}/floorplans", json={"name": "G", "data": plan}, headers=ann
    )
    problems = refused(response, 422, "invalid_document")["details"]["problems"]
    assert {"path": "/zones/0/points/1", "message": problems[0]["message"]} in problems
    massing = {"blocks": [{"footprint": [[0, 0], [10, 0], [10, 10]], "height": 1e300}]}
    response = await client.post(
        f"/api/projects/{project['id']}/massings",
        json={"name": "M", "massingData": massing},
        headers=ann,
    )
    paths = [p["path"] for p in refused(response, 422, "invalid_document")["details"]["problems"]]
    assert "/blocks/0/height" in paths


@pytest.mark.parametrize(
    ("field", "raw", "status"),
    [
        ("scale", "Infinity", 400),
        ("scale", "1e308", 422),
        ("scale", "-1", 422),
        ("rotation", "1e308", 422),
    ],
)
async def test_site_numbers_must_be_finite_and_sane(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    project: dict[str, Any],
    field: str,
    raw: str,
    status: int,
) -> None:
    start = json.dumps({"projectId": project["id"], "coordinates": {"lat": 47.37, "lng": 8.54}})
    body = (start[:-1] + f', "{field}": {raw}}}').encode()
    headers = ann | {"content-type": "application/json"}
    response = await client.post("/api/site-analysis", content=body, headers=headers)
    refused(response, status, "malformed_json" if status == 400 else "validation_error")
    missing = await client.get(f"/api/site-analysis/{project['id']}", headers=ann)
    assert missing.status_code == 404


# --- nesting ----------------------------------------------------------------------------------


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


async def test_one_depth_limit_for_every_json_body(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any]
) -> None:
    # Depth counts objects and arrays: the body is one, so `settings` may hold MAX - 1.
    ok = await client.post(
        "/api/projects", json={"name": "deep", "settings": nested(MAX_JSON_DEPTH - 1)}, headers=ann
    )
    assert ok.status_code == 201, ok.text
    too_deep = await client.post(
        "/api/projects",
        json={"name": "deeper", "settings": nested(MAX_JSON_DEPTH)},
        headers=ann,
    )
    assert refused(too_deep, 400, "json_too_deep")["details"]["maxDepth"] == MAX_JSON_DEPTH
    for url in (
        "/api/projects",
        f"/api/projects/{project['id']}/floorplans",
        "/api/site-analysis",
        "/api/webhooks/clerk",
    ):
        response = await client.post(url, json={"settings": nested(300)}, headers=ann)
        refused(response, 400, "json_too_deep")


# --- encodings --------------------------------------------------------------------------------


async def test_dxf_import_json_body_that_is_not_utf8_is_400_without_its_bytes(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any]
) -> None:
    raw = b'{"fileId": "\xff\xfe\xc3\x28abc"}'
    response = await client.post(
        f"/api/projects/{project['id']}/floorplans/import",
        content=raw,
        headers=ann | {"content-type": "application/json"},
    )
    body = refused(response, 400, "malformed_json")
    assert "UTF-8" in body["error"]
    assert "\\xff" not in response.text and "\ufffd" not in response.text


# --- cursors ----------------------------------------------------------------------------------


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+14:00|01J0000000000000000000000",
        "9999-12-31T23:59:59-14:00|01J0000000000000000000000",
        "2026-01-01T00:00:00|01J0000000000000000000000",
    ],
)
async def test_cursor_with_an_out_of_range_timestamp_is_400(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any], raw: str
) -> None:
    refused(
        await client.get(f"/api/projects?cursor={cursor(raw)}", headers=ann), 400, "invalid_cursor"
    )
    for kind in ("models3d", "massings"):
        response = await client.get(
            f"/api/projects/{project['id']}/{kind}?cursor={cursor(raw)}", headers=ann
        )
        refused(response, 400, "invalid_cursor")


@pytest.mark.parametrize("level", [str(2**31), str(-(2**31) - 1), "9" * 300])
async def test_cursor_with_a_huge_level_is_400(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any], level: str
) -> None:
    raw = f"{level}|2026-01-01T00:00:00+00:00|01J0000000000000000000000"
    response = await client.get(
        f"/api/projects/{project['id']}/floorplans?cursor={cursor(raw)}", headers=ann
    )
    refused(response, 400, "invalid_cursor")


# --- site dates -------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1677-01-01", "2262-06-01"])
async def test_site_dates_outside_the_supported_range_are_400(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any], day: str
) -> None:
    pid = project["id"]
    site = {"projectId": pid, "coordinates": {"lat": 47.37, "lng": 8.54}}
    posted = await client.post("/api/site-analysis", json=site | {"date": day}, headers=ann)
    body = refused(posted, 400, "date_out_of_range")
    assert body["details"] == {"field": "date", "min": "1678-01-01", "max": "2261-12-31"}
    assert "1678-01-01" in body["error"] and "2261-12-31" in body["error"]
    assert (await client.get(f"/api/site-analysis/{pid}", headers=ann)).status_code == 404
    assert (await client.post("/api/site-analysis", json=site, headers=ann)).status_code == 200
    got = await client.get(f"/api/site-analysis/{pid}?date={day}", headers=ann)
    refused(got, 400, "date_out_of_range")
    edge = await client.get(f"/api/site-analysis/{pid}?date=2261-12-31", headers=ann)
    assert edge.status_code == 200, edge.text


# --- conditional headers ----------------------------------------------------------------------


# Header bytes are read as latin-1 (RFC 9110): its superscript digits are where `str.isdigit()`
# says yes and `int()` says no.
@pytest.mark.parametrize("tag", ['"²"', '"¹"', '"1²"', 'W/"³"'])
async def test_etags_with_non_ascii_digits_match_nothing(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any], tag: str
) -> None:
    created = await client.post(
        f"/api/projects/{project['id']}/floorplans",
        json={"name": "G", "data": square_room()},
        headers=ann,
    )
    fid = created.json()["floorplan"]["id"]
    headers = ann | {"If-Match": tag.encode("latin-1")}
    stale = await client.put(
        f"/api/floorplans/{fid}", json={"data": square_room()}, headers=headers
    )
    refused(stale, 412, "version_mismatch")
    headers = ann | {"If-None-Match": tag.encode("latin-1")}
    fresh = await client.get(f"/api/floorplans/{fid}", headers=headers)
    assert fresh.status_code == 200, fresh.text


# --- what every unexpected error must still be ------------------------------------------------


async def test_an_unexpected_error_is_answered_not_raised_to_the_server(
    settings: Any, services: Any, ann: dict[str, str]
) -> None:
    """Starlette's outermost error middleware re-raises after its 500, and the server then
    closes the client's connection. The edge layer answers instead: the ASGI app returns."""
    from spacekontext.app import create_app

    class Exploding:
        async def list_json(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("boom")

    services.projects = Exploding()
    for hot in (True, False):
        app = create_app(settings.model_copy(update={"hot_routes": hot}), services=services)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/api/projects", headers=ann)
        body = refused(response, 500, "internal_error")
        assert body["details"]["requestId"] == response.headers["x-request-id"]
        assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]
        assert json.loads(response.text)["error"] == "internal error"


async def test_a_boolean_is_not_a_number(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any]
) -> None:
    """Found by the long schemathesis run: `"level": true` was stored as level 1."""
    response = await client.post(
        f"/api/projects/{project['id']}/floorplans",
        json={"name": "G", "level": True},
        headers=ann,
    )
    refused(response, 422, "validation_error")
    ok = await client.post(
        f"/api/projects/{project['id']}/floorplans", json={"name": "G", "level": 1}, headers=ann
    )
    assert ok.status_code == 201, ok.text


async def test_a_name_longer_than_documented_is_refused_as_sent(
    client: httpx.AsyncClient, auth: Callable[[str], dict[str, str]]
) -> None:
    # Found by schemathesis: 256 characters whose trailing space was trimmed to 255 passed.
    headers = auth("long-name@example.com")
    response = await client.post("/api/projects", json={"name": "a" * 255 + " "}, headers=headers)
    assert response.status_code == 422, response.text
    assert (await client.get("/api/projects", headers=headers)).json()["projects"] == []
