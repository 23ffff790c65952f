"""Request metrics and `Server-Timing`, as pure ASGI middleware.

Per request: a `RequestStats` in a context variable collects the database time and statement
count (added by the statement hooks in db/observe.py); the response carries them as
`Server-Timing: db;dur=…;desc="N statements"` next to the total app time, and the request is
counted in Prometheus by route *template* (`/api/projects/{project_id}`, never the raw path,
so that the series stay few)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spacekontext.ops import metrics
from spacekontext.ops.request_context import RequestStats, acting_user, current_request

UNMATCHED_ROUTE = "unmatched"

# The labelled children by (route template, method, status): `labels()` costs more per request
# than the observation itself. Bounded like the series themselves (templates, not paths).
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series_for(route: str, method: str, status: int) -> tuple[Any, Any]:
    series = (
        metrics.HTTP_REQUESTS.labels(route, method, str(status)),
        metrics.HTTP_LATENCY.labels(route, method),
    )
    _series[(route, method, status)] = series
    return series


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = str(scope.get("state", {}).get("request_id", ""))
        stats = RequestStats(request_id=request_id, method=scope["method"], scope=scope)
        token = current_request.set(stats)
        user_token = acting_user.set(None)
        status = 500

        async def send_with_timing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                total_ms = (time.perf_counter() - started) * 1000
                timing = (
                    f'db;dur={stats.db_time_s * 1000:.2f};desc="{stats.statements} statements", '
                    f"app;dur={total_ms:.2f}"
                )
                message.setdefault("headers", []).append((b"server-timing", timing.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            elapsed = time.perf_counter() - started
            route = stats.route or UNMATCHED_ROUTE
            series = _series.get((route, stats.method, status))
            if series is None:
                series = _series_for(route, stats.method, status)
            series[0].inc()
            series[1].observe(elapsed)
            acting_user.reset(user_token)
            current_request.reset(token)
