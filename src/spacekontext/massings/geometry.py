"""The massing document and what is derived from it.

    blocks [{id, footprint: [[x, y]…], height, base, floors, …}]   lengths in metres

A block is a prism: its footprint polygon extruded by `height` from `base` (default 0). Derived:
volume = sum of footprint area * height; footprint = area of the union of all footprints (stacked
blocks do not count twice); height = highest block top; gross floor area = sum of footprint area *
floors, where floors is the block's own `floors` or, when absent, how many storeys of the
project's floor-to-floor height fit in the block (at least one); floor-area ratio = gross floor
area / site area when the project has a site with an area. Blocks are assumed not to overlap in
space (overlapping volumes would count twice); the editor's other keys are kept untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

import shapely

from spacekontext.documents import document_invalid, require_object, rounding
from spacekontext.floorplans.geometry import Checker, is_number, shoelace_area

KIND = "massing"
DEFAULT_FLOOR_TO_FLOOR_M = 3.0
# The tallest building has about 160 floors.
MAX_FLOORS = 1_000


@dataclass(frozen=True, slots=True)
class MassingFacts:
    volume_m3: float
    footprint_m2: float
    gross_floor_area_m2: float
    height_m: float

    def floor_area_ratio(self, site_area_m2: float | None) -> float | None:
        return rounding.floor_area_ratio(self.gross_floor_area_m2, site_area_m2)


def _positive(value: Any) -> TypeGuard[float]:
    return is_number(value) and value > 0


@dataclass(frozen=True, slots=True)
class MassingShape:
    """What a valid massing document measures by itself; the gross floor area also needs the
    project's floor-to-floor height (`facts`)."""

    volume_m3: float
    footprint_m2: float
    height_m: float
    # (footprint area, height, floors or None) of each block, in document order.
    blocks: tuple[tuple[float, float, int | None], ...]

    def facts(self, floor_to_floor_m: float) -> MassingFacts:
        gfa = 0.0
        for area, height, floors in self.blocks:
            storeys = (
                floors
                if floors is not None
                else max(1, math.floor(height / floor_to_floor_m + 1e-9))
            )
            gfa += area * storeys
        return MassingFacts(
            volume_m3=self.volume_m3,
            footprint_m2=self.footprint_m2,
            gross_floor_area_m2=rounding.area_m2(gfa),
            height_m=self.height_m,
        )


def derive(document: Any, floor_to_floor_m: float) -> MassingFacts:
    return shape(document).facts(floor_to_floor_m)


def shape(document: Any) -> MassingShape:
    """Check the document (`ValidationFailed` listing every problem) and measure it."""
    doc = require_object(document, KIND)
    check = Checker()
    blocks = doc.get("blocks", [])
    if not isinstance(blocks, list):
        check.fail("/blocks", "must be a list of blocks")
        blocks = []
    volume = top = 0.0
    polygons = []
    measured: list[tuple[float, float, int | None]] = []
    for i, block in enumerate(blocks):
        path = f"/blocks/{i}"
        if not isinstance(block, dict):
            check.fail(path, "must be an object")
            continue
        ring = check.ring(block.get("footprint"), f"{path}/footprint")
        height = block.get("height")
        base = block.get("base", 0)
        floors = block.get("floors")
        if not _positive(height):
            check.fail(f"{path}/height", "must be a positive number of metres, at most 1,000,000")
        if not is_number(base):
            check.fail(f"{path}/base", "must be a number of metres within ±1,000,000")
        if floors is not None and not (
            isinstance(floors, int) and not isinstance(floors, bool) and 1 <= floors <= MAX_FLOORS
        ):
            check.fail(f"{path}/floors", f"must be a whole number of floors, 1 to {MAX_FLOORS}")
        if ring is None:
            continue
        polygon = shapely.Polygon(ring)
        if not polygon.is_valid:
            check.fail(
                f"{path}/footprint", f"not a simple polygon: {shapely.is_valid_reason(polygon)}"
            )
            continue
        if check.problems or not _positive(height):
            continue
        area = shoelace_area(ring)
        polygons.append(polygon)
        measured.append((area, height, floors))
        volume += area * height
        top = max(top, base + height)
    if check.problems:
        raise document_invalid(KIND, check.problems)
    footprint = shapely.unary_union(polygons).area if polygons else 0.0
    return MassingShape(
        volume_m3=rounding.volume_m3(volume),
        footprint_m2=rounding.area_m2(footprint),
        height_m=round(top, 6),
        blocks=tuple(measured),
    )


def floor_to_floor_height(project_settings: Any) -> float:
    """The project's `floorToFloorHeight` setting in metres, or the 3.0 m default when it is
    missing or not a positive number."""
    if isinstance(project_settings, dict):
        value = project_settings.get("floorToFloorHeight")
        if _positive(value):
            return float(value)
    return DEFAULT_FLOOR_TO_FLOOR_M
