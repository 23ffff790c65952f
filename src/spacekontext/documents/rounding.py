"""Derived figures as people read them: areas (m²) to 2 decimals, ratios (the floor-area ratio)
to 3, volumes (m³) to 2. Every path that stores or answers a derived figure rounds through
these, so that a figure reads the same whichever path computed it: a save, a change of the
site or of the project's settings, a seed. A ratio is computed from the stored (rounded)
areas, which is what every path has at hand."""

from __future__ import annotations

AREA_DECIMALS = 2
RATIO_DECIMALS = 3
VOLUME_DECIMALS = 2


def area_m2(value: float) -> float:
    return round(float(value), AREA_DECIMALS)


def ratio(value: float) -> float:
    return round(float(value), RATIO_DECIMALS)


def volume_m3(value: float) -> float:
    return round(float(value), VOLUME_DECIMALS)


def floor_area_ratio(gross_floor_area_m2: float, site_area_m2: float | None) -> float | None:
    """GFA / site area, rounded; None without a site area."""
    if not site_area_m2 or site_area_m2 <= 0:
        return None
    return ratio(gross_floor_area_m2 / site_area_m2)
