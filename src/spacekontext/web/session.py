"""The console's session: the `__session` cookie (the identity provider's, or a dev token minted
by the sign-in page), verified by the same verifier as a bearer token."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from spacekontext.auth.deps import authenticate
from spacekontext.errors import Unauthenticated
from spacekontext.services import Services
from spacekontext.users import service as users
from spacekontext.users.service import CurrentUserInfo

SESSION_COOKIE = "__session"
# A dev session lasts a working day; the provider's cookies carry their own expiry.
DEV_SESSION_S = 12 * 3600

Reason = Literal["missing", "expired", "invalid"]


class SignInRequired(Exception):
    """The page needs a signed-in person; the console answers with a redirect to sign-in."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


def session_token(request: Request) -> str | None:
    """`__session`, or a suffixed `__session_<suffix>` (Clerk names its cookie per instance)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return token
    for name, value in request.cookies.items():
        if name.startswith(SESSION_COOKIE + "_") and value:
            return value
    return None


async def page_user(request: Request) -> CurrentUserInfo:
    services: Services = request.app.state.services
    try:
        # The API's own reading of the session (auth/session.py): cookie or bearer token.
        return await authenticate(services, request.scope)
    except Unauthenticated as exc:
        reasons: dict[str, Reason] = {"missing_token": "missing", "token_expired": "expired"}
        raise SignInRequired(reasons.get(exc.error_code, "invalid")) from exc


def is_admin(services: Services, user: CurrentUserInfo) -> bool:
    return users.is_admin(user, services.settings)


def same_origin(request: Request) -> bool:
    """A form post of the console's own pages: its Origin (or, without one, its Referer) is this
    server. Sign-in and sign-out change the session, so a foreign page must not post them."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc == request.headers.get("host")


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
