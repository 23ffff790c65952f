"""Clerk webhooks: Svix signatures verified, each delivery applied once, deletes cascade."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from svix.webhooks import Webhook

from tests.conftest import WEBHOOK_SECRET


def signed(
    payload: dict[str, Any], msg_id: str, secret: str = WEBHOOK_SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    now = datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


def user_event(
    kind: str, user_id: str, email: str = "ann@example.com", **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id}
    if kind != "user.deleted":
        data |= {
            "email_addresses": [{"id": "idn_1", "email_address": email}],
            "primary_email_address_id": "idn_1",
            "first_name": "Ann",
            "last_name": "Lacaton",
            "image_url": "https://img.example/ann.png",
        } | extra
    return {"type": kind, "object": "event", "data": data}


async def post(client: httpx.AsyncClient, payload: dict[str, Any], msg_id: str) -> httpx.Response:
    body, headers = signed(payload, msg_id)
    return await client.post("/api/webhooks/clerk", content=body, headers=headers)


async def test_created_updated_deleted_and_replay(client: httpx.AsyncClient, services) -> None:
    from spacekontext.auth.tokens import Identity

    created = await post(client, user_event("user.created", "user_ann"), "msg_1")
    assert created.status_code == 200, created.text
    assert created.json()["applied"] is True
    user = await services.users.resolve(Identity(subject="user_ann"))
    assert user.email == "ann@example.com"

    replay = await post(
        client, user_event("user.created", "user_ann", email="changed@example.com"), "msg_1"
    )
    assert replay.status_code == 200
    assert replay.json()["applied"] is False  # same svix-id: nothing changes
    assert (await services.users.resolve(Identity(subject="user_ann"))).email == "ann@example.com"

    updated = await post(
        client, user_event("user.updated", "user_ann", email="ann@lacaton.test"), "msg_2"
    )
    assert updated.json()["applied"] is True
    again = await services.users.resolve(Identity(subject="user_ann"))
    assert (again.id, again.email) == (user.id, "ann@lacaton.test")


async def test_user_deleted_removes_their_projects(
    client: httpx.AsyncClient, dev_tokens, services
) -> None:
    from spacekontext.auth.tokens import Identity
    from spacekontext.projects.schemas import ProjectCreate

    await post(client, user_event("user.created", "user_del"), "msg_10")
    user = await services.users.resolve(Identity(subject="user_del"))
    project = await services.projects.create(user.id, ProjectCreate(name="Doomed"))

    deleted = await post(client, user_event("user.deleted", "user_del"), "msg_11")
    assert deleted.json()["applied"] is True
    from spacekontext.errors import NotFound

    try:
        await services.projects.get(user.id, project.id)
        raise AssertionError("project survived its owner")
    except NotFound:
        pass
    replay = await post(client, user_event("user.deleted", "user_del"), "msg_11")
    assert replay.status_code == 200
    assert replay.json()["applied"] is False


async def test_bad_signature_is_400_and_changes_nothing(
    client: httpx.AsyncClient, services
) -> None:
    from spacekontext.auth.tokens import Identity

    body, headers = signed(
        user_event("user.created", "user_evil"), "msg_20", secret="whsec_" + "A" * 32
    )
    response = await client.post("/api/webhooks/clerk", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"

    body, headers = signed(user_event("user.created", "user_evil"), "msg_21")
    tampered = body.replace(b"ann@example.com", b"eve@example.com")
    response = await client.post("/api/webhooks/clerk", content=tampered, headers=headers)
    assert response.status_code == 400

    stale_headers = dict(headers, **{"svix-timestamp": str(int(time.time()) - 3600)})
    response = await client.post("/api/webhooks/clerk", content=body, headers=stale_headers)
    assert response.status_code == 400

    missing = await client.post("/api/webhooks/clerk", content=body)
    assert missing.status_code == 400

    # Nobody was created by any of those.
    user = await services.users.resolve(Identity(subject="user_evil", email="x@example.com"))
    assert user.email == "x@example.com"


async def test_unhandled_event_types_are_acknowledged(client: httpx.AsyncClient) -> None:
    response = await post(client, {"type": "session.created", "data": {"id": "sess_1"}}, "msg_30")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "received": True,
        "type": "session.created",
        "applied": False,
    }


async def test_webhook_needs_no_bearer_token(client: httpx.AsyncClient, auth: Callable) -> None:
    response = await post(
        client, user_event("user.created", "user_nt", email="nt@example.com"), "msg_40"
    )
    assert response.status_code == 200


async def test_signed_but_malformed_deliveries_are_400_and_record_nothing(
    client: httpx.AsyncClient, services
) -> None:
    """Correctly signed, so the signature is no defence: every field is checked before the
    delivery is recorded, so a refused one can be retried once fixed."""
    from sqlalchemy import func, select

    from spacekontext.users.models import User
    from spacekontext.webhooks.models import WebhookEvent

    async def counts() -> tuple[int, int]:
        async with services.db.read() as session:
            users = await session.scalar(select(func.count()).select_from(User))
            events = await session.scalar(select(func.count()).select_from(WebhookEvent))
        return users, events

    before = await counts()
    cases = {
        "nul in data.id": (user_event("user.created", "user_\x00nul"), "msg_nul"),
        "first_name a list": (user_event("user.created", "user_l", first_name=["A"]), "msg_l"),
        "first_name too long": (
            user_event("user.created", "user_t", first_name="A" * 256),
            "msg_t",
        ),
        "svix-id too long": (user_event("user.created", "user_s"), "m" * 129),
    }
    for reason, (payload, msg_id) in cases.items():
        response = await post(client, payload, msg_id)
        assert response.status_code == 400, (reason, response.text)
        body = response.json()
        assert body["success"] is False
        assert body["code"] in ("invalid_payload", "invalid_characters"), reason
    assert await counts() == before
