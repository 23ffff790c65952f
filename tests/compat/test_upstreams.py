"""The AI render and Sketchfab routes against a local HTTP server standing in for each
upstream: task owners, waiting states, the cache, encrypted tokens, one user id throughout, a
503 naming a missing setting and 502/503/504 for upstream failures."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request as WerkzeugRequest
from werkzeug import Response as WerkzeugResponse

from spacekontext.compat.models import SketchfabToken
from tests.compat.conftest import ANN, BOB, AppFactory, Auth
from tests.storage.conftest import SAMPLES

RENDER = {
    "prompt": "Dusk render",
    "image_urls": ["https://pub-x.r2.dev/users/u/scratch/exports/plan.png"],
    "image_size": "16:9",
    "output_format": "png",
}
SAME_ORIGIN = {"Origin": "http://testserver"}


async def test_render_routes_without_a_key_name_the_setting(
    make_app: AppFactory, auth: Auth
) -> None:
    client = await make_app(kie_ai_api_key=None)
    ann = auth(ANN)
    created = await client.post("/api/ai/generate-image", json=RENDER, headers=ann)
    assert created.status_code == 503
    assert created.json()["error"] == "KIE_AI_API_KEY not configured"
    assert created.json()["details"]["setting"] == "KIE_AI_API_KEY"
    polled = await client.get("/api/ai/task-status?taskId=t1", headers=ann)
    assert polled.status_code == 503


async def test_render_task_lifecycle(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer
) -> None:
    states = iter(["waiting", "queuing", "generating", "success"])

    def record_info(request: WerkzeugRequest) -> WerkzeugResponse:
        assert request.headers["Authorization"] == "Bearer kie-test-key"
        assert request.args["taskId"] == "task/1 &x"  # encoded on the way, decoded here
        state = next(states)
        data = {"taskId": "task/1 &x", "state": state, "costTime": 12, "completeTime": 1}
        if state == "success":
            data["resultJson"] = json.dumps({"resultUrls": ["https://cdn.test/out.png"]})
        return WerkzeugResponse(
            json.dumps({"code": 200, "data": data}), content_type="application/json"
        )

    httpserver.expect_request(
        "/api/v1/jobs/createTask", method="POST", headers={"Authorization": "Bearer kie-test-key"}
    ).respond_with_json({"code": 200, "msg": "success", "data": {"taskId": "task/1 &x"}})
    httpserver.expect_request("/api/v1/jobs/recordInfo").respond_with_handler(record_info)
    client = await make_app(kie_ai_api_key="kie-test-key", kie_ai_base_url=httpserver.url_for("/"))
    ann, bob = auth(ANN) | SAME_ORIGIN, auth(BOB)

    for body, message in (
        ({**RENDER, "prompt": "  "}, "Prompt is required"),
        ({**RENDER, "prompt": "x" * 5001}, "Prompt must be 5000 characters or less"),
        ({**RENDER, "image_urls": []}, "At least one image URL is required for image editing"),
        ({**RENDER, "image_urls": RENDER["image_urls"] * 11}, "Maximum 10 images allowed"),
    ):
        refused = await client.post("/api/ai/generate-image", json=body, headers=ann)
        assert refused.status_code == 400 and refused.json()["error"] == message
    assert len(httpserver.log) == 0

    created = await client.post("/api/ai/generate-image", json=RENDER, headers=ann)
    assert created.status_code == 200, created.text
    assert created.json()["taskId"] == "task/1 &x" and created.json()["success"] is True
    sent = json.loads(httpserver.log[0][0].get_data())
    assert sent == {"model": "google/nano-banana-edit", "input": RENDER}

    url = "/api/ai/task-status"
    params = {"taskId": "task/1 &x"}
    # Another user's task is missing, and the upstream is not asked.
    assert (await client.get(url, params=params, headers=bob)).status_code == 404
    assert (await client.get(url, params={"taskId": "nope"}, headers=ann)).status_code == 404
    assert len(httpserver.log) == 1
    seen = [(await client.get(url, params=params, headers=ann)).json() for _ in range(4)]
    assert [s["status"] for s in seen] == ["waiting", "waiting", "waiting", "success"]
    assert seen[1]["upstreamState"] == "queuing"
    assert seen[3]["resultUrls"] == ["https://cdn.test/out.png"]
    assert seen[3]["costTime"] == 12
    missing = await client.get(url, headers=ann)
    assert missing.status_code == 400
    assert missing.json()["error"] == "taskId query parameter is required"


async def test_render_upstream_failures_are_never_500(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer
) -> None:
    client = await make_app(
        kie_ai_api_key="k", kie_ai_base_url=httpserver.url_for("/"), upstream_timeout_s=0.5
    )
    ann = auth(ANN) | SAME_ORIGIN
    path = "/api/v1/jobs/createTask"

    httpserver.expect_oneshot_request(path).respond_with_json(
        {"code": 402, "msg": "no credit", "data": None}
    )
    refused = await client.post("/api/ai/generate-image", json=RENDER, headers=ann)
    assert refused.status_code == 502
    assert refused.json()["details"]["upstreamCode"] == 402

    httpserver.expect_oneshot_request(path).respond_with_data("boom", status=500)
    failed = await client.post("/api/ai/generate-image", json=RENDER, headers=ann)
    assert failed.status_code == 502 and failed.json()["details"]["upstreamStatus"] == 500

    httpserver.expect_oneshot_request(path).respond_with_data("slow down", status=429)
    busy = await client.post("/api/ai/generate-image", json=RENDER, headers=ann)
    assert busy.status_code == 503 and busy.json()["details"]["upstreamStatus"] == 429

    def slow(request: WerkzeugRequest) -> WerkzeugResponse:
        time.sleep(1.5)
        return WerkzeugResponse("{}")

    httpserver.expect_oneshot_request(path).respond_with_handler(slow)
    late = await client.post("/api/ai/generate-image", json=RENDER, headers=ann)
    assert late.status_code == 504

    unreachable = await make_app(kie_ai_api_key="k", kie_ai_base_url="http://127.0.0.1:1")
    down = await unreachable.post("/api/ai/generate-image", json=RENDER, headers=ann)
    assert down.status_code == 503 and down.json()["code"] == "upstream_unreachable"


def _search_result(uid: str, label: str) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": f"Model {uid}",
        "thumbnails": {"images": [{"url": f"https://media.test/{uid}.jpg"}]},
        "user": {"displayName": "Ada", "username": "ada"},
        "license": {"label": label},
        "isDownloadable": True,
        "description": "chair",
        "faceCount": 100,
        "vertexCount": 60,
        "animationCount": 0,
        "publishedAt": "2026-01-01T00:00:00",
    }


async def test_sketchfab_search_is_cached(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v3/search").respond_with_json(
        {
            "results": [
                _search_result("abc1", "CC Attribution"),
                _search_result("abc2", "CC Attribution-ShareAlike"),
                _search_result("abc3", "CC Attribution-NonCommercial"),
            ],
            "totalCount": 3,
        }
    )
    client = await make_app(sketchfab_api_url=httpserver.url_for("/"))
    ann = auth(ANN)
    query = "q=chair&page=1&licenses=cc-by,cc-by-sa&downloadable=true&sort=relevance"
    first = await client.get(f"/api/sketchfab/search?{query}", headers=ann)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["success"], body["cached"], body["page"], body["perPage"]) == (True, False, 1, 24)
    assert [r["uid"] for r in body["results"]] == ["abc1", "abc2"]
    assert body["results"][1]["license"] == "cc-by-sa"
    for key in ("thumbnail", "author", "licenseLabel", "is_downloadable", "viewer_url"):
        assert key in body["results"][0]
    searches = [r for r, _ in httpserver.log if r.path == "/v3/search"]
    upstream = parse_qs(urlsplit(searches[0].url).query)
    assert upstream["q"] == ["chair"] and upstream["downloadable"] == ["true"]
    again = await client.get(f"/api/sketchfab/search?{query}", headers=ann)
    assert again.json()["cached"] is True and again.json()["results"] == body["results"]
    assert len([r for r, _ in httpserver.log if r.path == "/v3/search"]) == 1
    # The page defaults to 1 (the original answered 400 without it).
    assert (await client.get("/api/sketchfab/search?q=x", headers=ann)).status_code == 200
    bad = await client.get("/api/sketchfab/search?page=0", headers=ann)
    assert bad.status_code == 400 and bad.json()["error"] == "Invalid search parameters"


async def test_sketchfab_connect_and_download(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer
) -> None:
    base = httpserver.url_for("/").rstrip("/")
    httpserver.expect_request("/oauth2/token/", method="POST").respond_with_json(
        {
            "access_token": "skf-access-PLAIN",
            "refresh_token": "skf-refresh-PLAIN",
            "expires_in": 86400,
        }
    )
    httpserver.expect_request(
        "/v3/models/abc1/download", headers={"Authorization": "Bearer skf-access-PLAIN"}
    ).respond_with_json({"glb": {"url": f"{base}/files/abc1.glb"}})
    httpserver.expect_request("/files/abc1.glb").respond_with_data(SAMPLES["glb"])
    httpserver.expect_request("/v3/models/abc1").respond_with_json(
        {
            "name": "Chair",
            "viewerUrl": "https://sketchfab.com/3d-models/chair-abc1",
            "user": {"displayName": "Ada"},
            "license": {"label": "CC Attribution"},
        }
    )
    httpserver.expect_request("/v3/models/secret1/download").respond_with_data("", status=403)
    client = await make_app(
        sketchfab_api_url=base,
        sketchfab_oauth_url=base,
        sketchfab_client_id="client-1",
        sketchfab_client_secret="secret-1",
        sketchfab_redirect_uri="http://testserver/api/sketchfab/oauth/callback",
    )
    ann = auth(ANN)

    # Not connected yet: the client's cue to start the OAuth flow.
    before = await client.get("/api/sketchfab/download?uid=abc1", headers=ann)
    assert before.status_code == 403
    assert before.json()["requiresAuth"] is True
    assert before.json()["error"] == "Sketchfab not connected"

    start = await client.get("/api/sketchfab/oauth/start", headers=ann)
    assert start.status_code == 307
    target = urlsplit(start.headers["location"])
    assert target.path == "/oauth2/authorize/"
    state = parse_qs(target.query)["state"][0]
    assert parse_qs(target.query)["client_id"] == ["client-1"]
    cookies = {
        c.split("=", 1)[0]: c.split("=", 1)[1].split(";")[0]
        for c in start.headers.get_list("set-cookie")
    }
    assert set(cookies) == {"skf_oauth_state", "skf_oauth_user_id"}
    assert all("httponly" in c.lower() for c in start.headers.get_list("set-cookie"))
    jar = "; ".join(f"{k}={v}" for k, v in cookies.items())

    forged = await client.get(
        "/api/sketchfab/oauth/callback?code=c1&state=forged", headers=ann | {"Cookie": jar}
    )
    assert forged.status_code == 307
    assert forged.headers["location"] == "/projects?error=invalid_state_token"
    stolen = await client.get(
        f"/api/sketchfab/oauth/callback?code=c1&state={state}", headers=auth(BOB) | {"Cookie": jar}
    )
    assert stolen.headers["location"] == "/projects?error=user_mismatch"
    done = await client.get(
        f"/api/sketchfab/oauth/callback?code=c1&state={state}", headers=ann | {"Cookie": jar}
    )
    assert done.headers["location"] == "/projects?sketchfab_connected=true"
    exchange = parse_qs(httpserver.log[-1][0].get_data(as_text=True))
    assert exchange["grant_type"] == ["authorization_code"] and exchange["code"] == ["c1"]

    # Stored encrypted, under our user id.
    assert make_app.services is not None
    async with make_app.services.db.read() as session:
        rows = (await session.scalars(select(SketchfabToken))).all()
    assert len(rows) == 1
    assert "PLAIN" not in rows[0].access_token_encrypted
    assert "PLAIN" not in (rows[0].refresh_token_encrypted or "")

    downloaded = await client.get("/api/sketchfab/download?uid=abc1", headers=ann)
    assert downloaded.status_code == 200, downloaded.text
    body = downloaded.json()
    assert body["success"] is True and body["cached"] is False
    assert body["url"].startswith("/api/files/")
    assert body["attribution"]["author"] == "Ada" and body["license"] == "cc-by"
    model = await client.get(body["url"], headers=ann)
    assert model.content == SAMPLES["glb"]
    assert model.headers["content-type"] == "model/gltf-binary"
    assert (await client.get(body["url"], headers=auth(BOB))).status_code == 404
    again = await client.get("/api/sketchfab/download?uid=abc1", headers=ann)
    assert again.json()["cached"] is True and again.json()["url"] == body["url"]

    denied = await client.get("/api/sketchfab/download?uid=secret1", headers=ann)
    assert denied.status_code == 403 and denied.json()["error"] == "Download permission denied"
    bad = await client.get("/api/sketchfab/download?uid=../../x", headers=ann)
    assert bad.status_code == 400 and bad.json()["error"] == "Invalid parameters"
    other_project = await client.get(
        "/api/sketchfab/download?uid=abc9&projectId=not-mine", headers=ann
    )
    assert other_project.status_code == 404
    assert not [r for r, _ in httpserver.log if r.path == "/v3/models/abc9/download"]


@pytest.mark.parametrize("missing", ["SKETCHFAB_CLIENT_ID", "SKETCHFAB_REDIRECT_URI"])
async def test_sketchfab_oauth_without_settings(
    make_app: AppFactory, auth: Auth, missing: str
) -> None:
    settings = {
        "sketchfab_client_id": "c",
        "sketchfab_client_secret": "s",
        "sketchfab_redirect_uri": "http://testserver/cb",
    }
    settings[missing.lower()] = None
    client = await make_app(**settings)
    start = await client.get("/api/sketchfab/oauth/start", headers=auth(ANN))
    assert start.status_code == 503
    assert start.json()["error"] == f"{missing} not configured"


async def test_sketchfab_tokens_are_refreshed_before_they_expire(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer
) -> None:
    from datetime import UTC, datetime, timedelta

    from spacekontext.auth.tokens import Identity

    base = httpserver.url_for("/").rstrip("/")
    httpserver.expect_request("/oauth2/token/", method="POST").respond_with_json(
        {"access_token": "fresh-access", "refresh_token": "fresh-refresh", "expires_in": 3600 * 5}
    )
    httpserver.expect_request(
        "/v3/models/abc2/download", headers={"Authorization": "Bearer fresh-access"}
    ).respond_with_json({"glb": {"url": f"{base}/files/abc2.glb"}})
    httpserver.expect_request("/files/abc2.glb").respond_with_data(SAMPLES["glb"])
    httpserver.expect_request("/v3/models/abc2").respond_with_data("", status=500)
    client = await make_app(
        sketchfab_api_url=base,
        sketchfab_oauth_url=base,
        sketchfab_client_id="c",
        sketchfab_client_secret="s",
        sketchfab_redirect_uri="http://testserver/cb",
    )
    assert make_app.services is not None
    user = await make_app.services.users.resolve(Identity(subject=f"dev|{ANN}", email=ANN))
    cipher = make_app.app.state.compat.cipher
    async with make_app.services.db.unit_of_work() as uow:
        uow.session.add(
            SketchfabToken(
                user_id=user.id,
                access_token_encrypted=cipher.encrypt("stale-access"),
                refresh_token_encrypted=cipher.encrypt("old-refresh"),
                expires_at=datetime.now(UTC) + timedelta(minutes=10),
            )
        )
        await uow.commit()
    response = await client.get("/api/sketchfab/download?uid=abc2", headers=auth(ANN))
    assert response.status_code == 200, response.text
    # The model page failed: the attribution falls back to what is known.
    assert response.json()["attribution"]["title"] == "abc2"
    refresh = [r for r, _ in httpserver.log if r.path == "/oauth2/token/"]
    assert parse_qs(refresh[0].get_data(as_text=True))["refresh_token"] == ["old-refresh"]
    async with make_app.services.db.read() as session:
        row = await session.scalar(select(SketchfabToken).where(SketchfabToken.user_id == user.id))
    assert row is not None and cipher.decrypt(row.access_token_encrypted) == "fresh-access"
    assert row.expires_at > datetime.now(UTC) + timedelta(hours=4)


async def test_sketchfab_search_failures(
    make_app: AppFactory, auth: Auth, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/v3/search").respond_with_data("down", status=500)
    client = await make_app(sketchfab_api_url=httpserver.url_for("/"))
    failed = await client.get("/api/sketchfab/search?q=a&page=1", headers=auth(ANN))
    assert failed.status_code == 502
    assert failed.json()["error"] == "Sketchfab search failed"
    assert failed.json()["details"]["upstreamStatus"] == 500
