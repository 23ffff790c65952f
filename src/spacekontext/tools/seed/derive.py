"""The metadata columns of seeded floorplans, derived as the floorplans service derives them.

Lists read these columns and never the documents, so seeded rows must carry the values a save
through the API would have written. The service's `floorplans.geometry.derive` also validates
every zone with shapely and `documents.encode` walks every value for non-finite numbers: about
6 ms a plan, which is most of a seed's time at scale. The generator builds valid plans by
construction, so this is the same arithmetic without the checks (same shoelace, same rounding,
same canonical encoding); the seed tests hold it equal to the service's derivation."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from spacekontext.documents import rounding
from spacekontext.floorplans.geometry import FloorplanFacts, shoelace_area


@dataclass(frozen=True, slots=True)
class FloorplanFigures(FloorplanFacts):
    """The service's facts plus what the save path derives from the encoded bytes."""

    data_bytes: int
    content_hash: str


def serialized(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def content_hash(document: dict[str, Any]) -> str:
    # As documents.encode: key order does not change the content, hash the sorted-keys form.
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def floorplan_figures(document: dict[str, Any], raw: bytes | None = None) -> FloorplanFigures:
    raw = serialized(document) if raw is None else raw
    edges = document.get("edges") or {}
    zones = document.get("zones") or []
    xs: list[float] = []
    ys: list[float] = []
    for node in (document.get("nodes") or {}).values():
        x, y = node["position"]
        xs.append(x)
        ys.append(y)
    area = 0.0
    for zone in zones:
        shell = [(x, y) for x, y in zone["points"]]
        holes = [[(x, y) for x, y in hole] for hole in zone.get("holes") or ()]
        area += shoelace_area(shell) - sum(shoelace_area(hole) for hole in holes)
    return FloorplanFigures(
        wall_count=len(edges),
        opening_count=sum(len(edge.get("openings") or ()) for edge in edges.values()),
        room_count=len(zones),
        furniture_count=len(document.get("furniture") or ()),
        total_area_m2=rounding.area_m2(area),
        bbox=[min(xs), min(ys), max(xs), max(ys)] if xs else None,
        data_bytes=len(raw),
        content_hash=content_hash(document),
    )
