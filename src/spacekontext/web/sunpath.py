"""The sun path as a polar diagram (SVG): the sky seen from above, the zenith at the centre and
the horizon at the rim, north up. Each curve is one day's hourly positions above the horizon:
the solstices and equinoxes stored with the site, and the chosen date drawn over them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape

SIZE = 320
CENTRE = SIZE / 2
RADIUS = 130.0
SEASON_COLOURS = {
    "juneSolstice": "#b45309",
    "marchEquinox": "#15803d",
    "septemberEquinox": "#15803d",
    "decemberSolstice": "#1d4ed8",
}
SEASON_LABELS = {
    "juneSolstice": "June solstice",
    "marchEquinox": "March equinox",
    "septemberEquinox": "September equinox",
    "decemberSolstice": "December solstice",
}


def _xy(azimuth_deg: float, elevation_deg: float) -> tuple[float, float]:
    r = RADIUS * (90.0 - max(0.0, min(90.0, elevation_deg))) / 90.0
    a = math.radians(azimuth_deg)
    return CENTRE + r * math.sin(a), CENTRE - r * math.cos(a)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _segments(points: Iterable[dict[str, Any]]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive hours above the horizon (a day can rise and set once; near the poles
    a curve may wrap, so each run is drawn on its own)."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for point in points:
        elevation = point.get("elevationDeg")
        azimuth = point.get("azimuthDeg")
        if not isinstance(elevation, int | float) or not isinstance(azimuth, int | float):
            continue
        if elevation > 0:
            current.append(_xy(float(azimuth), float(elevation)))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _polyline(run: Sequence[tuple[float, float]], colour: str, width: float) -> str:
    points = " ".join(f"{_f(x)},{_f(y)}" for x, y in run)
    return (
        f'<polyline points="{points}" fill="none" stroke="{colour}" '
        f'stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"/>'
    )


def polar_diagram(sun_path: dict[str, Any], day_track: Sequence[dict[str, Any]] = ()) -> Markup:
    """`sun_path` as the site service stores it (seasons of hourly azimuth/elevation);
    `day_track` the chosen date's hourly positions, drawn in a heavier line with hour marks."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'class="sunpath" role="img" aria-labelledby="sunpath-title">',
        f'<title id="sunpath-title">Sun path for {escape(sun_path.get("date", ""))}: the sky '
        "seen from above, north up, the horizon at the rim</title>",
        f'<circle cx="{CENTRE}" cy="{CENTRE}" r="{RADIUS}" fill="#f8fafc" stroke="#475569"/>',
    ]
    for elevation in (30, 60):
        r = RADIUS * (90 - elevation) / 90
        parts.append(
            f'<circle cx="{CENTRE}" cy="{CENTRE}" r="{_f(r)}" fill="none" stroke="#94a3b8" '
            'stroke-dasharray="3 3"/>'
        )
        parts.append(
            f'<text x="{_f(CENTRE + 3)}" y="{_f(CENTRE - r - 2)}" font-size="9" '
            f'fill="#334155">{elevation}°</text>'
        )
    for azimuth in range(0, 360, 30):
        x, y = _xy(azimuth, 0)
        parts.append(
            f'<line x1="{CENTRE}" y1="{CENTRE}" x2="{_f(x)}" y2="{_f(y)}" stroke="#cbd5e1"/>'
        )
    for label, azimuth in (("N", 0), ("E", 90), ("S", 180), ("W", 270)):
        a = math.radians(azimuth)
        x = CENTRE + (RADIUS + 14) * math.sin(a)
        y = CENTRE - (RADIUS + 14) * math.cos(a) + 4
        parts.append(
            f'<text x="{_f(x)}" y="{_f(y)}" font-size="12" font-weight="bold" '
            f'text-anchor="middle" fill="#0f172a">{label}</text>'
        )
    seasons = sun_path.get("seasons") or {}
    if isinstance(seasons, dict):
        for name, season in seasons.items():
            if not isinstance(season, dict):
                continue
            colour = SEASON_COLOURS.get(name, "#64748b")
            for run in _segments(season.get("hourly") or []):
                parts.append(_polyline(run, colour, 1.5))
    for run in _segments(day_track):
        parts.append(_polyline(run, "#dc2626", 3))
    for run in _segments(day_track):
        for x, y in run:
            parts.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="2.5" fill="#dc2626"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from numbers and escaped text only


SEASON_CLASSES = {
    "juneSolstice": "june",
    "marchEquinox": "equinox",
    "septemberEquinox": "equinox",
    "decemberSolstice": "december",
}


def legend(sun_path: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, swatch class) of each stored curve drawn, for the legend beside the diagram;
    the equinoxes share one curve and one entry."""
    seasons = sun_path.get("seasons") or {}
    entries: dict[str, str] = {}
    for name in ("juneSolstice", "marchEquinox", "decemberSolstice"):
        if isinstance(seasons, dict) and name in seasons:
            label = "Equinoxes" if name == "marchEquinox" else SEASON_LABELS[name]
            entries[label] = SEASON_CLASSES[name]
    return list(entries.items())
