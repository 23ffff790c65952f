"""The process's own copy of user rows (users/directory.py), against a real PostgreSQL: served
only while its listener listens, dropped on every change whatever made it, never kept from a
read that raced a change."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spacekontext.app import create_app
from spacekontext.auth.tokens import Identity
from spacekontext.db.engine import Database
from spacekontext.db.urls import libpq_dsn
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from spacekontext.users.directory import UserDirectory
from spacekontext.users.service import CurrentUserInfo
from tests.api.test_webhooks import post, user_event


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def sql(settings: Settings, statement: str, *params: object) -> None:
    assert settings.database_url is not None
    with psycopg.connect(libpq_dsn(settings.database_url), autocommit=True) as conn:
        conn.execute(statement, params)  # type: ignore[arg-type]


@pytest.fixture
async def workers(settings: Settings, engine: AsyncEngine) -> AsyncIterator[list[Services]]:
    """Two processes' worth of services on one database, each with its own directory, as two
    workers of `serve` have."""
    built = [build_services(settings, Database(engine)) for _ in range(2)]
    for services in built:
        assert services.users.directory is not None
        services.start()
    for services in built:
        directory = services.users.directory
        assert directory is not None
        await eventually(lambda d=directory: d.serving, "the directory serves")  # type: ignore[misc]
    yield built
    for services in built:
        await services.aclose()


@pytest.fixture
def subject(settings: Settings) -> str:
    name = f"user_dir_{secrets.token_hex(4)}"
    yield name
    sql(settings, "DELETE FROM app.users WHERE clerk_id = %s", name)


def directory_of(services: Services) -> UserDirectory[CurrentUserInfo]:
    assert services.users.directory is not None
    return services.users.directory


async def test_a_row_is_served_from_the_copy_until_it_changes(
    workers: list[Services], settings: Settings, subject: str
) -> None:
    a, b = workers
    identity = Identity(subject=subject, email="ann@example.com")
    first = await a.users.resolve(identity)
    assert await b.users.resolve(identity) == first
    # Kept by both processes: the next lookups read nothing from the database.
    assert directory_of(a).get(subject) == first
    assert directory_of(b).get(subject) == first

    # A change made by any path (here an operator's SQL) reaches both copies.
    sql(settings, "UPDATE app.users SET email = 'new@example.com' WHERE clerk_id = %s", subject)
    for services in workers:
        directory = directory_of(services)
        await eventually(lambda d=directory: d.get(subject) is None, "the row is dropped")  # type: ignore[misc]
        assert (await services.users.resolve(identity)).email == "new@example.com"


async def test_a_webhook_to_one_worker_is_heard_by_the_other(
    workers: list[Services], settings: Settings, subject: str
) -> None:
    a, b = workers
    created = await b.users.resolve(Identity(subject=subject, email="ann@example.com"))
    assert directory_of(b).get(subject) == created
    app = create_app(settings, services=a)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        updated = user_event("user.updated", subject, email="ann.moved@example.com")
        assert (await post(client, updated, f"msg_{subject}_1")).status_code == 200
        await eventually(lambda: directory_of(b).get(subject) is None, "b drops the row")
        assert (await b.users.resolve(Identity(subject=subject))).email == "ann.moved@example.com"

        deleted = user_event("user.deleted", subject)
        assert (await post(client, deleted, f"msg_{subject}_2")).status_code == 200
    await eventually(lambda: directory_of(b).get(subject) is None, "b drops the deleted row")
    # The deleted user is never served again: first sight makes a new row, with a new id.
    again = await b.users.resolve(Identity(subject=subject))
    assert again.id != created.id
    # The deletion's job (removing the user's objects) is this test's: not left for others.
    sql(settings, "DELETE FROM app.jobs WHERE payload->>'prefix' = %s", f"users/{created.id}/")


async def test_a_read_that_raced_a_change_is_not_kept(
    workers: list[Services], settings: Settings, subject: str
) -> None:
    a, _ = workers
    directory = directory_of(a)
    user = await a.users.resolve(Identity(subject=subject))
    sql(settings, "DELETE FROM app.users WHERE clerk_id = %s", subject)
    await eventually(lambda: directory.get(subject) is None, "the row is dropped")

    # A row read before a change is heard (the epoch taken before the read) is not kept.
    epoch = directory.epoch
    sql(settings, "UPDATE app.users SET updated_at = now() WHERE false")  # no row: no notice
    other = f"{subject}_other"
    await a.users.resolve(Identity(subject=other))
    sql(settings, "UPDATE app.users SET email = NULL WHERE clerk_id = %s", other)
    await eventually(lambda: directory.epoch != epoch, "a change is heard")
    directory.keep(subject, user, epoch)
    assert directory.get(subject) is None
    sql(settings, "DELETE FROM app.users WHERE clerk_id = %s", other)


async def test_lookups_go_to_the_database_while_the_listener_is_down(
    workers: list[Services], settings: Settings, subject: str
) -> None:
    a, _ = workers
    directory = directory_of(a)
    identity = Identity(subject=subject)
    user = await a.users.resolve(identity)
    assert directory.get(subject) == user
    sql(
        settings,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'spacekontext:listen' AND datname = current_database()",
    )
    await eventually(lambda: not directory.serving, "the directory stops serving")
    # Nothing is served from the copy meanwhile, and what was kept is gone.
    assert directory.get(subject) is None
    assert await a.users.resolve(identity) == user
    await eventually(lambda: directory.serving, "it listens again", timeout_s=15)
    assert directory.get(subject) is None  # changes made while deaf were not heard
    assert await a.users.resolve(identity) == user
    assert directory.get(subject) == user


async def test_a_kept_row_expires() -> None:
    now = [0.0]
    directory: UserDirectory[str] = UserDirectory(
        "postgresql://127.0.0.1:1/none", ttl_s=10.0, clock=lambda: now[0]
    )
    directory._listener.listening = True  # as its listener is once it listens
    directory.keep("user_x", "row", directory.epoch)
    assert directory.get("user_x") == "row"
    now[0] = 10.0
    assert directory.get("user_x") is None


def test_the_directory_listens_on_the_primary_only(settings: Settings) -> None:
    assert settings.listen_url == settings.database_url
    bounced = settings.model_copy(update={"database_pooler": "pgbouncer"})
    assert bounced.listen_url is None
    direct = bounced.model_copy(update={"database_direct_url": "postgresql://primary/app"})
    assert direct.listen_url == "postgresql://primary/app"
    assert settings.model_copy(update={"user_directory": False}).listen_url is None
    assert settings.model_copy(update={"profile": "naive"}).listen_url is None
