"""Bearer-token verification. Two verifiers behind one interface:

* `DevTokens` — HS256 tokens minted by `spacekontext token create`, signed with a secret generated
  into the data dir. For laptops and tests; refused when `ENV=production`.
* `JwksVerifier` — RS/ES-signed JWTs from an identity provider (Clerk, Auth0, Keycloak), keys
  fetched from its JWKS URL and refreshed when an unknown `kid` appears, with issuer and
  audience checks, and Clerk's session claims: `azp` (the origin of the app that obtained the
  token) against an allow-list, and `sts: "pending"` (a session with tasks left, signed out
  for every purpose but finishing them).

`exp`/`nbf` are checked with a small tolerance (AUTH_CLOCK_SKEW_S): a Clerk session token lives
about 60 s, so a tolerance of half a minute would extend it by half.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

from spacekontext.errors import Unauthenticated, Unavailable

DEV_ISSUER = "spacekontext-dev"
# The JWKS algorithms accepted, each with the key type (`kty`) that can verify it.
_KEY_TYPE_OF = {"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "ES256": "EC", "ES384": "EC"}
DEFAULT_LEEWAY_S = 5.0


@dataclass(frozen=True, slots=True)
class Identity:
    subject: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None
    # The token's `exp` (epoch seconds): how long a verification of it may be remembered.
    expires_at: float = field(default=0.0, compare=False)


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Identity: ...


def _identity_from_claims(claims: dict[str, Any]) -> Identity:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255 or "\x00" in subject:
        raise Unauthenticated("token has no usable subject", code="invalid_token")
    if claims.get("sts") == "pending":
        # Clerk: the session exists but has tasks left (e.g. choosing an organisation); until
        # they are done the user counts as signed out.
        raise Unauthenticated("session pending", code="session_pending")

    def text(*names: str, max_chars: int = 255) -> str | None:
        # A profile claim the users table cannot hold (too long, a NUL) is left out rather
        # than locking its user out: the subject alone identifies the user.
        for name in names:
            value = claims.get(name)
            if isinstance(value, str) and value and len(value) <= max_chars and "\x00" not in value:
                return value
        return None

    return Identity(
        subject=subject,
        email=text("email", "email_address", "primary_email", max_chars=320),
        first_name=text("given_name", "first_name"),
        last_name=text("family_name", "last_name"),
        image_url=text("picture", "image_url", max_chars=2048),
        expires_at=_expiry(claims),
    )


class DevTokens:
    def __init__(
        self, secret: str, *, leeway_s: float = DEFAULT_LEEWAY_S, data_dir: Path | None = None
    ) -> None:
        if len(secret) < 32:
            raise ValueError("dev token secret must be at least 32 characters")
        self._secret = secret
        self._leeway_s = leeway_s
        # Named in the error of a token signed with another secret (never the secret itself):
        # the usual cause is a token minted against another data dir.
        self.data_dir = data_dir

    @classmethod
    def from_data_dir(cls, data_dir: Path, *, leeway_s: float = DEFAULT_LEEWAY_S) -> DevTokens:
        """Load the secret from the data dir, generating it on first use (mode 600)."""
        path = data_dir / "dev-token-secret"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return cls(path.read_text().strip(), leeway_s=leeway_s, data_dir=data_dir.resolve())

    def mint(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        ttl_s: int = 30 * 24 * 3600,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": DEV_ISSUER,
            "sub": f"dev|{email.lower()}",
            "email": email.lower(),
            "iat": now,
            "exp": now + ttl_s,
        }
        if first_name:
            claims["given_name"] = first_name
        if last_name:
            claims["family_name"] = last_name
        return jwt.encode(claims, self._secret, algorithm="HS256")

    async def verify(self, token: str) -> Identity:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=DEV_ISSUER,
                leeway=self._leeway_s,
                options={"require": ["exp", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", code="token_expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated(self._other_secret(), code="invalid_token") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid token", code="invalid_token") from exc
        return _identity_from_claims(claims)

    def _other_secret(self) -> str:
        where = f" of the data dir {self.data_dir}" if self.data_dir else ""
        return (
            f"invalid token: not signed with this server's dev-token secret{where}; mint one "
            "with `spacekontext token create --email you@example.com` on the same data dir "
            "(SPACEKONTEXT_HOME, or the same checkout)"
        )


class JwksVerifier:
    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str | None,
        refresh_interval_s: float = 300.0,
        http: httpx.AsyncClient | None = None,
        leeway_s: float = DEFAULT_LEEWAY_S,
        authorized_parties: frozenset[str] = frozenset(),
    ) -> None:
        """`authorized_parties`: the accepted `azp` claims; empty, `azp` is not checked. A
        token without `azp` passes (Clerk adds it only to tokens obtained in a browser)."""
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._authorized_parties = authorized_parties
        self._refresh_interval_s = refresh_interval_s
        self._http = http or httpx.AsyncClient(timeout=5.0)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -1e9
        self._forced_at = -1e9
        self._lock = asyncio.Lock()

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            if force:
                # An unknown kid (key rotation) forces a refresh, but at most every 10 s: a
                # stream of forged kids must not become a stream of requests to the provider.
                if now - self._forced_at < 10:
                    return
                self._forced_at = now
            elif now - self._fetched_at < self._refresh_interval_s:
                return
            try:
                response = await self._http.get(self._jwks_url)
                response.raise_for_status()
                keyset = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, jwt.PyJWTError, ValueError) as exc:
                if self._keys:
                    return  # keep serving with the keys we have
                raise Unavailable("identity provider keys unavailable") from exc
            self._keys = {key.key_id: key for key in keyset.keys if key.key_id}
            self._fetched_at = time.monotonic()

    async def verify(self, token: str, header: dict[str, Any] | None = None) -> Identity:
        """`header`: the token's already-parsed header, when the caller has it (one parse)."""
        if header is None:
            try:
                header = jwt.get_unverified_header(token)
            except jwt.PyJWTError as exc:
                raise Unauthenticated("invalid token", code="invalid_token") from exc
        kid = header.get("kid")
        algorithm = header.get("alg")
        if not isinstance(kid, str) or algorithm not in _KEY_TYPE_OF:
            raise Unauthenticated("invalid token", code="invalid_token")
        await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("unknown signing key", code="invalid_token")
        # A header naming another algorithm family than the key's (ES256 on an RSA key) is a
        # forgery or a broken client; PyJWT would fail on it with a TypeError.
        if key.key_type != _KEY_TYPE_OF[algorithm]:
            raise Unauthenticated("invalid token", code="invalid_token")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway_s,
                options={
                    "require": ["exp", "iss", "sub"],
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", code="token_expired") from exc
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            # TypeError/ValueError: a key that cannot verify this algorithm (an EC key on
            # another curve); never a reason for a 500.
            raise Unauthenticated("invalid token", code="invalid_token") from exc
        party = claims.get("azp")
        if self._authorized_parties and party is not None and party not in self._authorized_parties:
            raise Unauthenticated("token issued to an unknown party", code="invalid_token")
        return _identity_from_claims(claims)

    async def aclose(self) -> None:
        await self._http.aclose()


def _expiry(claims: dict[str, Any]) -> float:
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else 0.0


VERIFIED_TTL_S = 60.0
VERIFIED_MAX = 10_000


class CompositeVerifier:
    """Routes a token to the verifier for its algorithm: HS256 → dev tokens (when enabled),
    anything else → the JWKS verifier (when configured).

    Verified tokens are remembered (a bounded LRU keyed by the token string) until the earlier
    of their `exp` and `VERIFIED_TTL_S`: a client sends the same token on every request, and a
    signature that verified once stays valid — the token string *is* the signed content, so a
    changed claim is a different key. Only successes are remembered. What the TTL bounds is how
    long a token keeps working after its signing key is withdrawn from the JWKS (a revoked key
    is honoured within a minute); users deleted meanwhile are handled by the user lookup, not
    here. See docs/caching.md."""

    def __init__(
        self,
        dev: DevTokens | None,
        jwks: JwksVerifier | None,
        *,
        ttl_s: float = VERIFIED_TTL_S,
        max_entries: int = VERIFIED_MAX,
    ) -> None:
        self.dev = dev
        self.jwks = jwks
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._verified: OrderedDict[str, tuple[Identity, float]] = OrderedDict()

    async def verify(self, token: str) -> Identity:
        remembered = self._verified.get(token)
        if remembered is not None:
            identity, valid_until = remembered
            if time.time() < valid_until:
                self._verified.move_to_end(token)
                return identity
            del self._verified[token]
        identity = await self._verify(token)
        valid_until = min(identity.expires_at, time.time() + self._ttl_s)
        if self._ttl_s > 0 and valid_until > time.time():
            self._verified[token] = (identity, valid_until)
            if len(self._verified) > self._max_entries:
                self._verified.popitem(last=False)
        return identity

    async def _verify(self, token: str) -> Identity:
        # One header parse per token: the JWKS verifier gets the parsed header.
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid token", code="invalid_token") from exc
        if header.get("alg") == "HS256":
            if self.dev is None:
                raise Unauthenticated("dev tokens are disabled", code="invalid_token")
            return await self.dev.verify(token)
        if self.jwks is None:
            raise Unauthenticated("invalid token", code="invalid_token")
        return await self.jwks.verify(token, header)

    async def aclose(self) -> None:
        if self.jwks is not None:
            await self.jwks.aclose()
