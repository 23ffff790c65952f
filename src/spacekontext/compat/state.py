"""What the compat routes share: their upstream clients and the token cipher, built with the
app (app.py) beside the service container, which sits below them and cannot hold them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Depends, Request

from spacekontext.compat.upstream import Upstream
from spacekontext.errors import Unavailable
from spacekontext.services import Services
from spacekontext.settings import Settings


class TokenCipher:
    """Third-party tokens encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        if settings.token_encryption_key:
            return cls(settings.token_encryption_key)
        # Development: a key generated once into the data dir (mode 600).
        path = settings.data_dir / "token-encryption-key"
        if not path.exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(Fernet.generate_key().decode())
        return cls(Path(path).read_text().strip())

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            # Encrypted under another key (TOKEN_ENCRYPTION_KEY changed): unusable.
            raise Unavailable(
                "a stored token cannot be decrypted", code="token_undecryptable"
            ) from exc


@dataclass
class Compat:
    settings: Settings
    services: Services
    kie: Upstream
    sketchfab_api: Upstream
    sketchfab_oauth: Upstream
    block_store: Upstream
    cipher: TokenCipher

    async def aclose(self) -> None:
        for upstream in (self.kie, self.sketchfab_api, self.sketchfab_oauth, self.block_store):
            await upstream.aclose()


def build_compat(settings: Settings, services: Services) -> Compat:
    timeout = settings.upstream_timeout_s
    return Compat(
        settings=settings,
        services=services,
        kie=Upstream("KIE.AI", settings.kie_ai_base_url, timeout_s=timeout),
        sketchfab_api=Upstream("Sketchfab", settings.sketchfab_api_url, timeout_s=timeout),
        sketchfab_oauth=Upstream("Sketchfab", settings.sketchfab_oauth_url, timeout_s=timeout),
        block_store=Upstream(
            "the block store", settings.cad_blocks_store_url or "", timeout_s=timeout
        ),
        cipher=TokenCipher.from_settings(settings),
    )


async def get_compat(request: Request) -> Compat:
    compat: Compat = request.app.state.compat
    return compat


CompatDep = Annotated[Compat, Depends(get_compat)]


def random_state() -> str:
    return secrets.token_urlsafe(24)
