"""Clients of the app for the hot-route tests: one with the hot routes on, one with them off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from spacekontext.app import create_app
from spacekontext.services import Services
from spacekontext.settings import Settings


def app_client(settings: Settings, services: Services) -> httpx.AsyncClient:
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def pair(
    settings: Settings, services: Services
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """(hot routes on, hot routes off), over the same rolled-back transaction and cache."""
    async with (
        app_client(settings.model_copy(update={"hot_routes": True}), services) as hot,
        app_client(settings.model_copy(update={"hot_routes": False}), services) as plain,
    ):
        yield hot, plain
