from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.http.openapi import also
from spacekontext.http.responses import JSONBytes
from spacekontext.tools.assess.render import to_json, to_markdown
from spacekontext.tools.assess.service import AssessService

router = APIRouter(prefix="/api/ops", tags=["ops"])


def get_assess_service(services: ServicesDep) -> AssessService:
    return AssessService(services.settings)


AssessDep = Annotated[AssessService, Depends(get_assess_service)]


@router.get(
    "/assess",
    summary="The scalability assessment of the app's database (admins)",
    # Not an administrator: 404, the route's existence is not told.
    responses={
        **also(404),
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
    },
)
async def get_assessment(
    user: CurrentUser,
    assessments: AssessDep,
    schema: Annotated[str | None, Query(min_length=1, max_length=63)] = None,
    output_format: Annotated[Literal["json", "md"], Query(alias="format")] = "json",
    fail_on: Annotated[Literal["critical", "warning"] | None, Query(alias="failOn")] = None,
    workers: Annotated[int, Query(ge=1, le=512)] = 1,
    hosts: Annotated[int, Query(ge=1, le=512)] = 1,
    target_users: Annotated[int, Query(alias="targetUsers", ge=1, le=100_000_000)] = 1_000,
) -> Response:
    report = await assessments.report(
        user, schema=schema, workers=workers, hosts=hosts, target_users=target_users
    )
    if output_format == "md":
        return Response(to_markdown(report), media_type="text/markdown; charset=utf-8")
    return JSONBytes({"success": True, "report": to_json(report, fail_on=fail_on)})
