"""FastAPI dependencies for authentication: `CurrentUser` in a route signature means the route
needs a valid bearer token and gets the caller's user row (created on first sight), and takes a
token from the caller's rate-limit bucket for the request's class (read, write or upload)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spacekontext.errors import Unauthenticated
from spacekontext.http.hot import HotRequest
from spacekontext.ops.request_context import acting_user
from spacekontext.ratelimit.limiter import LimitClass, limit_class_for
from spacekontext.services import Services, get_services
from spacekontext.users.service import CurrentUserInfo


def _bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "a bearer token is required",
            code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


async def authenticate(
    services: Services, authorization: str, method: str, path: str
) -> CurrentUserInfo:
    """The caller of a request from its `Authorization` header: the token verified, the user
    resolved (created on first sight), a token taken from the user's rate-limit bucket for the
    request's class. Shared by the FastAPI dependency and the hot routes (http/hot.py)."""
    token = _bearer_token(authorization)
    identity = await services.verifier.verify(token)
    user = await services.users.resolve(identity)
    # The database layer keys read-your-writes on the acting user (db/routing.py).
    acting_user.set(user.id)
    await services.limiter.check(user.id, limit_class_for(method, path))
    return user


async def current_user(request: Request) -> CurrentUserInfo:
    # Services straight from the app state rather than as a sub-dependency: FastAPI's
    # dependency solving is a large share of a cached request's CPU.
    services: Services = request.app.state.services
    return await authenticate(
        services, request.headers.get("authorization", ""), request.method, request.url.path
    )


async def hot_caller(request: HotRequest) -> CurrentUserInfo:
    """`authenticate` for a hot route (http/hot.py)."""
    return await authenticate(
        request.services, request.header(b"authorization"), request.method, request.path
    )


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
