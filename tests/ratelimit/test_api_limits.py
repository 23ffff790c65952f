"""Rate limits as a client sees them: 429 with a correct Retry-After past the limit, per user and
per class, per IP for webhooks, shared between instances through Redis, and still enforced
per process while Redis is down."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from spacekontext.app import create_app
from spacekontext.services import build_services
from spacekontext.settings import Settings
from tests.redisproc import RedisProcess

Auth = Callable[[str], dict[str, str]]
LIMITS = {
    "rate_limit_enabled": True,
    "rate_limit_read_per_s": 0.5,
    "rate_limit_read_burst": 5,
    "rate_limit_write_per_s": 0.25,
    "rate_limit_write_burst": 2,
    "rate_limit_webhook_per_s": 0.1,
    "rate_limit_webhook_burst": 2,
}


@pytest.fixture
async def make_client(
    settings: Settings, services
) -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:
    """Clients of app instances with small limits, over the test's rolled-back transaction."""
    opened = []
    bind = services.db  # the per-test database bound to the rolled-back connection

    async def make(**overrides: object) -> httpx.AsyncClient:
        configured = settings.model_copy(update=LIMITS | overrides)
        built = build_services(configured, bind)
        app = create_app(configured, services=built)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://t")
        opened.append((client, built))
        return client

    yield make
    for client, built in opened:
        await client.aclose()
        await built.aclose()


def user(auth: Auth) -> dict[str, str]:
    return auth(f"rl-{secrets.token_hex(4)}@example.com")


async def test_reads_past_the_burst_get_429_with_retry_after(
    make_client: Callable[..., Awaitable[httpx.AsyncClient]], auth: Auth
) -> None:
    client = await make_client()
    ann, bob = user(auth), user(auth)
    for _ in range(5):
        assert (await client.get("/api/projects", headers=ann)).status_code == 200
    refused = await client.get("/api/projects", headers=ann)
    assert refused.status_code == 429
    # One token at 0.5/s is 2 s away (less a few ms of refill): rounded up, 2.
    assert refused.headers["Retry-After"] == "2"
    body = refused.json()
    assert body["code"] == "rate_limited"
    assert body["details"] == {"limit": "read", "retryAfterS": 2}
    # Another user has a bucket of their own.
    assert (await client.get("/api/projects", headers=bob)).status_code == 200


async def test_writes_are_limited_more_strictly_and_separately(
    make_client: Callable[..., Awaitable[httpx.AsyncClient]], auth: Auth
) -> None:
    client = await make_client()
    ann = user(auth)
    for name in ("one", "two"):
        response = await client.post("/api/projects", json={"name": name}, headers=ann)
        assert response.status_code == 201
    refused = await client.post("/api/projects", json={"name": "three"}, headers=ann)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "4"  # 1 token at 0.25/s
    assert refused.json()["details"]["limit"] == "write"
    # Refused writes change nothing, and reads have their own bucket.
    listing = await client.get("/api/projects", headers=ann)
    assert listing.status_code == 200
    assert [p["name"] for p in listing.json()["projects"]] == ["two", "one"]


async def test_default_limits_are_stricter_for_writes_and_uploads() -> None:
    defaults = Settings()
    assert defaults.rate_limit_write_per_s < defaults.rate_limit_read_per_s
    assert defaults.rate_limit_upload_per_s < defaults.rate_limit_write_per_s
    assert defaults.rate_limit_write_burst < defaults.rate_limit_read_burst
    assert defaults.rate_limit_upload_burst < defaults.rate_limit_write_burst


async def test_webhooks_are_limited_per_client_ip(
    make_client: Callable[..., Awaitable[httpx.AsyncClient]],
) -> None:
    client = await make_client()
    statuses = [
        (await client.post("/api/webhooks/clerk", content=b"{}")).status_code for _ in range(3)
    ]
    assert statuses[:2] == [400, 400]  # unsigned: refused by the signature check
    assert statuses[2] == 429
    refused = await client.post("/api/webhooks/clerk", content=b"{}")
    assert refused.headers["Retry-After"] == "10"


async def test_disabled_limits_never_refuse(
    make_client: Callable[..., Awaitable[httpx.AsyncClient]], auth: Auth
) -> None:
    client = await make_client(rate_limit_enabled=False)
    ann = user(auth)
    for _ in range(20):
        assert (await client.get("/api/projects", headers=ann)).status_code == 200


async def test_instances_share_buckets_through_redis(
    make_client: Callable[..., Awaitable[httpx.AsyncClient]],
    auth: Auth,
    redis_url: str,
    key_prefix: str,
) -> None:
    a = await make_client(redis_url=redis_url, cache_key_prefix=key_prefix)
    b = await make_client(redis_url=redis_url, cache_key_prefix=key_prefix)
    ann = user(auth)
    for client in (a, b, a, b, a):
        assert (await client.get("/api/projects", headers=ann)).status_code == 200
    refused = await b.get("/api/projects", headers=ann)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"


async def test_redis_down_falls_back_to_per_process_limits(
    make_client: Callable[..., Awaitable[httpx.AsyncClient]],
    auth: Auth,
    private_redis: RedisProcess,
) -> None:
    client = await make_client(redis_url=private_redis.url)
    ann = user(auth)
    assert (await client.get("/api/projects", headers=ann)).status_code == 200
    private_redis.kill()
    statuses = [(await client.get("/api/projects", headers=ann)).status_code for _ in range(6)]
    # Still served, and still limited: the local bucket starts full (burst 5).
    assert statuses == [200] * 5 + [429]
