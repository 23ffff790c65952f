"""Files: uploads streamed through the API or sent directly to the object store, signed
downloads, deletion, and the housekeeping that keeps rows and objects in step.

Consistency rule: the object is written first and the row second. If the row cannot be written
the object is deleted again (shielded from cancellation); if the store fails no row is written
and the caller gets 503. What a crash between the two steps leaves behind (an object without a
row) is found by `reconcile`, and pending direct uploads never completed are swept."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.to_thread
import orjson
from sqlalchemy import case, delete, func, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.db.engine import Database, Statement, UnitOfWork
from spacekontext.errors import Conflict, Invalid, NotFound, UnsupportedMedia
from spacekontext.files.form import UploadForm
from spacekontext.files.kinds import KINDS, SNIFF_BYTES, FileKind, check_content, kind_for_name
from spacekontext.files.models import ProjectFile, StoredFile
from spacekontext.files.schemas import (
    FilePage,
    FilePresign,
    FileRead,
    PresignedFile,
    ProjectFileCreate,
    ProjectFilePage,
    ProjectFileRead,
    ReconcileReport,
)
from spacekontext.ids import new_id
from spacekontext.jobs.service import DELETE_PREFIX_JOB, Handler, enqueue
from spacekontext.projects.service import owned_project_or_404, project_owned_or_404
from spacekontext.settings import Settings
from spacekontext.storage.base import ObjectInfo, ObjectStore, StoredObject, upload_too_large
from spacekontext.storage.keys import (
    check_category,
    file_key,
    safe_name,
    scratch_key,
    staging_key,
)

log = logging.getLogger("spacekontext.files")

MAX_PAGE = 100
DEFAULT_CATEGORY = "import"
# The web client's project id for files of no project (render inputs): the user's scratch.
SCRATCH_PROJECT = "temp"
SCRATCH_SCOPE = "scratch"
UPLOAD_FIELDS = ("projectId",)
DIGEST_JOB = "files.digest"
REPORT_LIMIT = 1000
_PROJECT_FK = "fk_files_project_id_projects"
# The row of an object just stored, as one statement on the driver (`Database.write`): an
# upload's only database write. Through the ORM it was a flush, a refresh and a commit, six
# round trips behind PgBouncer.
_RECORD = Statement(
    "INSERT INTO app.files (id, user_id, project_id, original_name, safe_name, mime_type, "
    "size_bytes, sha256, storage_key, status, file_type, category, metadata) VALUES (:id, "
    ":user_id, :project_id, :original_name, :safe_name, :mime_type, :size_bytes, :sha256, "
    ":storage_key, 'ready', :file_type, :category, CAST(:metadata AS jsonb)) RETURNING id, "
    "user_id, project_id, original_name, safe_name, mime_type, size_bytes, sha256, storage_key, "
    "status, file_type, category, metadata, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    file: FileRead
    url: str


def check_upload_name(filename: str) -> FileKind:
    """Refuse a hostile name (400) or a kind not accepted (415) before any byte is stored."""
    kind = kind_for_name(safe_name(filename))
    kind_for_name(filename)  # the extension the client sent, not only the cleaned one
    return kind


async def _sniffed(
    kind: FileKind, chunks: AsyncIterator[bytes]
) -> tuple[bytes, AsyncIterator[bytes]]:
    """Read the head of the stream, check it, and return the whole stream again."""
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    check_content(kind, bytes(head))

    async def again() -> AsyncIterator[bytes]:
        yield bytes(head)
        async for chunk in chunks:
            yield chunk

    return bytes(head), again()


class FileService:
    def __init__(self, db: Database, store: ObjectStore, settings: Settings) -> None:
        self._db = db
        self._store = store
        self._settings = settings

    @property
    def store(self) -> ObjectStore:
        return self._store

    check_upload_name = staticmethod(check_upload_name)

    async def _download_url(self, row: StoredFile) -> str:
        return await self._store.signed_download_url(
            row.storage_key, expires_in_s=self._settings.signed_url_ttl_s, filename=row.safe_name
        )

    # --- upload through the API -------------------------------------------------------------

    async def upload(self, user_id: str, form: UploadForm) -> UploadedFile:
        """`projectId=temp` (the web client's render inputs) stores the file in the user's
        scratch space, with no project; its signed URL is readable without a session, for
        the renderer that downloads it."""
        requested_project = form.fields.get("projectId", "")
        project_id = None if requested_project == SCRATCH_PROJECT else requested_project
        category = check_category(form.fields.get("category") or DEFAULT_CATEGORY)
        name = safe_name(form.filename)
        kind = check_upload_name(form.filename)
        if project_id is not None:
            await project_owned_or_404(self._db, user_id, project_id)
        _, chunks = await _sniffed(kind, form.chunks)

        file_id, key = self._new_key(user_id, project_id, category, name)
        metadata: dict[str, Any] = {"originalName": form.filename, "upload": "api"}
        if project_id is None:
            metadata["scope"] = SCRATCH_SCOPE
        stored = await self._store.put_stream(
            key, chunks, content_type=kind.mime_type, max_bytes=self._settings.max_upload_bytes
        )
        file = await self._record_stored(
            file_id, user_id, project_id, category, form.filename, kind, stored, metadata
        )
        url = await self._store.signed_download_url(
            stored.key, expires_in_s=self._settings.signed_url_ttl_s, filename=file.safe_name
        )
        return UploadedFile(file, url)

    async def save_bytes(
        self,
        user_id: str,
        *,
        project_id: str | None,
        category: str,
        filename: str,
        data: bytes,
        metadata: dict[str, Any],
    ) -> FileRead:
        """Store bytes the API fetched itself (a Sketchfab model) as the user's file: in the
        project when given (owned), else in the user's scratch space."""
        name = safe_name(filename)
        kind = check_upload_name(filename)
        check_content(kind, data[:SNIFF_BYTES])
        category = check_category(category)
        if project_id is not None:
            await project_owned_or_404(self._db, user_id, project_id)
        file_id, key = self._new_key(user_id, project_id, category, name)
        stored = await self._store.put_bytes(key, data, content_type=kind.mime_type)
        return await self._record_stored(
            file_id, user_id, project_id, category, filename, kind, stored, metadata
        )

    @staticmethod
    def _new_key(user_id: str, project_id: str | None, category: str, name: str) -> tuple[str, str]:
        """A new file's id and where it goes: its project's folder, or the user's scratch
        space."""
        file_id = new_id()
        if project_id is not None:
            return file_id, file_key(user_id, project_id, category, file_id, name)
        return file_id, scratch_key(user_id, category, file_id, name)

    async def _record_stored(
        self,
        file_id: str,
        user_id: str,
        project_id: str | None,
        category: str,
        original_name: str,
        kind: FileKind,
        stored: StoredObject,
        metadata: dict[str, Any],
    ) -> FileRead:
        """The row of an object just stored (ready); the object is removed if the row cannot
        be written."""
        params = {
            "id": file_id,
            "user_id": user_id,
            "project_id": project_id,
            "original_name": original_name,
            "safe_name": safe_name(original_name),
            "mime_type": kind.mime_type,
            "size_bytes": stored.size_bytes,
            "sha256": stored.sha256,
            "storage_key": stored.key,
            "file_type": kind.name,
            "category": category,
            "metadata": orjson.dumps(metadata).decode(),
        }
        try:
            try:
                rows = await self._db.write(_RECORD, params, user_id=user_id)
            except Conflict as exc:
                raise _file_conflict(exc) from exc
        except BaseException:
            await self._compensate(stored.key)
            raise
        row = dict(rows[0])
        if isinstance(row["metadata"], str | bytes):  # the driver gives jsonb as text
            row["metadata"] = orjson.loads(row["metadata"])
        return FileRead.model_validate(row)

    async def find_by_metadata(self, user_id: str, name: str, value: str) -> FileRead | None:
        """The user's newest ready file whose metadata has `name` = `value`."""
        async with self._db.read(user_id=user_id) as session:
            row = await session.scalar(
                select(StoredFile)
                .where(
                    StoredFile.user_id == user_id,
                    StoredFile.status == "ready",
                    StoredFile.metadata_[name].astext == value,
                )
                .order_by(StoredFile.created_at.desc())
                .limit(1)
            )
        return FileRead.model_validate(row) if row is not None else None

    async def _flush_file(self, uow: UnitOfWork) -> None:
        # The unit of work translates integrity errors (db/engine.py); here only what a file's
        # own constraints mean.
        try:
            await uow.flush()
        except Conflict as exc:
            raise _file_conflict(exc) from exc

    async def _compensate(self, key: str) -> None:
        """Remove an object whose row could not be written. Shielded: a client that hangs up
        at this moment must not leave the object behind."""
        with anyio.CancelScope(shield=True):
            try:
                await self._store.delete(key)
            except Exception:
                # The store went down too: reconcile will find the orphan.
                log.exception("could not remove an object without a row", extra={"key": key})

    # --- direct upload ----------------------------------------------------------------------

    async def presign(self, user_id: str, data: FilePresign) -> PresignedFile:
        if data.size > self._settings.max_upload_bytes:
            raise upload_too_large(self._settings.max_upload_bytes)
        category = check_category(data.category)
        name = safe_name(data.filename)
        kind = check_upload_name(data.filename)
        file_id = new_id()
        key = file_key(user_id, data.project_id, category, file_id, name)
        async with self._db.unit_of_work() as uow:
            await owned_project_or_404(uow.session, user_id, data.project_id)
            uow.session.add(
                StoredFile(
                    id=file_id,
                    user_id=user_id,
                    project_id=data.project_id,
                    original_name=data.filename,
                    safe_name=name,
                    mime_type=kind.mime_type,
                    size_bytes=data.size,
                    storage_key=key,
                    status="pending",
                    file_type=kind.name,
                    category=category,
                    metadata_={
                        "originalName": data.filename,
                        "upload": "direct",
                        "declaredContentType": data.content_type,
                    },
                )
            )
            await self._flush_file(uow)
            await uow.commit()
        target = await self._store.presigned_upload(
            staging_key(key),
            size_bytes=data.size,
            content_type=kind.mime_type,
            expires_in_s=self._settings.signed_url_ttl_s,
        )
        return PresignedFile(
            file_id=file_id,
            upload_url=target.url,
            method=target.method,
            headers=target.headers,
            expires_at=target.expires_at,
        )

    async def complete(self, user_id: str, file_id: str) -> UploadedFile:
        async with self._db.read(user_id=user_id) as session:
            row = await self._owned(session, user_id, file_id)
        if row.status == "ready":
            return UploadedFile(
                FileRead.model_validate(row), await self._download_url(row)
            )  # idempotent
        if row.status != "pending":
            raise Conflict("this upload has failed; start a new one", code="upload_failed")
        # The uploaded object leaves the URL's reach first, then is checked where it stays: a
        # second PUT to the same URL can only write the staging key again, and an object in
        # place is never replaced by a later move (a second, concurrent complete).
        with contextlib.suppress(NotFound):  # nothing staged: not uploaded yet, or moved
            await self._store.move(staging_key(row.storage_key), row.storage_key)
        info = await self._store.head(row.storage_key)
        if info is None:
            raise Conflict("the file has not been uploaded yet", code="upload_missing")
        problem: Exception | None = None
        if info.size_bytes != row.size_bytes:
            problem = Invalid(
                f"the uploaded object has {info.size_bytes} bytes, {row.size_bytes} were promised",
                code="size_mismatch",
            )
        else:
            try:
                check_content(KINDS[row.file_type], await self._head_bytes(row.storage_key))
            except (Invalid, UnsupportedMedia) as exc:
                problem = exc
        if problem is not None:
            # The object first, outside any transaction (no row lock or pooled connection held
            # while the store answers): if the store is down this raises and the row stays
            # pending, so the client may complete again.
            await self._store.delete(row.storage_key)
            async with self._db.unit_of_work() as uow:
                await uow.session.execute(
                    update(StoredFile)
                    .where(StoredFile.id == file_id, StoredFile.status == "pending")
                    .values(status="failed", updated_at=func.now())
                )
                await uow.commit()
            raise problem
        async with self._db.unit_of_work() as uow:
            marked = await uow.session.execute(
                update(StoredFile)
                .where(StoredFile.id == file_id, StoredFile.status == "pending")
                .values(status="ready", updated_at=func.now())
                .returning(StoredFile.id)
            )
            if marked.first() is None:
                raise Conflict("the upload changed state meanwhile", code="upload_state_changed")
            # The bytes never passed through the API: their digest is computed in the background.
            await enqueue(uow.session, DIGEST_JOB, {"fileId": file_id})
            await uow.commit()
        async with self._db.read(user_id=user_id) as session:
            row = await self._owned(session, user_id, file_id)
        return UploadedFile(FileRead.model_validate(row), await self._download_url(row))

    async def _head_bytes(self, key: str) -> bytes:
        head = bytearray()
        chunks = self._store.iter_bytes(key, chunk_size=SNIFF_BYTES)
        try:
            async for chunk in chunks:
                head += chunk
                if len(head) >= SNIFF_BYTES:
                    break
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        return bytes(head)

    # --- read and delete --------------------------------------------------------------------

    async def _owned(self, session: AsyncSession, user_id: str, file_id: str) -> StoredFile:
        row = await session.scalar(
            select(StoredFile).where(StoredFile.id == file_id, StoredFile.user_id == user_id)
        )
        if row is None:
            raise NotFound("file not found")
        return row

    async def get(self, user_id: str, file_id: str) -> tuple[FileRead, str | None]:
        async with self._db.read(user_id=user_id) as session:
            row = await self._owned(session, user_id, file_id)
        url = await self._download_url(row) if row.status == "ready" else None
        return FileRead.model_validate(row), url

    async def list(
        self,
        user_id: str,
        *,
        category: str | None = None,
        project_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> FilePage:
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit must be between 1 and {MAX_PAGE}", code="invalid_limit")
        if offset < 0:
            raise Invalid("offset must not be negative", code="invalid_offset")
        conditions = [StoredFile.user_id == user_id, StoredFile.status == "ready"]
        if category is not None:
            conditions.append(StoredFile.category == category)
        if project_id is not None:
            conditions.append(StoredFile.project_id == project_id)
        async with self._db.read(user_id=user_id) as session:
            if project_id is not None:
                await owned_project_or_404(session, user_id, project_id)
            total = await session.scalar(select(func.count()).where(*conditions)) or 0
            rows = (
                await session.scalars(
                    select(StoredFile)
                    .where(*conditions)
                    .order_by(StoredFile.created_at.desc(), StoredFile.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
        return FilePage(
            files=[FileRead.model_validate(row) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    async def content(
        self, user_id: str, file_id: str
    ) -> tuple[FileRead, ObjectInfo, AsyncIterator[bytes]] | None:
        """A ready file's metadata, its object and a stream of its bytes; None while the file
        is not ready (it has no bytes yet). NotFound for someone else's file, and for a row
        whose object is gone."""
        async with self._db.read(user_id=user_id) as session:
            row = await self._owned(session, user_id, file_id)
        if row.status != "ready":
            return None
        info = await self._store.head(row.storage_key)
        if info is None:
            raise NotFound("File not found on disk", code="object_missing")
        return FileRead.model_validate(row), info, self._store.iter_bytes(row.storage_key)

    # --- a project's files: uploads and files registered by URL ------------------------------

    async def project_files(
        self, user_id: str, project_id: str, *, category: str | None, limit: int, offset: int
    ) -> ProjectFilePage:
        """The project's uploads and registered files in one list, newest first."""
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit must be between 1 and {MAX_PAGE}", code="invalid_limit")
        uploads = select(
            StoredFile.id, StoredFile.created_at.label("at"), literal("upload").label("source")
        ).where(
            StoredFile.user_id == user_id,
            StoredFile.project_id == project_id,
            StoredFile.status == "ready",
        )
        links = select(
            ProjectFile.id, ProjectFile.uploaded_at.label("at"), literal("link").label("source")
        ).where(ProjectFile.project_id == project_id)
        if category is not None:
            uploads = uploads.where(StoredFile.category == category)
            links = links.where(ProjectFile.category == category)
        both = union_all(uploads, links).subquery()
        async with self._db.read(user_id=user_id) as session:
            await owned_project_or_404(session, user_id, project_id)
            total = await session.scalar(select(func.count()).select_from(both)) or 0
            page = (
                await session.execute(
                    select(both.c.id, both.c.source)
                    .order_by(both.c.at.desc(), both.c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            upload_ids = [row.id for row in page if row.source == "upload"]
            link_ids = [row.id for row in page if row.source == "link"]
            by_id: dict[str, FileRead | ProjectFileRead] = {}
            if upload_ids:
                for stored in await session.scalars(
                    select(StoredFile).where(StoredFile.id.in_(upload_ids))
                ):
                    by_id[stored.id] = FileRead.model_validate(stored)
            if link_ids:
                for link in await session.scalars(
                    select(ProjectFile).where(ProjectFile.id.in_(link_ids))
                ):
                    by_id[link.id] = ProjectFileRead.model_validate(link)
        return ProjectFilePage(
            files=[by_id[row.id] for row in page if row.id in by_id],
            total=total,
            limit=limit,
            offset=offset,
        )

    async def register_project_file(
        self, user_id: str, project_id: str, data: ProjectFileCreate
    ) -> ProjectFileRead:
        async with self._db.unit_of_work() as uow:
            await owned_project_or_404(uow.session, user_id, project_id)
            link = ProjectFile(
                id=new_id(),
                project_id=project_id,
                name=data.name,
                type=data.type,
                category=data.category,
                url=data.url,
                size_bytes=data.size,
            )
            uow.session.add(link)
            await uow.session.flush()
            await uow.session.refresh(link)
            read = ProjectFileRead.model_validate(link)
            await uow.commit()
        return read

    async def delete_project_file(self, user_id: str, project_id: str, file_id: str) -> None:
        """Only a file of that project: a registered one, or an upload (object and row)."""
        async with self._db.unit_of_work() as uow:
            await owned_project_or_404(uow.session, user_id, project_id)
            removed = await uow.session.execute(
                delete(ProjectFile)
                .where(ProjectFile.id == file_id, ProjectFile.project_id == project_id)
                .returning(ProjectFile.id)
            )
            if removed.first() is not None:
                await uow.commit()
                return
            upload = await uow.session.scalar(
                select(StoredFile.id).where(
                    StoredFile.id == file_id,
                    StoredFile.project_id == project_id,
                    StoredFile.user_id == user_id,
                )
            )
        if upload is None:
            raise NotFound("File not found")
        await self.delete(user_id, file_id)

    async def delete(self, user_id: str, file_id: str) -> None:
        # The object goes first, outside any transaction (no row lock or pooled connection is
        # held while the store answers): if the store is down this raises, the row stays and
        # the client gets 503; if the row's delete then failed, reconcile drops the dangling row.
        async with self._db.read(user_id=user_id, primary=True) as session:
            key = await session.scalar(
                select(StoredFile.storage_key).where(
                    StoredFile.id == file_id, StoredFile.user_id == user_id
                )
            )
        if key is None:
            raise NotFound("file not found")
        await self._store.delete(key)
        async with self._db.unit_of_work() as uow:
            await uow.session.execute(
                delete(StoredFile).where(StoredFile.id == file_id, StoredFile.user_id == user_id)
            )
            await uow.commit()

    # --- scratch housekeeping (admin) -------------------------------------------------------

    async def sweep_scratch(
        self, *, older_than_s: float, batch: int = 500
    ) -> tuple[int, builtins.list[str]]:
        """Delete scratch files (no project: render inputs) older than `older_than_s`, every
        user's. Returns (deleted, errors): a file whose object cannot be removed keeps its row
        and is named in the errors."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        async with self._db.read(primary=True) as session:
            rows = (
                await session.execute(
                    select(StoredFile.id, StoredFile.storage_key)
                    .where(
                        StoredFile.project_id.is_(None),
                        StoredFile.metadata_["scope"].astext == SCRATCH_SCOPE,
                        StoredFile.created_at < cutoff,
                    )
                    .order_by(StoredFile.created_at)
                    .limit(batch)
                )
            ).all()
        deleted, errors = 0, builtins.list[str]()
        for file_id, key in rows:
            try:
                await self._store.delete(key)
            except Exception as exc:
                errors.append(f"{file_id}: {type(exc).__name__}")
                continue
            async with self._db.unit_of_work() as uow:
                await uow.session.execute(delete(StoredFile).where(StoredFile.id == file_id))
                await uow.commit()
            deleted += 1
        return deleted, errors

    async def storage_stats(self) -> dict[str, Any]:
        """Counts and bytes of the ready files, by category (scratch files as `temporary`)."""
        scratch = (StoredFile.project_id.is_(None)) & (
            StoredFile.metadata_["scope"].astext == SCRATCH_SCOPE
        )
        category = case((scratch, literal("temporary")), else_=StoredFile.category)
        async with self._db.read() as session:
            rows = (
                await session.execute(
                    select(
                        category, func.count(), func.coalesce(func.sum(StoredFile.size_bytes), 0)
                    )
                    .where(StoredFile.status == "ready")
                    .group_by(category)
                )
            ).all()
        counts = dict.fromkeys(("image", "document", "model", "project", "temporary"), 0)
        sizes = dict(counts)
        for name, count, size in rows:
            counts[name] = int(count)
            sizes[name] = int(size)
        return {
            "totalFiles": sum(counts.values()),
            "totalSize": sum(sizes.values()),
            "filesByCategory": counts,
            "sizeByCategory": sizes,
        }

    # --- background work --------------------------------------------------------------------

    def handlers(self) -> dict[str, Handler]:
        return {DELETE_PREFIX_JOB: self._delete_prefix_job, DIGEST_JOB: self._digest_job}

    async def _delete_prefix_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        prefix = str(payload["prefix"])
        if not prefix.startswith("users/") or not prefix.endswith("/"):
            raise ValueError(f"refusing to delete the unexpected prefix {prefix!r}")
        return {"deleted": await self._store.delete_prefix(prefix)}

    async def _digest_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        file_id = str(payload["fileId"])
        # The primary: the job may run before a replica has replayed the transaction that
        # marked the file ready and enqueued it; a replica would make it skip the file.
        async with self._db.read(primary=True) as session:
            key = await session.scalar(
                select(StoredFile.storage_key).where(
                    StoredFile.id == file_id, StoredFile.status == "ready"
                )
            )
        if key is None:
            return {"skipped": "file gone"}
        digest = hashlib.sha256()
        size = 0
        async for chunk in self._store.iter_bytes(key):
            size += len(chunk)
            await anyio.to_thread.run_sync(digest.update, chunk)
        async with self._db.unit_of_work() as uow:
            await uow.session.execute(
                update(StoredFile)
                .where(StoredFile.id == file_id)
                .values(sha256=digest.hexdigest(), updated_at=func.now())
            )
            await uow.commit()
        return {"sha256": digest.hexdigest(), "sizeBytes": size}

    async def sweep_pending(self, *, older_than_s: float | None = None, batch: int = 100) -> int:
        """Delete direct uploads left pending for longer than the TTL (object, then row).

        The objects are deleted with no transaction open (a store that answers slowly must not
        hold row locks and a pooled connection); a store outage raises and the rows stay for
        the next sweep. Two sweepers may pick the same rows: deletes are idempotent. A row that
        completed meanwhile (its presigned URL expired at the TTL, so only a late `complete`
        of an upload made in time) is kept; `storage reconcile` reports it without its object."""
        age = self._settings.pending_upload_ttl_s if older_than_s is None else older_than_s
        async with self._db.read(primary=True) as session:
            rows = (
                await session.execute(
                    select(StoredFile.id, StoredFile.storage_key)
                    .where(
                        StoredFile.status == "pending",
                        StoredFile.created_at < func.now() - timedelta(seconds=age),
                    )
                    .order_by(StoredFile.created_at)
                    .limit(batch)
                )
            ).all()
        for _, key in rows:
            await self._store.delete(staging_key(key))  # uploaded, never completed
            await self._store.delete(key)
        if rows:
            async with self._db.unit_of_work() as uow:
                await uow.session.execute(
                    delete(StoredFile).where(
                        StoredFile.id.in_([row.id for row in rows]),
                        StoredFile.status == "pending",
                    )
                )
                await uow.commit()
        return len(rows)

    async def reconcile(self, *, fix: bool = False, grace_s: float = 3600.0) -> ReconcileReport:
        """Compare the store with the files table by merging both in byte-wise key order (S3's
        listing order; `COLLATE "C"` in PostgreSQL), in constant memory. Objects younger than
        `grace_s` are skipped: they may belong to an upload whose row is being written."""
        orphans: builtins.list[str] = []
        dangling: builtins.list[str] = []
        orphan_count = dangling_count = objects = rows_checked = 0
        oldest_allowed = datetime.now(UTC) - timedelta(seconds=grace_s)
        query = select(StoredFile.storage_key, StoredFile.id, StoredFile.status).order_by(
            StoredFile.storage_key.collate("C")
        )
        # With `fix` the report is acted on (rows dropped, objects deleted): it must come from
        # the primary, not from a replica that has not replayed the latest uploads and deletes.
        async with self._db.read(primary=fix) as session:
            db_rows = await session.stream(query.execution_options(yield_per=1000))
            row_iter = db_rows.__aiter__()
            obj_iter = self._store.list("users/").__aiter__()
            row = await anext(row_iter, None)
            obj: ObjectInfo | None = await anext(obj_iter, None)
            while row is not None or obj is not None:
                if obj is not None and (row is None or obj.key.encode() < row[0].encode()):
                    objects += 1
                    if obj.last_modified is None or obj.last_modified < oldest_allowed:
                        orphan_count += 1
                        if len(orphans) < REPORT_LIMIT or fix:
                            orphans.append(obj.key)
                    obj = await anext(obj_iter, None)
                elif row is not None and (obj is None or row[0].encode() < obj.key.encode()):
                    rows_checked += 1
                    if row[2] == "ready":
                        dangling_count += 1
                        if len(dangling) < REPORT_LIMIT or fix:
                            dangling.append(row[1])
                    row = await anext(row_iter, None)
                else:
                    objects += 1
                    rows_checked += 1
                    obj = await anext(obj_iter, None)
                    row = await anext(row_iter, None)
        if fix:
            for key in orphans:
                await self._store.delete(key)
            await self._drop_dangling(dangling)
        return ReconcileReport(
            objects_checked=objects,
            rows_checked=rows_checked,
            orphan_count=orphan_count,
            dangling_count=dangling_count,
            orphan_objects=orphans[:REPORT_LIMIT],
            dangling_rows=dangling[:REPORT_LIMIT],
            fixed=fix,
        )

    async def _drop_dangling(self, file_ids: builtins.list[str]) -> None:
        for start in range(0, len(file_ids), 500):
            async with self._db.unit_of_work() as uow:
                rows = (
                    await uow.session.execute(
                        select(StoredFile.id, StoredFile.storage_key)
                        .where(
                            StoredFile.id.in_(file_ids[start : start + 500]),
                            StoredFile.status == "ready",
                        )
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                # Check again under the lock: an object may have appeared since the listing.
                gone = [r.id for r in rows if await self._store.head(r.storage_key) is None]
                if gone:
                    await uow.session.execute(delete(StoredFile).where(StoredFile.id.in_(gone)))
                await uow.commit()


def _file_conflict(exc: Conflict) -> NotFound | Conflict:
    """What a constraint violation of a file's row means to its client."""
    if exc.details and exc.details.get("constraint") == _PROJECT_FK:
        # The project was deleted while its file was uploading.
        return NotFound("project not found")
    return Conflict("the file conflicts with existing data", details=exc.details)
