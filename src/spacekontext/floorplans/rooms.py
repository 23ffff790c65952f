"""Rooms found from walls: the faces of the wall graph, as an architect reads a plan.

Walls are centre lines with a thickness (a thickness of 0 is a line drawn without one, as in a
single-line sketch). Finding the rooms:

1. heal the graph: an open end within `snap_m` of another wall joins it (near misses and
   T-junctions drawn short); two open ends facing each other along one line (a door or window
   drawn as a gap) are joined up to `max_gap_m` apart; two open ends whose walls would meet at
   a corner within `corner_m` are both extended to the corner; any open end still left is
   extended straight ahead, up to `max_gap_m`, to the first wall it meets (a door next to a
   corner);
2. node the lines and polygonize them (shapely): every bounded face is a candidate room,
   measured to the wall centre lines: the *gross* area;
3. the exterior is not a face; a face that fills a hole of another face is a courtyard (so also
   exterior) when a label inside it says so, or when it is unlabelled and walled like the
   building's envelope (its walls as thick as the outer walls, which are thicker than the
   inner ones); otherwise it is a room inside a room (a meeting room in an open office);
4. the *net* area is the face minus the walls' footprints (each wall its centre line widened by
   half its thickness on both sides): the floor inside the wall faces;
5. faces whose net area is below `min_area_m2` are dropped (slivers, shafts inside walls);
6. a label point inside a face names the room (the smallest face containing it).

Nothing here raises on bad geometry: an open plan gives no rooms and a warning saying where
the largest unclosed gap is.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.polygon import orient

from spacekontext.documents import rounding
from spacekontext.floorplans.geometry import Line

# Names that make a face an outdoor space rather than a room (several languages).
_OUTDOOR = re.compile(
    r"court|patio|atrium|light ?well|void|open to|garden|terrace|yard|\bhof\b|innenhof|lichthof"
    r"|cour\b|cortile|patio|binnenplaats",
    re.IGNORECASE,
)
# Text that states an area ("12.5 m²", "12,50 m2") is not a room name.
AREA_TEXT = re.compile(r"^\s*[\d.,]+\s*(m²|m2|sq\.? ?ft|sf|ft²)\s*$", re.IGNORECASE)
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class RoomOptions:
    # Door and window gaps up to this width are closed (a double door is ~1.8 m).
    max_gap_m: float = 2.0
    # Open ends this close to another wall join it.
    snap_m: float = 0.05
    # Faces with less floor than this are not rooms.
    min_area_m2: float = 0.5


@dataclass(frozen=True, slots=True)
class WallLine(Line):
    # Metres; 0 when the drawing gives no thickness (the line is then the room's edge).
    thickness: float = 0.0


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Room:
    net: Polygon  # inside the wall faces
    gross: Polygon  # to the wall centre lines
    label: str | None

    @property
    def net_area_m2(self) -> float:
        return float(self.net.area)

    @property
    def gross_area_m2(self) -> float:
        return float(self.gross.area)


@dataclass(slots=True)
class RoomsFound:
    rooms: list[Room] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Segments added to close gaps: ((x1, y1), (x2, y2), kind) with kind "gap" or "extension".
    closures: list[tuple[tuple[float, float], tuple[float, float], str]] = field(
        default_factory=list
    )


# --- healing ------------------------------------------------------------------------------------

# A working line: [x1, y1, x2, y2, thickness]; ends are addressed as (line index, 0 | 1).
_Line = list[float]


def _end(line: _Line, k: int) -> tuple[float, float]:
    return (line[0], line[1]) if k == 0 else (line[2], line[3])


def _direction(line: _Line, k: int) -> tuple[float, float]:
    """Unit vector pointing out of the wall at end k."""
    (ax, ay), (bx, by) = _end(line, 1 - k), _end(line, k)
    length = math.hypot(bx - ax, by - ay)
    return ((bx - ax) / length, (by - ay) / length)


def _cluster(points: Sequence[tuple[float, float]], tolerance: float) -> list[int]:
    """A cluster id per point: points within `tolerance` of a cluster's first point share it."""
    cell = max(tolerance, 1e-9)
    firsts: list[tuple[float, float]] = []
    cells: dict[tuple[int, int], list[int]] = {}
    labels = []
    for x, y in points:
        cx, cy = math.floor(x / cell), math.floor(y / cell)
        found = -1
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for index in cells.get((cx + dx, cy + dy), ()):
                    fx, fy = firsts[index]
                    if (fx - x) ** 2 + (fy - y) ** 2 <= tolerance * tolerance:
                        found = index
                        break
                if found >= 0:
                    break
            if found >= 0:
                break
        if found < 0:
            firsts.append((x, y))
            found = len(firsts) - 1
            cells.setdefault((cx, cy), []).append(found)
        labels.append(found)
    return labels


def _open_ends(lines: list[_Line], tolerance: float) -> list[tuple[int, int]]:
    """Ends of walls that no other wall end shares."""
    points = [_end(line, k) for line in lines for k in (0, 1)]
    labels = _cluster(points, tolerance)
    counts: dict[int, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return [divmod(i, 2) for i, label in enumerate(labels) if counts[label] == 1]


def _ray_hit(
    origin: tuple[float, float], direction: tuple[float, float], reach: float, target: _Line
) -> float | None:
    """Distance along the ray to the target segment, or None."""
    ox, oy = origin
    dx, dy = direction
    ax, ay, bx, by = target[0], target[1], target[2], target[3]
    ex, ey = bx - ax, by - ay
    denom = dx * ey - dy * ex
    if abs(denom) < _EPS:
        return None
    s = ((ax - ox) * ey - (ay - oy) * ex) / denom
    u = ((ax - ox) * dy - (ay - oy) * dx) / denom
    if _EPS < s <= reach and -_EPS <= u <= 1 + _EPS:
        return s
    return None


@dataclass(slots=True)
class Healed:
    lines: list[WallLine]
    # Gap closures (not walls of the drawing): each with the thickness of the walls it joins.
    added: list[WallLine]
    open_ends: list[tuple[float, float, tuple[float, float]]]  # x, y, direction


def heal(
    walls: Sequence[WallLine],
    *,
    snap_m: float,
    corner_m: float,
    max_gap_m: float,
    extend_ahead: bool = True,
) -> Healed:
    """Join the open ends of walls (see the module's docstring, step 1). Ends are moved (a wall
    is lengthened to where it meets another); door gaps become added segments."""
    lines: list[_Line] = [[w.x1, w.y1, w.x2, w.y2, w.thickness] for w in walls if w.length > _EPS]
    added: list[_Line] = []
    if not lines:
        return Healed([], [], [])
    ends = _open_ends(lines, snap_m * 0.2)
    geoms = shapely.linestrings([[(ln[0], ln[1]), (ln[2], ln[3])] for ln in lines])
    tree = shapely.STRtree(geoms)

    # (a) near misses and T-junctions: an end on (or just short of) another wall's side.
    open_set = set(ends)
    joined: set[tuple[int, int]] = set()
    remaining: list[tuple[int, int]] = []
    # Every end's nearby walls in one query (one call into GEOS, not one per end).
    points = shapely.points([_end(lines[i], k) for i, k in ends]) if ends else []
    near: dict[int, list[tuple[float, int]]] = {}
    if ends:
        which, nearby = tree.query(points, predicate="dwithin", distance=snap_m)
        distances = shapely.distance(points[which], geoms[nearby])
        for n, j, d in zip(which.tolist(), nearby.tolist(), distances.tolist(), strict=True):
            if j != ends[n][0]:
                near.setdefault(n, []).append((d, j))
    for n, (i, k) in enumerate(ends):
        if (i, k) in joined:
            continue
        if n not in near:
            remaining.append((i, k))
            continue
        x, y = _end(lines[i], k)
        point = Point(x, y)
        best = min(near[n])
        j = best[1]
        target = shapely.shortest_line(point, geoms[j]).coords[1]
        # Two open ends near each other meet where their lines cross (a corner drawn loosely
        # keeps both walls' directions), else at the other's end.
        for kj in (0, 1):
            other = _end(lines[j], kj)
            if (j, kj) in open_set and math.dist(other, target) <= snap_m:
                corner = _crossing(lines[i], k, lines[j], kj)
                if (
                    corner is not None
                    and max(math.dist(corner, (x, y)), math.dist(corner, other)) <= 2 * snap_m
                ):
                    target = corner
                    _move(lines[j], kj, corner)
                else:
                    target = other
                joined.add((j, kj))
                break
        if best[0] > _EPS:
            _move(lines[i], k, target)
    ends = [end for end in remaining if end not in joined]

    # (b) gaps along one line (a door or a window between two wall ends, or a wall's face
    # interrupted where another wall meets it). Before corners: the end of a wall meeting
    # this line at a T would otherwise take one side of the gap as its corner, and the other
    # side, facing along the same line, has no crossing to run on to.
    ends = _close_gaps(lines, added, ends, max_gap_m, max(snap_m, corner_m))

    # (c) corners: two ends whose walls, lengthened a little, cross.
    ends = _join_corners(lines, ends, corner_m, snap_m)

    # (d) an end still open runs straight on to the first wall ahead.
    if extend_ahead and ends:
        everything = lines + added
        all_geoms = shapely.linestrings([[(ln[0], ln[1]), (ln[2], ln[3])] for ln in everything])
        all_tree = shapely.STRtree(all_geoms)
        still: list[tuple[int, int]] = []
        for i, k in ends:
            origin = _end(lines[i], k)
            direction = _direction(lines[i], k)
            tip = (origin[0] + direction[0] * max_gap_m, origin[1] + direction[1] * max_gap_m)
            ray = LineString([origin, tip])
            hit: float | None = None
            for j in all_tree.query(ray, predicate="intersects").tolist():
                if j == i:
                    continue
                s = _ray_hit(origin, direction, max_gap_m, everything[j])
                if s is not None and (hit is None or s < hit):
                    hit = s
            if hit is None:
                still.append((i, k))
                continue
            target = (origin[0] + direction[0] * hit, origin[1] + direction[1] * hit)
            if hit <= max(snap_m, corner_m):
                _move(lines[i], k, target)  # the wall itself, drawn a little short
            else:
                added.append([*origin, *target, lines[i][4]])
        ends = still

    open_ends = [(*_end(lines[i], k), _direction(lines[i], k)) for i, k in ends]
    return Healed(
        lines=[WallLine(*ln) for ln in lines],
        added=[WallLine(*ln) for ln in added],
        open_ends=open_ends,
    )


def _crossing(a: _Line, ka: int, b: _Line, kb: int) -> tuple[float, float] | None:
    """Where the lines of two walls cross (None if parallel)."""
    pa, da = _end(a, ka), _direction(a, ka)
    pb, db = _end(b, kb), _direction(b, kb)
    denom = da[0] * db[1] - da[1] * db[0]
    if abs(denom) < math.sin(math.radians(20)):
        return None
    s = ((pb[0] - pa[0]) * db[1] - (pb[1] - pa[1]) * db[0]) / denom
    return (pa[0] + da[0] * s, pa[1] + da[1] * s)


def _move(line: _Line, k: int, point: Sequence[float]) -> None:
    line[2 * k] = float(point[0])
    line[2 * k + 1] = float(point[1])


_Ray = tuple[tuple[float, float], tuple[float, float]]


def _end_pairs(
    lines: list[_Line], ends: list[tuple[int, int]], distance: float
) -> Iterator[tuple[int, int, _Ray, _Ray]]:
    """Each pair of open ends (indexes a < b into `ends`) of two different lines within
    `distance` of each other, with each end's point and outward direction."""
    points = shapely.points([_end(lines[i], k) for i, k in ends])
    tree = shapely.STRtree(points)
    left, right = tree.query(points, predicate="dwithin", distance=distance)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b or ends[a][0] == ends[b][0]:
            continue
        (ia, ka), (ib, kb) = ends[a], ends[b]
        yield a, b, _ray(lines[ia], ka), _ray(lines[ib], kb)


def _ray(line: _Line, k: int) -> _Ray:
    return _end(line, k), _direction(line, k)


def _join_corners(
    lines: list[_Line], ends: list[tuple[int, int]], reach: float, snap_m: float
) -> list[tuple[int, int]]:
    if len(ends) < 2 or reach <= 0:
        return ends
    candidates = []
    for a, b, (pa, da), (pb, db) in _end_pairs(lines, ends, reach * 2):
        denom = da[0] * db[1] - da[1] * db[0]
        if abs(denom) < math.sin(math.radians(20)):
            continue  # (nearly) parallel: a gap, not a corner
        wx, wy = pb[0] - pa[0], pb[1] - pa[1]
        s = (wx * db[1] - wy * db[0]) / denom
        u = (wx * da[1] - wy * da[0]) / denom
        if -snap_m <= s <= reach and -snap_m <= u <= reach:
            corner = (pa[0] + da[0] * s, pa[1] + da[1] * s)
            candidates.append((max(abs(s), abs(u)), a, b, corner))
    candidates.sort(key=lambda c: c[0])
    joined: set[int] = set()
    for _, a, b, corner in candidates:
        if a in joined or b in joined:
            continue
        joined.update((a, b))
        _move(lines[ends[a][0]], ends[a][1], corner)
        _move(lines[ends[b][0]], ends[b][1], corner)
    return [end for n, end in enumerate(ends) if n not in joined]


def _close_gaps(
    lines: list[_Line],
    added: list[_Line],
    ends: list[tuple[int, int]],
    max_gap: float,
    lateral: float,
) -> list[tuple[int, int]]:
    if len(ends) < 2 or max_gap <= 0:
        return ends
    candidates = []
    for a, b, (pa, da), (pb, db) in _end_pairs(lines, ends, max_gap):
        wx, wy = pb[0] - pa[0], pb[1] - pa[1]
        gap = math.hypot(wx, wy)
        if gap <= _EPS:
            continue
        # Facing each other along one line: each points at the other, the walls parallel.
        if da[0] * db[0] + da[1] * db[1] > -math.cos(math.radians(10)):
            continue
        if wx * da[0] + wy * da[1] <= 0:
            continue
        thickness = max(lines[ends[a][0]][4], lines[ends[b][0]][4])
        if abs(wx * da[1] - wy * da[0]) > max(lateral, thickness / 2):
            continue
        candidates.append((gap, a, b))
    candidates.sort()
    joined: set[int] = set()
    for _, a, b in candidates:
        if a in joined or b in joined:
            continue
        joined.update((a, b))
        (ia, ka), (ib, kb) = ends[a], ends[b]
        thickness = min(lines[ia][4], lines[ib][4])
        added.append([*_end(lines[ia], ka), *_end(lines[ib], kb), thickness])
    return [end for n, end in enumerate(ends) if n not in joined]


# --- faces ---------------------------------------------------------------------------------


def find_rooms(
    walls: Sequence[WallLine],
    labels: Iterable[Label] = (),
    options: RoomOptions | None = None,
) -> RoomsFound:
    options = options or RoomOptions()
    found = RoomsFound()
    usable = [w for w in walls if w.length > _EPS]
    if not usable:
        found.warnings.append("no closed room: there are no walls")
        return found
    thickest = max(w.thickness for w in usable)
    healed = heal(
        usable,
        snap_m=options.snap_m,
        corner_m=max(options.snap_m, thickest),
        max_gap_m=options.max_gap_m,
    )
    lines = healed.lines + healed.added
    for w in healed.added:
        found.closures.append(((w.x1, w.y1), (w.x2, w.y2), "gap"))

    geoms = shapely.linestrings([[(w.x1, w.y1), (w.x2, w.y2)] for w in lines])
    noded = shapely.node(shapely.multilinestrings(geoms))
    faces = [
        orient(face, 1.0)
        for face in shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
        if face.area > _EPS
    ]
    if not faces:
        found.warnings.append(_why_open(healed, options))
        return found

    names = _labels(faces, shapely.STRtree(faces), labels)
    outdoor = _courtyards(faces, names, geoms, lines)
    floors = _floors(geoms, lines)
    face_tree = shapely.STRtree(faces)
    # Each face's floor: the largest piece of the walls' holes that lies in it.
    best: dict[int, Polygon] = {}
    for floor in floors:
        hits = face_tree.query(floor.representative_point(), predicate="within").tolist()
        if not hits:
            continue
        index = min(hits, key=lambda i: faces[i].area)
        if index not in best or floor.area > best[index].area:
            best[index] = floor

    small = 0
    for index, face in enumerate(faces):
        if index in outdoor:
            continue
        net = best.get(index)
        if net is None or net.area < options.min_area_m2:
            small += 1
            continue
        # Without the vertices where walls meet along a straight edge (T-junctions).
        net = shapely.simplify(net, 1e-6)
        gross = shapely.simplify(face, 1e-6)
        found.rooms.append(Room(net=orient(net, 1.0), gross=gross, label=names.get(index)))
    if small and not found.rooms:
        found.warnings.append(
            f"no closed room: {small} enclosed faces are all smaller than "
            f"{options.min_area_m2:g} m²"
        )
    if outdoor:
        found.warnings.append(f"{len(outdoor)} enclosed outdoor spaces (courtyards) left out")
    found.rooms.sort(key=lambda r: (-round(r.gross.centroid.y, 3), round(r.gross.centroid.x, 3)))
    return found


# Walls drawn as single lines (no thickness) still part rooms: as hairlines this wide.
_HAIRLINE_M = 1e-6


def _floors(geoms: Any, lines: list[WallLine]) -> list[Polygon]:
    """The floor inside the walls, all rooms at once: the holes of the union of the walls'
    footprints (each centre line widened to its thickness; walls of one thickness joined into
    chains first, so that a corner is mitred, not notched), less whatever stands inside a hole
    (a free-standing wall, the walls round a courtyard)."""
    by_thickness: dict[float, list[int]] = {}
    for index, wall in enumerate(lines):
        width = wall.thickness if wall.thickness > 0 else _HAIRLINE_M * 2
        by_thickness.setdefault(round(width, 7), []).append(index)
    parts = []
    for width, members in by_thickness.items():
        chains = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(geoms[members])))
        # A coordinate so small it is subnormal (1e-165 m, an editor's rounding residue) makes
        # GEOS divide by zero inside the offset; numpy reports the flag as a RuntimeWarning.
        # The outline it returns is used as it is (no room, or one smaller than the minimum).
        with np.errstate(divide="ignore", invalid="ignore"):
            widened = shapely.buffer(chains, width / 2, cap_style="flat", join_style="mitre")
        parts.extend(widened)
    walls = shapely.get_parts(shapely.union_all(np.array(parts, dtype=object)))
    islands = [Polygon(part.exterior) for part in walls]
    island_tree = shapely.STRtree(islands)
    floors: list[Polygon] = []
    for part in walls:
        for ring in part.interiors:
            hole = Polygon(ring)
            inside = island_tree.query(hole, predicate="contains_properly")
            if len(inside):
                hole = hole.difference(shapely.union_all(np.array(islands, dtype=object)[inside]))
            floors.extend(p for p in shapely.get_parts(hole) if p.geom_type == "Polygon")
    return floors


def _largest(geometry: Any) -> Polygon | None:
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon" and g.area > 0]
    return max(parts, key=lambda g: g.area) if parts else None


def _why_open(healed: Healed, options: RoomOptions) -> str:
    """Name the largest gap left open. An open end's gap is the distance to the nearest other
    open end (the two sides of a gap wider than `max_gap_m`), or, for an end alone, to the
    nearest wall it is not part of; the warning names the largest, at its middle."""
    if not healed.open_ends:
        return "no closed room: the walls enclose no area"
    ends = [(x, y) for x, y, _ in healed.open_ends]
    geoms = shapely.linestrings([[(w.x1, w.y1), (w.x2, w.y2)] for w in healed.lines + healed.added])
    worst: tuple[float, float, float] | None = None
    for index, (x, y) in enumerate(ends):
        others = [e for k, e in enumerate(ends) if k != index and math.dist(e, (x, y)) > 1e-6]
        if others:
            far = min(others, key=lambda e: math.dist(e, (x, y)))
        else:
            point = Point(x, y)
            lines = [g for g in geoms if g.distance(point) > 1e-6]
            if not lines:
                continue
            far = shapely.shortest_line(point, min(lines, key=point.distance)).coords[1]
        distance = math.dist(far, (x, y))
        if worst is None or distance > worst[0]:
            worst = (distance, (x + far[0]) / 2, (y + far[1]) / 2)
    if worst is None:
        return "no closed room: the walls do not meet"
    distance, mx, my = worst
    return (
        f"no closed room: the largest gap is {distance:.1f} m at ({mx:.2f}, {my:.2f}) "
        f"(gaps up to {options.max_gap_m:g} m are closed)"
    )


def _labels(faces: list[Polygon], tree: shapely.STRtree, labels: Iterable[Label]) -> dict[int, str]:
    names: dict[int, str] = {}
    for label in labels:
        lines = [line.strip() for line in label.text.splitlines() if line.strip()]
        text = next((line for line in lines if not AREA_TEXT.match(line)), None)
        if text is None:
            continue
        hits = tree.query(Point(label.x, label.y), predicate="within").tolist()
        if hits:
            names.setdefault(min(hits, key=lambda i: faces[i].area), text[:255])
    return names


def _courtyards(
    faces: list[Polygon],
    names: dict[int, str],
    geoms: Any,
    lines: list[WallLine],
) -> set[int]:
    """Enclosed faces that are outdoors (see the module's docstring, step 3): faces none of
    whose edges borders the exterior, named as outdoor spaces, or unnamed and walled all round
    like the envelope."""
    # Every edge of the noded walls bounds two faces, or one face and the exterior.
    counts: dict[tuple[float, float, float, float], int] = {}
    rings: list[list[tuple[float, float, float, float]]] = []
    for face in faces:
        coords = face.exterior.coords
        edges = [
            (a[0], a[1], b[0], b[1]) if a <= b else (b[0], b[1], a[0], a[1])
            for a, b in itertools.pairwise(coords)
        ]
        rings.append(edges)
        for edge in edges:
            counts[edge] = counts.get(edge, 0) + 1
        for interior in face.interiors:
            icoords = interior.coords
            for a, b in itertools.pairwise(icoords):
                edge = (a[0], a[1], b[0], b[1]) if a <= b else (b[0], b[1], a[0], a[1])
                counts[edge] = counts.get(edge, 0) + 1
    inner = [j for j, edges in enumerate(rings) if all(counts[e] > 1 for e in edges)]
    if not inner:
        return set()
    thickness = np.array([w.thickness for w in lines])
    tree = shapely.STRtree(geoms)

    def walls_along(edges: list[tuple[float, float, float, float]]) -> np.ndarray:
        middles = shapely.points([((e[0] + e[2]) / 2, (e[1] + e[3]) / 2) for e in edges])
        _, hits = tree.query(middles, predicate="dwithin", distance=1e-6)
        return np.unique(hits)

    outside = [e for e, n in counts.items() if n == 1]
    on_envelope = walls_along(outside) if outside else np.array([], dtype=int)
    outer = float(thickness[on_envelope].mean()) if len(on_envelope) else 0.0
    if outer <= 0:
        return {j for j in inner if _OUTDOOR.search(names.get(j, "") or "\0")}
    walls_round = {j: walls_along(rings[j]) for j in inner}
    # The inner walls: neither on the envelope nor round an enclosed face.
    partition = np.ones(len(lines), dtype=bool)
    partition[on_envelope] = False
    for around in walls_round.values():
        partition[around] = False
    inside = float(thickness[partition].mean()) if partition.any() else 0.0
    outdoor: set[int] = set()
    for j in inner:
        name = names.get(j)
        if name is not None:
            if _OUTDOOR.search(name):
                outdoor.add(j)
            continue
        around = walls_round[j]
        walled_as_outside = len(around) and thickness[around].mean() >= outer * 0.999
        if walled_as_outside and outer > inside * 1.2:
            outdoor.add(j)
    return outdoor


# --- the floorplan document ---------------------------------------------------------------

DERIVED_KEY = "derivedRooms"
# A save looks for rooms in plans up to this many walls (a 500-room floor has ~1,800; the
# derivation's time grows with the walls, and it runs on every save that changes them).
MAX_WALLS = 20_000


def walls_from_document(document: dict[str, Any]) -> list[WallLine]:
    """The document's walls, leniently (validation reports what is malformed)."""
    nodes, edges = document.get("nodes"), document.get("edges")
    if not isinstance(nodes, dict) or not isinstance(edges, dict):
        return []
    walls = []
    for edge in edges.values():
        if not isinstance(edge, dict):
            continue
        a = _node_point(nodes.get(edge.get("startNodeId")))
        b = _node_point(nodes.get(edge.get("endNodeId")))
        if a is None or b is None or a == b:
            continue
        thickness = 0.0
        if edge.get("singleLine") is not True:
            raw = edge.get("thickness", 0.2)
            thickness = float(raw) if _finite(raw) and raw > 0 else 0.2
        walls.append(WallLine(a[0], a[1], b[0], b[1], thickness))
    return walls


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _node_point(node: Any) -> tuple[float, float] | None:
    if not isinstance(node, dict):
        return None
    position = node.get("position")
    if isinstance(position, list) and len(position) >= 2 and all(map(_finite, position[:2])):
        return (float(position[0]), float(position[1]))
    return None


def _ring_points(raw: Any) -> list[tuple[float, float]] | None:
    if not isinstance(raw, list):
        return None
    points = []
    for item in raw:
        if not (
            isinstance(item, list) and len(item) >= 2 and _finite(item[0]) and _finite(item[1])
        ):
            return None
        points.append((float(item[0]), float(item[1])))
    return points if len(points) >= 3 else None


def _zone_polygon(zone: dict[str, Any]) -> Polygon | None:
    shell = _ring_points(zone.get("points"))
    if shell is None:
        return None
    polygon = Polygon(shell)
    return polygon if polygon.is_valid else shapely.make_valid(polygon).buffer(0)


def is_derived(zone: Any) -> bool:
    return isinstance(zone, dict) and zone.get("derived") is True


def _rounded(coords: Any) -> list[list[float]]:
    return [[round(x, 6), round(y, 6)] for x, y in list(coords)[:-1]]


def _fingerprint(walls: list[WallLine], labels: list[Label], options: RoomOptions) -> str:
    digest = hashlib.sha1(repr(options).encode(), usedforsecurity=False)
    for w in walls:
        digest.update(f"{w.x1:.6f},{w.y1:.6f},{w.x2:.6f},{w.y2:.6f},{w.thickness:.6f};".encode())
    for label in labels:
        digest.update(f"{label.x:.6f},{label.y:.6f},{label.text}|".encode())
    return digest.hexdigest()


def document_labels(document: dict[str, Any]) -> list[Label]:
    """Room names placed on the plan (`labels: [{position: [x, y], text}]`, e.g. from DXF)."""
    raw = document.get("labels")
    labels = []
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                point = _node_point(item)
                if point is not None:
                    labels.append(Label(point[0], point[1], item["text"]))
    return labels


def room_changes(
    document: Any, options: RoomOptions, *, force: bool = False
) -> tuple[list[Any], dict[str, Any] | None] | None:
    """The document's zones with its derived rooms up to date, and the derivation's summary
    (None: no rooms derived any more, the summary goes), or None when there is nothing to do.

    Rooms are derived when the document has walls and no zones of the editor's own, or on
    request (`force`) when it has both. Derived zones carry `derived: true` and are the only
    zones ever replaced; a derived room where the editor drew a zone is left out. Nothing is
    recomputed while the walls, the labels and the options are those of the last derivation
    (the summary keeps their fingerprint)."""
    if not isinstance(document, dict):
        return None
    zones = document.get("zones", [])
    if not isinstance(zones, list):
        return None  # invalid: validation will say so
    own = [z for z in zones if not is_derived(z)]
    previous = [z for z in zones if is_derived(z)]
    if own and not force:
        return None
    walls = walls_from_document(document)
    if not walls:
        if not previous and DERIVED_KEY not in document:
            return None
        return own, None
    labels = document_labels(document)
    fingerprint = _fingerprint(walls, labels, options)
    before = document.get(DERIVED_KEY)
    if (
        not force
        and isinstance(before, dict)
        and before.get("fingerprint") == fingerprint
        and (previous or not before.get("rooms"))
    ):
        return None
    if len(walls) > MAX_WALLS:
        found = RoomsFound(
            warnings=[f"rooms not looked for: {len(walls)} walls, more than {MAX_WALLS}"]
        )
    else:
        try:
            found = find_rooms(walls, labels, options)
        except shapely.errors.GEOSException as exc:
            # Degenerate geometry GEOS gives up on: fewer rooms and the reason, never a
            # failed save.
            found = RoomsFound(warnings=[f"rooms could not be found: {exc}"])
    # Names the editor gave to derived rooms survive a re-derivation.
    renamed: list[tuple[Polygon, str]] = []
    for old in previous:
        polygon = _zone_polygon(old)
        if polygon is not None and isinstance(old.get("label"), str):
            renamed.append((polygon, old["label"]))
    editor = [p for p in (_zone_polygon(z) for z in own if isinstance(z, dict)) if p is not None]
    derived: list[dict[str, Any]] = []
    skipped = 0
    for room in found.rooms:
        inside = room.net.representative_point()
        if any(p.contains(inside) for p in editor):
            skipped += 1
            continue
        label = next((name for p, name in renamed if p.contains(inside)), None)
        number = len(derived) + 1
        zone: dict[str, Any] = {
            "id": f"room-{number}",
            "points": _rounded(room.net.exterior.coords),
            "label": label or room.label or f"Room {number}",
            "derived": True,
            "areaM2": rounding.area_m2(room.net_area_m2),
            "grossAreaM2": rounding.area_m2(room.gross_area_m2),
        }
        if room.net.interiors:
            zone["holes"] = [_rounded(ring.coords) for ring in room.net.interiors]
        derived.append(zone)
    warnings = list(found.warnings)
    if skipped:
        warnings.append(f"{skipped} rooms already drawn as zones by the editor were kept as drawn")
    summary = {
        "fingerprint": fingerprint,
        "rooms": len(derived),
        "netAreaM2": rounding.area_m2(sum(z["areaM2"] for z in derived)),
        "grossAreaM2": rounding.area_m2(sum(z["grossAreaM2"] for z in derived)),
        "warnings": warnings,
    }
    return own + derived, summary


def with_rooms(document: Any, options: RoomOptions, *, force: bool = False) -> Any:
    """A copy of the document with its derived rooms up to date (`room_changes`), or the same
    object when there is nothing to do."""
    changes = room_changes(document, options, force=force)
    if changes is None:
        return document
    zones, summary = changes
    rest = {k: v for k, v in document.items() if k != DERIVED_KEY}
    return {**rest, "zones": zones} | ({DERIVED_KEY: summary} if summary is not None else {})


def apply_rooms(document: Any, options: RoomOptions, *, force: bool = False) -> bool:
    """`with_rooms` in place (the save path's document is the request's own); whether the
    document changed."""
    changes = room_changes(document, options, force=force)
    if changes is None:
        return False
    zones, summary = changes
    document["zones"] = zones
    if summary is None:
        document.pop(DERIVED_KEY, None)
    else:
        document[DERIVED_KEY] = summary
    return True
