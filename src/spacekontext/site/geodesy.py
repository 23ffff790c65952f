"""The site boundary: GeoJSON checks and its area on the WGS84 ellipsoid.

The area is geodesic (Karney's algorithm in `geographiclib`, accurate to millimetres² on a
building site and valid at any latitude), not planar in some projection: a plot drawn over a map
in degrees has no single right projection, and an area computed in degrees is meaningless.
geographiclib is pure Python and small; pyproj would bring the whole PROJ library for the same
number. Positions are GeoJSON's [longitude, latitude]."""

from __future__ import annotations

import math
from typing import Any

import shapely
from geographiclib.geodesic import Geodesic

from spacekontext.documents import rounding
from spacekontext.errors import Invalid


def _bad(message: str, code: str = "invalid_boundary") -> Invalid:
    return Invalid(message, code=code)


def check_coordinates(latitude: float, longitude: float, where: str = "coordinates") -> None:
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise Invalid(
            f"{where}: latitude {latitude} is outside -90..90", code="invalid_coordinates"
        )
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise Invalid(
            f"{where}: longitude {longitude} is outside -180..180", code="invalid_coordinates"
        )


def _polygons(boundary: Any) -> list[tuple[str, Any]]:
    """(path, polygon coordinates) of every polygon in a GeoJSON geometry, Feature or
    FeatureCollection."""
    if not isinstance(boundary, dict):
        raise _bad("boundary must be a GeoJSON object")
    kind = boundary.get("type")
    if kind == "FeatureCollection":
        features = boundary.get("features")
        if not isinstance(features, list) or not features:
            raise _bad("boundary: a FeatureCollection needs a list of features")
        found = []
        for i, feature in enumerate(features):
            found += [(f"features/{i}/{p}", c) for p, c in _polygons(feature)]
        return found
    if kind == "Feature":
        return [
            (f"geometry/{p}" if p else "geometry", c)
            for p, c in _polygons(boundary.get("geometry"))
        ]
    coordinates = boundary.get("coordinates")
    if kind == "Polygon":
        return [("coordinates", coordinates)]
    if kind == "MultiPolygon" and isinstance(coordinates, list):
        return [(f"coordinates/{i}", polygon) for i, polygon in enumerate(coordinates)]
    raise _bad("boundary must be a GeoJSON Polygon or MultiPolygon (or a Feature of one)")


def _ring(raw: Any, path: str) -> list[tuple[float, float]]:
    if not isinstance(raw, list) or len(raw) < 4:
        raise _bad(f"boundary {path}: a ring needs at least 4 positions (first = last)")
    ring = []
    for i, position in enumerate(raw):
        if not (
            isinstance(position, list)
            and len(position) >= 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])
        ):
            raise _bad(f"boundary {path}/{i}: a position is [longitude, latitude]")
        lng, lat = float(position[0]), float(position[1])
        check_coordinates(lat, lng, f"boundary {path}/{i}")
        ring.append((lng, lat))
    if ring[0] != ring[-1]:
        raise _bad(
            f"boundary {path}: the ring is not closed (first and last positions differ)",
            "unclosed_ring",
        )
    return ring


def _ring_area(ring: list[tuple[float, float]]) -> float:
    polygon = Geodesic.WGS84.Polygon()
    for lng, lat in ring[:-1]:
        polygon.AddPoint(lat, lng)
    _, _, area = polygon.Compute(False, True)
    return abs(float(area))


def site_area_m2(boundary: Any) -> float:
    """Validate the boundary and return its geodesic area in m² (holes subtracted)."""
    total = 0.0
    for path, coordinates in _polygons(boundary):
        if not isinstance(coordinates, list) or not coordinates:
            raise _bad(f"boundary {path}: a polygon is a list of rings")
        rings = [_ring(raw, f"{path}/{i}") for i, raw in enumerate(coordinates)]
        shape = shapely.Polygon(rings[0], rings[1:])
        if not shape.is_valid:
            raise _bad(f"boundary {path}: not a simple polygon: {shapely.is_valid_reason(shape)}")
        total += _ring_area(rings[0]) - sum(_ring_area(hole) for hole in rings[1:])
    return rounding.area_m2(total)
