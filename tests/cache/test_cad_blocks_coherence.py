"""The CAD block library through two API instances sharing one database, one object store and
one Redis, with real commits: a block uploaded (or seeded) through one instance is listed by the
other at once, although the other serves the library from its cache."""

from __future__ import annotations

import dataclasses
import io
import secrets
from collections.abc import AsyncIterator, Callable

import ezdxf
import httpx
import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

from spacekontext.app import create_app
from spacekontext.cadblocks.library import library
from spacekontext.cadblocks.models import CadBlock
from spacekontext.cadblocks.service import KEY_PREFIX, BlockFilter
from spacekontext.db.engine import Database
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings

Auth = Callable[[str], dict[str, str]]
ADMIN = "blocks-admin@example.com"


@dataclasses.dataclass
class Pair:
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    a_services: Services
    slugs: list[str]


@pytest.fixture
async def pair(
    settings: Settings, engine: AsyncEngine, redis_url: str, key_prefix: str
) -> AsyncIterator[Pair]:
    configured = settings.model_copy(
        update={"redis_url": redis_url, "cache_key_prefix": key_prefix, "admin_emails": [ADMIN]}
    )
    built = [build_services(configured, Database(engine)) for _ in range(2)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(
                app=create_app(configured, services=services), raise_app_exceptions=False
            ),
            base_url="http://t",
        )
        for services in built
    ]
    made = Pair(clients[0], clients[1], built[0], [])
    yield made
    async with engine.begin() as conn:
        await conn.execute(delete(CadBlock).where(CadBlock.slug.in_(made.slugs)))
    for slug in made.slugs:
        await built[0].store.delete_prefix(f"{KEY_PREFIX}{slug}/")
    for client in clients:
        await client.aclose()
    for services in built:
        await services.aclose()


def chair_dxf() -> bytes:
    doc = ezdxf.new("R2010", units=4)
    chair = doc.blocks.new("CHAIR")
    chair.add_lwpolyline([(0, 0), (500, 0), (500, 450), (0, 450)], close=True)
    doc.modelspace().add_blockref("CHAIR", (0, 0))
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


async def slugs(client: httpx.AsyncClient, headers: dict[str, str], search: str) -> list[str]:
    response = await client.get("/api/cad-blocks", params={"search": search}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    return [block["slug"] for block in response.json()["blocks"]]


async def test_an_upload_through_one_instance_is_listed_by_the_other(
    pair: Pair, auth: Auth, engine: AsyncEngine
) -> None:
    ann, admin = auth(f"ann-{secrets.token_hex(3)}@example.com"), auth(ADMIN)
    word = f"zq{secrets.token_hex(3)}"  # a search term no other block matches
    assert await slugs(pair.b, ann, word) == []  # now cached by B

    name = f"Chair {word}"
    pair.slugs.append(f"chair-{word}")
    uploaded = await pair.a.post(
        "/api/cad-blocks",
        headers=admin,
        data={"name": name, "category": "furniture", "tags": word},
        files={"file": ("chair.dxf", chair_dxf(), "image/vnd.dxf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert await slugs(pair.b, ann, word) == [f"chair-{word}"]  # at once, through B

    # Behind the application's back (no bump), B keeps serving its cached bytes: the bumps
    # are what keep it fresh.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE app.cad_blocks SET tags = '{}', name = 'renamed' WHERE slug = :s"),
            {"s": f"chair-{word}"},
        )
    assert await slugs(pair.b, ann, word) == [f"chair-{word}"]

    # `spacekontext library seed` runs this use case; its bump reaches B as well.
    spec = dataclasses.replace(library()[0], slug=f"seeded-{word}", name=f"Seeded {word}")
    pair.slugs.append(spec.slug)
    assert await pair.a_services.cadblocks.seed([spec]) == 1
    assert await slugs(pair.b, ann, word) == [f"seeded-{word}"]


async def test_users_without_private_blocks_share_one_listing(
    pair: Pair, auth: Auth, engine: AsyncEngine
) -> None:
    ann = auth(f"ann-{secrets.token_hex(3)}@example.com")
    bob = auth(f"bob-{secrets.token_hex(3)}@example.com")
    admin = auth(ADMIN)
    word = f"zq{secrets.token_hex(3)}"
    for visibility in ("public", "private"):
        pair.slugs.append(f"{visibility}-chair-{word}")
        uploaded = await pair.a.post(
            "/api/cad-blocks",
            headers=admin,
            data={
                "name": f"{visibility} chair {word}",
                "category": "furniture",
                "tags": word,
                "isPublic": str(visibility == "public").lower(),
            },
            files={"file": ("chair.dxf", chair_dxf(), "image/vnd.dxf")},
        )
        assert uploaded.status_code == 201, uploaded.text
    public, private = f"public-chair-{word}", f"private-chair-{word}"

    assert await slugs(pair.b, ann, word) == [public]
    # The admin owns a private block: a listing of its own, with it.
    assert sorted(await slugs(pair.b, admin, word)) == sorted([private, public])

    # Behind the application's back (no bump) the public block stops matching: a listing
    # loaded now would be empty. Bob gets the listing Ann's request loaded (shared by users
    # without private blocks), on either instance; the admin keeps its own.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE app.cad_blocks SET tags = '{}', name = 'renamed' WHERE slug = :s"),
            {"s": public},
        )
    assert await pair.a_services.cadblocks.list(None, BlockFilter(search=word)) == []
    assert await slugs(pair.a, bob, word) == [public]
    assert await slugs(pair.b, bob, word) == [public]
    assert sorted(await slugs(pair.b, admin, word)) == sorted([private, public])
    # The next block write replaces the generation: everybody reloads.
    pair.slugs.append(f"table-{word}")
    uploaded = await pair.a.post(
        "/api/cad-blocks",
        headers=admin,
        data={"name": f"table {word}", "category": "furniture", "tags": word},
        files={"file": ("table.dxf", chair_dxf(), "image/vnd.dxf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert await slugs(pair.b, bob, word) == [f"table-{word}"]
    assert sorted(await slugs(pair.b, admin, word)) == sorted([private, f"table-{word}"])
