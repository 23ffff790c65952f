"""The assessment for the API: admins only, run off the event loop.

The checks use the blocking psycopg driver (the same code as the command line), so the API runs
them in a worker thread; they open one short-lived connection of their own rather than borrow
one from the app's pool, which the assessment is partly about."""

from __future__ import annotations

import asyncio

from spacekontext.errors import Unavailable
from spacekontext.settings import Settings
from spacekontext.tools.assess.model import Report
from spacekontext.tools.assess.runner import app_shape, assess
from spacekontext.users.service import CurrentUserInfo, require_admin


class AssessService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def report(
        self,
        user: CurrentUserInfo,
        *,
        schema: str | None = None,
        workers: int = 1,
        hosts: int = 1,
        target_users: int = 1_000,
    ) -> Report:
        require_admin(user, self._settings, action="run the assessment")
        url = self._settings.database_url
        if not url:
            raise Unavailable("the database URL is not known yet")
        shape = app_shape(
            self._settings,
            database_url=None,
            workers=workers,
            hosts=hosts,
            target_users=target_users,
        )
        return await asyncio.to_thread(assess, url, shape, schema=schema)
