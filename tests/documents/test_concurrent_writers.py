"""Concurrent saves against a database that really commits (no rolled-back outer transaction:
row locks only serialize writers that are in separate transactions)."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from spacekontext.app import create_app
from spacekontext.services import Services
from spacekontext.settings import Settings
from spacekontext.users.models import User
from tests.documents.conftest import square_room

WRITERS = 20


@pytest.fixture
async def committing_client(
    settings: Settings, committed_services: Services
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services=committed_services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def committed_user(
    auth: Callable[[str], dict[str, str]], committed_services: Services
) -> AsyncIterator[dict[str, str]]:
    email = f"writer-{secrets.token_hex(4)}@example.com"
    yield auth(email)
    # Deleting the user cascades to its projects, floorplans and their history.
    async with committed_services.db.unit_of_work() as uow:
        await uow.session.execute(delete(User).where(User.email == email))
        await uow.commit()


async def test_twenty_writers_from_one_version_exactly_one_wins(
    committing_client: httpx.AsyncClient, committed_user: dict[str, str]
) -> None:
    client, headers = committing_client, committed_user
    project = (await client.post("/api/projects", json={"name": "race"}, headers=headers)).json()
    pid = project["project"]["id"]
    created = await client.post(
        f"/api/projects/{pid}/floorplans",
        json={"name": "race", "data": square_room()},
        headers=headers,
    )
    url = f"/api/floorplans/{created.json()['floorplan']['id']}"
    # Every writer sends a different, complete document, from the same version.
    documents = [square_room(3.0 + i, extra={"writer": i}) for i in range(WRITERS)]

    async def write(i: int) -> httpx.Response:
        return await client.put(
            url, json={"data": documents[i]}, headers=headers | {"If-Match": '"1"'}
        )

    responses = await asyncio.gather(*(write(i) for i in range(WRITERS)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 412: WRITERS - 1}, statuses
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    for response in responses:
        if response.status_code == 412:
            assert response.json()["details"] == {"currentVersion": 2}

    stored: dict[str, Any] = (await client.get(url, headers=headers)).json()["floorplan"]
    assert stored["version"] == 2
    assert stored["data"] == documents[winner]  # whole, not a mix of two writers
    assert stored["totalAreaM2"] == pytest.approx((3.0 + winner) ** 2)
    versions = (await client.get(f"{url}/versions", headers=headers)).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["contentHash"] == stored["contentHash"]


async def test_unconditional_writers_serialize_and_lose_nothing(
    committing_client: httpx.AsyncClient, committed_user: dict[str, str]
) -> None:
    """Without If-Match every save lands, one after the other: versions 2..N+1, each in the
    history exactly once."""
    client, headers = committing_client, committed_user
    project = (await client.post("/api/projects", json={"name": "race"}, headers=headers)).json()
    pid = project["project"]["id"]
    created = await client.post(
        f"/api/projects/{pid}/floorplans", json={"name": "r", "data": {}}, headers=headers
    )
    url = f"/api/floorplans/{created.json()['floorplan']['id']}"
    responses = await asyncio.gather(
        *(client.patch(url, json={"data": {f"k{i}": i}}, headers=headers) for i in range(10))
    )
    assert all(r.status_code == 200 for r in responses)
    assert sorted(r.json()["floorplan"]["version"] for r in responses) == list(range(2, 12))
    stored = (await client.get(url, headers=headers)).json()["floorplan"]
    # Merge patches under the row lock: every writer's key survives.
    assert stored["data"] == {f"k{i}": i for i in range(10)}
    versions = (await client.get(f"{url}/versions", headers=headers)).json()["versions"]
    assert [v["version"] for v in versions] == list(range(11, 0, -1))
