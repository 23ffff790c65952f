"""The parts of a versioned document's service that do not depend on its kind: the paginated
list, reading the current version and the stored document, where a document is validated, the
row lock behind every write, the insert and the versioned update that end one, and deletion.

Floorplans, 3D models and massings share them. A subclass names its table, the columns its
answers show and the column that holds the document; it says how a document is checked and
what is derived from it (`check`, run by `validate` in a worker thread for every kind), and
what else a saved version leaves behind (`_after_save`: a floorplan appends its history row).
What a write changes beyond the document (names, levels, settings, analyses) stays in each
service."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import (
    DateTime,
    Integer,
    Row,
    Select,
    String,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.db.engine import Database, Statement
from spacekontext.documents import (
    Encoded,
    Precondition,
    SavedDocument,
    StoredDocument,
    encode,
    json_body_is_strict,
)
from spacekontext.errors import Invalid, NotFound
from spacekontext.ids import new_id
from spacekontext.pagination import DEFAULT_PAGE, check_limit, decode_cursor, encode_cursor
from spacekontext.projects.models import Project
from spacekontext.projects.service import owned_project_or_404, project_owned_or_404
from spacekontext.settings import Settings

Read = TypeVar("Read", bound=BaseModel)
Summary = TypeVar("Summary", bound=BaseModel)
# What `check` found: at least the document's encoding, and whatever the kind derives from it.
Checked = TypeVar("Checked")


def patched_fields(
    body: BaseModel, *, not_null: tuple[str, ...] = ("name",), merged: tuple[str, ...] = ()
) -> set[str]:
    """The fields a PATCH body sets. Refused: null for a column that cannot be null
    (`invalid_<field>`), and anything but an object for a JSON value merged into the stored
    one (`invalid_patch`). Fields are named as the client writes them."""
    fields = body.model_fields_set
    wire = {name: info.alias or name for name, info in type(body).model_fields.items()}
    for name in not_null:
        if name in fields and getattr(body, name) is None:
            raise Invalid(f"{wire[name]} cannot be null", code=f"invalid_{name}")
    for name in merged:
        if name in fields and not isinstance(getattr(body, name), dict):
            raise Invalid(f"{wire[name]} must be a merge patch object", code="invalid_patch")
    return fields


@dataclass(frozen=True, slots=True)
class DocumentTable:
    """Where a kind of document lives. (A holder rather than class attributes of the service:
    a mapped column read through a service instance would act as the ORM's descriptor.)"""

    # The mapped class: it has `id`, `project_id` and `version` columns.
    model: Any
    # Metadata shown by reads and write answers, and what the row lock selects: never the
    # document, so a lock does not read a large JSON value it does not need.
    columns: tuple[Any, ...]
    document: Any
    # What a list shows of each row (no JSON blobs); empty: the same as `columns`, where a
    # read shows no more than a list row.
    summary_columns: tuple[Any, ...] = ()
    # Further JSON columns a read shows beside the document, by response key.
    extra_json: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.summary_columns:
            object.__setattr__(self, "summary_columns", self.columns)


class VersionedDocumentService(Generic[Read, Summary, Checked]):
    table: ClassVar[DocumentTable]
    # The kind's name in messages ("3D model"): "3D model not found", "the 3D model was changed…".
    kind: ClassVar[str]
    # What a read and a list row are validated as: the subclass's type arguments, read once by
    # `__init_subclass__` (not ClassVars: those cannot be generic).
    read_schema: type[Read]
    summary_schema: type[Summary]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is VersionedDocumentService:
                cls.read_schema, cls.summary_schema, _checked = get_args(base)

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._max_bytes = settings.max_document_bytes

    async def list_in_project(
        self,
        user_id: str,
        project_id: str,
        *,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> tuple[list[Summary], str | None]:
        """A page of the project's documents, last changed first, and the cursor of the next
        page (None on the last). An edit while a client pages moves that row to the front, where
        the next look at the first page finds it."""
        check_limit(limit)
        params: dict[str, Any] = {"limit": limit + 1}
        if cursor:
            after = decode_cursor(cursor)
            params |= {"after_at": after.at, "after_id": after.row_id}
        rows = await self._page(
            user_id, project_id, self._list_statement(after=bool(cursor)), params
        )
        next_cursor = None
        if len(rows) > limit:
            next_cursor = encode_cursor(rows[limit - 1]["updated_at"], rows[limit - 1]["id"])
        return [self.summary_schema.model_validate(row) for row in rows[:limit]], next_cursor

    @classmethod
    @functools.cache
    def _list_statement(cls, *, after: bool) -> Statement:
        # Served by the (project_id, updated_at DESC, id DESC) index of each table.
        model = cls.table.model
        query = cls._in_owned_project(*cls.table.summary_columns)
        if after:
            query = query.where(
                tuple_(model.updated_at, model.id)
                < tuple_(
                    bindparam("after_at", type_=DateTime(timezone=True)),
                    bindparam("after_id", type_=String),
                )
            )
        order = query.order_by(model.updated_at.desc(), model.id.desc())
        return Statement.of(order.limit(bindparam("limit", type_=Integer)))

    @classmethod
    def _in_owned_project(cls, *columns: Any) -> Select[Any]:
        """The kind's rows in the project `:project_id` if it belongs to `:user_id`: a page
        read in one statement, where it was the owner check and the page in an ORM session."""
        model = cls.table.model
        return (
            select(*columns)
            .select_from(model)
            .join(Project, Project.id == model.project_id)
            .where(
                model.project_id == bindparam("project_id", type_=String),
                Project.user_id == bindparam("user_id", type_=String),
            )
        )

    async def _page(
        self, user_id: str, project_id: str, statement: Statement, params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The rows of a list statement built on `_in_owned_project`, on the driver. A page
        with rows proves the project is the user's; an empty one is told apart from a missing
        (or somebody else's) project by one more statement."""
        rows = await self._db.fetch(
            statement, {"user_id": user_id, "project_id": project_id, **params}, user_id=user_id
        )
        if not rows:
            await project_owned_or_404(self._db, user_id, project_id)
        return [statement.values(row) for row in rows]

    async def current_version(self, user_id: str, document_id: str) -> int:
        """The version alone (for If-None-Match), without touching the document."""
        rows = await self._db.fetch(
            self._reads().version, {"user_id": user_id, "document_id": document_id}
        )
        if not rows:
            raise self._not_found()
        return int(rows[0]["version"])

    async def get(self, user_id: str, document_id: str) -> StoredDocument[Read]:
        """The document's metadata and its JSON text, which goes into the answer as it is
        (no parse and re-encode of a large document on the read path)."""
        reads = self._reads()
        rows = await self._db.fetch(reads.get, {"user_id": user_id, "document_id": document_id})
        if not rows:
            raise self._not_found()
        row = rows[0]
        return StoredDocument(
            self._meta(reads.get.values(row)),
            row["data_json"],
            extra_json={key: row[f"{key}_json"] for key in self.table.extra_json},
        )

    @classmethod
    @functools.cache
    def _reads(cls) -> _Reads:
        """The kind's reads as plain statements, built once from its table: they go
        straight to the driver (`Database.fetch`: one round trip, no ORM session), as the
        project reads do: the document with its metadata, the metadata alone, the version alone."""
        extra = [
            cast(column, Text).label(f"{key}_json") for key, column in cls.table.extra_json.items()
        ]
        user, document = bindparam("user_id", type_=String), bindparam("document_id", type_=String)
        document_text = cast(cls.table.document, Text).label("data_json")
        get = cls._owned_by(user, document, *cls.table.columns, document_text, *extra)
        return _Reads(
            get=Statement.of(get),
            metadata=Statement.of(cls._owned_by(user, document, *cls.table.columns)),
            version=Statement.of(cls._owned_by(user, document, cls.table.model.version)),
        )

    async def delete(self, user_id: str, document_id: str, pre: Precondition) -> None:
        async with self._db.unit_of_work() as uow:
            await self._lock(uow.session, user_id, document_id, pre)
            await uow.session.execute(
                delete(self.table.model).where(self.table.model.id == document_id)
            )
            await uow.commit()

    # --- validation: one place for every kind --------------------------------------------------

    async def validate(self, data: Any) -> Checked:
        """Check a document and derive its metadata, in a worker thread: a large document takes
        milliseconds of CPU (10-40 ms for a 200 KB floorplan), during which the event loop keeps
        serving other requests (the GIL is handed back every few ms) instead of stalling all of
        them."""
        return await asyncio.to_thread(self.check, data)

    def encoded(self, data: Any) -> Encoded:
        """The document's canonical encoding under the kind's size limit (`encode`); the walk
        for NaN and infinities is skipped for a body orjson parsed (`json_body_is_strict`)."""
        return encode(data, kind=self.kind, max_bytes=self._max_bytes, finite=json_body_is_strict())

    def check(self, data: Any) -> Checked:
        """Size, finite numbers and the kind's own rules (`ValidationFailed`/`TooLarge` on a
        bad document); what the metadata columns are derived from. CPU only, no I/O."""
        raise NotImplementedError

    # --- for the write paths of subclasses ------------------------------------------------------

    async def _update(
        self,
        user_id: str,
        document_id: str,
        pre: Precondition,
        change: Callable[[AsyncSession, Row[Any]], Awaitable[tuple[dict[str, Any], Any]]],
    ) -> SavedDocument[Read]:
        """The versioned update of every kind: lock the row (If-Match checked against its
        version), ask `change(session, current)` for the columns that change and the document
        the answer carries, and write them as the next version — or, when nothing changes,
        answer with the current version and leave the row as it was."""
        async with self._db.unit_of_work() as uow:
            current = await self._lock(uow.session, user_id, document_id, pre)
            changes, data = await change(uow.session, current)
            if not changes:
                return SavedDocument(self._meta(current), data, changed=False)
            meta = await self._save(uow.session, document_id, current.version, changes, user_id)
            await uow.commit()
        return SavedDocument(meta, data, changed=True)

    async def _after_save(self, session: AsyncSession, document_id: str, user_id: str) -> None:
        """Called in the write's transaction after every insert or versioned update (a
        floorplan appends its history row here). Nothing by default."""

    async def _lock(
        self, session: AsyncSession, user_id: str, document_id: str, pre: Precondition
    ) -> Row[Any]:
        """Lock the row (metadata columns only) and check If-Match against its version."""
        query = self._owned_by(user_id, document_id, *self.table.columns)
        row: Row[Any] | None = (
            await session.execute(query.with_for_update(of=self.table.model))
        ).first()
        if row is None:
            raise self._not_found()
        pre.check(row.version, self.kind)
        return row

    async def _stored_document(self, session: AsyncSession, document_id: str) -> Any:
        """The document as stored (the base of a merge patch), under the lock of `_lock`."""
        return await session.scalar(
            select(self.table.document).where(self.table.model.id == document_id)
        )

    async def _create(
        self,
        user_id: str,
        project_id: str,
        data: Any,
        columns: Callable[[AsyncSession], Awaitable[dict[str, Any]]],
    ) -> SavedDocument[Read]:
        """Insert version 1 of a document into an owned project. `columns(session)` gives the
        row's own values (the document, what is derived from it, the kind's other fields), in
        the write's transaction, after the project's ownership is checked."""
        async with self._db.unit_of_work() as uow:
            await owned_project_or_404(uow.session, user_id, project_id)
            document_id = new_id()
            values = {"id": document_id, "project_id": project_id, **await columns(uow.session)}
            statement = insert(self.table.model).values(**values, version=1)
            row = (await uow.session.execute(statement.returning(*self.table.columns))).one()
            await self._after_save(uow.session, document_id, user_id)
            await uow.commit()
        return SavedDocument(self._meta(row), data, changed=True)

    async def _save(
        self,
        session: AsyncSession,
        document_id: str,
        version: int,
        changes: dict[str, Any],
        user_id: str,
    ) -> Read:
        """Write `changes` as the version after `version` (the locked row's); the metadata of
        the result."""
        model = self.table.model
        statement = (
            update(model)
            .where(model.id == document_id)
            .values(**changes, version=version + 1, updated_at=func.now())
            .returning(*self.table.columns)
        )
        row = (await session.execute(statement)).one()
        await self._after_save(session, document_id, user_id)
        return self._meta(row)

    def _meta(self, row: Any) -> Read:
        return self.read_schema.model_validate(row)

    def _not_found(self) -> NotFound:
        return NotFound(f"{self.kind} not found")

    @classmethod
    def _owned_by(cls, user_id: Any, document_id: Any, *columns: Any) -> Select[Any]:
        # Someone else's document is indistinguishable from a missing one.
        return (
            select(*columns)
            .select_from(cls.table.model)
            .join(Project, Project.id == cls.table.model.project_id)
            .where(cls.table.model.id == document_id, Project.user_id == user_id)
        )


@dataclass(frozen=True, slots=True)
class _Reads:
    get: Statement
    metadata: Statement
    version: Statement
