"""The API answers alike through PgBouncer and straight to the server: behind PgBouncer the
hot reads and one-statement writes run on psycopg (db/driverpool.py `BouncerPool`), elsewhere on
asyncpg, and nothing a client reads may tell the two apart. Two apps on one database: every
write goes through the pooled one, every read through both, compared byte for byte."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_hot_saves import KINDS, _create
from tests.db import servers
from tests.db.conftest import url_for
from tests.storage.conftest import SAMPLES

pytestmark = pytest.mark.slow

Auth = Callable[[str], dict[str, str]]
ANN = "ann.bounced@example.com"
BOB = "bob.bounced@example.com"


@pytest.fixture(scope="module")
def bouncer(pg15: servers.Cluster) -> Iterator[servers.Bouncer]:
    with servers.pgbouncer(pg15, server_pool=3) as running:
        yield running


async def _alike(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], path: str, headers: dict[str, str]
) -> httpx.Response:
    bounced, direct = pair
    one, other = await bounced.get(path, headers=headers), await direct.get(path, headers=headers)
    assert (one.status_code, one.headers.get("etag"), one.content) == (
        other.status_code,
        other.headers.get("etag"),
        other.content,
    ), path
    return one


async def test_reads_and_writes_answer_alike_through_pgbouncer(
    bouncer: servers.Bouncer,
    pg15: servers.Cluster,
    pg15_database: str,
    make_app: Callable[..., Any],
    auth: Auth,
) -> None:
    ann, bob = auth(ANN), auth(BOB)
    async with (
        make_app(database_url=bouncer.url(pg15_database), database_pooler="pgbouncer") as (
            bounced,
            _,
        ),
        make_app(database_url=url_for(pg15, pg15_database)) as (direct, _),
    ):
        pair = (bounced, direct)
        pids = []
        for name in ("one", "two", "three"):
            created = await bounced.post("/api/projects", json={"name": name}, headers=ann)
            assert created.status_code == 201, created.text
            pids.append(created.json()["project"]["id"])
        pid = pids[0]
        page = await _alike(pair, "/api/projects?limit=2", ann)
        cursor = page.json()["nextCursor"]
        await _alike(pair, f"/api/projects?limit=2&cursor={cursor}", ann)
        await _alike(pair, f"/api/projects/{pid}", ann)
        await _alike(pair, f"/api/projects/{pid}", bob)  # somebody else's: 404
        site = {"projectId": pid, "coordinates": {"lat": 47.37, "lng": 8.54}}
        assert (await bounced.post("/api/site-analysis", json=site, headers=ann)).is_success
        await _alike(pair, f"/api/site-analysis/{pid}", ann)

        for kind in KINDS:
            collection, key, document, patch, _ = kind
            ids = [await _create(bounced, pid, kind, ann) for _ in range(3)]
            first = await _alike(pair, f"/api/{collection}/{ids[0]}", ann)
            etag = first.headers["etag"]
            listed = await _alike(pair, f"/api/projects/{pid}/{collection}?limit=2", ann)
            more = listed.json()["nextCursor"]
            await _alike(pair, f"/api/projects/{pid}/{collection}?limit=2&cursor={more}", ann)
            await _alike(pair, f"/api/{collection}/{ids[0]}", ann | {"If-None-Match": etag})
            # A merge patch (the one-statement save on the driver), a stale one, a whole save.
            patched = await bounced.patch(
                f"/api/{collection}/{ids[0]}",
                json={key: patch},
                headers=ann | {"If-Match": etag},
            )
            assert patched.status_code == 200, patched.text
            stale = await bounced.patch(
                f"/api/{collection}/{ids[0]}", json={key: patch}, headers=ann | {"If-Match": etag}
            )
            assert stale.status_code == 412, stale.text
            replaced = await bounced.put(
                f"/api/{collection}/{ids[1]}",
                json={"name": "again", key: {**document, "extra": [1, 2.5, "ü"]}},
                headers=ann,
            )
            assert replaced.status_code == 200, replaced.text
            for document_id in ids:
                await _alike(pair, f"/api/{collection}/{document_id}", ann)
            await _alike(pair, f"/api/projects/{pid}/{collection}", ann)
            await _alike(pair, f"/api/{collection}/{ids[0]}", bob)

        await _alike(pair, f"/api/floorplans/{ids[0]}/versions", ann)
        upload = await bounced.post(
            "/api/files/upload",
            data={"projectId": pid, "category": "import"},
            files={"file": ("plan.dxf", SAMPLES["dxf"], "image/vnd.dxf")},
            headers=ann,
        )
        assert upload.status_code in (200, 201), upload.text
        await _alike(pair, f"/api/files?projectId={pid}", ann)
        await _alike(pair, "/api/cad-blocks?category=furniture", ann)
