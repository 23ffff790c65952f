"""Floorplan document → SVG preview: zones (tinted, labelled with name and area), walls as filled
outlines, openings as gaps with a door swing or a window's glass line, furniture as outlines.

The output is deterministic (fixed number formatting, document order), so the same document
always gives the same bytes and the same ETag. Coordinates are flipped: SVG's y grows down."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

import ezdxf.path
from shapely.geometry import Polygon

from spacekontext.dxf.document import (
    Wall,
    furniture_of,
    opening_geometry,
    walls_of,
    zones_of,
)

ZONE_FILLS = ("#e8f1fb", "#fdf2e3", "#eaf6ec", "#f7e9f3", "#f1efe4", "#e6f4f4")
MAX_PIXELS = 1024


def _f(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _Canvas:
    def __init__(self, minx: float, miny: float, maxx: float, maxy: float) -> None:
        self.minx, self.maxy = minx, maxy
        self.width = maxx - minx
        self.height = maxy - miny

    def pt(self, x: float, y: float) -> str:
        return f"{_f(x - self.minx)},{_f(self.maxy - y)}"

    def points(self, pts: list[tuple[float, float]]) -> str:
        return " ".join(self.pt(x, y) for x, y in pts)


def _bounds(document: dict[str, Any]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for wall in walls_of(document):
        for x, y in wall.outline():
            xs.append(x)
            ys.append(y)
    for zone in zones_of(document):
        for x, y in zone.points:
            xs.append(x)
            ys.append(y)
    for item in furniture_of(document):
        reach = math.hypot(item.width, item.depth) / 2
        xs += [item.x - reach, item.x + reach]
        ys += [item.y - reach, item.y + reach]
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def _opening_svg(canvas: _Canvas, wall: Wall, opening: dict[str, Any], stroke: str) -> list[str]:
    geometry = opening_geometry(wall, opening)
    if geometry is None:
        return []
    kind, fraction, width = geometry
    length = wall.length
    ux, uy = (wall.x2 - wall.x1) / length, (wall.y2 - wall.y1) / length
    nx, ny = -uy, ux
    cx, cy = wall.point_at(fraction)
    half, t = width / 2, wall.thickness / 2
    a = (cx - ux * half, cy - uy * half)
    b = (cx + ux * half, cy + uy * half)
    gap = [
        (a[0] + nx * t, a[1] + ny * t),
        (b[0] + nx * t, b[1] + ny * t),
        (b[0] - nx * t, b[1] - ny * t),
        (a[0] - nx * t, a[1] - ny * t),
    ]
    parts = [f'<polygon class="gap" points="{canvas.points(gap)}"/>']
    if kind == "window":
        parts.append(
            f'<polyline class="window" points="{canvas.points([a, b])}" stroke-width="{stroke}"/>'
        )
    else:
        leaf_end = (a[0] + nx * width, a[1] + ny * width)
        # The swing from the open leaf back to the closed position (y flip reverses sweep).
        parts.append(
            f'<path class="door" d="M{canvas.pt(*a)} L{canvas.pt(*leaf_end)} '
            f'A{_f(width)},{_f(width)} 0 0,1 {canvas.pt(*b)}" stroke-width="{stroke}"/>'
        )
    return parts


def render_svg(document: dict[str, Any], *, title: str | None = None) -> str:
    bounds = _bounds(document)
    if bounds is None:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 60" width="100" '
            'height="60"><rect width="100" height="60" fill="#fafafa"/>'
            '<text x="50" y="34" font-family="sans-serif" font-size="8" text-anchor="middle" '
            'fill="#999">empty plan</text></svg>'
        )
    minx, miny, maxx, maxy = bounds
    margin = max(maxx - minx, maxy - miny, 1.0) * 0.04
    canvas = _Canvas(minx - margin, miny - margin, maxx + margin, maxy + margin)
    scale = MAX_PIXELS / max(canvas.width, canvas.height)
    px_w, px_h = round(canvas.width * scale), round(canvas.height * scale)
    stroke = _f(max(canvas.width, canvas.height) / 500)
    font = max(canvas.width, canvas.height) / 60

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(canvas.width)} '
        f'{_f(canvas.height)}" width="{px_w}" height="{px_h}">',
        "<style>.wall{fill:#2b2b2b}.gap{fill:#ffffff}.door,.window,.furniture{fill:none;"
        "stroke:#555}.zone{stroke:#9bb0c8}.label{font-family:sans-serif;fill:#334;"
        "text-anchor:middle}</style>",
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append(f'<rect width="{_f(canvas.width)}" height="{_f(canvas.height)}" fill="#ffffff"/>')
    zones = zones_of(document)
    for index, zone in enumerate(zones):
        fill = ZONE_FILLS[index % len(ZONE_FILLS)]
        rings = [list(zone.points), *(list(hole) for hole in zone.holes)]
        d = " ".join(f"M{canvas.points(ring).replace(' ', ' L')} Z" for ring in rings)
        out.append(
            f'<path class="zone" d="{d}" fill="{fill}" fill-rule="evenodd" '
            f'stroke-width="{stroke}"/>'
        )
    walls = walls_of(document)
    for wall in walls:
        out.append(f'<polygon class="wall" points="{canvas.points(wall.outline())}"/>')
    for wall in walls:
        for opening in wall.openings:
            out += _opening_svg(canvas, wall, opening, stroke)
    for item in furniture_of(document):
        angle = math.radians(item.rotation)
        cos, sin = math.cos(angle), math.sin(angle)
        corners = []
        for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            lx, ly = dx * item.width / 2, dy * item.depth / 2
            corners.append((item.x + lx * cos - ly * sin, item.y + lx * sin + ly * cos))
        out.append(
            f'<polygon class="furniture" points="{canvas.points(corners)}" '
            f'stroke-width="{stroke}"/>'
        )
    for zone in zones:
        polygon = Polygon(zone.points, list(zone.holes))
        anchor = polygon.representative_point() if polygon.is_valid else polygon.centroid
        x, y = canvas.pt(anchor.x, anchor.y).split(",")
        area = f"{zone.area:.1f} m²"
        if zone.label:
            out.append(
                f'<text class="label" x="{x}" y="{y}" font-size="{_f(font)}">'
                f"{escape(zone.label)}</text>"
            )
            y = _f(float(y) + font * 1.2)
        out.append(
            f'<text class="label" x="{x}" y="{y}" font-size="{_f(font * 0.8)}">{area}</text>'
        )
    out.append("</svg>")
    return "".join(out)


__all__ = ["render_svg"]


def render_entities_svg(
    entities: Iterable[Any], *, title: str | None = None, size: int = 128
) -> str:
    """A thumbnail of DXF entities (a block's content): every curve flattened to a polyline,
    fitted into a `size` x `size` square. Used for the CAD block library."""
    polylines: list[list[tuple[float, float]]] = []
    for entity in entities:
        try:
            path = ezdxf.path.make_path(entity)
        except TypeError:
            continue  # text, attribute definitions…: not geometry
        for sub in path.sub_paths():
            points = [(v.x, v.y) for v in sub.flattening(0.002)]
            if len(points) >= 2:
                polylines.append(points)
    if not polylines:
        return render_svg({})
    xs = [x for line in polylines for x, _ in line]
    ys = [y for line in polylines for _, y in line]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    margin = span * 0.06
    canvas = _Canvas(min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)
    stroke = _f(max(canvas.width, canvas.height) / 120)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(canvas.width)} '
        f'{_f(canvas.height)}" width="{size}" height="{size}" '
        'preserveAspectRatio="xMidYMid meet">'
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append(
        f'<g fill="none" stroke="#333" stroke-width="{stroke}" stroke-linecap="round" '
        'stroke-linejoin="round">'
    )
    for line in polylines:
        out.append(f'<polyline points="{canvas.points(line)}"/>')
    out.append("</g></svg>")
    return "".join(out)
