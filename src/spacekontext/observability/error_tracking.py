"""Error tracking: when SENTRY_DSN is set, unhandled errors and 5xx answers go to Sentry.

In the API, reported from the edge layer (http/edge.py), the one place that sees every request,
the hot routes included: an exception that escapes the application (the edge answers it) and
any answer with a 5xx status. Each event carries the request id (the one the client got in
`X-Request-ID`), the route *template* as its transaction (`/api/projects/{project_id}`, so
that one fault groups into one issue whatever the ids), the method and the status, and the
release. In the job worker (in-process or `spacekontext worker`), a job's last failed attempt
is reported with its kind and id.

What never leaves: tokens, cookies, e-mail addresses and document bodies. The SDK is set up
not to collect them (no request bodies, no local variables of frames, no default PII, no
breadcrumbs, none of its auto-enabled framework integrations), and `scrub_event`, run on every
event before it is sent, removes what might still slip in: headers other than a few harmless
ones, cookies, query strings, any value under a sensitive-looking key, and inside every string
e-mail addresses, bearer tokens and JWTs; long strings are cut (a document quoted in an
exception message must not travel)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

FILTERED = "[Filtered]"
MAX_STRING_CHARS = 512

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
# user:password@ in a connection URL (a DSN quoted in an error message or on a command line).
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+):[^@\s/]+@")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{8,}")
# Any key that names a credential or personal data: its value is dropped whatever it is.
_SENSITIVE_KEY = re.compile(
    r"(?i)(authori[sz]ation|cookie|token|secret|password|passwd|api[_-]?key|session|csrf|"
    r"signature|credential|dsn|e-?mail|x-amz-)"
)
# The only request headers kept: none of them identifies or authenticates anyone.
_SAFE_HEADERS = frozenset(
    {"content-type", "content-length", "accept", "user-agent", "x-request-id", "host"}
)


def default_release() -> str:
    try:
        return f"spacekontext@{version('spacekontext')}"
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "spacekontext@unknown"


def init_error_tracking(dsn: str, *, release: str, environment: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        release=release,
        environment=environment,
        include_local_variables=False,
        max_request_body_size="never",
        max_breadcrumbs=0,
        # The framework integrations would patch Starlette, SQLAlchemy, Redis, httpx… on the
        # hot path, and report errors a second time; the edge layer reports them once.
        auto_enabling_integrations=False,
        # Log records are not events (the edge reports the exception the log line is about).
        disabled_integrations=[LoggingIntegration()],
        traces_sample_rate=None,
        before_send=scrub_event,
    )


def shutdown_error_tracking(timeout_s: float = 2.0) -> None:
    """Send what is queued and stop reporting (the app's shutdown, and tests)."""
    global _throttle
    _throttle = Throttle()
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=timeout_s)
    sentry_sdk.get_global_scope().set_client(None)


def enabled() -> bool:
    return sentry_sdk.get_client().is_active()


def _scope(scope: Any, *, request_id: str, route: str, method: str, status: int) -> None:
    scope.set_transaction_name(route, source="route")
    scope.set_tag("request_id", request_id)
    scope.set_tag("route", route)
    scope.set_tag("http.method", method)
    scope.set_tag("http.status_code", str(status))
    scope.set_context("request", {"method": method, "route": route, "request_id": request_id})


class Throttle:
    """At most one report per key (route, status, error type) per `interval_s`. A fault on a
    busy route, or an outage answered 503 on every request, would otherwise cost an event's
    serialisation on each of thousands of requests a second and exhaust the Sentry quota; one
    event per key and interval says the same. The next event of a key counts what was left
    out in between (tag `suppressed`)."""

    def __init__(self, interval_s: float = 10.0, *, clock: Any = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[tuple[str, ...], float] = {}
        self._suppressed: dict[tuple[str, ...], int] = {}

    def admit(self, key: tuple[str, ...]) -> int | None:
        """None: leave this one out; else the number left out since the last one sent."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        if len(self._last) > 10_000:  # keys are route templates: this only bounds a bug
            self._last.clear()
        self._last[key] = now
        return self._suppressed.pop(key, 0)


_throttle = Throttle()


def report_exception(
    exc: BaseException, *, request_id: str, route: str, method: str, status: int
) -> None:
    if not enabled():
        return
    suppressed = _throttle.admit((route, str(status), type(exc).__qualname__))
    if suppressed is None:
        return
    with sentry_sdk.new_scope() as scope:
        _scope(scope, request_id=request_id, route=route, method=method, status=status)
        scope.set_tag("suppressed", str(suppressed))
        sentry_sdk.capture_exception(exc)


def report_server_error(*, request_id: str, route: str, method: str, status: int) -> None:
    """A 5xx answer without an exception behind it (an outage answered 503, say); grouped by
    route and status."""
    if not enabled():
        return
    suppressed = _throttle.admit((route, str(status), ""))
    if suppressed is None:
        return
    with sentry_sdk.new_scope() as scope:
        _scope(scope, request_id=request_id, route=route, method=method, status=status)
        scope.set_tag("suppressed", str(suppressed))
        scope.fingerprint = ["server-error", route, str(status)]
        sentry_sdk.capture_message(f"{status} answered on {method} {route}", level="error")


def report_job_failure(exc: BaseException, *, kind: str, job_id: str, attempts: int) -> None:
    """A background job that failed for the last time (its retries are not reported: a
    transient failure that a retry cures is not an error)."""
    if not enabled():
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_transaction_name(f"job {kind}", source="task")
        scope.set_tag("job_kind", kind)
        scope.set_tag("job_id", job_id)
        scope.set_tag("job_attempts", str(attempts))
        sentry_sdk.capture_exception(exc)


# --- the scrubber -------------------------------------------------------------------------------


def scrub_text(text: str) -> str:
    text = _JWT.sub(FILTERED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{FILTERED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
    text = _EMAIL.sub(FILTERED, text)
    if len(text) > MAX_STRING_CHARS:
        text = text[:MAX_STRING_CHARS] + "…[truncated]"
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            key: FILTERED if isinstance(key, str) and _SENSITIVE_KEY.search(key) else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _scrub_request(request: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key in ("method", "url"):
        if isinstance(request.get(key), str):
            kept[key] = request[key].split("?", 1)[0]
    headers = request.get("headers")
    if isinstance(headers, Mapping):
        kept["headers"] = {
            name: value for name, value in headers.items() if name.lower() in _SAFE_HEADERS
        }
    # Dropped: data (bodies), cookies, query_string, env.
    return kept


def _drop_frame_vars(event: dict[str, Any]) -> None:
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)


def scrub_event(event: Any, hint: Any = None) -> Any:
    """`before_send`: the event as it may leave the process."""
    if not isinstance(event, dict):
        return event
    _drop_frame_vars(event)
    if isinstance(event.get("request"), Mapping):
        event["request"] = _scrub_request(event["request"])
    user = event.get("user")
    event["user"] = {"id": user["id"]} if isinstance(user, Mapping) and "id" in user else {}
    event.pop("breadcrumbs", None)
    scrubbed: dict[str, Any] = _scrub(event)
    return scrubbed
