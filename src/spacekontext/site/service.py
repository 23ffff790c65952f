"""Site analysis: one site per project, its geodesic area and its sun path derived on save."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import orjson
from pydantic.alias_generators import to_camel
from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert

from spacekontext.db.engine import Database, Statement
from spacekontext.errors import Invalid, NotFound
from spacekontext.ids import new_id
from spacekontext.massings.figures import refresh_floor_area_ratios
from spacekontext.projects.models import Project
from spacekontext.projects.service import owned_project_or_404
from spacekontext.site.geodesy import check_coordinates, site_area_m2
from spacekontext.site.models import SiteAnalysis
from spacekontext.site.schemas import SiteAnalysisRead, SiteAnalysisUpsert, SiteCoordinates
from spacekontext.site.sunpath import check_day, is_timezone, sun_path, timezone_for, today_in

READ_COLUMNS = (
    SiteAnalysis.id,
    SiteAnalysis.project_id,
    SiteAnalysis.latitude,
    SiteAnalysis.longitude,
    SiteAnalysis.coordinates,
    SiteAnalysis.boundary,
    SiteAnalysis.site_area_m2,
    SiteAnalysis.scale,
    SiteAnalysis.rotation_deg,
    SiteAnalysis.timezone,
    SiteAnalysis.sun_path,
    SiteAnalysis.weather,
    SiteAnalysis.topography,
    SiteAnalysis.context,
    SiteAnalysis.analysis_results,
    SiteAnalysis.created_at,
    SiteAnalysis.updated_at,
)
_PASSTHROUGH = ("weather", "topography", "context", "analysis_results")
# The stored data a read returns whole (json columns, migration 0010): sent as the text
# PostgreSQL holds, never parsed, validated and encoded again (`get_json`). The sun path alone
# is 10 KB, sent twice (under the web client's name too).
_DATA = ("sun_path", *_PASSTHROUGH)
# A project's site analysis, owner-checked: one statement on the driver (`Database.fetch`).
_READ = Statement.of(
    select(*READ_COLUMNS)
    .join(Project, Project.id == SiteAnalysis.project_id)
    .where(
        SiteAnalysis.project_id == bindparam("project_id", type_=String),
        Project.user_id == bindparam("user_id", type_=String),
    )
)


def _object_or_none(value: Any, name: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise Invalid(f"{name} must be a JSON object", code="invalid_site")
    return value


def _stored_coordinates(coordinates: SiteCoordinates, lat: float, lng: float) -> dict[str, Any]:
    """Our `{lat, lng}` with the web client's keys beside them, as it sent them."""
    stored: dict[str, Any] = {"lat": lat, "lng": lng, "center": {"lat": lat, "lng": lng}}
    stored |= coordinates.model_dump(
        by_alias=True,
        include={"boundary", "area_sq_feet", "area_sq_meters", "scale", "rotation"},
        exclude_unset=True,
    )
    return stored


class SiteService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, user_id: str, body: SiteAnalysisUpsert) -> SiteAnalysisRead:
        lat, lng = body.coordinates.position
        check_coordinates(lat, lng)
        given = set(body.model_fields_set)
        values: dict[str, Any] = {
            "latitude": lat,
            "longitude": lng,
            "coordinates": _stored_coordinates(body.coordinates, lat, lng),
        }
        # The web client sends scale and rotation inside `coordinates`.
        for key in ("scale", "rotation"):
            if key not in given and key in body.coordinates.model_fields_set:
                body = body.model_copy(update={key: getattr(body.coordinates, key)})
                given.add(key)
        if "boundary" in given:
            values["boundary"] = body.boundary
            values["site_area_m2"] = site_area_m2(body.boundary) if body.boundary else None
        for key in ("scale", "rotation"):
            if key in given:
                values["rotation_deg" if key == "rotation" else key] = getattr(body, key)
        for key in _PASSTHROUGH:
            if key in given:
                values[key] = _object_or_none(getattr(body, key), key)
        if body.timezone is not None and not is_timezone(body.timezone):
            raise Invalid(f"unknown time zone {body.timezone!r}", code="invalid_timezone")
        # An explicit zone from the client wins; otherwise the zone at the coordinates.
        zone = body.timezone
        if zone is None:
            zone = await asyncio.to_thread(timezone_for, lat, lng)
        day = body.date or today_in(zone)
        check_day(day)  # before the write: a refused date changes nothing
        values["timezone"] = zone
        values["sun_path"] = await asyncio.to_thread(sun_path, lat, lng, zone, day)

        async with self._db.unit_of_work() as uow:
            await owned_project_or_404(uow.session, user_id, body.project_id)
            if "boundary" in given:
                # Before the massings are refreshed below, as every writer of a massing input
                # does (see massings.figures).
                await uow.session.execute(
                    select(Project.id)
                    .where(Project.id == body.project_id)
                    .with_for_update(key_share=True)
                )
            statement = (
                insert(SiteAnalysis)
                .values(id=new_id(), project_id=body.project_id, **values)
                .on_conflict_do_update(
                    index_elements=[SiteAnalysis.project_id],
                    set_={**values, "updated_at": func.now()},
                )
                .returning(*READ_COLUMNS)
            )
            row = (await uow.session.execute(statement)).one()
            if "boundary" in given:
                # The floor-area ratio of every massing follows the site's area, computed and
                # rounded exactly as a massing save does.
                await refresh_floor_area_ratios(uow.session, body.project_id, row.site_area_m2)
            await uow.commit()
        return SiteAnalysisRead.model_validate(row)

    async def get_json(
        self, user_id: str, project_id: str, *, day: date | None, interval_minutes: int | None
    ) -> bytes:
        """The answer of a site read: `{"success": true, "siteAnalysis": …}` as `get` renders
        it. For the stored date and interval the site's data goes out as the text PostgreSQL
        holds (the same bytes when a save wrote it; tests compare); the rest of the site is
        read through its model, whose validator fills in the client's `coordinates`."""
        if day is not None or interval_minutes is not None:
            site = await self.get(user_id, project_id, day=day, interval_minutes=interval_minutes)
            return orjson.dumps(
                {"success": True, "siteAnalysis": site.model_dump(mode="json", by_alias=True)}
            )
        rows = await self._db.fetch(_READ, {"project_id": project_id, "user_id": user_id})
        if not rows:
            raise NotFound("site analysis not found")
        row = dict(rows[0])
        texts = {name: row.pop(name) for name in _DATA}
        small = _READ.values(row | dict.fromkeys(_DATA))
        body = SiteAnalysisRead.model_validate(small).model_dump(mode="json", by_alias=True)
        for name, text in texts.items():
            value = None if text is None else orjson.Fragment(text)
            # The API's name and the web client's (`sunPathData`…), where the model has one.
            for key in (to_camel(name), f"{to_camel(name)}Data"):
                if key in body:
                    body[key] = value
        return orjson.dumps({"success": True, "siteAnalysis": body})

    async def get(
        self,
        user_id: str,
        project_id: str,
        *,
        day: date | None,
        interval_minutes: int | None = None,
    ) -> SiteAnalysisRead:
        rows = await self._db.fetch(_READ, {"project_id": project_id, "user_id": user_id})
        if not rows:
            raise NotFound("site analysis not found")
        site = SiteAnalysisRead.model_validate(_READ.values(rows[0]))
        if day is not None or interval_minutes is not None:
            # Another date or interval than the stored ones: computed for this answer only.
            zone = site.timezone
            if zone is None:
                zone = await asyncio.to_thread(timezone_for, site.latitude, site.longitude)
            stored = (site.sun_path or {}).get("date")
            if day is None:
                day = date.fromisoformat(stored) if isinstance(stored, str) else today_in(zone)
            check_day(day)
            path = await asyncio.to_thread(
                sun_path, site.latitude, site.longitude, zone, day, interval_minutes or 60
            )
            site = site.model_copy(update={"sun_path": path})
        return site
