"""§1 auth and §2.1-2.4 projects, as the client calls them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.contract.conftest import PUBLISHABLE_KEY, Browser, Served


def test_signed_out_fetch_is_401_unauthorized(served: Served) -> None:
    with served.browser(None) as browser:
        response = browser.get("/api/projects")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.is_success is False


def test_the_suffixed_session_cookie(served: Served) -> None:
    from spacekontext.auth.session import cookie_suffix

    token = served.clerk.session_token("user_2contractAnn")
    cookie = f"__session_{cookie_suffix(PUBLISHABLE_KEY)}={token}"
    with served.browser(None) as browser:
        assert browser.get("/api/projects", headers={"Cookie": cookie}).status_code == 200


def test_a_write_from_another_origin_is_refused(ann: Browser) -> None:
    response = ann.post(
        "/api/projects", json={"name": "CSRF"}, headers={"Origin": "https://evil.test"}
    )
    assert response.status_code == 403
    assert "CSRF" not in [p["name"] for p in ann.get("/api/projects").json()["projects"]]


def test_create_and_list_projects(ann: Browser, bob: Browser) -> None:
    # 2.2: the dashboard posts the name only; reads project.id to navigate.
    created = ann.post("/api/projects", json={"name": "Lakeside House"})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True
    project = body["project"]
    for key, kind in (
        ("id", str),
        ("name", str),
        ("userId", str),
        ("createdAt", str),
        ("updatedAt", str),
        ("settings", dict),
    ):
        assert isinstance(project[key], kind), key
    assert "description" in project and project["description"] is None
    assert project["createdAt"].endswith("Z")

    # 2.1: projects[].id, name, createdAt; the full row (userId, settings).
    listed = ann.get("/api/projects")
    assert listed.status_code == 200
    projects = listed.json()["projects"]
    assert listed.json()["success"] is True
    first: dict[str, Any] = projects[0]
    assert first["id"] == project["id"] and first["name"] == "Lakeside House"
    assert first["userId"] == project["userId"] and first["settings"] == {}
    assert isinstance(first["createdAt"], str)
    assert project["id"] not in [p["id"] for p in bob.get("/api/projects").json()["projects"]]

    for bad in ({"name": ""}, {"name": "x" * 256}, {}):
        refused = ann.post("/api/projects", json=bad)
        assert not refused.is_success and refused.json()["error"] == "Invalid project name"


def test_read_and_delete_a_project(ann: Browser, bob: Browser, project: dict[str, Any]) -> None:
    # 2.3: ProjectHub reads success and project.name.
    read = ann.get(f"/api/projects/{project['id']}")
    assert read.status_code == 200
    assert read.json()["success"] is True and read.json()["project"]["name"] == "Lakeside House"
    # Another user's project is missing, for reading and deleting.
    assert bob.get(f"/api/projects/{project['id']}").status_code == 404
    assert bob.delete(f"/api/projects/{project['id']}").status_code == 404
    # 2.4: ProjectService.delete checks ok.
    deleted = ann.delete(f"/api/projects/{project['id']}")
    assert deleted.is_success and deleted.json()["success"] is True
    missing = ann.get(f"/api/projects/{project['id']}")
    assert missing.status_code == 404 and isinstance(missing.json()["error"], str)
    assert ann.delete(f"/api/projects/{project['id']}").status_code == 404


def test_clerk_webhook(served: Served) -> None:
    """2.26: svix-signed deliveries; `{received: true}` for every verified event."""
    from datetime import UTC, datetime

    from svix.webhooks import Webhook

    from tests.contract.conftest import WEBHOOK_SECRET

    event = {
        "type": "user.created",
        "data": {
            "id": "user_2contractHook",
            "primary_email_address_id": "idn_2",
            "email_addresses": [
                {"id": "idn_1", "email_address": "old@contract.test"},
                {"id": "idn_2", "email_address": "hook@contract.test"},
            ],
            "first_name": "Hook",
            "last_name": None,
            "image_url": None,
        },
    }
    payload = json.dumps(event)
    now = datetime.now(UTC)
    signature = Webhook(WEBHOOK_SECRET).sign("msg_contract_1", now, payload)
    headers = {
        "svix-id": "msg_contract_1",
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
        "content-type": "application/json",
    }
    with httpx.Client(base_url=served.base) as http:
        delivered = http.post("/api/webhooks/clerk", content=payload, headers=headers)
        assert delivered.status_code == 200 and delivered.json()["received"] is True
        again = http.post("/api/webhooks/clerk", content=payload, headers=headers)
        assert again.status_code == 200 and again.json()["received"] is True  # idempotent
        forged = http.post(
            "/api/webhooks/clerk",
            content=payload,
            headers=headers | {"svix-signature": "v1,AAAA"},
        )
        assert forged.status_code == 400 and forged.json()["error"] == "Invalid signature"
