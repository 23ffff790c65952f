"""Content-addressed previews: a floorplan's SVG by its content hash, cached for a year as
immutable private content with a strong ETag, and a conditional GET that names it answered 304
without a database statement (the Server-Timing header counts them)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.documents.conftest import square_room

IMMUTABLE_PRIVATE = "private, max-age=31536000, immutable"


def statements(response: httpx.Response) -> str:
    return response.headers["server-timing"]


async def test_a_preview_by_content_hash_is_immutable_and_revalidates_without_a_query(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    bob: dict[str, str],
    project: dict[str, Any],
) -> None:
    created = await client.post(
        f"/api/projects/{project['id']}/floorplans",
        json={"name": "Ground", "data": square_room(4.0)},
        headers=ann,
    )
    assert created.status_code == 201, created.text
    plan = created.json()["floorplan"]
    first_hash = plan["contentHash"]
    url = f"/api/floorplans/{plan['id']}/preview/{first_hash}.svg"

    fresh = await client.get(url, headers=ann)
    assert fresh.status_code == 200, fresh.text
    assert fresh.text.startswith("<svg")
    assert fresh.headers["cache-control"] == IMMUTABLE_PRIVATE
    etag = fresh.headers["etag"]
    assert etag == f'"svg-{first_hash}"'
    assert 'desc="0 statements"' not in statements(fresh)

    again = await client.get(url, headers={**ann, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == IMMUTABLE_PRIVATE
    assert 'desc="0 statements"' in statements(again)
    # A 304 still needs a session: the credential is checked, the user is not looked up.
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 401

    # A new content gets a new address; the old one keeps serving the old bytes (a saved
    # version), never the new ones.
    bigger = await client.put(
        f"/api/floorplans/{plan['id']}", json={"data": square_room(6.0)}, headers=ann
    )
    second_hash = bigger.json()["floorplan"]["contentHash"]
    assert second_hash != first_hash
    old = await client.get(url, headers=ann)
    assert old.status_code == 200 and old.text == fresh.text
    new = await client.get(f"/api/floorplans/{plan['id']}/preview/{second_hash}.svg", headers=ann)
    assert new.status_code == 200 and new.text != fresh.text

    # Someone else's plan, a hash it never had, and a malformed hash are all 404.
    assert (await client.get(url, headers=bob)).status_code == 404
    other = f"/api/floorplans/{plan['id']}/preview/{'0' * 64}.svg"
    assert (await client.get(other, headers=ann)).status_code == 404
    bad = f"/api/floorplans/{plan['id']}/preview/not-a-hash.svg"
    assert (await client.get(bad, headers=ann)).status_code == 404
