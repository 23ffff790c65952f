"""The one ASGI layer in front of the application.

Per request it gives the request an id (echoed back, bound to the log context), times it for
Prometheus and `Server-Timing`, refuses bodies over the size limit with 413, and serves the
hottest read routes (`HotRoutes`) without going through FastAPI's routing and dependency
solving. One layer instead of three nested ones: each pure-ASGI layer costs a closure, a
`send` wrapper and a frame per message on every request, and on a cached read the stack of
layers had cost more than the read itself (docs/benchmarks.md, "hot path").

Per request: a `RequestStats` in a context variable collects the database time and statement
count (added by the statement hooks in db/observe.py) and the Redis time and round trips (added
by cache/resp.py); the response carries them as `Server-Timing: db;dur=…;desc="N statements",
redis;dur=…;desc="N round trips"` next to the total app time, and the request is
counted in Prometheus by route *template* (`/api/projects/{project_id}`, never the raw path, so
that the series stay few)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spacekontext.errors import Invalid
from spacekontext.http.errors import domain_error_response, error_body, unexpected_error_response
from spacekontext.http.hot import HotRoutes
from spacekontext.http.jsonbody import PARSED_JSON_BODY, check_json_body
from spacekontext.http.security import carries_credentials, header_adder
from spacekontext.observability import error_tracking, metrics
from spacekontext.observability.request_context import RequestStats, acting_user, current_request

UNMATCHED_ROUTE = "unmatched"

# The labelled children by (route template, method, status): `labels()` costs more per request
# than the observation itself. Bounded like the series themselves (templates, not paths).
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series_for(route: str, method: str, status: int) -> tuple[Any, Any]:
    series = _series.get((route, method, status))
    if series is None:
        series = (
            metrics.HTTP_REQUESTS.labels(route, method, str(status)),
            metrics.HTTP_LATENCY.labels(route, method),
        )
        _series[(route, method, status)] = series
    return series


class RequestIds:
    """New request ids: 8 random bytes each from the kernel's generator, as `secrets` gives
    them, but read 4 KB at a time: one system call per 512 ids instead of one per request
    (1-2 % of a worker's CPU in the capacity test, where every system call is dear). A
    process forked from this one starts on fresh bytes, never on its parent's."""

    __slots__ = ("_at", "_buffer")

    def __init__(self) -> None:
        self._buffer = b""
        self._at = 0

    def reset(self) -> None:
        self._buffer, self._at = b"", 0

    def new(self) -> str:
        at = self._at
        if at + 8 > len(self._buffer):
            self._buffer, at = os.urandom(4096), 0
        self._at = at + 8
        return self._buffer[at : at + 8].hex()


_IDS = RequestIds()
os.register_at_fork(after_in_child=_IDS.reset)


def _request_id(incoming: bytes | None) -> str:
    """A sane incoming `X-Request-ID` is kept (a proxy's id ties the logs together)."""
    if incoming:
        text = incoming.decode("latin-1")
        if len(text) <= 64 and text.isprintable():
            return text
    return _IDS.new()


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for: Callable[[str], int | None],
        hot_routes: HotRoutes | None = None,
        server_timing: bool = True,
        hsts_max_age_s: int = 0,
    ) -> None:
        """`limit_for(path)` gives the body-size limit of a path, or None for routes that
        stream their bodies and enforce their own limit."""
        self.app = app
        self.limit_for = limit_for
        self.hot_routes = hot_routes
        self.server_timing = server_timing
        self.add_security_headers = header_adder(hsts_max_age_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming_id: bytes | None = None
        length: bytes | None = None
        content_type: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value
            elif name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
        request_id = _request_id(incoming_id)
        scope.setdefault("state", {})["request_id"] = request_id
        method = scope["method"]
        stats = RequestStats(request_id=request_id, method=method, scope=scope)
        stats_token = current_request.set(stats)
        user_token = acting_user.set(None)
        status = 500
        response_started = False

        async def edge_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                if self.server_timing:
                    total_ms = (time.perf_counter() - started) * 1000
                    db_ms = stats.db_time_s * 1000
                    timing = (
                        f'db;dur={db_ms:.2f};desc="{stats.statements} statements", '
                        f"redis;dur={stats.redis_time_s * 1000:.2f};"
                        f'desc="{stats.redis_round_trips} round trips", '
                        f"app;dur={total_ms:.2f}"
                    )
                    headers.append((b"server-timing", timing.encode()))
                self.add_security_headers(
                    headers,
                    scope.get("scheme") == "https",
                    scope["path"].startswith("/api/") and carries_credentials(scope["headers"]),
                )
            await send(message)

        reported = False
        try:
            refusal = _refused_target(scope)
            hot = self.hot_routes.match(method, scope["path"]) if self.hot_routes else None
            if refusal is not None:
                await domain_error_response(refusal)(scope, receive, edge_send)
            elif hot is not None:
                route, params = hot
                scope["route"] = route
                await route.serve(scope, params, edge_send)
            else:
                await self._limited(scope, receive, edge_send, length, content_type)
        except Exception as exc:
            # Answered here rather than by Starlette's outermost error middleware, which sends
            # the 500 and then re-raises: the server then closes the client's connection. An
            # error is an answer, not a reason to drop a keep-alive connection. Once the
            # response has started, nothing can be said: the server must cut it short.
            response = (
                None
                if response_started
                else unexpected_error_response(exc, request_id, id_header=False)
            )
            # Reported with the status the client gets (a driver error that is an outage is
            # answered 503, not 500).
            reported = True
            error_tracking.report_exception(
                exc,
                request_id=request_id,
                route=stats.route or UNMATCHED_ROUTE,
                method=method,
                status=status if response is None else response.status_code,
            )
            if response is None:
                raise
            await response(scope, receive, edge_send)
        finally:
            if status >= 500 and not reported:
                error_tracking.report_server_error(
                    request_id=request_id,
                    route=stats.route or UNMATCHED_ROUTE,
                    method=method,
                    status=status,
                )
            elapsed = time.perf_counter() - started
            counter, latency = _series_for(stats.route or UNMATCHED_ROUTE, method, status)
            counter.inc()
            latency.observe(elapsed)
            acting_user.reset(user_token)
            current_request.reset(stats_token)

    async def _limited(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        length: bytes | None,
        content_type: bytes | None,
    ) -> None:
        """The application behind a body-size limit: refused at once from Content-Length,
        otherwise as soon as the streamed body passes the limit. A JSON body is read whole
        (within the limit) and checked once here for every route (http/jsonbody.py)."""
        limit = self.limit_for(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        if content_type is not None and _is_json(content_type):
            body = await _read_body(receive, limit)
            if body is None:
                await _too_large(send, limit)
                return
            if body:
                try:
                    # Kept for the route (http/jsonroute.py): a large document is parsed once.
                    document = scope[PARSED_JSON_BODY] = check_json_body(body)
                except Invalid as exc:
                    await domain_error_response(exc)(scope, receive, send)
                    return
                hot = (
                    self.hot_routes.match_with_body(scope["method"], scope["path"])
                    if self.hot_routes
                    else None
                )
                if hot is not None:
                    route, params = hot
                    scope["route"] = route
                    if await route.serve(scope, params, send, body=document):
                        return
                    del scope["route"]  # declined: FastAPI's route answers, and names itself
            await self.app(scope, _replay(body, receive), send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(send, limit)


def _is_json(content_type: bytes) -> bool:
    media = content_type.partition(b";")[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it passes `limit`."""
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away: the application sees the disconnect when it reads.
            break
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body over in one message, then defers to the
    server's (which reports the disconnect a streaming response waits for)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _refused_target(scope: Scope) -> Invalid | None:
    """A NUL character in the path or the query string: PostgreSQL's text cannot hold it, so
    no route could use the value. Refused before any route sees it."""
    query: bytes = scope.get("query_string", b"")
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        return Invalid(
            "the request path or query contains a NUL character (%00)",
            code="invalid_characters",
        )
    return None


class _BodyTooLarge(StarletteHTTPException):
    # An HTTPException so that FastAPI's body parsing re-raises it untouched (it turns any
    # other error while reading the body into a 400).
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


async def _too_large(send: Send, limit: int) -> None:
    body = orjson.dumps(
        error_body(
            f"request body exceeds {limit} bytes", "payload_too_large", {"limitBytes": limit}
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
