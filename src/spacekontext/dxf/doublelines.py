"""Walls drawn with both faces: pairs of parallel lines a wall's thickness apart become one
centre line with that thickness.

Each line's length is handed out once: candidate pairs are taken nearest first, and only the
stretch where both lines are still unpaired becomes wall. What is left of a line afterwards is
either a short piece (a wall's end cap at a door, the outer corner of two walls), dropped, or a
longer piece, kept as a single line (a drawing may mix both styles)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely

from spacekontext.floorplans.geometry import Line

# Two lines are parallel when their directions differ by less than this.
PARALLEL_SIN = math.sin(math.radians(1.0))
# Shorter stretches of wall are not paired (a wall stub beside a door is ~0.1 m).
MIN_PIECE_M = 0.05


# One face of a wall drawn with both.
FaceLine = Line


@dataclass(frozen=True, slots=True)
class Merged:
    centres: list[tuple[float, float, float, float, float]]  # x1, y1, x2, y2, thickness
    singles: list[FaceLine]  # lines with no partner
    dropped: int  # short leftovers (end caps, outer corners)


def _subtract(free: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    out = []
    for a, b in free:
        if hi <= a or lo >= b:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo))
        if hi < b:
            out.append((hi, b))
    return out


def _clip(free: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    return [(max(a, lo), min(b, hi)) for a, b in free if min(b, hi) > max(a, lo)]


def merge_double_lines(
    lines: list[FaceLine], *, min_thickness: float, max_thickness: float
) -> Merged:
    count = len(lines)
    if count < 2:
        return Merged([], list(lines), 0)
    starts = [(ln.x1, ln.y1) for ln in lines]
    lengths = [ln.length for ln in lines]
    units = [
        ((ln.x2 - ln.x1) / length, (ln.y2 - ln.y1) / length) if length > 0 else (0.0, 0.0)
        for ln, length in zip(lines, lengths, strict=True)
    ]
    geoms = shapely.linestrings([[(ln.x1, ln.y1), (ln.x2, ln.y2)] for ln in lines])
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=max_thickness)

    candidates: list[tuple[float, int, int, float, float]] = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j or lengths[i] == 0 or lengths[j] == 0:
            continue
        (ux, uy), (vx, vy) = units[i], units[j]
        if abs(ux * vy - uy * vx) > PARALLEL_SIN:
            continue
        ox, oy = starts[i]
        line_j = lines[j]
        # Offsets of j's ends across i's line, and their positions along it.
        d1 = (line_j.x1 - ox) * uy - (line_j.y1 - oy) * ux
        d2 = (line_j.x2 - ox) * uy - (line_j.y2 - oy) * ux
        thickness = abs(d1 + d2) / 2
        if d1 * d2 < 0 or not min_thickness <= thickness <= max_thickness:
            continue
        s1 = (line_j.x1 - ox) * ux + (line_j.y1 - oy) * uy
        s2 = (line_j.x2 - ox) * ux + (line_j.y2 - oy) * uy
        lo, hi = max(0.0, min(s1, s2)), min(lengths[i], max(s1, s2))
        # Overlapping for more than a touch: two caps end to end are not a wall.
        if hi - lo <= MIN_PIECE_M:
            continue
        candidates.append((thickness, i, j, lo, hi))
    candidates.sort()

    free = [[(0.0, length)] for length in lengths]
    centres: list[tuple[float, float, float, float, float]] = []
    for thickness, i, j, lo, hi in candidates:
        ux, uy = units[i]
        ox, oy = starts[i]
        vx, vy = units[j]
        jx, jy = starts[j]
        for a, b in _clip(free[i], lo, hi):
            # The same stretch in j's own terms (j may run the other way).
            ja = (ox + ux * a - jx) * vx + (oy + uy * a - jy) * vy
            jb = (ox + ux * b - jx) * vx + (oy + uy * b - jy) * vy
            for c, d in _clip(free[j], min(ja, jb), max(ja, jb)):
                # Back to i's terms, so that both lines give up exactly this stretch.
                ia = (jx + vx * c - ox) * ux + (jy + vy * c - oy) * uy
                ib = (jx + vx * d - ox) * ux + (jy + vy * d - oy) * uy
                ia, ib = min(ia, ib), max(ia, ib)
                if ib - ia <= MIN_PIECE_M:
                    continue
                free[i] = _subtract(free[i], ia, ib)
                free[j] = _subtract(free[j], c, d)
                p = (ox + ux * ia, oy + uy * ia)
                q = (ox + ux * ib, oy + uy * ib)
                # The centre line: halfway across to j (d1 and d2 share a sign: j's side).
                side = (jx - ox) * uy - (jy - oy) * ux
                nx, ny = (uy, -ux) if side > 0 else (-uy, ux)
                half = thickness / 2
                centres.append(
                    (
                        p[0] + nx * half,
                        p[1] + ny * half,
                        q[0] + nx * half,
                        q[1] + ny * half,
                        thickness,
                    )
                )
    singles: list[FaceLine] = []
    dropped = 0
    for i, pieces in enumerate(free):
        ux, uy = units[i]
        ox, oy = starts[i]
        # A short line alone is a wall's end cap in a double-line drawing, a wall elsewhere.
        keep_short = not centres and pieces == [(0.0, lengths[i])]
        for a, b in pieces:
            if keep_short or b - a > max_thickness:
                singles.append(FaceLine(ox + ux * a, oy + uy * a, ox + ux * b, oy + uy * b))
            elif b - a > 1e-9:
                dropped += 1
    return Merged(centres, singles, dropped)
