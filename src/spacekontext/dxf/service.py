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
from sqlalchemy import select

from spacekontext.db.engine import Database
from spacekontext.dxf.layers import LayerRules
from spacekontext.dxf.preview import render_svg
from spacekontext.dxf.reader import ImportOptions, read_dxf
from spacekontext.dxf.writer import write_dxf
from spacekontext.errors import NotFound, TooLarge
from spacekontext.floorplans.models import Floorplan
from spacekontext.floorplans.schemas import FloorplanCreate, FloorplanSummary
from spacekontext.floorplans.service import FloorplanService
from spacekontext.projects.models import Project
from spacekontext.projects.service import owned_project_or_404
from spacekontext.settings import Settings

PREVIEW_CACHE_ITEMS = 512
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Preview:
    etag: str
    svg: str | None  # None: the client's copy is current (304)


@dataclass(frozen=True, slots=True)
class Imported:
    floorplan: FloorplanSummary
    summary: dict[str, Any]


def download_name(name: str, extension: str) -> str:
    stem = _FILENAME_UNSAFE.sub("_", name).strip("._") or "floorplan"
    return f"{stem[:80]}.{extension}"


class FloorplanDxfService:
    def __init__(self, db: Database, floorplans: FloorplanService, settings: Settings) -> None:
        self._db = db
        self._floorplans = floorplans
        self._inline_max = settings.dxf_inline_max_bytes
        self._previews: OrderedDict[str, str] = OrderedDict()

    async def export(self, user_id: str, floorplan_id: str) -> tuple[str, bytes]:
        stored = await self._floorplans.get(user_id, floorplan_id)
        document = orjson.loads(stored.data_json)
        data = await asyncio.to_thread(write_dxf, document)
        return download_name(stored.meta.name, "dxf"), data

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
        if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
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
    ) -> Imported:
        async with self._db.read(user_id=user_id) as session:
            # Before any parsing: someone else's project costs nothing and reveals nothing.
            await owned_project_or_404(session, user_id, project_id)
        if len(data) > self._inline_max:
            raise TooLarge(
                f"DXF files over {self._inline_max} bytes are imported in the background, "
                "which needs the job queue",
                code="dxf_too_large_inline",
                details={"limitBytes": self._inline_max},
            )
        result = await asyncio.to_thread(read_dxf, data, options)
        saved = await self._floorplans.create(
            user_id,
            project_id,
            FloorplanCreate(name=name, level=level, data=result.document),
        )
        return Imported(saved.meta, result.summary)


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
