"""FastAPI dependencies for authentication: `CurrentUser` in a route signature means the route
needs a valid session token — a bearer token or the session cookie (auth/session.py) — and gets
the caller's user row (created on first sight), and takes a token from the caller's rate-limit
bucket for the request's class (read, write or upload)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from starlette.types import Scope

from spacekontext.http.hot import HotRequest, QueryModel
from spacekontext.observability.request_context import acting_user
from spacekontext.ratelimit.limiter import LimitClass, limit_class_for
from spacekontext.services import Services, get_services
from spacekontext.users.service import CurrentUserInfo


async def authenticate(
    services: Services,
    scope: Scope,
    *,
    read_ahead: Callable[[str], list[str]] | None = None,
) -> CurrentUserInfo:
    """The caller of a request from its session credential (bearer token or session cookie,
    cookie-authenticated writes checked against CSRF): the token verified, the user resolved
    (created on first sight), a token taken from the user's rate-limit bucket for the
    request's class. Shared by the FastAPI dependency and the hot routes (http/hot.py).

    `read_ahead(user_id)` names the cache keys the route will read for that user: with Redis,
    they are fetched with the user record and the bucket in one round trip
    (cache/readahead.py)."""
    credential = services.sessions.credential(scope)
    identity = await services.verifier.verify(credential.token)
    limit_class = limit_class_for(scope["method"], scope["path"])
    if services.read_ahead is not None:
        guess = services.users.remembered_id(identity.subject)
        if guess is not None:
            keys = services.users.read_ahead_keys(identity.subject)
            keys += services.db.router.read_ahead_keys(guess)
            if read_ahead is not None:
                keys += read_ahead(guess)
            await services.read_ahead.fetch(keys, services.limiter.bucket_for(guess, limit_class))
    user = await services.users.resolve(identity)
    # The database layer keys read-your-writes on the acting user (db/routing.py).
    acting_user.set(user.id)
    await services.limiter.check(user.id, limit_class)
    return user


async def current_user(request: Request) -> CurrentUserInfo:
    # Services straight from the app state rather than as a sub-dependency: FastAPI's
    # dependency solving is a large share of a cached request's CPU.
    services: Services = request.app.state.services
    return await authenticate(services, request.scope)


async def hot_caller(
    request: HotRequest, read_ahead: Callable[[str], list[str]] | None = None
) -> CurrentUserInfo:
    """`authenticate` for a hot route (http/hot.py)."""
    return await authenticate(request.services, request.scope, read_ahead=read_ahead)


async def hot_caller_with_query(
    request: HotRequest,
    model: type[QueryModel],
    read_ahead: Callable[[QueryModel], Callable[[str], list[str]]] | None = None,
) -> tuple[CurrentUserInfo, QueryModel]:
    """`hot_caller` for a hot route with a query model (http/hot.py). The query is read first,
    to name what to read ahead with the user, but a bad one is reported only after
    authentication, as FastAPI does (401 before 422)."""
    try:
        query: QueryModel | None = request.query(model)
        invalid = None
    except RequestValidationError as exc:
        query, invalid = None, exc
    ahead = None if query is None or read_ahead is None else read_ahead(query)
    user = await hot_caller(request, ahead)
    if query is None:
        assert invalid is not None
        raise invalid
    return user, query


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
