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
from collections.abc import Sequence, Sized
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeGuard

import numpy as np
import shapely

from spacekontext.documents import Problem, document_invalid, require_object, rounding

KIND = "floorplan"
OPENING_TYPES = frozenset({"door", "window"})
# Openings may touch the wall's ends; allow for float noise in coordinates typed by hand.
EPSILON_M = 1e-6
# Every length and coordinate of a drawing, in metres. A plan spans metres to kilometres:
# numbers past this are typos or probes, and areas or sums of them would overflow to infinity.
MAX_LENGTH_M = 1_000_000.0


NUMBER_PAIR = "must be an [x, y] pair of numbers within ±1,000,000 m"


@dataclass(frozen=True, slots=True)
class Line:
    """A straight line from (x1, y1) to (x2, y2), in metres: what a wall's centre line, one
    face of a wall drawn with both, and a wall read from a drawing have in common."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def length(self) -> float:
        return math.hypot(self.x2 - self.x1, self.y2 - self.y1)


@dataclass(frozen=True, slots=True)
class FloorplanFacts:
    wall_count: int
    opening_count: int
    room_count: int
    furniture_count: int
    total_area_m2: float
    bbox: list[float] | None

    @classmethod
    def measured(
        cls,
        edges: Sized,
        opening_count: int,
        zones: Sized,
        furniture: Sized,
        total_area: float,
        xs: list[float],
        ys: list[float],
    ) -> FloorplanFacts:
        """The facts from what both derivations (`derive_checked`, `derive_arrays`) gather.
        Python's min and max over the same values in the same order keep their bounding boxes
        equal (which of 0.0 and -0.0 comes first decides which is kept)."""
        return cls(
            wall_count=len(edges),
            opening_count=opening_count,
            room_count=len(zones),
            furniture_count=len(furniture),
            total_area_m2=rounding.area_m2(total_area),
            bbox=[min(xs), min(ys), max(xs), max(ys)] if xs else None,
        )


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


def shoelace_area(ring: Sequence[tuple[float, float]]) -> float:
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
    problem found (with a JSON Pointer to each).

    Two passes over the same rules: `derive_arrays` checks a well-formed plan in bulk (zones
    validated by shapely's vectorised functions, no error paths built) and returns None at the
    first thing it does not accept; `derive_checked` then walks the document value by value
    and reports every problem precisely. The property tests hold the two equal."""
    facts = derive_arrays(document)
    return facts if facts is not None else derive_checked(document)


def derive_checked(document: Any) -> FloorplanFacts:
    """The rules value by value, every problem collected with its JSON Pointer; the reference
    the bulk pass is held to."""
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
    return FloorplanFacts.measured(edges, opening_count, zones, furniture, total_area, xs, ys)


def _check_opening(check: Checker, opening: Any, path: str, wall_length: float | None) -> None:
    if not isinstance(opening, dict):
        check.fail(path, "must be an object")
        return
    kind = opening.get("type")
    if not isinstance(kind, str) or kind not in OPENING_TYPES:
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


# --- the bulk pass ------------------------------------------------------------------------------
# Exact JSON types only: a bool, a subclass or anything unusual is left to `derive_checked`, which
# decides (and reports) exactly as before. Nothing here builds a path or a message, and the
# per-value checks run in C (map, set, numpy) rather than one Python call per value.

_NUMBER_TYPES = frozenset({float, int})
_first = itemgetter(0)
_second = itemgetter(1)


def _numbers_ok(values: list[Any]) -> bool:
    return set(map(type, values)) <= _NUMBER_TYPES


def _positive(value: Any) -> bool:
    kind = type(value)
    # `is_number(value) and value > 0`, for the exact types (NaN fails the comparison).
    return (kind is float or kind is int) and 0 < value <= MAX_LENGTH_M


def derive_arrays(document: Any) -> FloorplanFacts | None:
    """The facts of a plan that breaks no rule, with the zones checked and measured in bulk;
    None as soon as anything is off, so that `derive_checked` reports it."""
    try:
        return _derive_arrays(document)
    except (OverflowError, ValueError, TypeError):
        # e.g. an integer too large for a double: the checked pass decides as it always did.
        return None


def _derive_arrays(document: Any) -> FloorplanFacts | None:
    if type(document) is not dict:
        return None
    nodes = document.get("nodes", {})
    edges = document.get("edges", {})
    zones = document.get("zones", [])
    furniture = document.get("furniture", [])
    if not (
        type(nodes) is dict
        and type(edges) is dict
        and type(zones) is list
        and type(furniture) is list
    ):
        return None

    # Nodes: shapes here, numbers and edge ids checked in bulk below.
    positions: dict[str, list[Any]] = {}
    connected_ids: list[Any] = []
    for node_id, node in nodes.items():
        if type(node) is not dict:
            return None
        xy = node.get("position")
        if type(xy) is not list or len(xy) < 2:
            return None
        positions[node_id] = xy
        connected = node.get("connectedEdges", [])
        if type(connected) is not list:
            return None
        connected_ids.extend(connected)
    node_xs = list(map(_first, positions.values()))
    node_ys = list(map(_second, positions.values()))
    if not (_numbers_ok(node_xs) and _numbers_ok(node_ys)):
        return None
    if not (set(map(type, connected_ids)) <= {str} and edges.keys() >= set(connected_ids)):
        return None

    opening_count = 0
    dist = math.dist
    for edge in edges.values():
        if type(edge) is not dict:
            return None
        start_id, end_id = edge.get("startNodeId"), edge.get("endNodeId")
        if type(start_id) is not str or type(end_id) is not str:
            return None
        start, end = positions.get(start_id), positions.get(end_id)
        if start is None or end is None:
            return None
        if ("thickness" in edge and not _positive(edge["thickness"])) or (
            "height" in edge and not _positive(edge["height"])
        ):
            return None
        openings = edge.get("openings", [])
        if type(openings) is not list:
            return None
        if not openings:
            continue
        opening_count += len(openings)
        # As `derive_checked`: the distance between the ends as doubles (finite: checked below,
        # before any of this is used).
        length = dist((float(start[0]), float(start[1])), (float(end[0]), float(end[1])))
        for opening in openings:
            if type(opening) is not dict:
                return None
            kind = opening.get("type")
            if type(kind) is not str or kind not in OPENING_TYPES:
                return None
            width: Any = opening.get("width")
            at: Any = opening.get("position")
            if not _positive(width):
                return None
            at_type = type(at)
            if not ((at_type is int or at_type is float) and -MAX_LENGTH_M <= at <= MAX_LENGTH_M):
                return None
            # The same expressions as `_check_opening`, so the same floats.
            if at - width / 2 < -EPSILON_M or at + width / 2 > length + EPSILON_M:
                return None

    # Zones: every ring's points in one flat list, the rings' lengths beside it.
    points: list[Any] = []
    ring_lengths: list[int] = []
    rings_per_zone: list[int] = []
    for zone in zones:
        if type(zone) is not dict:
            return None
        shell, holes = zone.get("points"), zone.get("holes", [])
        if type(shell) is not list or type(holes) is not list:
            return None
        for ring in (shell, *holes):
            # Fewer than three points cannot be three distinct ones.
            if type(ring) is not list or len(ring) < 3:
                return None
            points.extend(ring)
            ring_lengths.append(len(ring))
        rings_per_zone.append(1 + len(holes))
    if points and not (set(map(type, points)) <= {list} and min(map(len, points)) >= 2):
        return None
    ring_xs = list(map(_first, points))
    ring_ys = list(map(_second, points))
    if not (_numbers_ok(ring_xs) and _numbers_ok(ring_ys)):
        return None

    node_coords = np.array([node_xs, node_ys], dtype=np.float64)
    if not _within_bounds(node_coords):
        return None
    total_area = 0.0
    xs: list[float] = node_coords[0].tolist()
    ys: list[float] = node_coords[1].tolist()
    if ring_lengths:
        zones_measured = _zones_in_bulk(
            np.array([ring_xs, ring_ys], dtype=np.float64).T,
            np.array(ring_lengths, dtype=np.intp),
            rings_per_zone,
        )
        if zones_measured is None:
            return None
        ring_areas, shell_xs, shell_ys = zones_measured
        k = 0
        for count in rings_per_zone:
            # As `_zone_area`: the shell's area less the sum of its holes', in that order.
            total_area += ring_areas[k] - sum(ring_areas[k + 1 : k + count])
            k += count
        xs += shell_xs
        ys += shell_ys

    for item in furniture:
        if type(item) is not dict:
            return None
    return FloorplanFacts.measured(edges, opening_count, zones, furniture, total_area, xs, ys)


def _within_bounds(coords: Any) -> bool:
    # `is_number` for every value at once: NaN fails the comparison, infinities the bound.
    return bool((np.abs(coords) <= MAX_LENGTH_M).all())


def _zones_in_bulk(
    coords: Any, lengths: Any, rings_per_zone: list[int]
) -> tuple[list[float], list[float], list[float]] | None:
    """Every ring opened, checked for three distinct points and measured; every zone built and
    checked by shapely at once. The areas of the rings, and the x and y of the shells' points
    (for the bounding box); None when a ring or a zone breaks a rule."""
    if not _within_bounds(coords):
        return None
    count = len(lengths)
    starts = np.zeros(count, dtype=np.intp)
    np.cumsum(lengths[:-1], out=starts[1:])
    # `_open_ring`: a last point equal to the first is dropped.
    lasts = starts + lengths - 1
    closed = (lengths > 1) & (coords[starts] == coords[np.maximum(lasts, 0)]).all(axis=1)
    keep = np.ones(len(coords), dtype=bool)
    keep[lasts[closed]] = False
    coords = coords[keep]
    lengths = lengths - closed
    starts = np.zeros(count, dtype=np.intp)
    np.cumsum(lengths[:-1], out=starts[1:])
    if not bool((lengths >= 3).all()):
        return None

    # The shoelace sum of `shoelace_area`, term for term (x_i * y_next - x_next * y_i), added in
    # ring order from the first point (cumsum is a running sum, not a pairwise one): each ring's
    # area is the same double as the loop's. Rings of one length are done together.
    following = np.arange(len(coords), dtype=np.intp) + 1
    following[starts + lengths - 1] = starts
    x, y = coords[:, 0], coords[:, 1]
    terms = x * y[following] - x[following] * y
    twice = np.empty(count, dtype=np.float64)
    for n in np.unique(lengths).tolist():
        chosen = np.flatnonzero(lengths == n)
        index = starts[chosen, None] + np.arange(n)
        twice[chosen] = np.cumsum(terms[index], axis=1)[:, -1]
        # At least three distinct points: one that differs from the first, and one that
        # differs from both (== as Python compares floats, so as the set of points does).
        px, py = x[index], y[index]
        other = (px != px[:, :1]) | (py != py[:, :1])
        second = other.argmax(axis=1)
        rows = np.arange(len(chosen))
        third = other & ((px != px[rows, second, None]) | (py != py[rows, second, None]))
        if not bool(third.any(axis=1).all()):
            return None

    ring_index = np.repeat(np.arange(count), lengths)
    zone_index = np.repeat(np.arange(len(rings_per_zone)), rings_per_zone)
    # linearrings closes each ring, as shapely.Polygon(shell, holes) does.
    polygons = shapely.polygons(shapely.linearrings(coords, indices=ring_index), indices=zone_index)
    if not bool(shapely.is_valid(polygons).all()):
        return None
    is_shell = np.zeros(count, dtype=bool)
    is_shell[np.cumsum([0, *rings_per_zone[:-1]])] = True
    on_shell = np.repeat(is_shell, lengths)
    areas: list[float] = (np.abs(twice) / 2.0).tolist()
    return areas, x[on_shell].tolist(), y[on_shell].tolist()
