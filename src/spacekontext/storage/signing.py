"""Expiring HMAC-SHA256 signatures for URLs the app serves itself (the local backend).

The signature covers the method, the key, the expiry and every other query parameter, so none
of them can be changed without invalidating it; comparison is constant-time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path

from spacekontext.errors import Forbidden


class UrlSigner:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the URL signing secret must be at least 32 bytes")
        self._secret = secret

    @classmethod
    def from_file(cls, path: Path) -> UrlSigner:
        """Load the secret, generating it on first use (mode 600). Several processes may race
        to create it: exclusive creation lets exactly one win, the others read its secret."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x", encoding="ascii") as fh:
                path.chmod(0o600)
                fh.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass
        for _ in range(50):
            text = path.read_text(encoding="ascii").strip()
            if text:
                return cls(text.encode())
            time.sleep(0.01)  # the winner has created the file but not written it yet
        raise RuntimeError(f"empty URL signing secret in {path.name}")

    def _digest(self, method: str, key: str, params: dict[str, str]) -> str:
        canonical = "\n".join(
            [method.upper(), key, *(f"{name}={params[name]}" for name in sorted(params))]
        )
        mac = hmac.new(self._secret, canonical.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def sign(
        self, method: str, key: str, params: dict[str, str], *, expires_at: int
    ) -> dict[str, str]:
        """Return the query parameters to append: `params`, `expires` and `sig`."""
        signed = {**params, "expires": str(expires_at)}
        return {**signed, "sig": self._digest(method, key, signed)}

    def verify(
        self, method: str, key: str, query: dict[str, str], *, now: float | None = None
    ) -> dict[str, str]:
        """Check a signed query; return its parameters (without `sig`) or raise Forbidden."""
        params = dict(query)
        sig = params.pop("sig", "")
        expires = params.get("expires", "")
        if not sig or not (expires.isascii() and expires.isdigit()):
            raise Forbidden("the URL is not signed", code="signature_missing")
        if not hmac.compare_digest(sig, self._digest(method, key, params)):
            raise Forbidden("the URL signature does not match", code="signature_invalid")
        if int(expires) < (time.time() if now is None else now):
            raise Forbidden("the signed URL has expired", code="signature_expired")
        return params
