"""Small formatting helpers of the templates: times, sizes, areas, and the site's outline."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

_UNITS = ("bytes", "KB", "MB", "GB", "TB")


def file_size(value: int | float) -> str:
    size = float(value)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            if unit == "bytes":
                return f"{int(size)} bytes"
            return f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return f"{size} TB"  # unreachable: the loop returns on its last unit


def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "3 minutes ago", "yesterday", or the date for anything older than a week."""
    if value is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "just now"
    for limit, size, name in (
        (3600, 60, "minute"),
        (86400, 3600, "hour"),
        (7 * 86400, 86400, "day"),
    ):
        if seconds < limit:
            count = int(seconds // size)
            if name == "day" and count == 1:
                return "yesterday"
            return f"{count} {name}{'s' if count != 1 else ''} ago"
    return value.strftime("%-d %b %Y")


def area(value: float | None) -> str:
    if value is None:
        return "not known"
    return f"{value:,.1f} m²"


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def clock(value: str | None) -> str:
    """An ISO timestamp's local time of day (the site's own zone), or a dash."""
    if not value:
        return "none (polar day or night)"
    try:
        return dt.datetime.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        return value


def _rings(geometry: Any) -> Iterator[list[tuple[float, float]]]:
    """Outer rings of every polygon of a GeoJSON geometry, Feature or FeatureCollection."""
    if not isinstance(geometry, dict):
        return
    kind = geometry.get("type")
    if kind == "FeatureCollection":
        for feature in geometry.get("features") or []:
            yield from _rings(feature)
    elif kind == "Feature":
        yield from _rings(geometry.get("geometry"))
    elif kind == "Polygon":
        polygons = [geometry.get("coordinates")]
    elif kind == "MultiPolygon":
        polygons = geometry.get("coordinates") or []
    else:
        return
    if kind in ("Polygon", "MultiPolygon"):
        for polygon in polygons:
            if isinstance(polygon, list) and polygon and isinstance(polygon[0], list):
                ring = [
                    (float(p[0]), float(p[1]))
                    for p in polygon[0]
                    if isinstance(p, list | tuple) and len(p) >= 2
                ]
                if len(ring) >= 3:
                    yield ring


def boundary_svg(boundary: Any, size: int = 240) -> Markup | None:
    """The site's outline, north up, in local metres around its centre (an equirectangular
    approximation: exact enough to see a plot's shape), with a scale note."""
    rings = list(_rings(boundary))
    if not rings:
        return None
    points = [p for ring in rings for p in ring]
    lon0 = sum(p[0] for p in points) / len(points)
    lat0 = sum(p[1] for p in points) / len(points)
    kx = 111_320.0 * math.cos(math.radians(lat0))
    ky = 110_540.0
    local = [[((x - lon0) * kx, (y - lat0) * ky) for x, y in ring] for ring in rings]
    xs = [x for ring in local for x, _ in ring]
    ys = [y for ring in local for _, y in ring]
    width = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    margin = 12
    scale = (size - 2 * margin) / width
    shapes = []
    for ring in local:
        coords = " ".join(
            f"{margin + (x - min(xs)) * scale:.1f},{size - margin - (y - min(ys)) * scale:.1f}"
            for x, y in ring
        )
        shapes.append(
            f'<polygon points="{coords}" fill="#dcfce7" stroke="#166534" stroke-width="2"/>'
        )
    return Markup(  # noqa: S704 - numbers only
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="outline" '
        f'role="img" aria-label="Site boundary, north up, about {width:,.0f} m across">'
        + "".join(shapes)
        + "</svg>"
    )


def install(env: Environment) -> None:
    env.filters.update(file_size=file_size, ago=ago, area=area, number=number, clock=clock)
