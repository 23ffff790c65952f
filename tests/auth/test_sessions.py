"""Clerk sessions as the web client sends them: the `__session` cookie (and its suffixed
variant) or a bearer token through one verifier, Clerk's session claims (azp, sts, exp/nbf with
a small skew), CSRF on cookie-authenticated writes, CORS with credentials, and users provisioned
from Clerk's Backend API (a real local HTTP server standing in for it)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer

from spacekontext.app import create_app
from spacekontext.auth.session import cookie_suffix, origin_of
from spacekontext.auth.tokens import DevTokens, Identity
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings

ISSUER = "https://clerk.app.example.test"
APP_ORIGIN = "https://app.example.test"
PUBLISHABLE_KEY = "pk_test_Y2xlcmsuYXBwLmV4YW1wbGUudGVzdCQ"


class ClerkKeys:
    """An RSA key published as a JWKS, issuing Clerk-shaped v2 session tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [jwk | {"kid": "ins_1", "use": "sig", "alg": "RS256"}]}

    def session_token(self, sub: str = "user_2ann", **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "azp": APP_ORIGIN,
            "exp": now + 60,
            "fva": [0, -1],
            "iat": now,
            "iss": ISSUER,
            "nbf": now - 10,
            "sid": "sess_2abc",
            "sts": "active",
            "sub": sub,
            "v": 2,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "ins_1"})


def cookie(**values: str) -> dict[str, str]:
    """A `Cookie` header, as the browser sends it (httpx's per-request cookies are
    deprecated)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in values.items())}


@pytest.fixture(scope="module")
def clerk_keys() -> ClerkKeys:
    return ClerkKeys()


@pytest.fixture
def clerk(httpserver: HTTPServer, clerk_keys: ClerkKeys) -> Iterator[HTTPServer]:
    httpserver.expect_request("/.well-known/jwks.json").respond_with_json(clerk_keys.jwks())
    yield httpserver


@pytest.fixture
def clerk_settings(settings: Settings, clerk: HTTPServer) -> Settings:
    return settings.model_copy(
        update={
            "auth_jwks_url": clerk.url_for("/.well-known/jwks.json"),
            "auth_issuer": ISSUER,
            "auth_authorized_parties": [APP_ORIGIN],
            "cors_origins": [APP_ORIGIN],
            "clerk_publishable_key": PUBLISHABLE_KEY,
        }
    )


@pytest.fixture
async def clerk_services(clerk_settings: Settings, services: Services) -> AsyncIterator[Services]:
    configured = build_services(clerk_settings, services.db)
    yield configured
    await configured.aclose()


@pytest.fixture
async def app_client(
    clerk_settings: Settings, clerk_services: Services
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(clerk_settings, services=clerk_services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def test_cookie_suffix_is_clerks() -> None:
    # Clerk: url-safe base64 of the SHA-1 of the publishable key, first 8 characters.
    import base64
    import hashlib

    digest = hashlib.sha1(PUBLISHABLE_KEY.encode()).digest()
    assert cookie_suffix(PUBLISHABLE_KEY) == base64.urlsafe_b64encode(digest).decode()[:8]
    assert len(cookie_suffix(PUBLISHABLE_KEY)) == 8


def test_origin_of() -> None:
    assert origin_of("https://App.Example.test:443/x?y") == "https://app.example.test"
    assert origin_of("http://localhost:3000/projects") == "http://localhost:3000"
    assert origin_of("null") is None
    assert origin_of("javascript:alert(1)") is None
    assert origin_of("http://[::1]:8000/") == "http://[::1]:8000"


async def test_session_cookie_authenticates_like_a_bearer_token(
    app_client: httpx.AsyncClient, clerk_keys: ClerkKeys
) -> None:
    token = clerk_keys.session_token()
    by_cookie = await app_client.get("/api/projects", headers=cookie(__session=token))
    assert by_cookie.status_code == 200, by_cookie.text
    by_bearer = await app_client.get("/api/projects", headers={"Authorization": f"Bearer {token}"})
    assert by_bearer.status_code == 200
    assert by_cookie.json()["projects"] == by_bearer.json()["projects"]


async def test_suffixed_session_cookie(
    app_client: httpx.AsyncClient, clerk_keys: ClerkKeys
) -> None:
    name = f"__session_{cookie_suffix(PUBLISHABLE_KEY)}"
    token = clerk_keys.session_token()
    response = await app_client.get("/api/projects", headers=cookie(**{name: token}))
    assert response.status_code == 200, response.text
    # With the suffix known, the suffixed cookie is preferred over a stale plain one.
    both = await app_client.get(
        "/api/projects", headers=cookie(**{name: token, "__session": "stale.not.valid"})
    )
    assert both.status_code == 200


async def test_no_credentials_is_the_clients_401(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/api/projects", headers=cookie(other="x"))
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "Unauthorized"
    assert body["code"] == "missing_token"


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"sts": "pending"}, "session_pending"),
        ({"azp": "https://evil.example.test"}, "invalid_token"),
        ({"iss": "https://clerk.other.test"}, "invalid_token"),
        # Times relative to the test's own moment (parameters are built at collection).
        ({"exp": -30}, "token_expired"),
        ({"nbf": 60}, "invalid_token"),
    ],
)
async def test_clerk_session_claims_refused(
    app_client: httpx.AsyncClient, clerk_keys: ClerkKeys, claims: dict[str, Any], code: str
) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    token = clerk_keys.session_token(**claims)
    response = await app_client.get("/api/projects", headers=cookie(__session=token))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code


async def test_small_clock_skew_is_tolerated(
    app_client: httpx.AsyncClient, clerk_keys: ClerkKeys
) -> None:
    now = int(time.time())
    # Expired 2 s ago and valid from 2 s ahead: within the 5 s skew.
    token = clerk_keys.session_token(exp=now - 2, nbf=now + 2)
    response = await app_client.get("/api/projects", headers=cookie(__session=token))
    assert response.status_code == 200, response.text


async def test_token_without_azp_is_accepted(
    app_client: httpx.AsyncClient, clerk_keys: ClerkKeys
) -> None:
    token = clerk_keys.session_token(azp=None)
    response = await app_client.get("/api/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_cookie_writes_need_a_trusted_origin(
    app_client: httpx.AsyncClient, clerk_keys: ClerkKeys
) -> None:
    session = cookie(__session=clerk_keys.session_token())
    body = {"name": "Lakeside House"}

    async def post(headers: dict[str, str], with_cookie: bool = True) -> httpx.Response:
        sent = {**headers, **session} if with_cookie else headers
        return await app_client.post("/api/projects", json=body, headers=sent)

    missing = await post({})
    assert missing.status_code == 403
    assert missing.json()["code"] == "csrf_origin_missing"
    for hostile in ("https://evil.example.test", "https://app.example.test.evil.test", "null"):
        refused = await post({"Origin": hostile})
        assert refused.status_code == 403, hostile
        assert refused.json()["code"] == "csrf_origin_untrusted"
    refused_referer = await post({"Referer": "https://evil.example.test/app.example.test"})
    assert refused_referer.status_code == 403

    # The same origin (the Host it was sent to), a configured origin, or its Referer.
    assert (await post({"Origin": "http://testserver"})).status_code == 201
    assert (await post({"Origin": APP_ORIGIN})).status_code == 201
    assert (await post({"Referer": f"{APP_ORIGIN}/projects/abc"})).status_code == 201
    # A bearer token is no ambient credential: no origin check.
    token = clerk_keys.session_token()
    bearer = await post(
        {"Authorization": f"Bearer {token}", "Origin": "https://evil.example.test"},
        with_cookie=False,
    )
    assert bearer.status_code == 201
    # A refused write changed nothing.
    listed = await app_client.get("/api/projects", headers=session)
    assert len(listed.json()["projects"]) == 4


async def test_cors_preflight_and_credentials(
    app_client: httpx.AsyncClient, clerk_keys: ClerkKeys
) -> None:
    preflight = await app_client.options(
        "/api/projects",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]

    hostile = await app_client.options(
        "/api/projects",
        headers={"Origin": "https://evil.example.test", "Access-Control-Request-Method": "POST"},
    )
    assert hostile.status_code == 400
    assert "access-control-allow-origin" not in hostile.headers

    # The hot GET route and a FastAPI route both carry the CORS headers.
    for path in ("/api/projects", "/api/cad-blocks"):
        answered = await app_client.get(
            path, headers={"Origin": APP_ORIGIN, **cookie(__session=clerk_keys.session_token())}
        )
        assert answered.status_code == 200, path
        assert answered.headers["access-control-allow-origin"] == APP_ORIGIN
        assert answered.headers["access-control-allow-credentials"] == "true"
        assert "x-request-id" in answered.headers["access-control-expose-headers"].lower()


async def test_no_cors_headers_without_configured_origins(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/projects",
        headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


async def test_dev_token_in_the_session_cookie(
    client: httpx.AsyncClient, dev_tokens: DevTokens
) -> None:
    """The console's dev sign-in sets `__session` to a dev token."""
    token = dev_tokens.mint("cookie.dev@example.com")
    listed = await client.get("/api/projects", headers=cookie(__session=token))
    assert listed.status_code == 200
    created = await client.post(
        "/api/projects",
        json={"name": "From the console"},
        headers={"Origin": "http://testserver", **cookie(__session=token)},
    )
    assert created.status_code == 201, created.text


async def test_first_sight_provisions_from_clerks_backend_api(
    clerk_settings: Settings, services: Services, clerk: HTTPServer
) -> None:
    clerk.expect_request(
        "/v1/users/user_2zaha", headers={"Authorization": "Bearer sk_test_secret"}
    ).respond_with_json(
        {
            "id": "user_2zaha",
            "primary_email_address_id": "idn_2",
            "email_addresses": [
                {"id": "idn_1", "email_address": "old@example.com"},
                {"id": "idn_2", "email_address": "Zaha@Example.com"},
            ],
            "first_name": "Zaha",
            "last_name": "Hadid",
            "image_url": "https://img.example.test/z.png",
        }
    )
    clerk.expect_request("/v1/users/user_2down").respond_with_data("upstream down", status=502)
    configured = build_services(
        clerk_settings.model_copy(
            update={"clerk_secret_key": "sk_test_secret", "clerk_api_url": clerk.url_for("/")}
        ),
        services.db,
    )
    try:
        user = await configured.users.resolve(Identity(subject="user_2zaha"))
        assert user.email == "zaha@example.com"
        # A failed lookup provisions the user without an e-mail (the webhook fills it in).
        down = await configured.users.resolve(Identity(subject="user_2down"))
        assert down.email is None
        # Subjects that are not Clerk user ids are never sent to Clerk.
        before = len(clerk.log)
        await configured.users.resolve(Identity(subject="dev|x@example.com"))
        await configured.users.resolve(Identity(subject="user_../../v1/x"))
        assert len(clerk.log) == before
    finally:
        await configured.aclose()
