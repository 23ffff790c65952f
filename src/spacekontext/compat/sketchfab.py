"""The Sketchfab routes: search (cached in the cache layer), OAuth connect (start and
callback; tokens encrypted at rest) and model download into the user's files.

One user id throughout: the tokens are stored and looked up under our user id (the original
stored them under one id and looked them up under another, so downloads never worked).
Upstream base URLs are settings (SKETCHFAB_API_URL, SKETCHFAB_OAUTH_URL) so that tests and
staging can stand a local server in for Sketchfab."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from starlette.responses import RedirectResponse, Response

from spacekontext.auth.deps import CurrentUser, authenticate
from spacekontext.cache.aside import cache_key, shared_generation
from spacekontext.compat.models import SketchfabToken
from spacekontext.compat.state import Compat, CompatDep
from spacekontext.compat.upstream import not_configured
from spacekontext.errors import (
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
    UpstreamFailed,
)
from spacekontext.files.schemas import file_url
from spacekontext.http.openapi import also
from spacekontext.http.responses import JSONBytes
from spacekontext.projects.service import owned_project_or_404

router = APIRouter(tags=["sketchfab"])

PER_PAGE = 24
SEARCH_GENERATION = shared_generation("sketchfab-search")
STATE_COOKIE = "skf_oauth_state"
USER_COOKIE = "skf_oauth_user_id"
OAUTH_COOKIE_S = 600
DEFAULT_TOKEN_S = 30 * 24 * 3600
REFRESH_WITHIN = timedelta(hours=1)
MODEL_UID = r"^[A-Za-z0-9]{1,64}$"
NOT_CONNECTED_MESSAGE = "Please connect your Sketchfab account to download models"
Q = TypeVar("Q", bound=BaseModel)
SORTS = {"relevance": None, "popularity": "-likeCount", "publishedAt": "-publishedAt"}


# --- search -----------------------------------------------------------------------------------


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    q: str = Field(default="", max_length=200)
    page: int = Field(default=1, ge=1, le=1000)
    licenses: str = Field(default="cc-by,cc-by-sa", max_length=200)
    downloadable: bool = True
    sort: Literal["relevance", "popularity", "publishedAt"] = "relevance"
    category: str | None = Field(default=None, max_length=100)


def license_of(label: str) -> str:
    """The client's license classes from Sketchfab's label."""
    if "CC Attribution" not in label or "NonCommercial" in label or "NoDerivs" in label:
        return "unknown"
    return "cc-by-sa" if "ShareAlike" in label else "cc-by"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _result(model: dict[str, Any]) -> dict[str, Any]:
    license_info = _object(model.get("license"))
    label = str(license_info.get("label") or model.get("licenseType") or "unknown")
    images = _object(model.get("thumbnails")).get("images")
    images = images if isinstance(images, list) else []
    user = _object(model.get("user"))
    uid = str(model.get("uid") or "")
    return {
        "uid": uid,
        "name": model.get("name") or "",
        "thumbnail": next(
            (i["url"] for i in images if isinstance(i, dict) and isinstance(i.get("url"), str)),
            "",
        ),
        "author": user.get("displayName") or user.get("username") or "Unknown",
        "license": license_of(label),
        "licenseLabel": label,
        "is_downloadable": bool(model.get("isDownloadable") or model.get("is_downloadable")),
        "viewer_url": f"https://sketchfab.com/models/{quote(uid, safe='')}",
        "description": model.get("description") or "",
        "faceCount": model.get("faceCount"),
        "vertexCount": model.get("vertexCount"),
        "animationCount": model.get("animationCount"),
        "publishedAt": model.get("publishedAt"),
    }


def _parameters(model: type[Q], raw: dict[str, str], message: str, code: str) -> Q:
    """The query parameters as `model`, or a 400 with pydantic's errors as the details."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise Invalid(
            message, code=code, details=orjson.loads(exc.json(include_url=False))
        ) from exc


@router.get("/api/sketchfab/search", summary="Search Sketchfab's downloadable models")
async def search(request: Request, user: CurrentUser, compat: CompatDep) -> JSONBytes:
    raw = dict(request.query_params)
    if "downloadable" in raw:
        # The original coerces any present value to true (`downloadable=false` included).
        raw["downloadable"] = "true"
    query = _parameters(SearchQuery, raw, "Invalid search parameters", "invalid_search")
    loaded = False

    async def load() -> bytes:
        nonlocal loaded
        loaded = True
        return orjson.dumps(await _search_upstream(compat, query))

    body = await compat.services.cache.cached_bytes(
        cache_key("sketchfab:search", query.model_dump_json()),
        load,
        generation=SEARCH_GENERATION,
        ttl_s=compat.settings.sketchfab_search_ttl_s,
    )
    return JSONBytes({"success": True, **orjson.loads(body), "cached": not loaded})


async def _search_upstream(compat: Compat, query: SearchQuery) -> dict[str, Any]:
    params: dict[str, str] = {"type": "models", "page": str(query.page), "per_page": str(PER_PAGE)}
    if query.q.strip():
        params["q"] = query.q.strip()
    if query.downloadable:
        params["downloadable"] = "true"
    sort = SORTS[query.sort]
    if sort:
        params["sort_by"] = sort
    if query.category:
        params["categories"] = query.category
    upstream = compat.sketchfab_api
    response = await upstream.request("GET", "/v3/search", params=params)
    data = upstream.success_json(response, "Sketchfab search failed")
    models = data.get("results") if isinstance(data, dict) else None
    allowed = {part.strip() for part in query.licenses.split(",") if part.strip()}
    results = [
        r
        for r in (_result(m) for m in (models if isinstance(models, list) else []))
        if isinstance(r, dict) and r["uid"] and (not allowed or r["license"] in allowed)
    ]
    total = data.get("totalCount") if isinstance(data, dict) else None
    return {
        "results": results,
        "total": total if isinstance(total, int) else len(results),
        "page": query.page,
        "perPage": PER_PAGE,
    }


# --- OAuth ------------------------------------------------------------------------------------


def _oauth_settings(compat: Compat) -> tuple[str, str, str]:
    settings = compat.settings
    for setting, value in (
        ("SKETCHFAB_CLIENT_ID", settings.sketchfab_client_id),
        ("SKETCHFAB_CLIENT_SECRET", settings.sketchfab_client_secret),
        ("SKETCHFAB_REDIRECT_URI", settings.sketchfab_redirect_uri),
    ):
        if not value:
            raise not_configured(setting, "Sketchfab")
    assert settings.sketchfab_client_id and settings.sketchfab_client_secret
    assert settings.sketchfab_redirect_uri
    return (
        settings.sketchfab_client_id,
        settings.sketchfab_client_secret,
        settings.sketchfab_redirect_uri,
    )


def _cookie_args(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "lax",
        "path": "/",
        "secure": request.url.scheme == "https",
    }


@router.get("/api/sketchfab/oauth/start", summary="Connect a Sketchfab account (redirect)")
async def oauth_start(request: Request, user: CurrentUser, compat: CompatDep) -> Response:
    client_id, _, redirect_uri = _oauth_settings(compat)
    state = secrets.token_urlsafe(24)
    target = f"{compat.sketchfab_oauth.base_url}/oauth2/authorize/?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    response = RedirectResponse(target, status_code=307)
    args = _cookie_args(request)
    response.set_cookie(STATE_COOKIE, state, max_age=OAUTH_COOKIE_S, **args)
    response.set_cookie(USER_COOKIE, user.id, max_age=OAUTH_COOKIE_S, **args)
    return response


def _back(request: Request, **params: str) -> Response:
    """The callback's only answer: back to the projects page, the outcome in the query."""
    response = RedirectResponse("/projects?" + urlencode(params), status_code=307)
    args = _cookie_args(request)
    response.delete_cookie(STATE_COOKIE, **args)
    response.delete_cookie(USER_COOKIE, **args)
    return response


@router.get(
    "/api/sketchfab/oauth/callback",
    summary="Sketchfab's OAuth redirect (redirect)",
    responses=also(404),
)
async def oauth_callback(
    request: Request,
    compat: CompatDep,
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=512)] = None,
    error_description: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    if error:
        return _back(request, error=error_description or error)
    if not code or not state:
        return _back(request, error="missing_oauth_parameters")
    expected = request.cookies.get(STATE_COOKIE)
    if not expected or not secrets.compare_digest(expected, state):
        return _back(request, error="invalid_state_token")
    started_by = request.cookies.get(USER_COOKIE)
    if not started_by:
        return _back(request, error="missing_user_id")
    try:
        user = await authenticate(compat.services, request.scope)
    except Unauthenticated:
        return _back(request, error="missing_user_id")
    if not secrets.compare_digest(started_by, user.id):
        return _back(request, error="user_mismatch")
    try:
        client_id, secret, redirect_uri = _oauth_settings(compat)
    except DomainError:
        return _back(request, error="oauth_config_error")
    try:
        tokens = await _token_request(
            compat,
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": redirect_uri,
            },
        )
    except _TokenResponseInvalid:
        return _back(request, error="invalid_token_response")
    except DomainError:
        return _back(request, error="token_exchange_failed")
    await _save_tokens(compat, user.id, tokens)
    return _back(request, sketchfab_connected="true")


class _TokenResponseInvalid(Exception):
    pass


async def _token_request(compat: Compat, form: dict[str, str]) -> dict[str, Any]:
    upstream = compat.sketchfab_oauth
    response = await upstream.request("POST", "/oauth2/token/", data=form)
    tokens = upstream.success_json(
        response, "Sketchfab token exchange failed", not_json=_TokenResponseInvalid()
    )
    if not isinstance(tokens, dict) or not isinstance(tokens.get("access_token"), str):
        raise _TokenResponseInvalid
    return tokens


async def _save_tokens(compat: Compat, user_id: str, tokens: dict[str, Any]) -> str:
    seconds = tokens.get("expires_in")
    lifetime = seconds if isinstance(seconds, int) and seconds > 0 else DEFAULT_TOKEN_S
    refresh = tokens.get("refresh_token")
    values = {
        "access_token_encrypted": compat.cipher.encrypt(tokens["access_token"]),
        "refresh_token_encrypted": (
            compat.cipher.encrypt(refresh) if isinstance(refresh, str) and refresh else None
        ),
        "expires_at": datetime.now(UTC) + timedelta(seconds=lifetime),
    }
    async with compat.services.db.unit_of_work() as uow:
        await uow.session.execute(
            insert(SketchfabToken)
            .values(user_id=user_id, **values)
            .on_conflict_do_update(index_elements=[SketchfabToken.user_id], set_=values)
        )
        await uow.commit()
    return str(tokens["access_token"])


def _not_connected() -> Forbidden:
    return Forbidden(
        "Sketchfab not connected",
        code="sketchfab_not_connected",
        extra={"message": NOT_CONNECTED_MESSAGE, "requiresAuth": True},
    )


async def _access_token(compat: Compat, user_id: str) -> str:
    """The user's access token, refreshed when it expires within the hour."""
    async with compat.services.db.read(user_id=user_id, primary=True) as session:
        row = await session.scalar(select(SketchfabToken).where(SketchfabToken.user_id == user_id))
    if row is None:
        raise _not_connected()
    if row.expires_at - datetime.now(UTC) > REFRESH_WITHIN:
        return compat.cipher.decrypt(row.access_token_encrypted)
    if row.refresh_token_encrypted is None:
        raise _not_connected()
    client_id, secret, _ = _oauth_settings(compat)
    try:
        tokens = await _token_request(
            compat,
            {
                "grant_type": "refresh_token",
                "refresh_token": compat.cipher.decrypt(row.refresh_token_encrypted),
                "client_id": client_id,
                "client_secret": secret,
            },
        )
    except (_TokenResponseInvalid, UpstreamFailed) as exc:
        # A refused refresh: the connection is gone; the user connects again.
        async with compat.services.db.unit_of_work() as uow:
            await uow.session.execute(
                delete(SketchfabToken).where(SketchfabToken.user_id == user_id)
            )
            await uow.commit()
        raise _not_connected() from exc
    return await _save_tokens(compat, user_id, tokens)


# --- download ---------------------------------------------------------------------------------


class DownloadQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    uid: str = Field(pattern=MODEL_UID)
    project_id: str | None = Field(default=None, alias="projectId", max_length=64)

    @field_validator("project_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


def _download_url(compat: Compat, payload: Any) -> str:
    glb = payload.get("glb") if isinstance(payload, dict) else None
    url = glb.get("url") if isinstance(glb, dict) else None
    if not isinstance(url, str):
        raise UpstreamFailed(
            "Invalid download response",
            details={"upstream": "Sketchfab", "message": "Sketchfab did not provide a GLB"},
        )
    parts = urlsplit(url)
    api = urlsplit(compat.sketchfab_api.base_url)
    # Sketchfab hands out https links to its storage; anything else is refused, except the
    # configured API's own origin (a local stand-in).
    same_origin = (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
    if not (parts.scheme == "https" and parts.netloc) and not same_origin:
        raise UpstreamFailed(
            "Invalid download response", details={"upstream": "Sketchfab", "url": "not https"}
        )
    return url


async def _attribution(compat: Compat, uid: str) -> dict[str, str]:
    upstream = compat.sketchfab_api
    response = await upstream.request("GET", f"/v3/models/{quote(uid, safe='')}")
    model: Any = {}
    if response.is_success:
        try:
            model = response.json()
        except ValueError:
            model = {}
    model = _object(model)
    user = _object(model.get("user"))
    license_info = _object(model.get("license"))
    return {
        "author": str(user.get("displayName") or user.get("username") or "Unknown"),
        "modelUrl": str(model.get("viewerUrl") or f"https://sketchfab.com/models/{uid}"),
        "license": license_of(str(license_info.get("label") or "")),
        "licenseLabel": str(license_info.get("label") or "unknown"),
        "title": str(model.get("name") or uid),
    }


@router.get("/api/sketchfab/download", summary="Download a Sketchfab model into the user's files")
async def download(request: Request, user: CurrentUser, compat: CompatDep) -> JSONBytes:
    query = _parameters(
        DownloadQuery, dict(request.query_params), "Invalid parameters", "invalid_parameters"
    )
    if query.project_id is not None:
        # Before anything reaches Sketchfab: someone else's project is a missing one.
        async with compat.services.db.read(user_id=user.id) as session:
            await owned_project_or_404(session, user.id, query.project_id)
    files = compat.services.files
    existing = await files.find_by_metadata(user.id, "sketchfabUid", query.uid)
    if existing is not None:
        attribution = existing.metadata.get("attribution") or {}
        return JSONBytes(
            {
                "success": True,
                "url": file_url(existing.id),
                "fileId": existing.id,
                "cached": True,
                "attribution": attribution,
                "license": attribution.get("license", "unknown"),
            }
        )
    token = await _access_token(compat, user.id)
    upstream = compat.sketchfab_api
    response = await upstream.request(
        "GET",
        f"/v3/models/{quote(query.uid, safe='')}/download",
        headers={"Authorization": f"Bearer {token}"},
    )
    if response.status_code == 403:
        raise Forbidden(
            "Download permission denied",
            code="download_forbidden",
            extra={"message": "You do not have permission to download this model"},
        )
    if response.status_code == 404:
        raise NotFound(
            "Model not found",
            code="model_not_found",
            extra={"message": "The model does not exist or is not downloadable"},
        )
    if response.status_code == 401:
        raise _not_connected()
    if not response.is_success:
        raise upstream.failure(response, "Download failed")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    url = _download_url(compat, payload)
    model = await upstream.read_capped(url, max_bytes=compat.settings.sketchfab_max_model_bytes)
    if model.status_code != 200:
        raise upstream.failure(model, "Failed to download model file from Sketchfab")
    attribution = await _attribution(compat, query.uid)
    stored = await files.save_bytes(
        user.id,
        project_id=query.project_id,
        category="sketchfab",
        filename=f"{query.uid}.glb",
        data=model.content,
        metadata={
            "originalName": f"{query.uid}.glb",
            "upload": "sketchfab",
            "sketchfabUid": query.uid,
            "attribution": attribution,
        },
    )
    return JSONBytes(
        {
            "success": True,
            "url": file_url(stored.id),
            "fileId": stored.id,
            "cached": False,
            "attribution": attribution,
            "license": attribution["license"],
        }
    )
