"""The console's pages under /app. Each page reads through the domain services with the signed-in
person's id, exactly as the API's routes do, so everything another user owns is a 404 here too.
Pages answer in HTML, errors included: a domain error becomes a page that says what happened."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from spacekontext.cadblocks.service import BlockFilter
from spacekontext.errors import DomainError, Invalid, NotFound
from spacekontext.http.responses import JSONBytes
from spacekontext.projects.service import ProjectOverview
from spacekontext.services import Services, get_services
from spacekontext.site.sunpath import day_track, is_timezone, timezone_for
from spacekontext.tools.assess.model import Report, Severity
from spacekontext.tools.assess.service import AssessService
from spacekontext.users.service import CurrentUserInfo, require_admin
from spacekontext.web import filters
from spacekontext.web.opsdata import capacity_chart, latest_capacity, ops_overview
from spacekontext.web.session import (
    DEV_SESSION_S,
    SignInRequired,
    clear_session,
    is_admin,
    page_user,
    same_origin,
    set_session,
)
from spacekontext.web.sunpath import legend, polar_diagram

HERE = Path(__file__).parent
PAGE_SIZE = 24
# The project page draws this many levels; a project with more says so.
LEVELS_SHOWN = 50
SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}

# A day's hourly sun positions are the same for every view of a site on that date; pvlib takes
# tens of milliseconds for them, more than the rest of the project page.
_day_track = functools.lru_cache(maxsize=512)(day_track)

templates = Jinja2Templates(directory=HERE / "templates")
filters.install(templates.env)


class ConsolePage(APIRoute):
    """Turns what a page raises into what a person should see: sign-in for a missing or
    expired session, an error page in words for the rest (never a JSON envelope)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                target = f"/app/sign-in?reason={exc.reason}&next={quote(request.url.path)}"
                response = RedirectResponse(target, status_code=303)
                if exc.reason != "missing":
                    clear_session(response, request)
                return response
            except DomainError as exc:
                user = await signed_in_or_none(request)
                return error_page(request, exc.status, exc.message, user=user)
            except RequestValidationError as exc:
                fields = ", ".join(str(error["loc"][-1]) for error in exc.errors())
                user = await signed_in_or_none(request)
                message = f"These values could not be used: {fields}."
                return error_page(request, 400, message, user=user)

        return page


router = APIRouter(prefix="/app", route_class=ConsolePage, include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]
PageUser = Annotated[CurrentUserInfo, Depends(page_user)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: CurrentUserInfo | None = None,
    status_code: int = 200,
) -> Response:
    services: Services = request.app.state.services
    base = {
        "user": user,
        "admin": user is not None and is_admin(services, user),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(
        request, template, base | context, status_code=status_code
    )
    # Pages carry the person's data: never stored by a shared cache, always revalidated.
    response.headers["Cache-Control"] = "private, no-store"
    settings = services.settings
    response.headers["Content-Security-Policy"] = content_security_policy(
        settings.storage_backend, settings.s3_endpoint_url
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@functools.cache
def content_security_policy(storage_backend: str, s3_endpoint_url: str | None) -> str:
    """Scripts and styles of the console's own origin only (inline styles for the plans'
    SVG); requests to this origin, and to the object store for direct uploads."""
    connect = "'self'"
    if storage_backend == "s3":
        parts = urlsplit(s3_endpoint_url) if s3_endpoint_url else None
        connect += f" {parts.scheme}://{parts.netloc}" if parts and parts.netloc else " https:"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; connect-src {connect}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


ERROR_TITLES = {
    400: "That request could not be used",
    403: "Not allowed",
    404: "Not found",
    409: "That changed meanwhile",
    413: "Too large",
    422: "That could not be read",
    429: "Too many requests",
    503: "Temporarily unavailable",
}


async def signed_in_or_none(request: Request) -> CurrentUserInfo | None:
    """The person, for the navigation of an error page; nobody when the session is not valid."""
    try:
        return await page_user(request)
    except (SignInRequired, DomainError):
        return None


def error_page(
    request: Request, status: int, message: str, *, user: CurrentUserInfo | None = None
) -> Response:
    title = ERROR_TITLES.get(status, "Something went wrong")
    if status == 404:
        message = "There is nothing here, or it is not yours to see."
    return render(
        request,
        "error.html",
        {"title": title, "message": message},
        user=user,
        status_code=status,
    )


def _safe_next(target: str | None) -> str:
    # Only back into the console: an open redirect would turn sign-in into a phishing aid.
    if target and target.startswith("/app") and not target.startswith("//"):
        return target
    return "/app"


# --- sign-in --------------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_page(
    request: Request,
    services: ServicesDep,
    reason: str | None = None,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    messages = {
        "expired": "Your session has expired. Please sign in again.",
        "invalid": "Your session could not be verified. Please sign in again.",
        "missing": "Please sign in to continue.",
    }
    return render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "message": messages.get(reason or ""),
            "dev_sign_in": services.verifier.dev is not None,
            "provider": services.settings.auth_issuer,
            "next": _safe_next(next_path),
        },
    )


@router.post("/sign-in")
async def sign_in(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)],
    next_path: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    if not same_origin(request):
        return error_page(request, 403, "Sign-in is only accepted from this console's own page.")
    dev = services.verifier.dev
    if dev is None:
        return error_page(request, 404, "")
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        return render(
            request,
            "sign_in.html",
            {
                "title": "Sign in",
                "error": "Enter an e-mail address, such as ada@example.com.",
                "dev_sign_in": True,
                "email": email,
                "next": _safe_next(next_path),
            },
            status_code=400,
        )
    token = dev.mint(email, ttl_s=DEV_SESSION_S)
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    set_session(response, request, token, DEV_SESSION_S)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    if not same_origin(request):
        return error_page(request, 403, "Sign-out is only accepted from this console's pages.")
    response = RedirectResponse("/app/sign-in", status_code=303)
    clear_session(response, request)
    return response


# --- my projects ----------------------------------------------------------------------------


@router.get("")
async def projects_page(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    query = (q or "").strip()
    if query:
        found = await services.search.search(user.id, query, types=["projects"], limit=PAGE_SIZE)
        hits = [
            {"id": hit.id, "title": Markup(hit.title), "updated_at": hit.updated_at}  # noqa: S704 - escaped by the search service
            for hit in found.results
        ]
        return render(
            request,
            "projects.html",
            {"title": "My projects", "query": query, "hits": hits, "projects": []},
            user=user,
        )
    page = await services.projects.list(user.id, limit=PAGE_SIZE, cursor=cursor)
    projects = list(page.projects)
    overviews: dict[str, ProjectOverview] = await services.projects.overviews(
        user.id, [p.id for p in projects]
    )
    return render(
        request,
        "projects.html",
        {
            "title": "My projects",
            "query": "",
            "projects": [(p, overviews.get(p.id)) for p in projects],
            "next_cursor": page.next_cursor,
            "first_page": cursor is None,
        },
        user=user,
    )


@router.get("/previews/{floorplan_id}.svg")
async def floorplan_preview(
    floorplan_id: str, request: Request, user: PageUser, services: ServicesDep
) -> Response:
    preview = await services.dxf.preview(
        user.id, floorplan_id, request.headers.get("if-none-match")
    )
    headers = {"ETag": preview.etag, "Cache-Control": "private, no-cache", **SVG_HEADERS}
    if preview.svg is None:
        return Response(status_code=304, headers=headers)
    return Response(preview.svg, media_type="image/svg+xml", headers=headers)


# --- a project ------------------------------------------------------------------------------


async def _site(
    services: Services, user: CurrentUserInfo, project_id: str, day: dt.date | None
) -> dict[str, Any] | None:
    try:
        site = await services.site.get(user.id, project_id, day=day)
    except NotFound:
        return None
    sun = site.sun_path or {}
    zone = site.timezone or sun.get("timezone")
    if not isinstance(zone, str) or not is_timezone(zone):
        zone = await asyncio.to_thread(timezone_for, site.latitude, site.longitude)
    chosen = day
    if chosen is None and isinstance(sun.get("date"), str):
        chosen = dt.date.fromisoformat(sun["date"])
    track = (
        await asyncio.to_thread(_day_track, site.latitude, site.longitude, zone, chosen)
        if chosen is not None
        else []
    )
    return {
        "site": site,
        "sun": sun,
        "date": chosen,
        "diagram": polar_diagram(sun, track) if sun else None,
        "legend": legend(sun),
        "outline": filters.boundary_svg(site.boundary),
    }


@router.get("/projects/{project_id}")
async def project_page(
    project_id: str,
    request: Request,
    user: PageUser,
    services: ServicesDep,
    date: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    day = None
    if date:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError as exc:
            raise Invalid("The date must be written as YYYY-MM-DD.") from exc
    project = await services.projects.get(user.id, project_id)
    floorplans, more_levels = await services.floorplans.list_in_project(
        user.id, project_id, limit=LEVELS_SHOWN
    )
    models, _ = await services.models3d.list_in_project(user.id, project_id, limit=50)
    massings, _ = await services.massings.list_in_project(user.id, project_id, limit=50)
    files = await services.files.list(user.id, project_id=project_id, limit=100)
    levels = [
        {
            "plan": plan,
            # Ownership was checked by the list; the hash is the one read with the row.
            "svg": Markup(  # noqa: S704 - rendered with escaped text
                await services.dxf.preview_of(user.id, plan.id, plan.content_hash)
            ),
        }
        for plan in floorplans
    ]
    return render(
        request,
        "project.html",
        {
            "title": project.name,
            "project": project,
            "levels": levels,
            "more_levels": more_levels is not None,
            "models": models,
            "massings": massings,
            "files": files,
            "site": await _site(services, user, project_id, day),
            "max_upload_bytes": services.settings.max_upload_bytes,
        },
        user=user,
    )


@router.get("/files/{file_id}/download")
async def file_download(file_id: str, user: PageUser, services: ServicesDep) -> Response:
    _, url = await services.files.get(user.id, file_id)
    if url is None:
        raise NotFound("file not ready")
    return RedirectResponse(url, status_code=303)


# --- the block library ----------------------------------------------------------------------


@router.get("/blocks")
async def blocks_page(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    everything = await services.cadblocks.list(user.id)
    categories = sorted({block.category for block in everything})
    blocks = (
        await services.cadblocks.list(user.id, BlockFilter(category or None, search=q or None))
        if category or q
        else everything
    )
    return render(
        request,
        "blocks.html",
        {
            "title": "Block library",
            "blocks": blocks,
            "categories": categories,
            "category": category or "",
            "query": q or "",
        },
        user=user,
    )


@router.get("/blocks/{slug}/thumbnail.svg")
async def block_thumbnail(slug: str, user: PageUser, services: ServicesDep) -> Response:
    svg = await services.cadblocks.thumbnail(user.id, slug)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=86400", **SVG_HEADERS},
    )


@router.get("/blocks/{slug}/download")
async def block_download(slug: str, user: PageUser, services: ServicesDep) -> Response:
    data = await services.cadblocks.dxf(user.id, slug)
    return Response(
        data,
        media_type="image/vnd.dxf",
        headers={"Content-Disposition": f'attachment; filename="{slug}.dxf"'},
    )


# --- operations -----------------------------------------------------------------------------


def _admin(services: Services, user: CurrentUserInfo) -> None:
    # Not an admin: 403, as every admin-only route answers (users/service.py:require_admin).
    require_admin(user, services.settings, action="see the operations pages")


@router.get("/ops")
async def ops_page(request: Request, user: PageUser, services: ServicesDep) -> Response:
    _admin(services, user)
    overview = await ops_overview(services)
    capacity = latest_capacity(
        [services.settings.data_dir / "loadtest-results", Path("loadtest-results")]
    )
    return render(
        request,
        "ops.html",
        {
            "title": "Operations",
            **overview,
            "capacity": capacity,
            "capacity_chart": capacity_chart(capacity) if capacity else None,
            "settings": services.settings,
        },
        user=user,
    )


@router.get("/ops/live.json")
async def ops_live(user: PageUser, services: ServicesDep) -> Response:
    _admin(services, user)
    overview = await ops_overview(services)
    body = overview["snapshot"].to_json() | {
        "replicas": overview["replicas"],
        "redis": overview["redis"],
        "jobs": overview["jobs"].by_state,
    }
    return JSONBytes(body, headers={"Cache-Control": "no-store"})


_assessed: dict[str, tuple[float, Report]] = {}
ASSESS_REUSE_S = 30.0


@router.get("/ops/assess")
async def ops_assess(request: Request, user: PageUser, services: ServicesDep) -> Response:
    """The assessment as an HTML fragment, loaded by the ops page after it has shown: the
    checks take a moment, and a refresh within half a minute reuses the last report."""
    _admin(services, user)
    remembered = _assessed.get("report")
    if remembered is not None and time.monotonic() - remembered[0] < ASSESS_REUSE_S:
        report = remembered[1]
    else:
        report = await AssessService(services.settings).report(user)
        _assessed["report"] = (time.monotonic(), report)
    return templates.TemplateResponse(
        request,
        "_assess.html",
        {
            "report": report,
            "critical": report.count(Severity.CRITICAL),
            "warnings": report.count(Severity.WARNING),
        },
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/{rest:path}")
async def unknown_page(rest: str, request: Request) -> Response:
    """Any other path under /app: the console's own 404 page, not the API's JSON."""
    return error_page(request, 404, "", user=await signed_in_or_none(request))
