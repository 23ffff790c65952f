"""Floorplans: documents stored whole, listed by metadata only, saved under a version check,
every content change kept in `floorplan_versions`.

Concurrency: a write locks the floorplan row (`SELECT … FOR UPDATE`, metadata columns only),
checks the client's If-Match against the locked version, then writes version + 1. Concurrent
writers from the same version therefore serialize on the lock and all but the first see a newer
version and get a 412; nothing interleaves because the row, its metadata and its history entry
change in one transaction. The reads, the lock, the versioned update and the validation are
the shared versioned-document base (documents/versioned.py); the history row is its
`_after_save` hook."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Row,
    String,
    Text,
    bindparam,
    cast,
    insert,
    literal,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.db.engine import Database, Statement
from spacekontext.documents import (
    Encoded,
    Precondition,
    SavedDocument,
    StoredDocument,
    json_body_is_strict,
    merge_patch,
)
from spacekontext.documents.versioned import (
    DocumentTable,
    VersionedDocumentService,
    patched_fields,
)
from spacekontext.errors import NotFound
from spacekontext.floorplans.checks import check_floorplan, fact_values
from spacekontext.floorplans.geometry import KIND, FloorplanFacts
from spacekontext.floorplans.models import Floorplan, floorplan_versions
from spacekontext.floorplans.rooms import RoomOptions, apply_rooms
from spacekontext.floorplans.saves import SAVE_DOCUMENT, SAVE_NAME
from spacekontext.floorplans.schemas import (
    FloorplanCreate,
    FloorplanPatch,
    FloorplanReplace,
    FloorplanSummary,
    FloorplanVersionSummary,
)
from spacekontext.ids import new_id
from spacekontext.pagination import DEFAULT_PAGE, check_limit, decode_cursor, encode_cursor
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


class FloorplanService(
    VersionedDocumentService[FloorplanSummary, FloorplanSummary, tuple[FloorplanFacts, Encoded]]
):
    table = DocumentTable(Floorplan, columns=SUMMARY_COLUMNS, document=Floorplan.data)
    kind = KIND

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db, settings)
        self._rooms = RoomOptions(
            max_gap_m=settings.rooms_max_gap_m,
            snap_m=settings.rooms_snap_m,
            min_area_m2=settings.rooms_min_area_m2,
        )

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
        params: dict[str, Any] = {"limit": limit + 1}
        if level is not None:
            params["level"] = level
        if cursor:
            after = decode_cursor(cursor, leading=1)
            params |= {
                "after_level": after.leading[0],
                "after_at": after.at,
                "after_id": after.row_id,
            }
        statement = self._floorplan_list(by_level=level is not None, after=bool(cursor))
        rows = await self._page(user_id, project_id, statement, params)
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last["created_at"], last["id"], last["level"])
        return [FloorplanSummary.model_validate(row) for row in rows[:limit]], next_cursor

    @classmethod
    @functools.cache
    def _floorplan_list(cls, *, by_level: bool, after: bool) -> Statement:
        # Served by ix_floorplans_project_id_level_created_at_id, with or without `level`.
        query = cls._in_owned_project(*SUMMARY_COLUMNS)
        if by_level:
            query = query.where(Floorplan.level == bindparam("level", type_=Integer))
        if after:
            query = query.where(
                tuple_(Floorplan.level, Floorplan.created_at, Floorplan.id)
                > tuple_(
                    bindparam("after_level", type_=Integer),
                    bindparam("after_at", type_=DateTime(timezone=True)),
                    bindparam("after_id", type_=String),
                )
            )
        order = query.order_by(Floorplan.level, Floorplan.created_at, Floorplan.id)
        return Statement.of(order.limit(bindparam("limit", type_=Integer)))

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
        checked = await self.validate(body.data)

        async def columns(session: AsyncSession) -> dict[str, Any]:
            # The document itself goes in as its canonical text (`fact_values`).
            return {"name": body.name, "level": body.level} | fact_values(*checked)

        return await self._create(user_id, project_id, body.data, columns)

    async def replace(
        self, user_id: str, floorplan_id: str, body: FloorplanReplace, pre: Precondition
    ) -> SavedDocument[FloorplanSummary]:
        wanted = _Change(body.name, body.level, body.data, await self.validate(body.data))

        async def change(session: AsyncSession, current: Row[Any]) -> tuple[dict[str, Any], Any]:
            return self._changes(current, wanted)

        saved = await self._save_in_one(user_id, floorplan_id, pre, wanted, pre)
        return saved or await self._update(user_id, floorplan_id, pre, change)

    async def patch(
        self, user_id: str, floorplan_id: str, body: FloorplanPatch, pre: Precondition
    ) -> SavedDocument[FloorplanSummary]:
        fields = patched_fields(body, not_null=("name", "level"), merged=("data",))

        async def change(session: AsyncSession, current: Row[Any]) -> tuple[dict[str, Any], Any]:
            if "data" not in fields:
                return self._changes(current, _Change(body.name, body.level, None, None))
            stored = await self._stored_document(session, floorplan_id)
            document = merge_patch(stored, body.data)
            return self._changes(
                current, _Change(body.name, body.level, document, await self.validate(document))
            )

        if "data" not in fields:
            wanted, condition = _Change(body.name, body.level, None, None), pre
        else:
            # The base of the merge, then a save on the condition that it is still the stored
            # version (saves.py); the client's If-Match is checked against it first.
            rows = await self._db.fetch(
                self._reads().get, {"document_id": floorplan_id, "user_id": user_id}
            )
            if not rows:
                raise self._not_found()
            version = rows[0]["version"]
            pre.check(version, self.kind)
            document = merge_patch(orjson.loads(rows[0]["data_json"]), body.data)
            wanted = _Change(body.name, body.level, document, await self.validate(document))
            condition = Precondition(frozenset({version}))
        saved = await self._save_in_one(user_id, floorplan_id, pre, wanted, condition)
        return saved or await self._update(user_id, floorplan_id, pre, change)

    async def restore(
        self, user_id: str, floorplan_id: str, version: int, pre: Precondition
    ) -> SavedDocument[FloorplanSummary]:
        async def change(session: AsyncSession, current: Row[Any]) -> tuple[dict[str, Any], Any]:
            old = await self._version_row(session, floorplan_id, version, with_data=True)
            return self._changes(
                current, _Change(old.name, old.level, old.data, await self.validate(old.data))
            )

        return await self._update(user_id, floorplan_id, pre, change)

    async def derive_rooms(
        self, user_id: str, floorplan_id: str, pre: Precondition
    ) -> SavedDocument[FloorplanSummary]:
        """Rooms found from the walls of a floorplan that also has zones of the editor's own
        (those stay as drawn; a save derives rooms by itself only when there are none)."""

        async def change(session: AsyncSession, current: Row[Any]) -> tuple[dict[str, Any], Any]:
            document = await self._stored_document(session, floorplan_id)
            await asyncio.to_thread(apply_rooms, document, self._rooms, force=True)
            return self._changes(
                current, _Change(None, None, document, await self.validate(document))
            )

        return await self._update(user_id, floorplan_id, pre, change)

    # --- internals ------------------------------------------------------------------------------

    def check(self, data: Any) -> tuple[FloorplanFacts, Encoded]:
        return check_floorplan(data, self._rooms, self._max_bytes, finite=json_body_is_strict())

    async def _owned_or_404(self, session: AsyncSession, user_id: str, floorplan_id: str) -> None:
        found = await session.scalar(self._owned_by(user_id, floorplan_id, Floorplan.id))
        if found is None:
            raise self._not_found()

    async def _version_row(
        self, session: AsyncSession, floorplan_id: str, version: int, *, with_data: bool = False
    ) -> Any:
        data_column = (
            floorplan_versions.c.data if with_data else cast(floorplan_versions.c.data, Text)
        )
        row = await history_entry(
            session,
            floorplan_id,
            floorplan_versions.c.version == version,
            *_VERSION_COLUMNS,
            data_column.label("data" if with_data else "data_json"),
        )
        if row is None:
            raise NotFound(f"floorplan version {version} not found", code="version_not_found")
        return row

    async def _save_in_one(
        self,
        user_id: str,
        floorplan_id: str,
        pre: Precondition,
        wanted: _Change,
        condition: Precondition,
    ) -> SavedDocument[FloorplanSummary] | None:
        """A save as one statement (saves.py), applied only to a version `condition` accepts.
        When it applies to nothing, the current row says why: missing (404), a version `pre`
        (the client's If-Match) does not accept (412), or nothing to change (the current
        version, unchanged). None when a concurrent save got in between: the caller then saves
        under the row lock (`_update`), where concurrent saves wait for each other instead of
        trying again, however many there are."""
        checked = wanted.checked
        params: dict[str, Any] = {
            "floorplan_id": floorplan_id,
            "user_id": user_id,
            "versions": None if condition.versions is None else sorted(condition.versions),
            "name": wanted.name,
            "level": wanted.level,
            "history_id": new_id(),
        }
        if checked is not None:
            params |= fact_values(*checked)
        saved = await self._db.write(
            SAVE_NAME if checked is None else SAVE_DOCUMENT, params, user_id=user_id
        )
        if saved:
            return SavedDocument(self._meta(dict(saved[0])), wanted.data, changed=True)
        rows = await self._db.fetch(
            self._reads().metadata,
            {"document_id": floorplan_id, "user_id": user_id},
            primary=True,
        )
        if not rows:
            raise self._not_found()
        current = self._meta(dict(rows[0]))
        pre.check(current.version, self.kind)
        if not self._changes(current, wanted)[0]:
            return SavedDocument(current, wanted.data, changed=False)
        return None

    def _changes(self, current: Any, wanted: _Change) -> tuple[dict[str, Any], Any]:
        """The columns a write changes (None keeps the stored name, level or document)."""
        changes: dict[str, Any] = {}
        if wanted.name is not None and wanted.name != current.name:
            changes["name"] = wanted.name
        if wanted.level is not None and wanted.level != current.level:
            changes["level"] = wanted.level
        checked = wanted.checked
        if checked is not None and checked[1].content_hash != current.content_hash:
            changes |= fact_values(*checked)
        return changes, wanted.data

    async def _after_save(self, session: AsyncSession, document_id: str, user_id: str) -> None:
        """Every saved version goes into the history, copied from the floorplan row inside
        PostgreSQL."""
        source = select(
            literal(new_id(), String).label("id"),
            Floorplan.id,
            *(Floorplan.__table__.c[name] for name in _HISTORY_COPY[1:]),
            literal(user_id, String).label("created_by_user_id"),
        ).where(Floorplan.id == document_id)
        await session.execute(
            insert(floorplan_versions).from_select(
                ["id", *_HISTORY_COPY, "created_by_user_id"], source
            )
        )


async def history_entry(
    session: AsyncSession, floorplan_id: str, which: ColumnElement[bool], *columns: Any
) -> Row[Any] | None:
    """The `columns` of one entry of a floorplan's history, the one `which` picks (by version
    number, or by content hash for a content-addressed preview)."""
    query = select(*columns).where(floorplan_versions.c.floorplan_id == floorplan_id, which)
    return (await session.execute(query.limit(1))).first()


@dataclass(frozen=True, slots=True)
class _Change:
    """What a write asks for: None keeps the stored name, level or document."""

    name: str | None
    level: int | None
    data: Any
    checked: tuple[FloorplanFacts, Encoded] | None
