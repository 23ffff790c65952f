"""The metadata columns of seeded documents, derived as the services derive them on save.

Lists read these columns and never the documents, so seeded rows must carry the same values a
save through the API would have written: counts, total zone area (shoelace), bbox, byte size of
the serialized document and its SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class FloorplanFigures:
    wall_count: int
    opening_count: int
    room_count: int
    furniture_count: int
    total_area_m2: float
    bbox: list[float] | None
    data_bytes: int
    content_hash: str


def serialized(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def content_hash(document: dict[str, Any]) -> str:
    # Key order does not change the content: hash the canonical (sorted-keys) form.
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def ring_area(points: list[list[float]]) -> float:
    total = 0.0
    count = len(points)
    for k in range(count):
        x1, y1 = points[k]
        x2, y2 = points[(k + 1) % count]
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


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
        area += ring_area(zone["points"])
        for hole in zone.get("holes") or ():
            area -= ring_area(hole)
    return FloorplanFigures(
        wall_count=len(edges),
        opening_count=sum(len(edge.get("openings") or ()) for edge in edges.values()),
        room_count=len(zones),
        furniture_count=len(document.get("furniture") or ()),
        total_area_m2=round(area, 4),
        bbox=[min(xs), min(ys), max(xs), max(ys)] if xs else None,
        data_bytes=len(raw),
        content_hash=content_hash(document),
    )


def model_object_count(document: dict[str, Any]) -> int:
    return len(document.get("objects") or ())
