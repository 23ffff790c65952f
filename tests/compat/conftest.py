"""The compat routes against real local HTTP servers standing in for their upstreams
(pytest-httpserver): an app per test, built from settings that point at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from spacekontext.app import create_app
from spacekontext.db.engine import Database
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from spacekontext.storage.local import LocalObjectStore
from spacekontext.storage.signing import UrlSigner

Auth = Callable[[str], dict[str, str]]
ANN = "ann.compat@example.com"
BOB = "bob.compat@example.com"
ADMIN = "root.compat@example.com"
BASE_URL = "http://testserver"


class AppFactory:
    def __init__(self, settings: Settings, services: Services, tmp_path: Path) -> None:
        self._settings = settings
        self._services = services
        self._tmp_path = tmp_path
        self._opened: list[tuple[httpx.AsyncClient, Services]] = []
        self.services: Services | None = None
        self.app: Any = None

    async def __call__(self, **overrides: Any) -> httpx.AsyncClient:
        settings = self._settings.model_copy(
            update={"public_base_url": BASE_URL, "admin_emails": [ADMIN], **overrides}
        )
        store = LocalObjectStore(
            self._tmp_path / "objects", UrlSigner(b"k" * 32), base_url=BASE_URL
        )
        db: Database = self._services.db
        built = build_services(settings, db, store=store)
        self.services = built
        app = create_app(settings, services=built)
        self.app = app
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        self._opened.append((client, built))
        return client

    async def aclose(self) -> None:
        for client, built in self._opened:
            await client.aclose()
            await built.aclose()


@pytest.fixture
async def make_app(
    settings: Settings, services: Services, tmp_path: Path
) -> AsyncIterator[AppFactory]:
    factory = AppFactory(settings, services, tmp_path)
    yield factory
    await factory.aclose()
