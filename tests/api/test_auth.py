"""Bearer tokens: every /api route but webhooks requires one; dev tokens and JWKS-verified
JWTs (tested against a real local JWKS endpoint with an RSA key) behind one interface."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from spacekontext.app import create_app
from spacekontext.auth.tokens import DevTokens, JwksVerifier
from spacekontext.errors import Unauthenticated
from spacekontext.services import Services
from spacekontext.settings import Settings

ISSUER = "https://clerk.example.test"
AUDIENCE = "space-kontext"


class Jwks:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.requests = 0

    def add_key(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def document(self) -> dict[str, Any]:
        jwks = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            jwks.append(jwk | {"kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": jwks}

    def token(self, kid: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user_2abc", "iat": now, "exp": now + 600}
        body.update(claims)
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[tuple[Jwks, str]]:
    jwks = Jwks()
    jwks.add_key("k1")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            jwks.requests += 1
            body = json.dumps(jwks.document()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield jwks, f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def api_routes() -> list[tuple[str, str]]:
    """Every operation of the OpenAPI document under /api."""
    schema = create_app(Settings(env="test")).openapi()
    routes = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api") or path.startswith("/api/webhooks"):
            continue
        if path.startswith("/api/storage/local"):
            continue  # signed URLs: the signature is the credential
        if path == "/api/sketchfab/oauth/callback":
            continue  # a page navigation: always a redirect, the session checked inside
        if path.endswith("/thumbnail.svg"):
            continue  # public library thumbnails (for <img>); private ones checked in cadblocks
        routes += [(method.upper(), path) for method in operations]
    return routes


@pytest.mark.parametrize(("method", "path"), api_routes())
async def test_every_api_route_requires_a_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    url = path.replace("{", "").replace("}", "")  # any value: auth runs before lookups
    response = await client.request(method, url)
    assert response.status_code == 401, (method, path, response.text)
    assert response.json()["code"] == "missing_token"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer a.b.c"],
)
async def test_bad_tokens_are_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/api/projects", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["success"] is False


async def test_dev_token_signed_with_another_secret_is_401(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    forged = DevTokens("x" * 40).mint("ann@example.com")
    response = await client.get("/api/projects", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    # It says which data dir's secret it was checked against and how to mint a valid one…
    message = response.json()["error"]
    assert str(settings.data_dir) in message
    assert "spacekontext token create" in message
    # …and nothing of the secret.
    secret = (settings.data_dir / "dev-token-secret").read_text().strip()
    assert secret not in response.text and secret[:8] not in response.text


async def test_expired_dev_token_is_401(client: httpx.AsyncClient, dev_tokens: DevTokens) -> None:
    token = dev_tokens.mint("ann@example.com", ttl_s=-120)
    response = await client.get("/api/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_production_refuses_dev_tokens_and_embedded_database() -> None:
    with pytest.raises(ValidationError, match="DEV_TOKENS_ENABLED"):
        Settings(env="production", database_url="postgresql://x/y")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(
            env="production",
            dev_tokens_enabled=False,
            auth_jwks_url="https://idp/jwks",
            auth_issuer="https://idp",
        )
    ok = Settings(
        env="production",
        dev_tokens_enabled=False,
        auth_jwks_url="https://idp/jwks",
        auth_issuer="https://idp",
        database_url="postgresql://x/y",
    )
    assert ok.env == "production"


async def test_dev_token_creates_the_user_on_first_sight(
    client: httpx.AsyncClient, auth: Callable[[str], dict[str, str]], services: Services
) -> None:
    headers = auth("New.Person@Example.com")
    first = await client.post("/api/projects", json={"name": "A"}, headers=headers)
    second = await client.post("/api/projects", json={"name": "B"}, headers=headers)
    assert first.json()["project"]["userId"] == second.json()["project"]["userId"]
    from spacekontext.auth.tokens import Identity

    user = await services.users.resolve(Identity(subject="dev|new.person@example.com"))
    assert user.email == "new.person@example.com"


async def test_jwks_verifier_accepts_good_and_refuses_bad_tokens(
    jwks_server: tuple[Jwks, str],
) -> None:
    jwks, url = jwks_server
    verifier = JwksVerifier(url, issuer=ISSUER, audience=AUDIENCE)
    try:
        identity = await verifier.verify(
            jwks.token("k1", email="ann@example.com", given_name="Ann", sub="user_ann")
        )
        assert (identity.subject, identity.email, identity.first_name) == (
            "user_ann",
            "ann@example.com",
            "Ann",
        )
        bad = {
            "wrong issuer": jwks.token("k1", iss="https://evil.test"),
            "wrong audience": jwks.token("k1", aud="other-app"),
            "expired": jwks.token("k1", exp=int(time.time()) - 3600),
            "no subject": jwks.token("k1", sub=""),
        }
        for reason, token in bad.items():
            with pytest.raises(Unauthenticated):
                await verifier.verify(token)
            assert reason
        # Signed by a key the provider never published.
        stranger = Jwks()
        stranger.add_key("k1")
        with pytest.raises(Unauthenticated):
            await verifier.verify(stranger.token("k1"))
        # Key rotation: a new kid triggers one refresh and is then accepted.
        jwks.add_key("k2")
        before = jwks.requests
        await verifier.verify(jwks.token("k2"))
        assert jwks.requests == before + 1
    finally:
        await verifier.aclose()


async def test_jwt_through_the_api_creates_user_from_claims(
    jwks_server: tuple[Jwks, str], settings: Settings, services: Services
) -> None:
    jwks, url = jwks_server
    configured = settings.model_copy(
        update={"auth_jwks_url": url, "auth_issuer": ISSUER, "auth_audience": AUDIENCE}
    )
    from spacekontext.services import build_verifier

    services.verifier = build_verifier(configured)
    app = create_app(configured, services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        token = jwks.token("k1", sub="user_zaha", email="zaha@example.com")
        created = await http.post(
            "/api/projects", json={"name": "MAXXI"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
        wrong_aud = jwks.token("k1", sub="user_zaha", aud="x")
        refused = await http.get("/api/projects", headers={"Authorization": f"Bearer {wrong_aud}"})
        assert refused.status_code == 401


def _forged_header_token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token with any header: base64url JSON parts and a junk signature (no key needed)."""
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part(header)}.{part(claims)}.{base64.urlsafe_b64encode(b'x' * 64).decode()}"


@pytest.mark.parametrize("alg", ["ES256", "ES384"])
async def test_jwks_token_whose_alg_does_not_fit_the_key_is_401(
    jwks_server: tuple[Jwks, str], settings: Settings, services: Services, alg: str
) -> None:
    """An EC algorithm named on an RSA key's kid, without any credentials: PyJWT raised a
    TypeError on it (a 500); it is an invalid token."""
    _, url = jwks_server
    configured = settings.model_copy(
        update={"auth_jwks_url": url, "auth_issuer": ISSUER, "auth_audience": AUDIENCE}
    )
    from spacekontext.services import build_verifier

    services.verifier = build_verifier(configured)
    app = create_app(configured, services=services)
    now = int(time.time())
    token = _forged_header_token(
        {"alg": alg, "typ": "JWT", "kid": "k1"},
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "user_x", "iat": now, "exp": now + 600},
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/api/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"


async def test_profile_claims_the_users_table_cannot_hold_are_left_out(
    jwks_server: tuple[Jwks, str],
) -> None:
    jwks, url = jwks_server
    verifier = JwksVerifier(url, issuer=ISSUER, audience=AUDIENCE)
    try:
        identity = await verifier.verify(
            jwks.token("k1", sub="user_long", given_name="A" * 256, email="e\x00@example.com")
        )
        assert (identity.subject, identity.first_name, identity.email) == ("user_long", None, None)
        with pytest.raises(Unauthenticated):
            await verifier.verify(jwks.token("k1", sub="s" * 256))
    finally:
        await verifier.aclose()
