"""Projects: a user's own, listed newest first with keyset pagination.

The list and the detail are cached as ready-to-send JSON under the owner's `projects`
generation; every write bumps it after its commit (see docs/caching.md)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.cache.aside import CacheAside, cache_key, owner_generation
from spacekontext.db.engine import Database, Statement, UnitOfWork
from spacekontext.errors import Invalid, NotFound
from spacekontext.jobs.service import DELETE_PREFIX_JOB, enqueue
from spacekontext.massings.figures import refresh_floor_areas
from spacekontext.pagination import check_limit, decode_cursor, encode_cursor
from spacekontext.projects.models import Project
from spacekontext.projects.schemas import (
    ProjectCreate,
    ProjectFullPage,
    ProjectPage,
    ProjectRead,
    ProjectSummary,
    ProjectUpdate,
)
from spacekontext.storage.keys import project_prefix

_SUMMARY_COLUMNS = (
    Project.id,
    Project.name,
    Project.description,
    Project.created_at,
    Project.updated_at,
    Project.user_id,
    Project.settings,
)
_READ_COLUMNS = _SUMMARY_COLUMNS

# The list's two statements in plain SQL, parsed once: the hottest read of the API. Both are
# served by ix_projects_user_id_created_at (user_id, created_at DESC, id DESC).
_FIRST_PAGE = Statement(
    "SELECT id, name, description, created_at, updated_at, user_id, settings FROM app.projects "
    "WHERE user_id = :user_id ORDER BY created_at DESC, id DESC LIMIT :limit"
)
# One project (a missed cache entry of `get_json`, the console): one statement on the driver
# (Database.fetch), not an ORM session, which behind PgBouncer cost a transaction around it.
_GET = Statement(
    "SELECT id, name, description, created_at, updated_at, user_id, settings FROM app.projects "
    "WHERE id = :project_id AND user_id = :user_id"
)
_PAGE_AFTER = Statement(
    "SELECT id, name, description, created_at, updated_at, user_id, settings FROM app.projects "
    "WHERE user_id = :user_id AND (created_at, id) < (:created_at, :last_id) "
    "ORDER BY created_at DESC, id DESC LIMIT :limit"
)


def _settings(value: Any) -> Any:
    """A `settings` column as the driver gives it (JSON text on the direct path, or already
    decoded), embedded in a list page without a parse and re-encode."""
    if value is None:
        return {}
    if isinstance(value, str | bytes):
        return orjson.Fragment(value)
    return value


def _settings_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str | bytes):
        decoded: dict[str, Any] = orjson.loads(value)
        return decoded
    return dict(value)


# Whether the project exists and belongs to the user (others' projects are indistinguishable
# from missing ones): the one check, inside a session or on the driver.
_OWNED = Statement(
    "SELECT 1 AS owned FROM app.projects WHERE id = :project_id AND user_id = :user_id"
)


async def project_owned_or_404(db: Database, user_id: str, project_id: str) -> None:
    """`owned_project_or_404` without a session: one statement on the driver (`Database.fetch`),
    for reads that are a single statement themselves."""
    if not await db.fetch(_OWNED, {"project_id": project_id, "user_id": user_id}, user_id=user_id):
        raise NotFound("project not found")


async def owned_project_or_404(session: AsyncSession, user_id: str, project_id: str) -> None:
    """Raise NotFound unless the project exists and belongs to the user, in the session's
    transaction (a write's lock or a multi-statement read follows)."""
    found = await session.scalar(_OWNED.clause, {"project_id": project_id, "user_id": user_id})
    if found is None:
        raise NotFound("project not found")


# What a project card shows beside its name: how many documents of each kind it holds and its
# first floorplan (lowest level, then oldest), whose preview stands for the project. One
# statement for a page of projects; each count is an index range scan on (project_id, ...).
_OVERVIEWS = Statement(
    "SELECT p.id,"
    " (SELECT count(*) FROM app.floorplans f WHERE f.project_id = p.id) AS floorplans,"
    " (SELECT count(*) FROM app.models_3d m WHERE m.project_id = p.id) AS models3d,"
    " (SELECT count(*) FROM app.massings s WHERE s.project_id = p.id) AS massings,"
    " (SELECT count(*) FROM app.files fi WHERE fi.project_id = p.id"
    "    AND fi.status = 'ready') AS files,"
    " (SELECT f.id FROM app.floorplans f WHERE f.project_id = p.id"
    "    ORDER BY f.level, f.created_at, f.id LIMIT 1) AS first_floorplan_id"
    " FROM app.projects p WHERE p.user_id = :user_id AND p.id = ANY(:project_ids)"
)


@dataclass(frozen=True, slots=True)
class ProjectOverview:
    floorplans: int
    models3d: int
    massings: int
    files: int
    first_floorplan_id: str | None


def projects_generation(user_id: str) -> str:
    """Everything cached about one user's projects; bump it when they change."""
    return owner_generation("projects", user_id)


def _list_keys(user_id: str, limit: int, cursor: str | None) -> tuple[str, str]:
    """The generation and the key of a cached list page."""
    return projects_generation(user_id), cache_key("projects:list", user_id, limit, cursor)


def _detail_keys(user_id: str, project_id: str) -> tuple[str, str]:
    """The generation and the key of a cached project."""
    return projects_generation(user_id), cache_key("projects:detail", user_id, project_id)


def _json(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json", by_alias=True))


class ProjectService:
    def __init__(
        self,
        db: Database,
        cache: CacheAside | None = None,
        *,
        late_sweep_delay_s: float = 3600.0,
        full_lists: bool = False,
    ) -> None:
        self._db = db
        self._cache = cache or CacheAside(None)
        self._late_sweep_delay_s = late_sweep_delay_s
        # The naive profile's lists: whole rows, unbounded (see tools/profiles.py).
        self._full_lists = full_lists

    async def list_json(self, user_id: str, *, limit: int, cursor: str | None) -> bytes:
        """The page as JSON (`{"projects": [...], "nextCursor": ...}`), from the cache when
        current."""
        check_limit(limit)

        async def load() -> bytes:
            if self._full_lists:
                return _json(await self.list(user_id, limit=limit, cursor=cursor))
            return await self._list_bytes(user_id, limit=limit, cursor=cursor)

        generation, key = _list_keys(user_id, limit, cursor)
        return await self._cache.cached_bytes(key, load, generation=generation)

    def list_cache_keys(self, user_id: str, *, limit: int, cursor: str | None) -> list[str]:
        """The generation and the key of a cached list page, for reading ahead (none when
        responses are not cached)."""
        return list(_list_keys(user_id, limit, cursor)) if self._cache.enabled else []

    async def get_json(self, user_id: str, project_id: str) -> bytes:
        """One project as JSON, from the cache when current."""

        async def load() -> bytes:
            return _json(await self.get(user_id, project_id))

        generation, key = _detail_keys(user_id, project_id)
        return await self._cache.cached_bytes(key, load, generation=generation)

    def detail_cache_keys(self, user_id: str, project_id: str) -> list[str]:
        """The generation and the key of a cached project, for reading ahead (none when
        responses are not cached)."""
        return list(_detail_keys(user_id, project_id)) if self._cache.enabled else []

    def _invalidate_after_commit(self, uow: UnitOfWork, user_id: str) -> None:
        uow.after_commit(partial(self._cache.bump, projects_generation(user_id)))

    async def _page_rows(
        self, user_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Any], str | None]:
        check_limit(limit)
        params: dict[str, Any] = {"user_id": user_id, "limit": limit + 1}
        if cursor:
            after = decode_cursor(cursor)
            params["created_at"], params["last_id"] = after.at, after.row_id
            query = _PAGE_AFTER
        else:
            query = _FIRST_PAGE
        rows = await self._db.fetch(query, params, user_id=user_id)
        next_cursor = (
            encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"])
            if len(rows) > limit
            else None
        )
        return rows[:limit], next_cursor

    async def _list_bytes(self, user_id: str, *, limit: int, cursor: str | None) -> bytes:
        """The page's JSON straight from the rows: the columns are already the API's types
        (text, timestamptz), so a Pydantic model per row would only cost CPU. The shape and the
        timestamp format (UTC as `Z`) are those of `ProjectPage`; tests compare the two."""
        rows, next_cursor = await self._page_rows(user_id, limit=limit, cursor=cursor)
        return orjson.dumps(
            {
                "projects": [
                    {
                        "id": row["id"],
                        "name": row["name"],
                        "description": row["description"],
                        "createdAt": row["created_at"],
                        "updatedAt": row["updated_at"],
                        "userId": row["user_id"],
                        "settings": _settings(row["settings"]),
                    }
                    for row in rows
                ],
                "nextCursor": next_cursor,
            },
            option=orjson.OPT_UTC_Z,
        )

    async def list(
        self, user_id: str, *, limit: int, cursor: str | None
    ) -> ProjectPage | ProjectFullPage:
        check_limit(limit)
        if self._full_lists:
            return await self._list_full(user_id)
        rows, next_cursor = await self._page_rows(user_id, limit=limit, cursor=cursor)
        page = [
            ProjectSummary.model_validate({**row, "settings": _settings_dict(row["settings"])})
            for row in rows
        ]
        return ProjectPage(projects=page, next_cursor=next_cursor)

    async def _list_full(self, user_id: str) -> ProjectFullPage:
        query = (
            select(*_READ_COLUMNS)
            .where(Project.user_id == user_id)
            .order_by(Project.created_at.desc(), Project.id.desc())
        )
        async with self._db.read(user_id=user_id) as session:
            rows = (await session.execute(query)).all()
        return ProjectFullPage(projects=[ProjectRead.model_validate(row) for row in rows])

    async def overviews(
        self, user_id: str, project_ids: builtins.list[str]
    ) -> dict[str, ProjectOverview]:
        """Document counts and the first floorplan of each of the caller's projects named;
        projects of other users are left out."""
        if not project_ids:
            return {}
        rows = await self._db.fetch(
            _OVERVIEWS, {"user_id": user_id, "project_ids": project_ids}, user_id=user_id
        )
        return {
            row["id"]: ProjectOverview(
                floorplans=row["floorplans"],
                models3d=row["models3d"],
                massings=row["massings"],
                files=row["files"],
                first_floorplan_id=row["first_floorplan_id"],
            )
            for row in rows
        }

    async def get(self, user_id: str, project_id: str) -> ProjectRead:
        rows = await self._db.fetch(
            _GET, {"project_id": project_id, "user_id": user_id}, user_id=user_id
        )
        if not rows:
            raise NotFound("project not found")
        return ProjectRead.model_validate(
            {**rows[0], "settings": _settings_dict(rows[0]["settings"])}
        )

    async def create(self, user_id: str, data: ProjectCreate) -> ProjectRead:
        async with self._db.unit_of_work() as uow:
            project = Project(
                user_id=user_id,
                name=data.name,
                description=data.description,
                settings=data.settings,
            )
            uow.session.add(project)
            self._invalidate_after_commit(uow, user_id)
            await uow.flush()
            row = (
                await uow.session.execute(select(*_READ_COLUMNS).where(Project.id == project.id))
            ).one()
            await uow.commit()
        return ProjectRead.model_validate(row)

    async def update(self, user_id: str, project_id: str, data: ProjectUpdate) -> ProjectRead:
        changes = data.model_dump(exclude_unset=True)
        if "name" in changes and changes["name"] is None:
            raise Invalid("name cannot be null", code="invalid_name")
        if "settings" in changes and changes["settings"] is None:
            changes["settings"] = {}
        async with self._db.unit_of_work() as uow:
            old_settings = None
            if "settings" in changes:
                # Locked before the massings it may refresh (see massings.figures).
                old_settings = await uow.session.scalar(
                    select(Project.settings)
                    .where(Project.id == project_id, Project.user_id == user_id)
                    .with_for_update(key_share=True)
                )
                if old_settings is None:
                    raise NotFound("project not found")
            statement = (
                update(Project)
                .where(Project.id == project_id, Project.user_id == user_id)
                .values(**changes, updated_at=func.now())
                .returning(*_READ_COLUMNS)
            )
            row = (await uow.session.execute(statement)).first()
            if row is None:
                raise NotFound("project not found")
            if "settings" in changes:
                await refresh_floor_areas(uow.session, project_id, old_settings, row.settings)
            self._invalidate_after_commit(uow, user_id)
            await uow.commit()
        return ProjectRead.model_validate(row)

    async def delete(self, user_id: str, project_id: str) -> None:
        async with self._db.unit_of_work() as uow:
            result = await uow.session.execute(
                delete(Project)
                .where(Project.id == project_id, Project.user_id == user_id)
                .returning(Project.id)
            )
            if result.first() is None:
                raise NotFound("project not found")
            # Rows go with the project (cascade); its objects are removed by a job committed
            # in this same transaction, so the deletion cannot be lost. A second pass after the
            # signed-URL lifetime catches a direct upload still in flight.
            prefix = project_prefix(user_id, project_id)
            await enqueue(uow.session, DELETE_PREFIX_JOB, {"prefix": prefix})
            await enqueue(
                uow.session,
                DELETE_PREFIX_JOB,
                {"prefix": prefix},
                delay_s=self._late_sweep_delay_s,
            )
            self._invalidate_after_commit(uow, user_id)
            await uow.commit()
