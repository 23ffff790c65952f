"""From loose wall segments to the editor's wall graph: endpoints closer than a tolerance become
one node, a node lying on the middle of another wall splits that wall (a T-junction), duplicate
and zero-length walls disappear.

Spatial lookups are a hash grid (snapping) and shapely's STRtree (T-junctions), so the work grows
with the number of segments, not its square: a 20 MB drawing has a few hundred thousand."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import shapely


@dataclass(slots=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float
    thickness: float
    height: float
    # Drawn as one line (its thickness is a default, not the drawing's).
    single_line: bool = False


# (start index, end index, thickness, height, single line)
Edge = tuple[int, int, float, float, bool]


@dataclass(slots=True)
class WallGraph:
    points: list[tuple[float, float]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


class _NodeSnapper:
    """Returns the index of an existing node within `tolerance`, else creates one. A grid of
    cells the size of the tolerance: a match can only be in the 3 x 3 cells around a point."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.points: list[tuple[float, float]] = []
        self._cells: dict[tuple[int, int], list[int]] = {}

    def node(self, x: float, y: float) -> int:
        tol = self.tolerance
        cx, cy = math.floor(x / tol), math.floor(y / tol)
        best, best_d2 = -1, tol * tol
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for index in self._cells.get((cx + dx, cy + dy), ()):
                    px, py = self.points[index]
                    d2 = (px - x) ** 2 + (py - y) ** 2
                    if d2 <= best_d2:
                        best, best_d2 = index, d2
        if best >= 0:
            return best
        self.points.append((x, y))
        index = len(self.points) - 1
        self._cells.setdefault((cx, cy), []).append(index)
        return index


def build_wall_graph(segments: list[Segment], tolerance: float) -> WallGraph:
    snapper = _NodeSnapper(tolerance)
    # Keyed by the unordered node pair; the value keeps the direction first drawn.
    by_pair: dict[tuple[int, int], Edge] = {}
    for seg in segments:
        a = snapper.node(seg.x1, seg.y1)
        b = snapper.node(seg.x2, seg.y2)
        if a == b:
            continue
        key = (a, b) if a < b else (b, a)
        previous = by_pair.get(key)
        # A wall drawn twice (a common artefact) is one wall, the thicker of the two.
        if previous is None:
            by_pair[key] = (a, b, seg.thickness, seg.height, seg.single_line)
        elif seg.thickness > previous[2]:
            by_pair[key] = (previous[0], previous[1], seg.thickness, seg.height, seg.single_line)
    points = snapper.points
    edges = list(by_pair.values())
    split = _split_t_junctions(points, edges, tolerance)
    return WallGraph(points=points, edges=_merge_straight_runs(points, split))


# Two walls meeting end to end are one wall when their directions differ by less than this.
STRAIGHT_SIN = math.sin(math.radians(0.5))
# Thicknesses measured from a drawing's faces differ by float noise (a rotated plan).
SAME_THICKNESS_M = 1e-4


def _merge_straight_runs(points: list[tuple[float, float]], edges: list[Edge]) -> list[Edge]:
    """Walls that continue one another through a node no other wall meets, in a straight line
    and with the same thickness and height, become one wall: a double-line drawing gives a
    wall in pieces (a face interrupted where another wall meets the opposite face)."""
    incident: dict[int, set[int]] = {}
    for index, (a, b, *_rest) in enumerate(edges):
        incident.setdefault(a, set()).add(index)
        incident.setdefault(b, set()).add(index)
    current: list[Edge | None] = list(edges)
    for node, members in incident.items():
        if len(members) != 2:
            continue
        first, second = sorted(members)
        e1, e2 = current[first], current[second]
        if e1 is None or e2 is None or e1[3:] != e2[3:]:
            continue
        if abs(e1[2] - e2[2]) > SAME_THICKNESS_M:
            continue
        u = e1[0] if e1[1] == node else e1[1]
        v = e2[0] if e2[1] == node else e2[1]
        if u == v:
            continue
        (ux, uy), (nx, ny), (vx, vy) = points[u], points[node], points[v]
        ax, ay, bx, by = nx - ux, ny - uy, vx - nx, vy - ny
        la, lb = math.hypot(ax, ay), math.hypot(bx, by)
        if la == 0 or lb == 0 or ax * bx + ay * by <= 0:
            continue
        if abs(ax * by - ay * bx) > STRAIGHT_SIN * la * lb:
            continue
        # e1 now runs u -> v (in e1's direction); e2 is gone; v's incidence follows.
        current[first] = (u, v, *e1[2:]) if e1[1] == node else (v, u, *e1[2:])
        current[second] = None
        incident[v].discard(second)
        incident[v].add(first)
    return [edge for edge in current if edge is not None]


def _split_t_junctions(
    points: list[tuple[float, float]],
    edges: list[Edge],
    tolerance: float,
) -> list[Edge]:
    if not edges or not points:
        return edges
    coords = np.asarray(points, dtype=float)
    starts = coords[[e[0] for e in edges]]
    ends = coords[[e[1] for e in edges]]
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    tree = shapely.STRtree(lines)
    node_geoms = shapely.points(coords)
    node_idx, edge_idx = tree.query(node_geoms, predicate="dwithin", distance=tolerance)

    splits: dict[int, list[tuple[float, int]]] = {}
    for n, e in zip(node_idx.tolist(), edge_idx.tolist(), strict=True):
        a, b = edges[e][0], edges[e][1]
        if n in (a, b):
            continue
        ax, ay = points[a]
        bx, by = points[b]
        px, py = points[n]
        length2 = (bx - ax) ** 2 + (by - ay) ** 2
        t = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length2
        # Only the interior: a node near an end is that end (already merged) or a near miss.
        along = t * math.sqrt(length2)
        if along <= tolerance or (1 - t) * math.sqrt(length2) <= tolerance:
            continue
        splits.setdefault(e, []).append((t, n))

    if not splits:
        return edges
    result: list[Edge] = []
    seen: set[tuple[int, int]] = set()
    for index, (a, b, thickness, height, single) in enumerate(edges):
        chain = [a, *(n for _, n in sorted(splits.get(index, ()))), b]
        for u, v in itertools.pairwise(chain):
            key = (u, v) if u < v else (v, u)
            if u == v or key in seen:
                continue
            seen.add(key)
            result.append((u, v, thickness, height, single))
    return result
