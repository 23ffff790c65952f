"""Floorplans in and out of DXF, and their SVG previews.

Import parses in a worker thread (ezdxf is CPU-bound and would stall the event loop) and creates
the floorplan through the floorplan service, so the document is validated and its metadata
derived exactly like any other save; a file that cannot be read creates nothing.

Previews are keyed by the floorplan's content hash: the ETag is the hash, a matching
If-None-Match costs one indexed row read, and rendered SVGs are kept in a small in-process LRU
(a few KB each) so a list of cards does not re-render unchanged plans."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Text, cast, select

from spacekontext.db.engine import Database
from spacekontext.documents import etag_matches
from spacekontext.dxf.layers import LayerRules
from spacekontext.dxf.preview import render_svg
from spacekontext.dxf.reader import ImportOptions, read_dxf
from spacekontext.dxf.writer import write_dxf
from spacekontext.errors import DomainError, Invalid, NotFound, TooLarge
from spacekontext.files.models import StoredFile
from spacekontext.floorplans.models import Floorplan, floorplan_versions
from spacekontext.floorplans.rooms import DERIVED_KEY
from spacekontext.floorplans.schemas import FloorplanCreate, FloorplanSummary
from spacekontext.floorplans.service import FloorplanService, history_entry
from spacekontext.ids import new_id
from spacekontext.jobs.models import Job
from spacekontext.jobs.service import enqueue
from spacekontext.projects.models import Project
from spacekontext.projects.service import owned_project_or_404
from spacekontext.settings import Settings
from spacekontext.storage.base import ObjectStore, require_store
from spacekontext.storage.keys import project_prefix

PREVIEW_CACHE_ITEMS = 512
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Preview:
    etag: str
    svg: str | None  # None: the client's copy is current (304)


IMPORT_JOB = "dxf.import"


@dataclass(frozen=True, slots=True)
class Imported:
    floorplan: FloorplanSummary
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ImportJob:
    """A background import: poll `GET /api/floorplans/imports/{id}`."""

    id: str
    status: str  # queued | running | done | failed
    floorplan_id: str | None = None
    summary: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "statusUrl": f"/api/floorplans/imports/{self.id}",
            "floorplanId": self.floorplan_id,
            "import": self.summary,
            "error": self.error,
        }


def options_payload(options: ImportOptions) -> dict[str, Any]:
    rules = options.rules
    return {
        "units": options.units,
        "walls": list(rules.walls),
        "rooms": list(rules.rooms),
        "doors": list(rules.doors),
        "windows": list(rules.windows),
        "furniture": list(rules.furniture),
    }


def options_from_payload(raw: dict[str, Any]) -> ImportOptions:
    rules = LayerRules(
        walls=tuple(raw["walls"]),
        rooms=tuple(raw["rooms"]),
        doors=tuple(raw["doors"]),
        windows=tuple(raw["windows"]),
        furniture=tuple(raw["furniture"]),
    )
    return ImportOptions(rules=rules, units=raw.get("units"))


def download_name(name: str, extension: str) -> str:
    stem = _FILENAME_UNSAFE.sub("_", name).strip("._") or "floorplan"
    return f"{stem[:80]}.{extension}"


class FloorplanDxfService:
    def __init__(
        self,
        db: Database,
        floorplans: FloorplanService,
        settings: Settings,
        store: ObjectStore | None = None,
    ) -> None:
        self._db = db
        self._floorplans = floorplans
        self._store = store
        self._inline_max = settings.dxf_inline_max_bytes
        self._previews: OrderedDict[str, str] = OrderedDict()

    async def export(self, user_id: str, floorplan_id: str) -> tuple[str, bytes]:
        stored = await self._floorplans.get(user_id, floorplan_id)
        document = orjson.loads(stored.data_json)
        data = await asyncio.to_thread(write_dxf, document)
        return download_name(stored.meta.name, "dxf"), data

    async def preview_of(self, user_id: str, floorplan_id: str, content_hash: str) -> str:
        """The SVG of a floorplan whose content hash the caller has just read with its row (a
        page listing the plans): from the rendering cache without a query when it holds that
        hash, read and rendered otherwise (which checks ownership again)."""
        svg = self._previews.get(content_hash)
        if svg is not None:
            self._previews.move_to_end(content_hash)
            return svg
        return (await self.preview(user_id, floorplan_id, None)).svg or ""

    async def preview_by_hash(self, user_id: str, floorplan_id: str, content_hash: str) -> str:
        """The SVG of the floorplan's content with this hash, which never changes (a content-
        addressed URL): the current document or a saved version with that hash, 404 for any
        other (the caller's or not)."""
        svg = self._previews.get(content_hash)
        # The document only when it has to be rendered, in the statement that checks the hash.
        document = [cast(Floorplan.data, Text).label("data_json")] if svg is None else []
        owned = (
            select(Floorplan.content_hash, Floorplan.name, *document)
            .join(Project, Project.id == Floorplan.project_id)
            .where(Floorplan.id == floorplan_id, Project.user_id == user_id)
        )
        async with self._db.read(user_id=user_id) as session:
            row = (await session.execute(owned)).first()
            if row is None:
                raise NotFound("floorplan not found")
            found: tuple[str | None, str] = (row.data_json if svg is None else None, row.name)
            if row.content_hash != content_hash:
                # Not the current content: one of the plan's saved versions, or nothing.
                version = await history_entry(
                    session,
                    floorplan_id,
                    floorplan_versions.c.content_hash == content_hash,
                    cast(floorplan_versions.c.data, Text).label("data_json"),
                    floorplan_versions.c.name,
                )
                if version is None:
                    raise NotFound("this floorplan has no content with this hash")
                found = (version.data_json, version.name)
        if svg is not None:
            self._previews.move_to_end(content_hash)
            return svg
        data_json, name = found
        svg = render_svg(orjson.loads(data_json or "{}"), title=name)
        self._previews[content_hash] = svg
        while len(self._previews) > PREVIEW_CACHE_ITEMS:
            self._previews.popitem(last=False)
        return svg

    async def preview(self, user_id: str, floorplan_id: str, if_none_match: str | None) -> Preview:
        query = (
            select(Floorplan.content_hash)
            .join(Project, Project.id == Floorplan.project_id)
            .where(Floorplan.id == floorplan_id, Project.user_id == user_id)
        )
        async with self._db.read(user_id=user_id) as session:
            content_hash = await session.scalar(query)
        if content_hash is None:
            raise NotFound("floorplan not found")
        etag = f'"svg-{content_hash}"'
        if if_none_match is not None and etag_matches(if_none_match, etag):
            return Preview(etag, None)
        svg = self._previews.get(content_hash)
        if svg is None:
            stored = await self._floorplans.get(user_id, floorplan_id)
            svg = render_svg(orjson.loads(stored.data_json), title=stored.meta.name)
            # Keyed by the hash read with the document, not the earlier one: a save in between
            # must not file the new rendering under the old hash.
            content_hash = stored.meta.content_hash
            etag = f'"svg-{content_hash}"'
            self._previews[content_hash] = svg
            while len(self._previews) > PREVIEW_CACHE_ITEMS:
                self._previews.popitem(last=False)
        else:
            self._previews.move_to_end(content_hash)
        return Preview(etag, svg)

    async def import_dxf(
        self,
        user_id: str,
        project_id: str,
        data: bytes,
        *,
        name: str,
        level: int = 0,
        options: ImportOptions | None = None,
    ) -> Imported | ImportJob:
        """Inline up to DXF_INLINE_MAX_BYTES; above, the bytes go to the object store (under
        the project, so deleting the project removes them) and a job imports them."""
        options = options or ImportOptions()
        async with self._db.read(user_id=user_id) as session:
            # Before any parsing: someone else's project costs nothing and reveals nothing.
            await owned_project_or_404(session, user_id, project_id)
        if len(data) <= self._inline_max:
            return await self._import_now(user_id, project_id, data, name, level, options)
        if self._store is None:
            raise TooLarge(
                f"DXF files over {self._inline_max} bytes need the background importer",
                code="dxf_too_large_inline",
            )
        if not data.strip():
            raise Invalid("the file is empty", code="dxf_empty")
        key = f"{project_prefix(user_id, project_id)}imports/{new_id()}.dxf"
        await self._store.put_bytes(key, data, content_type="image/vnd.dxf")
        return await self._enqueue(user_id, project_id, name, level, options, key=key)

    async def import_file(
        self,
        user_id: str,
        project_id: str,
        file_id: str,
        *,
        name: str | None,
        level: int = 0,
        options: ImportOptions | None = None,
    ) -> Imported | ImportJob:
        """Import a DXF the user uploaded before (files API)."""
        options = options or ImportOptions()
        async with self._db.read(user_id=user_id) as session:
            await owned_project_or_404(session, user_id, project_id)
            row = (
                await session.execute(
                    select(
                        StoredFile.storage_key,
                        StoredFile.size_bytes,
                        StoredFile.status,
                        StoredFile.original_name,
                    ).where(StoredFile.id == file_id, StoredFile.user_id == user_id)
                )
            ).first()
        if row is None:
            raise NotFound("file not found")
        if row.status != "ready":
            raise Invalid("the file has not finished uploading", code="file_not_ready")
        title = name or row.original_name.rsplit(".", 1)[0][:255] or "Imported plan"
        if row.size_bytes > self._inline_max:
            return await self._enqueue(
                user_id, project_id, title, level, options, key=None, file_id=file_id
            )
        store = require_store(self._store)
        data = await store.get_bytes(row.storage_key)
        return await self._import_now(user_id, project_id, data, title, level, options)

    async def _import_now(
        self,
        user_id: str,
        project_id: str,
        data: bytes,
        name: str,
        level: int,
        options: ImportOptions,
    ) -> Imported:
        result = await asyncio.to_thread(read_dxf, data, options)
        saved = await self._floorplans.create(
            user_id,
            project_id,
            FloorplanCreate(name=name, level=level, data=result.document),
        )
        # The rooms and the area as saved: found from the walls on the save path when the
        # drawing has no room outlines (floorplans/rooms.py).
        summary = result.summary | {
            "zones": saved.meta.room_count,
            "totalAreaM2": saved.meta.total_area_m2,
        }
        derived = saved.data.get(DERIVED_KEY) if isinstance(saved.data, dict) else None
        if isinstance(derived, dict):
            summary["roomsFromWalls"] = {
                key: derived.get(key) for key in ("rooms", "netAreaM2", "grossAreaM2")
            }
            summary["warnings"] = [*result.warnings, *derived.get("warnings", [])]
        return Imported(saved.meta, summary)

    async def _enqueue(
        self,
        user_id: str,
        project_id: str,
        name: str,
        level: int,
        options: ImportOptions,
        *,
        key: str | None,
        file_id: str | None = None,
    ) -> ImportJob:
        payload = {
            "userId": user_id,
            "projectId": project_id,
            "name": name,
            "level": level,
            "key": key,
            "fileId": file_id,
            "options": options_payload(options),
        }
        async with self._db.unit_of_work() as uow:
            job_id = await enqueue(uow.session, IMPORT_JOB, payload, max_attempts=3)
            await uow.commit()
        return ImportJob(job_id, "queued")

    def handlers(self) -> dict[str, Any]:
        return {IMPORT_JOB: self._import_job}

    async def _import_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Runs in the worker. A file that cannot be read is a finished job with an error (a
        retry would fail the same way); infrastructure errors raise and are retried."""
        store = require_store(self._store)
        user_id, project_id = str(payload["userId"]), str(payload["projectId"])
        key = payload.get("key")
        if key is None:
            # The primary: the file's row was committed just before the job was queued, and a
            # replica may not have replayed it yet.
            async with self._db.read(primary=True) as session:
                key = await session.scalar(
                    select(StoredFile.storage_key).where(
                        StoredFile.id == str(payload["fileId"]), StoredFile.user_id == user_id
                    )
                )
            if key is None:
                return {"ok": False, "error": {"code": "not_found", "message": "file not found"}}
        data = await store.get_bytes(str(key))
        try:
            imported = await self._import_now(
                user_id,
                project_id,
                data,
                str(payload["name"]),
                int(payload["level"]),
                options_from_payload(payload["options"]),
            )
        except DomainError as exc:
            return {"ok": False, "error": {"code": exc.error_code, "message": exc.message}}
        finally:
            if payload.get("key"):
                await store.delete(str(key))  # the staged upload; the floorplan has the data
        return {"ok": True, "floorplanId": imported.floorplan.id, "import": imported.summary}

    async def import_status(self, user_id: str, job_id: str) -> ImportJob:
        async with self._db.read(user_id=user_id) as session:
            row = (
                await session.execute(
                    select(Job.status, Job.result, Job.payload, Job.last_error).where(
                        Job.id == job_id, Job.kind == IMPORT_JOB
                    )
                )
            ).first()
        if row is None or row.payload.get("userId") != user_id:
            raise NotFound("import not found")
        result = row.result or {}
        if row.status == "done" and result.get("ok"):
            return ImportJob(job_id, "done", result.get("floorplanId"), result.get("import"))
        if row.status == "done" or row.status == "failed":
            error = result.get("error") or {"code": "import_failed", "message": row.last_error}
            return ImportJob(job_id, "failed", error=error)
        return ImportJob(job_id, row.status)


def import_options(
    *,
    units: int | None,
    wall_layers: str | None,
    room_layers: str | None,
    door_layers: str | None,
    window_layers: str | None,
    furniture_layers: str | None,
) -> ImportOptions:
    """Comma-separated layer patterns from a form; a field left empty keeps the defaults."""
    defaults = LayerRules()

    def patterns(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
        if raw is None or not raw.strip():
            return default
        return tuple(p.strip()[:64] for p in raw.split(",") if p.strip())[:32]

    rules = LayerRules(
        walls=patterns(wall_layers, defaults.walls),
        rooms=patterns(room_layers, defaults.rooms),
        doors=patterns(door_layers, defaults.doors),
        windows=patterns(window_layers, defaults.windows),
        furniture=patterns(furniture_layers, defaults.furniture),
    )
    return ImportOptions(rules=rules, units=units)
