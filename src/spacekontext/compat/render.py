"""The AI render routes: POST /api/ai/generate-image creates a task at the rendering service
(KIE.AI's jobs API, KIE_AI_BASE_URL + KIE_AI_API_KEY) and records who created it;
GET /api/ai/task-status?taskId= polls it, for its owner only (anyone else: 404).

The client polls while `status` is `waiting` and stops on anything else, so every state that is
not final (`waiting`, `queuing`, `generating`…) is answered as `waiting`; `success` and `fail`
pass through. The upstream answers HTTP 200 with its own `code` on errors: a `code` other than
200 is an upstream failure (502), as is any non-2xx status."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from spacekontext.auth.deps import CurrentUser
from spacekontext.compat.models import RenderTask
from spacekontext.compat.state import Compat, CompatDep
from spacekontext.compat.upstream import not_configured
from spacekontext.errors import Invalid, NotFound, UpstreamFailed
from spacekontext.http.responses import JSONBytes

router = APIRouter(tags=["ai"])

FINAL_STATES = ("success", "fail")
MAX_TASK_ID = 128


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: str = ""
    image_urls: list[str] = Field(default_factory=list)
    image_size: str = Field(default="1:1", max_length=16)
    output_format: Literal["png", "jpeg"] = "png"

    @field_validator("image_urls")
    @classmethod
    def _web_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
                raise ValueError("image_urls must be http(s) URLs")
        return urls


def _check_prompt(body: GenerateIn) -> None:
    """The client's own 400 messages, in its order."""
    if not body.prompt.strip():
        raise Invalid("Prompt is required", code="prompt_required")
    if len(body.prompt) > 5000:
        raise Invalid("Prompt must be 5000 characters or less", code="prompt_too_long")
    if not body.image_urls:
        raise Invalid("At least one image URL is required for image editing", code="image_required")
    if len(body.image_urls) > 10:
        raise Invalid("Maximum 10 images allowed", code="too_many_images")


def _api_key(compat: Compat) -> str:
    key = compat.settings.kie_ai_api_key
    if not key:
        raise not_configured("KIE_AI_API_KEY", "AI rendering")
    return key


def _data(compat: Compat, payload: Any, message: str) -> dict[str, Any]:
    """The `data` of a KIE answer whose own `code` says success."""
    if not isinstance(payload, dict) or payload.get("code") != 200:
        code = payload.get("code") if isinstance(payload, dict) else None
        msg = payload.get("msg") if isinstance(payload, dict) else None
        raise UpstreamFailed(
            message,
            details={"upstream": compat.kie.name, "upstreamCode": code, "upstreamMessage": msg},
        )
    data = payload.get("data")
    if not isinstance(data, dict):
        raise UpstreamFailed(message, details={"upstream": compat.kie.name, "data": None})
    return data


@router.post("/api/ai/generate-image", summary="Start an AI render of uploaded images")
async def generate_image(request: Request, user: CurrentUser, compat: CompatDep) -> JSONBytes:
    key = _api_key(compat)
    try:
        body = GenerateIn.model_validate(orjson.loads(await request.body()))
    except orjson.JSONDecodeError as exc:
        raise Invalid("request body is not valid JSON", code="malformed_json") from exc
    except ValidationError as exc:
        raise Invalid(
            "Invalid render request", code="invalid_payload", details=exc.errors()
        ) from exc
    _check_prompt(body)
    response = await compat.kie.request(
        "POST",
        "/api/v1/jobs/createTask",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": compat.settings.kie_ai_model, "input": body.model_dump()},
    )
    if not response.is_success:
        raise compat.kie.failure(response, "Failed to create generation task")
    data = _data(compat, _json(response), "Failed to create generation task")
    task_id = data.get("taskId")
    if not isinstance(task_id, str) or not task_id or len(task_id) > MAX_TASK_ID:
        raise UpstreamFailed(
            "Failed to create generation task", details={"upstream": compat.kie.name}
        )
    async with compat.services.db.unit_of_work() as uow:
        await uow.session.execute(
            insert(RenderTask).values(task_id=task_id, user_id=user.id).on_conflict_do_nothing()
        )
        await uow.commit()
    return JSONBytes(
        {"success": True, "taskId": task_id, "message": "Image generation task created"}
    )


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _result_urls(data: dict[str, Any]) -> list[str]:
    raw = data.get("resultJson")
    try:
        parsed = orjson.loads(raw) if isinstance(raw, str) and raw else raw
    except orjson.JSONDecodeError:
        return []
    urls = parsed.get("resultUrls") if isinstance(parsed, dict) else None
    return [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []


@router.get("/api/ai/task-status", summary="The state of an AI render task (its owner only)")
async def task_status(
    user: CurrentUser,
    compat: CompatDep,
    task_id: str | None = Query(default=None, alias="taskId", max_length=MAX_TASK_ID),
) -> JSONBytes:
    if not task_id:
        raise Invalid("taskId query parameter is required", code="task_id_required")
    key = _api_key(compat)
    async with compat.services.db.read(user_id=user.id) as session:
        owner = await session.scalar(
            select(RenderTask.user_id).where(RenderTask.task_id == task_id)
        )
    if owner != user.id:
        raise NotFound("Task not found")
    response = await compat.kie.request(
        "GET",
        "/api/v1/jobs/recordInfo",
        params={"taskId": task_id},  # encoded by the client library
        headers={"Authorization": f"Bearer {key}"},
    )
    if not response.is_success:
        raise compat.kie.failure(response, "Failed to query task status")
    data = _data(compat, _json(response), "Failed to query task status")
    state = data.get("state")
    status = state if state in FINAL_STATES else "waiting"
    return JSONBytes(
        {
            "success": True,
            "taskId": task_id,
            "status": status,
            "upstreamState": state,
            "resultUrls": _result_urls(data),
            "failCode": data.get("failCode"),
            "failMsg": data.get("failMsg"),
            "costTime": data.get("costTime"),
            "completeTime": data.get("completeTime"),
            "createTime": data.get("createTime"),
        }
    )
