"""The web client's contract, checked as the client exercises it: `spacekontext serve` in a
subprocess, Clerk stood in by a local HTTP server (its JWKS issuing Clerk-shaped RS256 session
tokens, its Backend API answering user look-ups), the AI renderer and Sketchfab stood in by
the same kind of server, and requests sent as the browser sends the client's: relative
`/api/...` paths on the app's origin, the `__session` cookie, an `Origin` header on writes,
the client's bodies and multipart fields. Dev tokens are off: only Clerk sessions get in.

Each test asserts the keys, types and status codes that the client reads (the "FE" lines of
the contract)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer

from tests.conftest import WEBHOOK_SECRET
from tests.e2e.serving import cli, free_port, serving


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here is a contract test (`-m contract` selects them, `-m "not contract"`
    leaves them out); a conftest's own `pytestmark` would reach only the conftest."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.contract)


ISSUER = "https://clerk.contract.test"
PUBLISHABLE_KEY = "pk_test_Y2xlcmsuY29udHJhY3QudGVzdCQ"
ADMIN_EMAIL = "admin@contract.test"
USERS = {
    "user_2contractAnn": "ann@contract.test",
    "user_2contractBob": "bob@contract.test",
    "user_2contractAdmin": ADMIN_EMAIL,
}


class Clerk:
    """Clerk's JWKS and session tokens (v2 claims, ~60 s lifetime, as clerk-js refreshes)."""

    def __init__(self, app_origin: str) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.app_origin = app_origin

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [jwk | {"kid": "ins_contract", "use": "sig", "alg": "RS256"}]}

    def session_token(self, sub: str) -> str:
        now = int(time.time())
        claims = {
            "azp": self.app_origin,
            "exp": now + 60,
            "fva": [0, -1],
            "iat": now,
            "iss": ISSUER,
            "nbf": now - 5,
            "sid": "sess_contract",
            "sts": "active",
            "sub": sub,
            "v": 2,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "ins_contract"})


def _clerk_user(sub: str) -> dict[str, Any]:
    return {
        "id": sub,
        "primary_email_address_id": "idn_1",
        "email_addresses": [{"id": "idn_1", "email_address": USERS[sub]}],
        "first_name": sub.removeprefix("user_2contract"),
        "last_name": "Contract",
        "image_url": None,
    }


@dataclass
class Served:
    base: str
    clerk: Clerk
    upstream: HTTPServer
    home: Path
    materials: Path

    def browser(self, sub: str | None = "user_2contractAnn") -> Browser:
        """Close it after use (`with served.browser(...) as b:`)."""
        return Browser(self, sub)

    def anonymous_get(self, url: str) -> httpx.Response:
        """A GET with no session at all (an <img>, or the renderer fetching an upload)."""
        with httpx.Client(base_url=self.base, timeout=30) as http:
            return http.get(url)


class Browser:
    """The client's fetches as a browser sends them from the app's pages: same origin, the
    session cookie (a fresh token each time, as clerk-js keeps it fresh), `Origin` on writes.
    No `Authorization` header, ever."""

    def __init__(self, served: Served, sub: str | None) -> None:
        self._served = served
        self._sub = sub
        self.http = httpx.Client(base_url=served.base, timeout=30, follow_redirects=False)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def headers(self, method: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "*/*"}
        if self._sub is not None:
            headers["Cookie"] = f"__session={self._served.clerk.session_token(self._sub)}"
        if method not in ("GET", "HEAD"):
            headers["Origin"] = self._served.base
        return headers | (extra or {})

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        assert path.startswith("/"), "the client fetches relative paths"
        headers = self.headers(method, kwargs.pop("headers", None))
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


def _texture_set(root: Path, category: str, folder: str) -> None:
    where = root / category / folder
    where.mkdir(parents=True)
    for part in ("diff", "nor_gl", "rough", "ao"):
        (where / f"{folder.replace(' ', '_')}_{part}_1k.jpg").write_bytes(b"\xff\xd8\xff\xe0")


@pytest.fixture(scope="session")
def upstream() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="session")
def served(create_database: Callable[[], str], upstream: HTTPServer) -> Iterator[Served]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clerk = Clerk(base)
    upstream.expect_request("/clerk/.well-known/jwks.json").respond_with_json(clerk.jwks())
    for sub in USERS:
        upstream.expect_request(
            f"/clerk-api/v1/users/{sub}", headers={"Authorization": "Bearer sk_test_contract"}
        ).respond_with_json(_clerk_user(sub))
    home = Path(tempfile.mkdtemp(prefix="sk-contract-"))
    materials = home / "Materials"
    _texture_set(materials, "Floor", "textures 10")
    upstream_base = upstream.url_for("/").rstrip("/")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)} | {
        "SPACEKONTEXT_HOME": str(home),
        "DATABASE_URL": create_database(),
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "DEV_TOKENS_ENABLED": "false",
        "RATE_LIMIT_ENABLED": "false",
        "PUBLIC_BASE_URL": base,
        "AUTH_JWKS_URL": f"{upstream_base}/clerk/.well-known/jwks.json",
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUTHORIZED_PARTIES": base,
        "CLERK_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "CLERK_SECRET_KEY": "sk_test_contract",
        "CLERK_API_URL": f"{upstream_base}/clerk-api",
        "ADMIN_EMAILS": ADMIN_EMAIL,
        "MATERIALS_DIR": str(materials),
        "KIE_AI_API_KEY": "kie_contract",
        "KIE_AI_BASE_URL": f"{upstream_base}/kie",
        "SKETCHFAB_API_URL": f"{upstream_base}/sketchfab-api",
        "SKETCHFAB_OAUTH_URL": f"{upstream_base}/sketchfab",
        "SKETCHFAB_CLIENT_ID": "skf_client",
        "SKETCHFAB_CLIENT_SECRET": "skf_secret",
        "SKETCHFAB_REDIRECT_URI": f"{base}/api/sketchfab/oauth/callback",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "CAD_BLOCKS_STORE_URL": f"{upstream_base}/r2/cad-blocks/",
        "CLERK_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    try:
        with serving(env, home / "serve.log"):
            seeded = cli("library", "seed", env=env)
            assert seeded.returncode == 0, seeded.stdout + seeded.stderr
            yield Served(base, clerk, upstream, home, materials)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def ann(served: Served) -> Iterator[Browser]:
    browser = served.browser("user_2contractAnn")
    yield browser
    browser.http.close()


@pytest.fixture
def bob(served: Served) -> Iterator[Browser]:
    browser = served.browser("user_2contractBob")
    yield browser
    browser.http.close()


@pytest.fixture
def project(ann: Browser) -> dict[str, Any]:
    created = ann.post("/api/projects", json={"name": "Lakeside House"})
    assert created.status_code == 201, created.text
    project: dict[str, Any] = created.json()["project"]
    return project
