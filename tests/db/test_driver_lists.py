"""The document lists on the driver's own pool (one statement, `$n` parameters typed by the
server), as the app runs them outside the tests' bound session: paging with cursors, the
floorplans' level filter, an empty project, and somebody else's or a missing project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.documents.conftest import square_room

pytestmark = pytest.mark.slow


async def test_document_lists_page_on_the_driver(
    primary_url: str, make_app: Callable[..., Any], auth: Callable[[str], dict[str, str]]
) -> None:
    async with make_app(database_url=primary_url) as (client, services):
        assert services.db._driver_pool is not None  # the path under test
        ann, bob = auth("lists-ann@example.com"), auth("lists-bob@example.com")

        async def project(headers: dict[str, str]) -> str:
            created = await client.post("/api/projects", json={"name": "L"}, headers=headers)
            assert created.status_code == 201, created.text
            return str(created.json()["project"]["id"])

        pid, empty, bobs = await project(ann), await project(ann), await project(bob)
        made = []
        for n, level in enumerate((1, 0, 2, 0, 1)):
            created = await client.post(
                f"/api/projects/{pid}/floorplans",
                json={"name": f"F{n}", "level": level, "data": square_room()},
                headers=ann,
            )
            assert created.status_code == 201, created.text
            made.append((level, n, created.json()["floorplan"]["id"]))
        for n in range(3):
            created = await client.post(
                f"/api/projects/{pid}/models3d",
                json={"name": f"M{n}", "modelData": {"objects": []}},
                headers=ann,
            )
            assert created.status_code == 201, created.text

        async def pages(url: str) -> list[list[str]]:
            seen, cursor = [], None
            while True:
                suffix = f"&cursor={cursor}" if cursor else ""
                answer = await client.get(f"{url}{suffix}", headers=ann)
                assert answer.status_code == 200, answer.text
                body = answer.json()
                key = "floorplans" if "floorplans" in url else "models3d"
                seen.append([item["name"] for item in body[key]])
                cursor = body["nextCursor"]
                if cursor is None:
                    return seen

        by_level = [f"F{n}" for _level, n, _id in sorted(made)]
        assert await pages(f"/api/projects/{pid}/floorplans?limit=2") == [
            by_level[0:2],
            by_level[2:4],
            by_level[4:5],
        ]
        assert await pages(f"/api/projects/{pid}/floorplans?level=1&limit=1") == [["F0"], ["F4"]]
        # Last changed first.
        assert await pages(f"/api/projects/{pid}/models3d?limit=2") == [["M2", "M1"], ["M0"]]
        for url, status in [
            (f"/api/projects/{empty}/floorplans", 200),
            (f"/api/projects/{empty}/models3d?limit=1", 200),
            (f"/api/projects/{bobs}/floorplans", 404),
            (f"/api/projects/{bobs}/massings", 404),
            ("/api/projects/missing/floorplans?level=0", 404),
        ]:
            answer = await client.get(url, headers=ann)
            assert answer.status_code == status, (url, answer.text)
            if status == 200:
                assert answer.json()["nextCursor"] is None
                assert [v for k, v in answer.json().items() if isinstance(v, list)] == [[]]
