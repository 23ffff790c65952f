"""Reading the floorplan document (DESIGN.md "Floorplan document") in the shapes the DXF writer and
the preview need. The document is a plain dict; anything malformed in it is skipped here rather
than raised, because the floorplan service validates documents on save — an export or a preview
of a stored document must not fail over a stray key.

Conventions (shared with the floorplan service and the editor): lengths in metres, y up; an
opening's `position` is the distance in metres from its wall's start node to the opening's
centre; zones may have `holes` (rings subtracted from the area); furniture `rotation` is in
degrees, counter-clockwise."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from spacekontext.floorplans.geometry import Line, shoelace_area

DEFAULT_THICKNESS_M = 0.2
DEFAULT_HEIGHT_M = 2.7


@dataclass(frozen=True, slots=True)
class Wall(Line):
    id: str
    thickness: float
    height: float
    openings: tuple[dict[str, Any], ...]

    @property
    def angle_deg(self) -> float:
        return math.degrees(math.atan2(self.y2 - self.y1, self.x2 - self.x1))

    def point_at(self, fraction: float) -> tuple[float, float]:
        return (
            self.x1 + (self.x2 - self.x1) * fraction,
            self.y1 + (self.y2 - self.y1) * fraction,
        )

    def outline(self) -> list[tuple[float, float]]:
        """The wall's footprint: the centreline offset by half the thickness on both sides."""
        length = self.length
        nx = -(self.y2 - self.y1) / length * self.thickness / 2
        ny = (self.x2 - self.x1) / length * self.thickness / 2
        return [
            (self.x1 + nx, self.y1 + ny),
            (self.x2 + nx, self.y2 + ny),
            (self.x2 - nx, self.y2 - ny),
            (self.x1 - nx, self.y1 - ny),
        ]


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    points: tuple[tuple[float, float], ...]
    label: str
    holes: tuple[tuple[tuple[float, float], ...], ...] = ()

    @property
    def area(self) -> float:
        return max(0.0, shoelace_area(self.points) - sum(shoelace_area(h) for h in self.holes))


@dataclass(frozen=True, slots=True)
class Furniture:
    type: str
    x: float
    y: float
    rotation: float
    width: float
    depth: float
    height: float


def _number(value: Any, default: float | None = None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    number = float(value)
    return number if math.isfinite(number) else default


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) >= 2:
        x, y = _number(value[0]), _number(value[1])
        if x is not None and y is not None:
            return (x, y)
    if isinstance(value, dict):
        x, y = _number(value.get("x")), _number(value.get("y"))
        if x is not None and y is not None:
            return (x, y)
    return None


def walls_of(document: dict[str, Any]) -> list[Wall]:
    nodes = document.get("nodes")
    edges = document.get("edges")
    if not isinstance(nodes, dict) or not isinstance(edges, dict):
        return []
    positions: dict[str, tuple[float, float]] = {}
    for node_id, node in nodes.items():
        point = _point(node.get("position")) if isinstance(node, dict) else None
        if point is not None:
            positions[str(node_id)] = point
    walls = []
    for edge_id, edge in edges.items():
        if not isinstance(edge, dict):
            continue
        start = positions.get(str(edge.get("startNodeId")))
        end = positions.get(str(edge.get("endNodeId")))
        if start is None or end is None or start == end:
            continue
        thickness = _number(edge.get("thickness"), DEFAULT_THICKNESS_M) or DEFAULT_THICKNESS_M
        height = _number(edge.get("height"), DEFAULT_HEIGHT_M) or DEFAULT_HEIGHT_M
        openings = edge.get("openings")
        walls.append(
            Wall(
                id=str(edge_id),
                x1=start[0],
                y1=start[1],
                x2=end[0],
                y2=end[1],
                thickness=abs(thickness),
                height=abs(height),
                openings=tuple(o for o in openings if isinstance(o, dict))
                if isinstance(openings, list)
                else (),
            )
        )
    return walls


def _ring(raw: list[Any]) -> tuple[tuple[float, float], ...]:
    points = tuple(p for p in (_point(item) for item in raw) if p is not None)
    if len(points) >= 3 and points[0] == points[-1]:
        points = points[:-1]
    return points if len(points) >= 3 else ()


def zones_of(document: dict[str, Any]) -> list[Zone]:
    zones = document.get("zones")
    if not isinstance(zones, list):
        return []
    result = []
    for index, zone in enumerate(zones):
        if not isinstance(zone, dict) or not isinstance(zone.get("points"), list):
            continue
        points = _ring(zone["points"])
        if not points:
            continue
        raw_label = zone.get("label")
        label = raw_label if isinstance(raw_label, str) else ""
        holes = []
        for raw_hole in zone.get("holes") or ():
            if isinstance(raw_hole, list):
                ring = _ring(raw_hole)
                if ring:
                    holes.append(ring)
        result.append(
            Zone(
                id=str(zone.get("id", f"z{index + 1}")),
                points=points,
                label=label,
                holes=tuple(holes),
            )
        )
    return result


def furniture_of(document: dict[str, Any]) -> list[Furniture]:
    items = document.get("furniture")
    if not isinstance(items, list):
        return []
    result = []
    for item in items:
        if not isinstance(item, dict):
            continue
        point = _point(item.get("position"))
        width = _number(item.get("width"))
        depth = _number(item.get("depth"))
        if point is None or not width or not depth:
            continue
        result.append(
            Furniture(
                type=str(item.get("type") or "furniture"),
                x=point[0],
                y=point[1],
                rotation=_number(item.get("rotation"), 0.0) or 0.0,
                width=abs(width),
                depth=abs(depth),
                height=abs(_number(item.get("height"), 0.0) or 0.0),
            )
        )
    return result


def opening_geometry(wall: Wall, opening: dict[str, Any]) -> tuple[str, float, float] | None:
    """(kind, centre as a fraction 0..1 of the wall, width) of an opening, or None if
    unusable."""
    kind = opening.get("type")
    distance = _number(opening.get("position"))
    width = _number(opening.get("width"))
    if kind not in ("door", "window") or distance is None or not width or width <= 0:
        return None
    fraction = min(max(distance / wall.length, 0.0), 1.0)
    return str(kind), fraction, min(width, wall.length)
