"""Every statement timed: a Prometheus histogram, the request's DB time and statement count, and a
structured log line for statements slower than SLOW_QUERY_MS (normalized, so that the line
groups with others of its shape and never carries user data)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from spacekontext.observability import metrics
from spacekontext.observability.request_context import current_request

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w$.])-?\d+(?:\.\d+)?(?![\w.])")
_SPACE = re.compile(r"\s+")
_IN_LIST = re.compile(r"\(\s*(?:\?|\$\d+)(?:\s*,\s*(?:\?|\$\d+))+\s*\)")
MAX_STATEMENT_CHARS = 1000


class LineBudget:
    """At most `burst` lines at once and `per_second` over time, per process; what is left out
    is counted and reported by the next line that is written (`suppressed`).

    Why: when the server is overloaded every statement waits for the event loop and crosses
    SLOW_QUERY_MS, and a line per statement (a structlog render and a write to stderr, about
    0.1 ms each) took 4 % of a worker's CPU in the capacity test, at the moment it had none to
    spare. The slow-statement counter still counts every one."""

    def __init__(
        self,
        *,
        per_second: float = 10.0,
        burst: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_second
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()
        self.suppressed = 0

    def take(self) -> int | None:
        """None: leave this line out. Otherwise write it, with the number of lines left out
        since the last one written (reset here)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            self.suppressed += 1
            return None
        self._tokens -= 1
        suppressed, self.suppressed = self.suppressed, 0
        return suppressed


_SLOW_LINES = LineBudget()


def normalize_statement(statement: str) -> str:
    """Literals become `?`, whitespace collapses, IN-lists shrink to one placeholder."""
    text = _STRING.sub("?", statement)
    text = _NUMBER.sub("?", text)
    text = _SPACE.sub(" ", text).strip()
    text = _IN_LIST.sub("(?...)", text)
    return text[:MAX_STATEMENT_CHARS]


def instrument(engine: AsyncEngine, *, role: str, slow_query_ms: float) -> None:
    sync_engine = engine.sync_engine
    histogram = metrics.DB_STATEMENT_DURATION.labels(role)
    slow_counter = metrics.DB_SLOW_STATEMENTS.labels(role)
    slow_s = slow_query_ms / 1000

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        conn.info.setdefault("sk_started", []).append(time.perf_counter())

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _stop(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        _finish(conn, statement)

    @event.listens_for(sync_engine, "handle_error")
    def _failed(context: Any) -> None:
        # A failed statement (timeout, cancel…) took time too; count it, then let it propagate.
        if context.connection is not None and context.statement is not None:
            _finish(context.connection, context.statement)

    def _finish(conn: Any, statement: str) -> None:
        started = conn.info.get("sk_started")
        if not started:
            return
        record(
            time.perf_counter() - started.pop(), statement, role, histogram, slow_counter, slow_s
        )


def record(
    elapsed: float,
    statement: str,
    role: str,
    histogram: Any,
    slow_counter: Any,
    slow_s: float,
) -> None:
    """Account one statement: histogram, the request's DB time and count, the slow-query log.
    Shared by the cursor events and the raw-driver reads (`Database.fetch`)."""
    histogram.observe(elapsed)
    stats = current_request.get()
    if stats is not None:
        stats.db_time_s += elapsed
        stats.statements += 1
    if elapsed >= slow_s:
        slow_counter.inc()
        suppressed = _SLOW_LINES.take()
        if suppressed is None:
            return
        # Looked up per line (rare): a module-level proxy would pin whatever logging
        # configuration existed when it was first used.
        structlog.get_logger("spacekontext.db.slow").warning(
            "slow statement",
            statement=normalize_statement(statement),
            duration_ms=round(elapsed * 1000, 2),
            role=role,
            route=stats.route if stats else None,
            request_id=stats.request_id if stats else None,
            method=stats.method if stats else None,
            **({"suppressed": suppressed} if suppressed else {}),
        )
