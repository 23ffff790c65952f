"""Error tracking against a real HTTP endpoint that stands in for Sentry: the SDK's envelopes
are captured as sent and read back. What must be in them (the request id the client saw, the
route template, the release) and what must never be (tokens, cookies, e-mail addresses,
document bodies)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
import sentry_sdk
from fastapi import FastAPI
from pytest_httpserver import HTTPServer
from sqlalchemy import text

from spacekontext.app import configure_error_tracking, create_app
from spacekontext.auth.tokens import DevTokens
from spacekontext.errors import Unavailable
from spacekontext.jobs.service import JobWorker, enqueue
from spacekontext.observability import error_tracking
from spacekontext.observability.error_tracking import Throttle, scrub_event, scrub_text
from spacekontext.services import Services
from spacekontext.settings import Settings

RELEASE = "spacekontext@test-7"
EMAIL = "ann.secret@example.com"
DOCUMENT_MARK = "floorplan-body-6c1e"
COOKIE_VALUE = "cookie-value-90ab"


def envelopes(server: HTTPServer) -> list[dict[str, Any]]:
    """Every event item the SDK sent, decoded."""
    events: list[dict[str, Any]] = []
    for request, _ in server.log:
        body = request.get_data()
        encoding = request.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        lines = body.split(b"\n")
        # envelope header, then (item header, item payload) pairs
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if orjson.loads(header).get("type") == "event":
                events.append(orjson.loads(payload))
    return events


def raw_bodies(server: HTTPServer) -> bytes:
    out = b""
    for request, _ in server.log:
        body = request.get_data()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        out += body
    return out


@pytest.fixture
def sentry_endpoint(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_data("{}")
    yield httpserver
    error_tracking.shutdown_error_tracking()


@pytest.fixture
async def tracked(
    settings: Settings, services: Services, sentry_endpoint: HTTPServer
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    dsn = f"http://public@127.0.0.1:{sentry_endpoint.port}/1"
    configured = settings.model_copy(update={"sentry_dsn": dsn, "sentry_release": RELEASE})
    app = create_app(configured, services=services)

    @app.post("/api/test-faults/{thing_id}/explode")
    async def explode(thing_id: str, body: dict[str, Any]) -> None:
        raise RuntimeError(
            f"could not save {thing_id} for {EMAIL}: {body['data']} "
            f"(postgresql://app:hunter2@db.internal/app)"
        )

    @app.get("/api/test-faults/{thing_id}/outage")
    async def outage(thing_id: str) -> None:
        raise Unavailable("the database is unavailable", code="database_unavailable")

    @app.get("/api/test-faults/{thing_id}/driver-gone")
    async def driver_gone(thing_id: str) -> None:
        import asyncpg

        raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, app


async def test_an_unhandled_error_is_reported_scrubbed(
    tracked: tuple[httpx.AsyncClient, FastAPI], sentry_endpoint: HTTPServer, settings: Settings
) -> None:
    http, _ = tracked
    token = DevTokens.from_data_dir(settings.data_dir).mint(EMAIL)
    response = await http.post(
        "/api/test-faults/abc123/explode?email=" + EMAIL,
        json={"data": {"notes": DOCUMENT_MARK * 100}},
        headers={
            "Authorization": f"Bearer {token}",
            "Cookie": f"__session={COOKIE_VALUE}; theme=dark",
            "X-Request-ID": "req-explode-1",
        },
    )
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-explode-1"
    assert sentry_sdk.flush(timeout=10) is None

    (event,) = envelopes(sentry_endpoint)
    assert event["release"] == RELEASE
    assert event["environment"] == "test"
    assert event["transaction"] == "/api/test-faults/{thing_id}/explode"
    assert event["tags"]["request_id"] == "req-explode-1"
    assert event["tags"]["route"] == "/api/test-faults/{thing_id}/explode"
    assert event["tags"]["http.status_code"] == "500"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert "could not save abc123" in exception["value"]
    assert exception["stacktrace"]["frames"], "the stack trace is the point of a report"

    sent = raw_bodies(sentry_endpoint)
    for secret in (token.encode(), COOKIE_VALUE.encode(), EMAIL.encode(), b"hunter2"):
        assert secret not in sent
    # The document quoted in the message is cut to a stub, not sent whole.
    assert sent.count(DOCUMENT_MARK.encode()) < 50


async def test_a_5xx_answer_is_reported_with_its_route(
    tracked: tuple[httpx.AsyncClient, FastAPI], sentry_endpoint: HTTPServer, settings: Settings
) -> None:
    http, _ = tracked
    token = DevTokens.from_data_dir(settings.data_dir).mint(EMAIL)
    response = await http.get(
        "/api/test-faults/xyz/outage", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 503
    request_id = response.headers["x-request-id"]
    sentry_sdk.flush(timeout=10)
    (event,) = envelopes(sentry_endpoint)
    assert event["tags"]["request_id"] == request_id
    assert event["tags"]["http.status_code"] == "503"
    assert event["transaction"] == "/api/test-faults/{thing_id}/outage"
    assert event["message"] == "503 answered on GET /api/test-faults/{thing_id}/outage"
    assert token.encode() not in raw_bodies(sentry_endpoint)


async def test_an_outage_that_escapes_as_a_driver_error_is_reported_as_its_503(
    tracked: tuple[httpx.AsyncClient, FastAPI], sentry_endpoint: HTTPServer
) -> None:
    http, _ = tracked
    response = await http.get("/api/test-faults/q/driver-gone")
    assert response.status_code == 503
    sentry_sdk.flush(timeout=10)
    (event,) = envelopes(sentry_endpoint)
    assert event["tags"]["http.status_code"] == "503"
    assert event["exception"]["values"][0]["type"] == "ConnectionDoesNotExistError"
    assert event["tags"]["request_id"] == response.headers["x-request-id"]


async def test_a_storm_of_5xx_is_one_event_per_route_and_interval(
    tracked: tuple[httpx.AsyncClient, FastAPI], sentry_endpoint: HTTPServer, settings: Settings
) -> None:
    http, _ = tracked
    token = DevTokens.from_data_dir(settings.data_dir).mint(EMAIL)
    for _ in range(20):
        response = await http.get(
            "/api/test-faults/xyz/outage", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 503
    sentry_sdk.flush(timeout=10)
    (event,) = envelopes(sentry_endpoint)
    assert event["tags"]["suppressed"] == "0"


def test_the_throttle_counts_what_it_leaves_out() -> None:
    now = [100.0]
    throttle = Throttle(10.0, clock=lambda: now[0])
    key = ("/api/projects", "503", "")
    assert throttle.admit(key) == 0
    assert throttle.admit(key) is None
    assert throttle.admit(key) is None
    assert throttle.admit(("/api/projects", "500", "RuntimeError")) == 0  # another key
    now[0] += 10.0
    assert throttle.admit(key) == 2


async def test_client_errors_are_not_reported(
    tracked: tuple[httpx.AsyncClient, FastAPI], sentry_endpoint: HTTPServer
) -> None:
    http, _ = tracked
    assert (await http.get("/api/projects")).status_code == 401
    assert (await http.get("/api/no-such-route")).status_code == 404
    sentry_sdk.flush(timeout=10)
    assert envelopes(sentry_endpoint) == []


async def test_a_job_that_fails_for_the_last_time_is_reported(
    settings: Settings, services: Services, sentry_endpoint: HTTPServer
) -> None:
    dsn = f"http://public@127.0.0.1:{sentry_endpoint.port}/1"
    configure_error_tracking(settings.model_copy(update={"sentry_dsn": dsn}))

    async def broken(payload: dict[str, Any]) -> None:
        raise RuntimeError(f"cannot delete the objects of {EMAIL}")

    worker = JobWorker(services.db, {"test.broken": broken})
    async with services.db.unit_of_work() as uow:
        job_id = await enqueue(uow.session, "test.broken", {}, max_attempts=2)
        await uow.commit()
    assert await worker.run_once() == 1  # attempt 1 of 2: retried later, not reported
    sentry_sdk.flush(timeout=10)
    assert envelopes(sentry_endpoint) == []

    async with services.db.unit_of_work() as uow:
        await uow.session.execute(text("UPDATE app.jobs SET run_after = now()"))
        await uow.commit()
    assert await worker.run_once() == 1
    sentry_sdk.flush(timeout=10)
    (event,) = envelopes(sentry_endpoint)
    assert event["transaction"] == "job test.broken"
    assert event["tags"]["job_id"] == job_id
    assert event["tags"]["job_attempts"] == "2"
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert EMAIL.encode() not in raw_bodies(sentry_endpoint)


async def test_without_a_dsn_nothing_is_set_up(settings: Settings, services: Services) -> None:
    assert settings.sentry_dsn is None
    create_app(settings, services=services)
    assert not error_tracking.enabled()


def test_the_scrubber_removes_credentials_and_personal_data() -> None:
    event = {
        "request": {
            "method": "POST",
            "url": "http://h/api/x?token=abc",
            "query_string": "token=abc",
            "cookies": {"__session": "s"},
            "data": {"data": "a document"},
            "headers": {"Authorization": "Bearer abc", "Cookie": "a=b", "User-Agent": "ua"},
            "env": {"REMOTE_ADDR": "10.0.0.1"},
        },
        "user": {"id": "u1", "email": "a@b.co", "ip_address": "10.0.0.1"},
        "extra": {"password": "p", "nested": [{"api_key": "k"}, "mail me: x.y@z.io"]},
        "exception": {
            "values": [{"value": "x", "stacktrace": {"frames": [{"vars": {"doc": "body"}}]}}]
        },
        "breadcrumbs": {"values": [{"message": "GET /?sig=1"}]},
    }
    scrubbed = scrub_event(event)
    assert scrubbed["request"] == {
        "method": "POST",
        "url": "http://h/api/x",
        "headers": {"User-Agent": "ua"},
    }
    assert scrubbed["user"] == {"id": "u1"}
    assert scrubbed["extra"] == {
        "password": "[Filtered]",
        "nested": [{"api_key": "[Filtered]"}, "mail me: [Filtered]"],
    }
    assert "vars" not in scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert "breadcrumbs" not in scrubbed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user ann@example.com failed", "user [Filtered] failed"),
        ("Authorization: Bearer abcdefgh12345678", "Authorization: Bearer [Filtered]"),
        ("jwt eyJhbGciOi.eyJzdWIiOiJ4In0.sig-nature_1", "jwt [Filtered]"),
        ("postgresql://app:hunter2@db/app", "postgresql://app:[Filtered]@db/app"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
