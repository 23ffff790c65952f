from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from spacekontext.cadblocks.library import library
from spacekontext.cadblocks.service import CadBlockService, dxf_key, thumbnail_key
from spacekontext.services import Services

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"


@pytest.fixture
async def rows(services: Services) -> int:
    """The starter library's rows (objects are the object store's business, tested apart)."""
    specs = library()
    async with services.db.unit_of_work() as uow:
        await CadBlockService.upsert_rows(
            uow.session,
            [
                {
                    "slug": s.slug,
                    "name": s.name,
                    "category": s.category,
                    "subcategory": s.subcategory,
                    "tags": list(s.tags),
                    "dxf_key": dxf_key(s.slug),
                    "thumbnail_key": thumbnail_key(s.slug),
                    "width_m": s.width_m,
                    "depth_m": s.depth_m,
                    "height_m": s.height_m,
                }
                for s in specs
            ],
        )
        await uow.commit()
    return len(specs)


async def blocks(client: httpx.AsyncClient, headers: dict[str, str], **params) -> list[dict]:
    response = await client.get("/api/cad-blocks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["blocks"]


async def test_lists_everything_in_order(client: httpx.AsyncClient, auth: Auth, rows: int) -> None:
    listed = await blocks(client, auth(ANN))
    assert len(listed) == rows >= 60
    keys = [(b["category"], b["subcategory"], b["name"]) for b in listed]
    assert keys == sorted(keys)
    door = next(b for b in listed if b["slug"] == "door-single-900")
    assert door["widthM"] == 0.9
    assert door["dxfUrl"] == "/api/cad-blocks/door-single-900/dxf"
    assert door["thumbnailUrl"] == "/api/cad-blocks/door-single-900/thumbnail.svg"
    assert "dxfKey" not in door  # storage keys stay inside


async def test_filters(client: httpx.AsyncClient, auth: Auth, rows: int) -> None:
    ann = auth(ANN)
    bath = await blocks(client, ann, category="bath")
    assert bath and {b["category"] for b in bath} == {"bath"}
    showers = await blocks(client, ann, category="bath", subcategory="showers")
    assert {b["slug"] for b in showers} == {
        "bath-shower-800",
        "bath-shower-900",
        "bath-shower-1200",
    }
    assert await blocks(client, ann, category="nothing") == []


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("bathtubs", {"bath-bathtub-1700", "bath-bathtub-1800", "bath-corner-tub-1400"}),
        ("couch", {"sofa-2-seat", "sofa-3-seat"}),
        (
            "refrig",
            {"fridge-600", "fridge-freezer-700", "fridge-american-900"},
        ),  # prefix (the tag)
        ("spirl stair", {"stair-spiral-1600", "stair-spiral-2000"}),  # near miss
    ],
)
async def test_search(
    client: httpx.AsyncClient, auth: Auth, rows: int, search: str, expected: set[str]
) -> None:
    found = {b["slug"] for b in await blocks(client, auth(ANN), search=search)}
    assert expected <= found
    assert len(found) <= len(expected) + 3


async def test_odd_searches_are_not_errors(
    client: httpx.AsyncClient, auth: Auth, rows: int
) -> None:
    ann = auth(ANN)
    for junk in ('"', "!&|", "\x00", "🛁"):
        assert isinstance(await blocks(client, ann, search=junk), list)
    too_long = await client.get("/api/cad-blocks", params={"search": "x" * 10_000}, headers=ann)
    assert too_long.status_code == 400


async def test_unknown_block_is_404(client: httpx.AsyncClient, auth: Auth, rows: int) -> None:
    response = await client.get("/api/cad-blocks/no-such-block/dxf", headers=auth(ANN))
    assert response.status_code == 404


async def test_upload_is_for_admins_only(client: httpx.AsyncClient, auth: Auth) -> None:
    response = await client.post(
        "/api/cad-blocks",
        headers=auth(ANN),
        data={"name": "My chair", "category": "furniture"},
        files={"file": ("chair.dxf", b"0\nEOF\n", "image/vnd.dxf")},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "admin_only"
    assert await blocks(client, auth(ANN)) == []
