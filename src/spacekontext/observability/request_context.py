"""Per-request facts that lower layers add to without knowing about HTTP: the database time and
statement count (for `Server-Timing` and the slow-query log), the route, the acting user (for
read-your-writes) and the WAL position of the request's last commit."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RequestStats:
    request_id: str
    method: str = ""
    # The ASGI scope: routing writes the matched route into it after the middleware ran.
    scope: MutableMapping[str, Any] = field(default_factory=dict, repr=False)
    db_time_s: float = 0.0
    statements: int = 0
    # Round trips to Redis (a pipeline is one) and the time spent waiting for them.
    redis_time_s: float = 0.0
    redis_round_trips: int = 0
    # The read-ahead buffer: Redis answers read ahead for this request, taken once by their
    # readers. Only cache/readahead.py touches it (its docstring names the filler and readers).
    read_ahead: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def route(self) -> str | None:
        """The route template (`/api/projects/{project_id}`), never the raw path."""
        route = self.scope.get("route")
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else None


# A mutable object in a context variable: set once per request by the HTTP middleware, updated
# from SQLAlchemy's cursor events (which run in greenlets that share the request's context).
current_request: ContextVar[RequestStats | None] = ContextVar("current_request", default=None)

# The user a request acts for, set by the authentication dependency. Writes record their commit
# position for this user; reads without an explicit user use it for read-your-writes.
acting_user: ContextVar[str | None] = ContextVar("acting_user", default=None)
