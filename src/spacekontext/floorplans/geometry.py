"""The floorplan document: validation with precise paths, and the metadata derived from it.

The document is the editor's canvas state (DESIGN.md, "Floorplan document"), lengths in metres:

    nodes     {id: {position: [x, y], connectedEdges: [edgeId…]}}
    edges     {id: {startNodeId, endNodeId, thickness, height,
                    openings: [{type: door|window, position, width, sillHeight…}]}}
    zones     [{id, points: [[x, y]…], holes: [[[x, y]…]…], label}]
    furniture [{position, rotation, width, depth, height, type}]

Only what the metadata is derived from is validated; every other key is the editor's business
and is kept as sent. An opening's `position` is the distance in metres from the wall's start
node to the opening's centre, so the opening spans position ± width/2 along the wall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

import shapely

from spacekontext.documents import Problem, document_invalid, require_object

KIND = "floorplan"
OPENING_TYPES = frozenset({"door", "window"})
# Openings may touch the wall's ends; allow for float noise in coordinates typed by hand.
EPSILON_M = 1e-6
# Every length and coordinate of a drawing, in metres. A plan spans metres to kilometres:
# numbers past this are typos or probes, and areas or sums of them would overflow to infinity.
MAX_LENGTH_M = 1_000_000.0


NUMBER_PAIR = "must be an [x, y] pair of numbers within ±1,000,000 m"


@dataclass(frozen=True, slots=True)
class FloorplanFacts:
    wall_count: int
    opening_count: int
    room_count: int
    furniture_count: int
    total_area_m2: float
    bbox: list[float] | None


def is_number(value: Any) -> TypeGuard[float]:
    """A finite number within ±MAX_LENGTH_M (NaN fails the comparison)."""
    # Exact types first: a 200 KB plan asks this ~9,000 times per save.
    kind = type(value)
    if kind is float or kind is int:
        number: float = value
        return -MAX_LENGTH_M <= number <= MAX_LENGTH_M
    # bool is an int in Python but not a number in a drawing.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and -MAX_LENGTH_M <= value <= MAX_LENGTH_M
    )


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list) and len(value) >= 2 and is_number(value[0]) and is_number(value[1]):
        return float(value[0]), float(value[1])
    return None


def shoelace_area(ring: list[tuple[float, float]]) -> float:
    """Unsigned area of a simple ring (first point not repeated at the end)."""
    twice = 0.0
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2.0


def _open_ring(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    # Editors send rings both ways; a closing point that repeats the first adds nothing.
    if len(points) > 1 and points[0] == points[-1]:
        return points[:-1]
    return points


class Checker:
    """Collects every problem of a document (with its JSON Pointer) instead of stopping at the
    first, so that one response tells the client all it has to fix."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def ring(self, value: Any, path: str) -> list[tuple[float, float]] | None:
        if not isinstance(value, list):
            self.fail(path, "must be a list of [x, y] points")
            return None
        points: list[tuple[float, float]] = []
        for i, raw in enumerate(value):
            point = _point(raw)
            if point is None:
                self.fail(f"{path}/{i}", NUMBER_PAIR)
                return None
            points.append(point)
        ring = _open_ring(points)
        if len(set(ring)) < 3:
            self.fail(path, f"a polygon needs at least 3 distinct points, got {len(set(ring))}")
            return None
        return ring


def derive(document: Any) -> FloorplanFacts:
    """Validate the document and derive its metadata; raises `ValidationFailed` listing every
    problem found (with a JSON Pointer to each)."""
    doc = require_object(document, KIND)
    check = Checker()
    xs: list[float] = []
    ys: list[float] = []

    nodes = doc.get("nodes", {})
    edges = doc.get("edges", {})
    zones = doc.get("zones", [])
    furniture = doc.get("furniture", [])
    if not isinstance(nodes, dict):
        check.fail("/nodes", "must be an object of nodes by id")
        nodes = {}
    if not isinstance(edges, dict):
        check.fail("/edges", "must be an object of edges by id")
        edges = {}
    if not isinstance(zones, list):
        check.fail("/zones", "must be a list of zones")
        zones = []
    if not isinstance(furniture, list):
        check.fail("/furniture", "must be a list")
        furniture = []

    positions: dict[str, tuple[float, float]] = {}
    for node_id, node in nodes.items():
        path = f"/nodes/{node_id}"
        if not isinstance(node, dict):
            check.fail(path, "must be an object")
            continue
        point = _point(node.get("position"))
        if point is None:
            check.fail(f"{path}/position", NUMBER_PAIR)
            continue
        positions[node_id] = point
        xs.append(point[0])
        ys.append(point[1])
        connected = node.get("connectedEdges", [])
        if not isinstance(connected, list):
            check.fail(f"{path}/connectedEdges", "must be a list of edge ids")
            continue
        for i, edge_id in enumerate(connected):
            if not isinstance(edge_id, str) or edge_id not in edges:
                check.fail(f"{path}/connectedEdges/{i}", f"unknown edge {edge_id!r}")

    opening_count = 0
    for edge_id, edge in edges.items():
        path = f"/edges/{edge_id}"
        if not isinstance(edge, dict):
            check.fail(path, "must be an object")
            continue
        ends = []
        for key in ("startNodeId", "endNodeId"):
            node_id = edge.get(key)
            if not isinstance(node_id, str) or node_id not in nodes:
                check.fail(f"{path}/{key}", f"unknown node {node_id!r}")
            elif node_id in positions:
                ends.append(positions[node_id])
        for key in ("thickness", "height"):
            if key in edge and not (is_number(edge[key]) and edge[key] > 0):
                check.fail(f"{path}/{key}", "must be a positive number of metres")
        openings = edge.get("openings", [])
        if not isinstance(openings, list):
            check.fail(f"{path}/openings", "must be a list")
            continue
        opening_count += len(openings)
        length = math.dist(ends[0], ends[1]) if len(ends) == 2 else None
        for i, opening in enumerate(openings):
            _check_opening(check, opening, f"{path}/openings/{i}", length)

    total_area = 0.0
    for i, zone in enumerate(zones):
        path = f"/zones/{i}"
        if not isinstance(zone, dict):
            check.fail(path, "must be an object")
            continue
        area = _zone_area(check, zone, path)
        if area is None:
            continue
        total_area += area
        for x, y in _open_ring([p for p in map(_point, zone["points"]) if p is not None]):
            xs.append(x)
            ys.append(y)

    for i, item in enumerate(furniture):
        if not isinstance(item, dict):
            check.fail(f"/furniture/{i}", "must be an object")

    if check.problems:
        raise document_invalid(KIND, check.problems)
    return FloorplanFacts(
        wall_count=len(edges),
        opening_count=opening_count,
        room_count=len(zones),
        furniture_count=len(furniture),
        total_area_m2=round(total_area, 6),
        bbox=[min(xs), min(ys), max(xs), max(ys)] if xs else None,
    )


def _check_opening(check: Checker, opening: Any, path: str, wall_length: float | None) -> None:
    if not isinstance(opening, dict):
        check.fail(path, "must be an object")
        return
    if opening.get("type") not in OPENING_TYPES:
        check.fail(f"{path}/type", "must be 'door' or 'window'")
    width = opening.get("width")
    position = opening.get("position")
    if not (is_number(width) and width > 0):
        check.fail(f"{path}/width", "must be a positive number of metres")
        return
    if not is_number(position):
        check.fail(f"{path}/position", "must be a number of metres from the wall's start")
        return
    if wall_length is None:
        return  # the wall's own error is already reported
    start, end = position - width / 2, position + width / 2
    if start < -EPSILON_M or end > wall_length + EPSILON_M:
        check.fail(
            path,
            f"opening spans {start:g}..{end:g} m but its wall is {wall_length:g} m long",
        )


def _zone_area(check: Checker, zone: dict[str, Any], path: str) -> float | None:
    shell = check.ring(zone.get("points"), f"{path}/points")
    holes_raw = zone.get("holes", [])
    if not isinstance(holes_raw, list):
        check.fail(f"{path}/holes", "must be a list of rings")
        return None
    holes = []
    for j, raw in enumerate(holes_raw):
        hole = check.ring(raw, f"{path}/holes/{j}")
        if hole is not None:
            holes.append(hole)
    if shell is None or len(holes) != len(holes_raw):
        return None
    polygon = shapely.Polygon(shell, holes)
    if not polygon.is_valid:
        # e.g. "Self-intersection[2.5 2.5]" or "Hole lies outside shell[…]"
        check.fail(f"{path}/points", f"not a simple polygon: {shapely.is_valid_reason(polygon)}")
        return None
    return shoelace_area(shell) - sum(shoelace_area(hole) for hole in holes)
