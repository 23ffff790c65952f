from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import ezdxf
import ezdxf.bbox
import httpx
import pytest

from spacekontext.app import create_app
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
    for junk in ('"', "!&|", "\x01", "🛁"):
        assert isinstance(await blocks(client, ann, search=junk), list)
    # A NUL is refused for every route by the edge layer: a precise 400, not an error.
    nul = await client.get("/api/cad-blocks", params={"search": "\x00"}, headers=ann)
    assert nul.status_code == 400 and nul.json()["code"] == "invalid_characters"
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


async def test_seed_stores_dxf_and_thumbnails(
    client: httpx.AsyncClient, auth: Auth, services: Services
) -> None:
    ann = auth(ANN)
    count = await services.cadblocks.seed()
    assert count == len(library()) >= 60
    assert await services.cadblocks.seed() == count  # idempotent
    assert len(await blocks(client, ann)) == count
    dxf = await client.get("/api/cad-blocks/bath-bathtub-1700/dxf", headers=ann)
    assert dxf.status_code == 200
    doc = ezdxf.read(io.StringIO(dxf.content.decode()))
    assert ezdxf.bbox.extents(doc.blocks["bath-bathtub-1700"]).size.x == pytest.approx(1.7)
    svg = await client.get("/api/cad-blocks/bath-bathtub-1700/thumbnail.svg", headers=ann)
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert (await client.get("/api/cad-blocks/bath-bathtub-1700/dxf")).status_code == 401


@pytest.fixture
async def admin_client(settings, services: Services):
    admin_settings = settings.model_copy(update={"admin_emails": ["root@example.com"]})
    app = create_app(
        admin_settings, services=dataclasses.replace(services, settings=admin_settings)
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_admin_uploads_a_block(admin_client: httpx.AsyncClient, auth: Auth) -> None:
    root = auth("root@example.com")
    doc = ezdxf.new("R2010", units=4)  # millimetres
    chair = doc.blocks.new("EAMES")
    chair.add_lwpolyline([(0, 0), (630, 0), (630, 580), (0, 580)], close=True)
    doc.modelspace().add_blockref("EAMES", (0, 0))
    stream = io.StringIO()
    doc.write(stream)
    response = await admin_client.post(
        "/api/cad-blocks",
        headers=root,
        data={
            "name": "Lounge chair",
            "category": "furniture",
            "subcategory": "seating",
            "tags": "chair,lounge",
        },
        files={"file": ("chair.dxf", stream.getvalue().encode(), "image/vnd.dxf")},
    )
    assert response.status_code == 201, response.text
    block = response.json()["block"]
    assert block["slug"] == "lounge-chair"
    assert (block["widthM"], block["depthM"]) == pytest.approx((0.63, 0.58))
    assert block["tags"] == ["chair", "lounge"]
    listed = await admin_client.get("/api/cad-blocks", params={"search": "lounge"}, headers=root)
    assert [b["slug"] for b in listed.json()["blocks"]] == ["lounge-chair"]
    thumb = await admin_client.get("/api/cad-blocks/lounge-chair/thumbnail.svg", headers=root)
    assert thumb.status_code == 200 and "<polyline" in thumb.text
    again = await admin_client.post(
        "/api/cad-blocks",
        headers=root,
        data={"name": "Lounge chair", "category": "furniture"},
        files={"file": ("chair.dxf", stream.getvalue().encode(), "image/vnd.dxf")},
    )
    assert again.status_code == 409
    broken = await admin_client.post(
        "/api/cad-blocks",
        headers=root,
        data={"name": "Broken", "category": "furniture"},
        files={"file": ("b.dxf", b"AC1032" + bytes(64), "image/vnd.dxf")},
    )
    assert broken.status_code == 422 and broken.json()["code"] == "dxf_is_dwg"
    bad_category = await admin_client.post(
        "/api/cad-blocks",
        headers=root,
        data={"name": "X", "category": "Not A Category!"},
        files={"file": ("b.dxf", stream.getvalue().encode(), "image/vnd.dxf")},
    )
    assert bad_category.status_code == 422
