"""Floorplans: documents stored whole, listed by metadata only, saved under a version check,
every content change kept in `floorplan_versions`.

Concurrency: a write locks the floorplan row (`SELECT … FOR UPDATE`, metadata columns only),
checks the client's If-Match against the locked version, then writes version + 1. Concurrent
writers from the same version therefore serialize on the lock and all but the first see a newer
version and get a 412; nothing interleaves because the row, its metadata and its history entry
change in one transaction."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import (
    Row,
    String,
    Text,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.db.engine import Database, UnitOfWork
from spacekontext.documents import (
    Encoded,
    Precondition,
    SavedDocument,
    StoredDocument,
    encode,
    merge_patch,
)
from spacekontext.errors import Invalid, NotFound
from spacekontext.floorplans.geometry import KIND, FloorplanFacts, derive
from spacekontext.floorplans.models import Floorplan, floorplan_versions
from spacekontext.floorplans.schemas import (
    FloorplanCreate,
    FloorplanPatch,
    FloorplanReplace,
    FloorplanSummary,
    FloorplanVersionSummary,
)
from spacekontext.ids import new_id
from spacekontext.pagination import DEFAULT_PAGE, check_limit, decode_cursor, encode_cursor
from spacekontext.projects.models import Project
from spacekontext.projects.service import owned_project_or_404
from spacekontext.settings import Settings

# Everything a list or a write response shows; `Floorplan.data` is deliberately absent.
SUMMARY_COLUMNS = (
    Floorplan.id,
    Floorplan.project_id,
    Floorplan.name,
    Floorplan.level,
    Floorplan.wall_count,
    Floorplan.opening_count,
    Floorplan.room_count,
    Floorplan.furniture_count,
    Floorplan.total_area_m2,
    Floorplan.bbox,
    Floorplan.data_bytes,
    Floorplan.content_hash,
    Floorplan.version,
    Floorplan.created_at,
    Floorplan.updated_at,
)
_VERSION_COLUMNS = (
    floorplan_versions.c.version,
    floorplan_versions.c.name,
    floorplan_versions.c.level,
    floorplan_versions.c.wall_count,
    floorplan_versions.c.opening_count,
    floorplan_versions.c.room_count,
    floorplan_versions.c.total_area_m2,
    floorplan_versions.c.data_bytes,
    floorplan_versions.c.content_hash,
    floorplan_versions.c.created_by_user_id,
    floorplan_versions.c.created_at,
)
# The history row is copied from the floorplan row inside PostgreSQL, so a large document
# crosses the network once per save, not twice.
_HISTORY_COPY = (
    "floorplan_id",  # from floorplans.id
    "version",
    "name",
    "level",
    "data",
    "wall_count",
    "opening_count",
    "room_count",
    "total_area_m2",
    "data_bytes",
    "content_hash",
)


def _owned(*columns: Any) -> Any:
    return select(*columns).select_from(Floorplan).join(Project, Project.id == Floorplan.project_id)


def _not_found() -> NotFound:
    return NotFound("floorplan not found")


class FloorplanService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._max_bytes = settings.max_document_bytes

    # --- reads ----------------------------------------------------------------------------------

    async def list_in_project(
        self,
        user_id: str,
        project_id: str,
        *,
        level: int | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> tuple[list[FloorplanSummary], str | None]:
        """A page of the project's floorplans by level, then creation, and the cursor of the
        next page (None on the last)."""
        check_limit(limit)
        query = select(*SUMMARY_COLUMNS).where(Floorplan.project_id == project_id)
        if level is not None:
            query = query.where(Floorplan.level == level)
        if cursor:
            after = decode_cursor(cursor, leading=1)
            query = query.where(
                tuple_(Floorplan.level, Floorplan.created_at, Floorplan.id)
                > tuple_(literal(after.leading[0]), literal(after.at), literal(after.row_id))
            )
        # Served by ix_floorplans_project_id_level_created_at_id, with or without `level`.
        query = query.order_by(Floorplan.level, Floorplan.created_at, Floorplan.id).limit(limit + 1)
        async with self._db.read(user_id=user_id) as session:
            await owned_project_or_404(session, user_id, project_id)
            rows = (await session.execute(query)).all()
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last.created_at, last.id, last.level)
        return [FloorplanSummary.model_validate(row) for row in rows[:limit]], next_cursor

    async def current_version(self, user_id: str, floorplan_id: str) -> int:
        """The version alone (for If-None-Match), without touching the document."""
        query = _owned(Floorplan.version).where(
            Floorplan.id == floorplan_id, Project.user_id == user_id
        )
        async with self._db.read(user_id=user_id) as session:
            version = await session.scalar(query)
        if version is None:
            raise _not_found()
        return int(version)

    async def get(self, user_id: str, floorplan_id: str) -> StoredDocument[FloorplanSummary]:
        query = _owned(*SUMMARY_COLUMNS, cast(Floorplan.data, Text).label("data_json")).where(
            Floorplan.id == floorplan_id, Project.user_id == user_id
        )
        async with self._db.read(user_id=user_id) as session:
            row = (await session.execute(query)).first()
        if row is None:
            raise _not_found()
        return StoredDocument(FloorplanSummary.model_validate(row), row.data_json)

    async def versions(self, user_id: str, floorplan_id: str) -> list[FloorplanVersionSummary]:
        async with self._db.read(user_id=user_id) as session:
            await self._owned_or_404(session, user_id, floorplan_id)
            rows = (
                await session.execute(
                    select(*_VERSION_COLUMNS)
                    .where(floorplan_versions.c.floorplan_id == floorplan_id)
                    .order_by(floorplan_versions.c.version.desc())
                )
            ).all()
        return [FloorplanVersionSummary.model_validate(row) for row in rows]

    async def version_document(
        self, user_id: str, floorplan_id: str, version: int
    ) -> StoredDocument[FloorplanVersionSummary]:
        async with self._db.read(user_id=user_id) as session:
            await self._owned_or_404(session, user_id, floorplan_id)
            row = await self._version_row(session, floorplan_id, version)
        return StoredDocument(FloorplanVersionSummary.model_validate(row), row.data_json)

    # --- writes ---------------------------------------------------------------------------------

    async def create(
        self, user_id: str, project_id: str, body: FloorplanCreate
    ) -> SavedDocument[FloorplanSummary]:
        facts, encoded = await self._validate(body.data)
        async with self._db.unit_of_work() as uow:
            await owned_project_or_404(uow.session, user_id, project_id)
            floorplan_id = new_id()
            await uow.session.execute(
                insert(Floorplan).values(
                    id=floorplan_id,
                    project_id=project_id,
                    name=body.name,
                    level=body.level,
                    data=body.data,
                    version=1,
                    **_fact_values(facts, encoded),
                )
            )
            meta = await self._append_history(uow, floorplan_id, user_id)
            await uow.commit()
        return SavedDocument(meta, body.data, changed=True)

    async def replace(
        self, user_id: str, floorplan_id: str, body: FloorplanReplace, pre: Precondition
    ) -> SavedDocument[FloorplanSummary]:
        facts, encoded = await self._validate(body.data)
        async with self._db.unit_of_work() as uow:
            current = await self._lock(uow.session, user_id, floorplan_id, pre)
            saved = await self._save(
                uow,
                current,
                name=body.name if body.name is not None else current.name,
                level=body.level if body.level is not None else current.level,
                data=body.data,
                facts=facts,
                encoded=encoded,
                user_id=user_id,
            )
            await uow.commit()
        return saved

    async def patch(
        self, user_id: str, floorplan_id: str, body: FloorplanPatch, pre: Precondition
    ) -> SavedDocument[FloorplanSummary]:
        fields = body.model_fields_set
        if "name" in fields and body.name is None:
            raise Invalid("name cannot be null", code="invalid_name")
        if "level" in fields and body.level is None:
            raise Invalid("level cannot be null", code="invalid_level")
        if "data" in fields and not isinstance(body.data, dict):
            raise Invalid("data must be a merge patch object", code="invalid_patch")
        async with self._db.unit_of_work() as uow:
            current = await self._lock(uow.session, user_id, floorplan_id, pre)
            document: Any
            if "data" in fields:
                stored = await uow.session.scalar(
                    select(Floorplan.data).where(Floorplan.id == floorplan_id)
                )
                document = merge_patch(stored, body.data)
                facts, encoded = await self._validate(document)
            else:
                document, facts, encoded = None, None, None
            saved = await self._save(
                uow,
                current,
                name=body.name if body.name is not None else current.name,
                level=body.level if body.level is not None else current.level,
                data=document,
                facts=facts,
                encoded=encoded,
                user_id=user_id,
            )
            await uow.commit()
        return saved

    async def restore(
        self, user_id: str, floorplan_id: str, version: int, pre: Precondition
    ) -> SavedDocument[FloorplanSummary]:
        async with self._db.unit_of_work() as uow:
            current = await self._lock(uow.session, user_id, floorplan_id, pre)
            old = await self._version_row(uow.session, floorplan_id, version, with_data=True)
            facts, encoded = await self._validate(old.data)
            saved = await self._save(
                uow,
                current,
                name=old.name,
                level=old.level,
                data=old.data,
                facts=facts,
                encoded=encoded,
                user_id=user_id,
            )
            await uow.commit()
        return saved

    async def delete(self, user_id: str, floorplan_id: str, pre: Precondition) -> None:
        async with self._db.unit_of_work() as uow:
            await self._lock(uow.session, user_id, floorplan_id, pre)
            # Its history goes with it (ON DELETE CASCADE from floorplan_versions).
            await uow.session.execute(delete(Floorplan).where(Floorplan.id == floorplan_id))
            await uow.commit()

    # --- internals ------------------------------------------------------------------------------

    async def _validate(self, data: Any) -> tuple[FloorplanFacts, Encoded]:
        # ~10-40 ms of CPU for a 200 KB plan: in a worker thread, so that the event loop keeps
        # serving other requests meanwhile (the GIL is handed back every few ms) instead of
        # stalling all of them for the whole validation.
        return await asyncio.to_thread(self._validate_now, data)

    def _validate_now(self, data: Any) -> tuple[FloorplanFacts, Encoded]:
        encoded = encode(data, kind=KIND, max_bytes=self._max_bytes)
        return derive(data), encoded

    async def _owned_or_404(self, session: AsyncSession, user_id: str, floorplan_id: str) -> None:
        found = await session.scalar(
            _owned(Floorplan.id).where(Floorplan.id == floorplan_id, Project.user_id == user_id)
        )
        if found is None:
            raise _not_found()

    async def _lock(
        self, session: AsyncSession, user_id: str, floorplan_id: str, pre: Precondition
    ) -> Row[Any]:
        row = (
            await session.execute(
                _owned(*SUMMARY_COLUMNS)
                .where(Floorplan.id == floorplan_id, Project.user_id == user_id)
                .with_for_update(of=Floorplan)
            )
        ).first()
        if row is None:
            raise _not_found()
        pre.check(row.version, KIND)
        return row

    async def _version_row(
        self, session: AsyncSession, floorplan_id: str, version: int, *, with_data: bool = False
    ) -> Any:
        data_column = (
            floorplan_versions.c.data if with_data else cast(floorplan_versions.c.data, Text)
        )
        row = (
            await session.execute(
                select(*_VERSION_COLUMNS, data_column.label("data" if with_data else "data_json"))
                .where(
                    floorplan_versions.c.floorplan_id == floorplan_id,
                    floorplan_versions.c.version == version,
                )
                .limit(1)
            )
        ).first()
        if row is None:
            raise NotFound(f"floorplan version {version} not found", code="version_not_found")
        return row

    async def _save(
        self,
        uow: UnitOfWork,
        current: Row[Any],
        *,
        name: str,
        level: int,
        data: Any,
        facts: FloorplanFacts | None,
        encoded: Encoded | None,
        user_id: str,
    ) -> SavedDocument[FloorplanSummary]:
        """Write a new version unless nothing changes; `data=None` keeps the stored document."""
        same_content = encoded is None or encoded.content_hash == current.content_hash
        if same_content and name == current.name and level == current.level:
            return SavedDocument(FloorplanSummary.model_validate(current), data, changed=False)
        values: dict[str, Any] = {
            "name": name,
            "level": level,
            "version": current.version + 1,
            "updated_at": func.now(),
        }
        if data is not None and facts is not None and encoded is not None and not same_content:
            values |= {"data": data, **_fact_values(facts, encoded)}
        await uow.session.execute(
            update(Floorplan).where(Floorplan.id == current.id).values(**values)
        )
        meta = await self._append_history(uow, current.id, user_id)
        return SavedDocument(meta, data, changed=True)

    async def _append_history(
        self, uow: UnitOfWork, floorplan_id: str, user_id: str
    ) -> FloorplanSummary:
        source = select(
            literal(new_id(), String).label("id"),
            Floorplan.id,
            *(Floorplan.__table__.c[name] for name in _HISTORY_COPY[1:]),
            literal(user_id, String).label("created_by_user_id"),
        ).where(Floorplan.id == floorplan_id)
        await uow.session.execute(
            insert(floorplan_versions).from_select(
                ["id", *_HISTORY_COPY, "created_by_user_id"], source
            )
        )
        row = (
            await uow.session.execute(select(*SUMMARY_COLUMNS).where(Floorplan.id == floorplan_id))
        ).one()
        return FloorplanSummary.model_validate(row)


def _fact_values(facts: FloorplanFacts, encoded: Encoded) -> dict[str, Any]:
    return {
        "wall_count": facts.wall_count,
        "opening_count": facts.opening_count,
        "room_count": facts.room_count,
        "furniture_count": facts.furniture_count,
        "total_area_m2": facts.total_area_m2,
        "bbox": facts.bbox,
        "data_bytes": encoded.data_bytes,
        "content_hash": encoded.content_hash,
    }
