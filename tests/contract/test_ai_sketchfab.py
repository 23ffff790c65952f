"""§2.20-2.25: AI renders and Sketchfab, the upstreams stood in by a local HTTP server."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from werkzeug import Request as WerkzeugRequest
from werkzeug import Response as WerkzeugResponse

from tests.contract.conftest import Browser, Served
from tests.storage.conftest import SAMPLES

RENDER = {
    "prompt": "Dusk render, warm interior light",
    "image_urls": ["https://pub-x.r2.dev/users/u/scratch/exports/plan.png"],
    "image_size": "16:9",
    "output_format": "png",
}


def test_render_job_as_the_render_store_runs_it(served: Served, ann: Browser, bob: Browser) -> None:
    states = iter(["waiting", "generating", "success"])

    def record_info(request: WerkzeugRequest) -> WerkzeugResponse:
        state = next(states)
        data = {"taskId": request.args["taskId"], "state": state, "costTime": 9}
        if state == "success":
            data |= {
                "resultJson": json.dumps({"resultUrls": ["https://cdn.test/render.png"]}),
                "completeTime": 1767000000000,
            }
        return WerkzeugResponse(
            json.dumps({"code": 200, "msg": "success", "data": data}),
            content_type="application/json",
        )

    served.upstream.expect_request(
        "/kie/api/v1/jobs/createTask", headers={"Authorization": "Bearer kie_contract"}
    ).respond_with_json({"code": 200, "msg": "success", "data": {"taskId": "task_contract_1"}})
    served.upstream.expect_request("/kie/api/v1/jobs/recordInfo").respond_with_handler(record_info)

    created = ann.post("/api/ai/generate-image", json=RENDER)
    assert created.status_code == 200, created.text
    assert created.json()["taskId"] == "task_contract_1"
    empty = ann.post("/api/ai/generate-image", json={**RENDER, "prompt": ""})
    assert empty.status_code == 400 and empty.json()["error"] == "Prompt is required"

    # pollJob: waiting → poll again; success → resultUrls, completeTime, costTime.
    assert bob.get("/api/ai/task-status?taskId=task_contract_1").status_code == 404
    seen = []
    while True:
        polled = ann.get("/api/ai/task-status?taskId=task_contract_1")
        assert polled.status_code == 200
        seen.append(polled.json()["status"])
        if polled.json()["status"] != "waiting":
            break
        assert len(seen) < 5
    assert seen == ["waiting", "waiting", "success"]
    final = polled.json()
    assert final["resultUrls"] == ["https://cdn.test/render.png"]
    assert final["costTime"] == 9 and final["completeTime"] == 1767000000000
    missing = ann.get("/api/ai/task-status")
    assert missing.status_code == 400
    assert missing.json()["error"] == "taskId query parameter is required"


def test_sketchfab_search_as_the_store_sends_it(served: Served, ann: Browser) -> None:
    served.upstream.expect_request("/sketchfab-api/v3/search").respond_with_json(
        {
            "results": [
                {
                    "uid": "chair01",
                    "name": "Chair",
                    "thumbnails": {"images": [{"url": "https://media.test/chair.jpg"}]},
                    "user": {"displayName": "Ada"},
                    "license": {"label": "CC Attribution"},
                    "isDownloadable": True,
                    "description": "A chair",
                    "faceCount": 1200,
                    "vertexCount": 800,
                    "animationCount": 0,
                    "publishedAt": "2026-01-01T00:00:00",
                }
            ],
            "totalCount": 1,
        }
    )
    query = "q=chair&page=1&licenses=cc-by%2Ccc-by-sa&downloadable=true&sort=relevance"
    response = ann.get(f"/api/sketchfab/search?{query}")
    assert response.status_code == 200, response.text
    body = response.json()
    for key, kind in (
        ("success", bool),
        ("results", list),
        ("total", int),
        ("page", int),
        ("perPage", int),
    ):
        assert isinstance(body[key], kind), key
    (result,) = body["results"]
    for key in (
        "uid",
        "name",
        "thumbnail",
        "author",
        "license",
        "licenseLabel",
        "is_downloadable",
        "viewer_url",
        "description",
        "faceCount",
        "vertexCount",
        "animationCount",
        "publishedAt",
    ):
        assert key in result, key
    assert ann.get(f"/api/sketchfab/search?{query}").json()["cached"] is True


def test_sketchfab_connect_then_add_to_scene(served: Served, ann: Browser) -> None:
    upstream = served.upstream
    base = upstream.url_for("/sketchfab-api").rstrip("/")
    upstream.expect_request("/sketchfab/oauth2/token/", method="POST").respond_with_json(
        {"access_token": "at_contract", "refresh_token": "rt_contract", "expires_in": 2592000}
    )
    upstream.expect_request(
        "/sketchfab-api/v3/models/chair01/download",
        headers={"Authorization": "Bearer at_contract"},
    ).respond_with_json({"glb": {"url": f"{base}/storage/chair01.glb"}})
    upstream.expect_request("/sketchfab-api/storage/chair01.glb").respond_with_data(SAMPLES["glb"])
    upstream.expect_request("/sketchfab-api/v3/models/chair01").respond_with_json(
        {"name": "Chair", "user": {"displayName": "Ada"}, "license": {"label": "CC Attribution"}}
    )

    # handleAddToScene before connecting: requiresAuth → navigate to oauth/start.
    for query in ("uid=chair01&projectId=", "uid=chair01"):
        first = ann.get(f"/api/sketchfab/download?{query}")
        assert first.status_code == 403 and first.json()["requiresAuth"] is True

    start = ann.get("/api/sketchfab/oauth/start")
    assert start.status_code == 307
    location = urlsplit(start.headers["location"])
    assert location.path.endswith("/oauth2/authorize/")
    state = parse_qs(location.query)["state"][0]
    jar = "; ".join(c.split(";", 1)[0] for c in start.headers.get_list("set-cookie"))
    session = ann.headers("GET")["Cookie"]
    back = ann.http.get(
        f"/api/sketchfab/oauth/callback?code=code_contract&state={state}",
        headers={"Cookie": f"{session}; {jar}"},
    )
    assert back.status_code == 307
    assert back.headers["location"] == "/projects?sketchfab_connected=true"

    added = ann.get("/api/sketchfab/download?uid=chair01")
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["success"] is True and body["url"].startswith("/api/files/")
    assert body["attribution"]["author"] == "Ada" and isinstance(body["license"], str)
    # PlacedSketchfabModel's GLTFLoader fetches the url (same origin, cookie).
    model = ann.get(body["url"])
    assert model.status_code == 200 and model.content == SAMPLES["glb"]
