from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spacekontext.ids import new_id

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"
BOB = "bob@example.com"


async def project(client: httpx.AsyncClient, headers: dict[str, str], name: str, **more) -> str:
    response = await client.post("/api/projects", json={"name": name, **more}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["project"]["id"]


async def user_id(client: httpx.AsyncClient, headers: dict[str, str], project_id: str) -> str:
    return (await client.get(f"/api/projects/{project_id}", headers=headers)).json()["project"][
        "userId"
    ]


async def add_file(
    connection: AsyncConnection, owner: str, project_id: str, name: str, status: str = "ready"
) -> str:
    file_id = new_id()
    await connection.execute(
        text(
            "INSERT INTO app.files (id, user_id, project_id, original_name, safe_name, mime_type,"
            " size_bytes, storage_key, status, file_type, category)"
            " VALUES (:id, :user, :project, :name, :safe, 'application/dxf', 10, :key, :status,"
            " 'dxf', 'import')"
        ),
        {
            "id": file_id,
            "user": owner,
            "project": project_id,
            "name": name,
            "safe": name,
            "key": f"k/{file_id}",
            "status": status,
        },
    )
    return file_id


async def add_block(
    connection: AsyncConnection, slug: str, name: str, category: str, tags: list[str]
) -> None:
    await connection.execute(
        text(
            "INSERT INTO app.cad_blocks (id, slug, name, category, tags)"
            " VALUES (:id, :slug, :name, :category, :tags)"
        ),
        {"id": new_id(), "slug": slug, "name": name, "category": category, "tags": tags},
    )


async def search(client: httpx.AsyncClient, headers: dict[str, str], q: str, **params) -> dict:
    response = await client.get("/api/search", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body


def names(body: dict, kind: str | None = None) -> list[str]:
    return [hit["name"] for hit in body["results"] if kind is None or hit["type"] == kind]


async def test_stem_prefix_and_near_miss(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    await project(client, ann, "Kitchen renovation", description="New cabinets and an island")
    await project(client, ann, "Garden shed")
    assert names(await search(client, ann, "kitchens")) == ["Kitchen renovation"]  # stem
    assert names(await search(client, ann, "kitc")) == ["Kitchen renovation"]  # prefix
    assert names(await search(client, ann, "kitchn")) == ["Kitchen renovation"]  # near miss
    assert names(await search(client, ann, "islands")) == ["Kitchen renovation"]
    assert names(await search(client, ann, "bathroom")) == []


async def test_name_matches_rank_above_description_matches(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth(ANN)
    await project(client, ann, "Harbour offices", description="Loft conversion next to the pier")
    await project(client, ann, "Loft conversion", description="Attic to bedroom")
    body = await search(client, ann, "loft")
    assert names(body) == ["Loft conversion", "Harbour offices"]
    first, second = body["results"]
    assert first["score"] > second["score"]
    assert first["title"] == "<mark>Loft</mark> conversion"
    assert "<mark>Loft</mark>" in second["snippet"]


async def test_exact_matches_rank_above_near_misses(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    await project(client, ann, "Cabin")
    await project(client, ann, "Cabinet maker")
    assert names(await search(client, ann, "cabin"))[0] == "Cabin"


async def test_only_own_projects_and_files(
    client: httpx.AsyncClient, auth: Auth, connection: AsyncConnection
) -> None:
    ann, bob = auth(ANN), auth(BOB)
    ann_project = await project(client, ann, "Secret villa")
    bob_project = await project(client, bob, "Public library")
    ann_id = await user_id(client, ann, ann_project)
    await add_file(connection, ann_id, ann_project, "villa-ground_floor.dxf")
    assert names(await search(client, bob, "villa")) == []
    assert names(await search(client, bob, "ground floor")) == []
    assert names(await search(client, ann, "library")) == []
    assert bob_project  # bob sees his own
    assert names(await search(client, bob, "library")) == ["Public library"]


async def test_files_by_words_of_their_name(
    client: httpx.AsyncClient, auth: Auth, connection: AsyncConnection
) -> None:
    ann = auth(ANN)
    project_id = await project(client, ann, "Tower")
    owner = await user_id(client, ann, project_id)
    file_id = await add_file(connection, owner, project_id, "site-plan_v2.dxf")
    await add_file(connection, owner, project_id, "site-plan_draft.dxf", status="pending")
    body = await search(client, ann, "plans", types="files")
    assert [hit["id"] for hit in body["results"]] == [file_id]
    hit = body["results"][0]
    assert hit["type"] == "file" and hit["projectId"] == project_id
    assert "<mark>plan</mark>" in hit["title"]
    assert names(await search(client, ann, "sit", types="files")) == ["site-plan_v2.dxf"]


async def test_blocks_by_name_tag_and_category(
    client: httpx.AsyncClient, auth: Auth, connection: AsyncConnection
) -> None:
    ann = auth(ANN)
    await add_block(connection, "bathtub-1700", "Bathtub 1700", "bath", ["tub", "bathroom"])
    await add_block(connection, "basin-600", "Wash basin 600", "bath", ["sink", "lavatory"])
    await add_block(connection, "sofa-3", "Sofa three-seat", "furniture", ["couch"])
    assert names(await search(client, ann, "bathtubs", types="blocks")) == ["Bathtub 1700"]
    assert names(await search(client, ann, "lavatory", types="blocks")) == ["Wash basin 600"]
    assert names(await search(client, ann, "couch", types="blocks")) == ["Sofa three-seat"]
    by_category = names(await search(client, ann, "bath", types="blocks"))
    assert by_category[0] == "Bathtub 1700"  # name (A) over category (C)
    assert set(by_category) == {"Bathtub 1700", "Wash basin 600"}


async def test_types_and_limit(
    client: httpx.AsyncClient, auth: Auth, connection: AsyncConnection
) -> None:
    ann = auth(ANN)
    for i in range(5):
        await project(client, ann, f"Stair study {i}")
    await add_block(connection, "stair-straight", "Straight stair", "stairs", [])
    body = await search(client, ann, "stair", limit=3)
    assert len(body["results"]) == 3
    only_projects = await search(client, ann, "stair", types="projects", limit=10)
    assert {hit["type"] for hit in only_projects["results"]} == {"project"}
    both = await search(client, ann, "stair", types="blocks,projects", limit=10)
    assert {hit["type"] for hit in both["results"]} == {"project", "block"}
    bad = await client.get("/api/search", params={"q": "x", "types": "users"}, headers=ann)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_types"


async def test_highlights_are_html_escaped(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    await project(client, ann, "<script>alert(1)</script> kitchen", description="a <b>kitchen</b>")
    (hit,) = (await search(client, ann, "kitchen"))["results"]
    assert "<script>" not in hit["title"] and "&lt;script&gt;" in hit["title"]
    assert "<mark>kitchen</mark>" in hit["title"]
    assert "<b>" not in hit["snippet"]


@pytest.mark.parametrize(
    "query",
    [
        '"kitchen island',
        "kitchen & | ! ( ) <-> :* '",
        "-kitchen",
        "or or and not",
        "the a of",
        "\\:*",
        "Zürich 東京 Ærø ﬁ 🏠",
        # Word characters that unaccent expands into punctuation (½ → " 1/2"): found by the
        # schemathesis run as a tsquery syntax error.
        "õ½x",
        "ŉ ℃ ¼ ﬃ ① ²",
        "' OR 1=1 --",
        "%_%",
    ],
)
async def test_odd_queries_never_fail(client: httpx.AsyncClient, auth: Auth, query: str) -> None:
    ann = auth(ANN)
    await project(client, ann, "Kitchen island in Zürich")
    body = await search(client, ann, query)
    assert isinstance(body["results"], list)


async def test_a_nul_in_the_query_is_400(client: httpx.AsyncClient, auth: Auth) -> None:
    # Refused for every route by the edge layer (PostgreSQL's text cannot hold a NUL).
    response = await client.get("/api/search", params={"q": "kitchen\x00island"}, headers=auth(ANN))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters"


async def test_unicode_names_are_found(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    await project(client, ann, "Wohnung Zürich")
    await project(client, ann, "東京 オフィス")
    assert names(await search(client, ann, "zürich")) == ["Wohnung Zürich"]
    assert names(await search(client, ann, "東京")) == ["東京 オフィス"]


async def test_bad_queries_are_400(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth(ANN)
    junk = await client.get("/api/search", params={"q": "ab%$ " * 2048}, headers=ann)
    assert junk.status_code == 400 and junk.json()["code"] == "query_too_long"
    for empty in ("", "   ", "\x01\x02"):
        response = await client.get("/api/search", params={"q": empty}, headers=ann)
        assert response.status_code == 400 and response.json()["code"] == "invalid_query"
    assert (
        await client.get("/api/search", params={"q": "x", "limit": 0}, headers=ann)
    ).status_code == 422
    assert (await client.get("/api/search", params={"q": "x"})).status_code == 401
