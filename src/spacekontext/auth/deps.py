"""FastAPI dependencies for authentication: `CurrentUser` in a route signature means the route
needs a valid bearer token and gets the caller's user row (created on first sight), and takes a
token from the caller's rate-limit bucket for the request's class (read, write or upload)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spacekontext.errors import Unauthenticated
from spacekontext.ops.request_context import acting_user
from spacekontext.ratelimit.limiter import LimitClass, limit_class_for
from spacekontext.services import Services, get_services
from spacekontext.users.service import CurrentUserInfo


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "a bearer token is required",
            code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


async def current_user(request: Request) -> CurrentUserInfo:
    # Services straight from the app state rather than as a sub-dependency: FastAPI's
    # dependency solving is a large share of a cached request's CPU.
    services: Services = request.app.state.services
    token = _bearer_token(request)
    identity = await services.verifier.verify(token)
    user = await services.users.resolve(identity)
    request.state.user_id = user.id
    # The database layer keys read-your-writes on the acting user (db/routing.py).
    acting_user.set(user.id)
    await services.limiter.check(user.id, limit_class_for(request.method, request.url.path))
    return user


async def client_ip_rate_limit(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> None:
    """For routes without a user (webhooks): limit per client address. Behind a proxy, run
    uvicorn with `--proxy-headers` so that this is the client's, not the proxy's."""
    address = request.client.host if request.client else "unknown"
    await services.limiter.check(f"ip:{address}", LimitClass.WEBHOOK)


CurrentUser = Annotated[CurrentUserInfo, Depends(current_user)]
ServicesDep = Annotated[Services, Depends(get_services)]
ClientIpRateLimit = Depends(client_ip_rate_limit)
