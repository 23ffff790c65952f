"""Deterministic generators for the seed data set.

Every generator takes a `random.Random` seeded from (seed, kind, row index), so one row's content
never depends on how many rows came before it or on which process made it: the same `--seed`
gives the same documents, byte for byte, whatever the parallelism.

Floorplans are wall graphs in the format of DESIGN.md (metres): a building outline split into a
grid of rooms with irregular spacing, some rooms merged, walls shared between neighbours, doors on
interior walls, windows on exterior walls, furniture placed inside the rooms. Their size is drawn
from a skewed (log-normal) distribution and steered into the 20-500 KB band mostly through the
number of rooms, as a real plan grows: a flat has a dozen rooms, an office floor hundreds.
"""

from __future__ import annotations

import functools
import math
import random
import struct
import zlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from spacekontext.ids import id_of

MIN_FLOORPLAN_BYTES = 20 * 1024
MAX_FLOORPLAN_BYTES = 500 * 1024
# Log-normal: median ~55 KB, a long tail to the 500 KB cap (about 1 in 60 above 250 KB).
_SIZE_MEDIAN = 55 * 1024
_SIZE_SIGMA = 0.75


def rng_for(seed: int, kind: str, index: int) -> random.Random:
    # String seeds go through SHA-512 in `random`, independent of PYTHONHASHSEED.
    return random.Random(f"{seed}:{kind}:{index}")  # noqa: S311 - data, not secrets


def short_id(rng: random.Random, prefix: str) -> str:
    # Editor-style element ids: a letter and 12 hex digits (48 random bits).
    return f"{prefix}{rng.getrandbits(48):012x}"


def row_id(created_ms: int, rng: random.Random) -> str:
    """The app's id layout (ids.py: 48-bit ms timestamp + 80 random bits, Crockford base32),
    with the randomness from `rng` so that ids are reproducible too."""
    return id_of(created_ms, rng.getrandbits(80))


def _r(value: float) -> float:
    """Millimetre precision, as a drawing tool stores lengths."""
    return round(value, 3)


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

# fmt: off
FIRST_NAMES = (
    "Ada", "Alvar", "Anna", "Arne", "Bruno", "Carla", "Denise", "Eero", "Eileen", "Elena",
    "Frank", "Gae", "Hans", "Ieoh", "Jean", "Jørn", "Kazuyo", "Kengo", "Lina", "Louis", "Luis",
    "Marcel", "Maya", "Mies", "Nina", "Oscar", "Peter", "Rafael", "Renzo", "Ricardo", "Sou",
    "Tadao", "Toyo", "Walter", "Yasmeen", "Zaha",
)
# fmt: on
# fmt: off
LAST_NAMES = (
    "Aalto", "Ando", "Bo Bardi", "Botta", "Calatrava", "Chipperfield", "Gray", "Fujimoto",
    "Gehry", "Hadid", "Herzog", "Ito", "Jacobsen", "Kahn", "Kuma", "Lacaton", "Lassila",
    "Legorreta", "Meier", "Moneo", "Niemeyer", "Piano", "Rogers", "Saarinen", "Sejima", "Siza",
    "Smithson", "Tange", "Utzon", "Wright", "Zumthor", "Lim", "Okafor", "Nguyen",
)
# fmt: on
# fmt: off
PROJECT_KINDS = (
    "House", "Villa", "Apartments", "Office", "School", "Library", "Clinic", "Studio", "Pavilion",
    "Housing", "Museum", "Kindergarten", "Workshop", "Retreat", "Hotel", "Cafe",
)
# fmt: on
# fmt: off
PROJECT_PLACES = (
    "Harbour", "Hillside", "Riverside", "Market Street", "Old Town", "Park", "Lakeside",
    "Station", "Garden", "Courtyard", "North Bank", "Quarry", "Orchard", "Dunes", "Canal",
)
# fmt: on
DESCRIPTIONS = (
    "Competition entry, stage {n}.",
    "Timber frame on a concrete plinth; {n} storeys.",
    "Renovation and extension of an existing building, phase {n}.",
    "Feasibility study for a mixed-use block with {n} units.",
    "Client revision {n}: daylight and circulation reworked.",
    "Low-energy scheme, cross-laminated timber, {n} levels.",
)

# fmt: off
ROOM_TYPES = (
    ("living", "Living"), ("kitchen", "Kitchen"), ("bedroom", "Bedroom"),
    ("bathroom", "Bathroom"), ("office", "Office"), ("meeting", "Meeting room"),
    ("storage", "Storage"), ("corridor", "Corridor"), ("wc", "WC"), ("lobby", "Lobby"),
    ("studio", "Studio"), ("plant", "Plant room"),
)
# fmt: on
# type, width, depth, height (m)
# fmt: off
FURNITURE = (
    ("bed", 1.6, 2.0, 0.45), ("sofa", 2.2, 0.9, 0.8), ("table", 1.8, 0.9, 0.75),
    ("chair", 0.45, 0.5, 0.9), ("desk", 1.6, 0.8, 0.74), ("wardrobe", 1.2, 0.6, 2.1),
    ("toilet", 0.4, 0.7, 0.4), ("sink", 0.6, 0.45, 0.85), ("shelf", 0.9, 0.35, 1.9),
    ("armchair", 0.8, 0.85, 0.9), ("cabinet", 0.8, 0.45, 0.9), ("plant", 0.5, 0.5, 1.2),
)
# fmt: on


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def project_name(rng: random.Random) -> str:
    return f"{rng.choice(PROJECT_KINDS)} {rng.choice(PROJECT_PLACES)} {rng.randint(1, 99)}"


def project_description(rng: random.Random) -> str:
    return rng.choice(DESCRIPTIONS).format(n=rng.randint(1, 9))


# --------------------------------------------------------------------------------------------
# Floorplans
# --------------------------------------------------------------------------------------------


def floorplan_target_bytes(rng: random.Random) -> int:
    size = rng.lognormvariate(math.log(_SIZE_MEDIAN), _SIZE_SIGMA)
    # Keep a margin inside the band: the generator lands within a few percent of its target.
    return int(min(max(size, MIN_FLOORPLAN_BYTES * 1.08), MAX_FLOORPLAN_BYTES * 0.93))


# Serialized bytes per grid cell (node + two walls + zone + openings), and per furniture item;
# measured on generated plans, used only to pick the grid size for a target.
_BYTES_PER_CELL = 560
_BYTES_PER_FURNITURE = 150


def floorplan(rng: random.Random, *, target_bytes: int) -> dict[str, Any]:
    """A floorplan document of about `target_bytes` serialized bytes."""
    # Rooms carry ~70% of the bytes; furniture the rest.
    cells = max(6, int(target_bytes * 0.7 / _BYTES_PER_CELL))
    aspect = rng.uniform(0.6, 1.7)
    nx = max(2, round(math.sqrt(cells * aspect)))
    ny = max(2, round(cells / nx))
    xs = [0.0]
    for _ in range(nx):
        xs.append(_r(xs[-1] + rng.uniform(2.6, 6.2)))
    ys = [0.0]
    for _ in range(ny):
        ys.append(_r(ys[-1] + rng.uniform(2.4, 5.4)))
    wall_height = _r(rng.uniform(2.6, 3.3))

    node_ids = [[short_id(rng, "n") for _ in range(ny + 1)] for _ in range(nx + 1)]
    nodes: dict[str, dict[str, Any]] = {}
    for i in range(nx + 1):
        for j in range(ny + 1):
            nodes[node_ids[i][j]] = {"position": [xs[i], ys[j]], "connectedEdges": []}

    # Merge some pairs of horizontally adjacent cells into one room: drop their shared wall.
    merged_right = [[False] * ny for _ in range(nx)]
    for j in range(ny):
        i = 0
        while i < nx - 1:
            if rng.random() < 0.22:
                merged_right[i][j] = True
                i += 2
            else:
                i += 1

    edges: dict[str, dict[str, Any]] = {}

    def add_wall(a: str, b: str, length: float, exterior: bool) -> None:
        edge_id = short_id(rng, "w")
        openings: list[dict[str, Any]] = []
        if exterior and length > 1.6 and rng.random() < 0.7:
            width = _r(min(rng.uniform(0.9, 2.4), length - 0.6))
            openings.append(_opening(rng, "window", length, width, 0.9, 1.3))
        elif not exterior and length > 1.2 and rng.random() < 0.5:
            openings.append(_opening(rng, "door", length, rng.choice((0.8, 0.9, 1.0)), 0.0, 2.1))
        edges[edge_id] = {
            "startNodeId": a,
            "endNodeId": b,
            "thickness": 0.3 if exterior else 0.12,
            "height": wall_height,
            "openings": openings,
        }
        nodes[a]["connectedEdges"].append(edge_id)
        nodes[b]["connectedEdges"].append(edge_id)

    # Horizontal walls (along x), then vertical walls (along y).
    for j in range(ny + 1):
        for i in range(nx):
            add_wall(node_ids[i][j], node_ids[i + 1][j], xs[i + 1] - xs[i], j in (0, ny))
    for i in range(nx + 1):
        for j in range(ny):
            # The wall at x=xs[i] separates cell i-1 and cell i; skip it if they are merged.
            if 0 < i < nx and merged_right[i - 1][j]:
                continue
            add_wall(node_ids[i][j], node_ids[i][j + 1], ys[j + 1] - ys[j], i in (0, nx))

    zones: list[dict[str, Any]] = []
    rooms: list[tuple[float, float, float, float]] = []
    for j in range(ny):
        i = 0
        while i < nx:
            span = 2 if i < nx - 1 and merged_right[i][j] else 1
            x0, x1, y0, y1 = xs[i], xs[i + span], ys[j], ys[j + 1]
            kind, label = rng.choice(ROOM_TYPES)
            zones.append(
                {
                    "id": short_id(rng, "z"),
                    "points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                    "label": f"{label} {len(zones) + 1}",
                    "type": kind,
                    "color": f"#{rng.getrandbits(24):06x}",
                }
            )
            rooms.append((x0, y0, x1, y1))
            i += span

    base_bytes = (len(nodes) + len(edges) + len(zones)) * (_BYTES_PER_CELL // 3)
    furniture_count = max(0, (target_bytes - base_bytes) // _BYTES_PER_FURNITURE)
    furniture = [_furniture(rng, rng.choice(rooms)) for _ in range(furniture_count)]
    document: dict[str, Any] = {
        "version": 2,
        "units": "m",
        "nodes": nodes,
        "edges": edges,
        "zones": zones,
        "furniture": furniture,
        "settings": {"gridSize": 0.1, "snapToGrid": True, "wallHeight": wall_height},
    }
    _steer_into_band(rng, document, rooms, target_bytes)
    return document


def _steer_into_band(
    rng: random.Random,
    document: dict[str, Any],
    rooms: list[tuple[float, float, float, float]],
    target_bytes: int,
) -> None:
    """Add or remove furniture until the document is within ~3% of the target (and always in
    the 20-500 KB band): the byte estimate above is only an estimate."""
    furniture: list[dict[str, Any]] = document["furniture"]
    for _ in range(6):
        size = len(orjson.dumps(document))
        low, high = target_bytes * 0.97, target_bytes * 1.03
        if low <= size <= high:
            return
        delta = int((target_bytes - size) / _BYTES_PER_FURNITURE)
        if delta > 0:
            furniture.extend(_furniture(rng, rng.choice(rooms)) for _ in range(delta))
        elif furniture:
            del furniture[max(0, len(furniture) + delta) :]
        else:
            return


def _opening(
    rng: random.Random, kind: str, length: float, width: float, sill: float, height: float
) -> dict[str, Any]:
    # Position: distance in metres from the start node to the opening's centre.
    half = width / 2
    position = _r(rng.uniform(half + 0.15, length - half - 0.15))
    return {
        "id": short_id(rng, "o"),
        "type": kind,
        "position": position,
        "width": width,
        "height": height,
        "sillHeight": sill,
    }


def _furniture(rng: random.Random, room: tuple[float, float, float, float]) -> dict[str, Any]:
    kind, width, depth, height = rng.choice(FURNITURE)
    x0, y0, x1, y1 = room
    return {
        "id": short_id(rng, "f"),
        "type": kind,
        "position": [_r(rng.uniform(x0 + 0.4, x1 - 0.4)), _r(rng.uniform(y0 + 0.4, y1 - 0.4))],
        "rotation": rng.choice((0, 90, 180, 270)),
        "width": width,
        "depth": depth,
        "height": height,
    }


# --------------------------------------------------------------------------------------------
# 3D models and massings
# --------------------------------------------------------------------------------------------


def model_3d(rng: random.Random, plan: dict[str, Any]) -> dict[str, Any]:
    """A 3D model extruded from a floorplan: one box per wall, a slab per room."""
    nodes = plan["nodes"]
    objects: list[dict[str, Any]] = []
    for edge_id, edge in plan["edges"].items():
        (ax, ay), (bx, by) = (
            nodes[edge["startNodeId"]]["position"],
            nodes[edge["endNodeId"]]["position"],
        )
        length = math.hypot(bx - ax, by - ay)
        objects.append(
            {
                "id": short_id(rng, "m"),
                "type": "wall",
                "sourceId": edge_id,
                "position": [_r((ax + bx) / 2), _r((ay + by) / 2), _r(edge["height"] / 2)],
                "size": [_r(length), edge["thickness"], edge["height"]],
                "rotation": [0, 0, _r(math.atan2(by - ay, bx - ax))],
                "material": "plaster" if edge["thickness"] < 0.2 else "brick",
            }
        )
    for zone in plan["zones"]:
        (x0, y0), _, (x1, y1), _ = zone["points"]
        objects.append(
            {
                "id": short_id(rng, "m"),
                "type": "slab",
                "sourceId": zone["id"],
                "position": [_r((x0 + x1) / 2), _r((y0 + y1) / 2), -0.1],
                "size": [_r(x1 - x0), _r(y1 - y0), 0.2],
                "rotation": [0, 0, 0],
                "material": rng.choice(("oak", "concrete", "tiles", "carpet")),
            }
        )
    return {
        "version": 1,
        "units": "m",
        "objects": objects,
        "materials": {
            "plaster": {"color": "#f2efe9", "roughness": 0.9},
            "brick": {"color": "#9c4a34", "roughness": 0.8},
            "oak": {"color": "#b08355", "roughness": 0.6},
            "concrete": {"color": "#a3a3a0", "roughness": 0.95},
            "tiles": {"color": "#dcdcdc", "roughness": 0.3},
            "carpet": {"color": "#5b6470", "roughness": 1.0},
        },
    }


def model_settings(rng: random.Random) -> dict[str, Any]:
    return {
        "camera": {
            "position": [
                _r(rng.uniform(-40, 40)),
                _r(rng.uniform(-40, 40)),
                _r(rng.uniform(8, 40)),
            ],
            "target": [0, 0, 0],
            "fov": 50,
        },
        "shadows": rng.random() < 0.7,
        "sunTime": f"2026-06-21T{rng.randint(8, 18):02d}:00",
    }


def massing(rng: random.Random) -> dict[str, Any]:
    """A podium with towers standing on it, as `blocks` (the massing document of the massings
    service: footprint polygon, base, height, floors)."""
    floor_to_floor = _r(rng.uniform(3.0, 3.8))
    width, depth = _r(rng.uniform(18, 70)), _r(rng.uniform(14, 50))
    podium_floors = rng.randint(1, 3)
    podium_height = _r(podium_floors * floor_to_floor)
    blocks = [_block(rng, 0.0, 0.0, width, depth, 0.0, podium_floors, floor_to_floor, "retail")]
    for _ in range(rng.randint(0, 3)):
        w, d = _r(width * rng.uniform(0.2, 0.45)), _r(depth * rng.uniform(0.3, 0.6))
        x, y = _r(rng.uniform(0, width - w)), _r(rng.uniform(0, depth - d))
        blocks.append(
            _block(rng, x, y, w, d, podium_height, rng.randint(2, 24), floor_to_floor, "housing")
        )
    return {"version": 1, "floorToFloorHeight": floor_to_floor, "blocks": blocks}


def _block(
    rng: random.Random,
    x: float,
    y: float,
    w: float,
    d: float,
    base: float,
    floors: int,
    floor_to_floor: float,
    use: str,
) -> dict[str, Any]:
    return {
        "id": short_id(rng, "b"),
        "footprint": [[x, y], [_r(x + w), y], [_r(x + w), _r(y + d)], [x, _r(y + d)]],
        "base": base,
        "height": _r(floors * floor_to_floor),
        "floors": floors,
        "use": use,
    }


def massing_analysis(rng: random.Random, gross_floor_area_m2: float) -> dict[str, Any]:
    return {
        "daylightFactor": round(rng.uniform(1.5, 5.0), 2),
        "embodiedCarbonKgCo2e": round(gross_floor_area_m2 * rng.uniform(250, 600), 0),
    }


# --------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------

# name, latitude, longitude, IANA time zone
# fmt: off
CITIES = (
    ("Zurich", 47.3769, 8.5417, "Europe/Zurich"),
    ("Berlin", 52.52, 13.405, "Europe/Berlin"),
    ("London", 51.5072, -0.1276, "Europe/London"),
    ("Lisbon", 38.7223, -9.1393, "Europe/Lisbon"),
    ("Madrid", 40.4168, -3.7038, "Europe/Madrid"),
    ("Oslo", 59.9139, 10.7522, "Europe/Oslo"),
    ("New York", 40.7128, -74.006, "America/New_York"),
    ("Toronto", 43.6532, -79.3832, "America/Toronto"),
    ("Mexico City", 19.4326, -99.1332, "America/Mexico_City"),
    ("Sao Paulo", -23.5505, -46.6333, "America/Sao_Paulo"),
    ("Cape Town", -33.9249, 18.4241, "Africa/Johannesburg"),
    ("Nairobi", -1.2921, 36.8219, "Africa/Nairobi"),
    ("Dubai", 25.2048, 55.2708, "Asia/Dubai"),
    ("Mumbai", 19.076, 72.8777, "Asia/Kolkata"),
    ("Singapore", 1.3521, 103.8198, "Asia/Singapore"),
    ("Tokyo", 35.6762, 139.6503, "Asia/Tokyo"),
    ("Sydney", -33.8688, 151.2093, "Australia/Sydney"),
    ("Auckland", -36.8485, 174.7633, "Pacific/Auckland"),
    ("Copenhagen", 55.6761, 12.5683, "Europe/Copenhagen"),
    ("Helsinki", 60.1699, 24.9384, "Europe/Helsinki"),
)
# fmt: on

_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Site:
    latitude: float
    longitude: float
    timezone: str
    site_area_m2: float
    scale: float
    rotation_deg: float
    coordinates: dict[str, Any]
    boundary: dict[str, Any]
    sun_path: dict[str, Any]
    weather: dict[str, Any]
    topography: dict[str, Any]
    context: dict[str, Any]
    analysis_results: dict[str, Any]


# The date the seeded sun paths are computed for (the service's default is the save's date).
SUN_PATH_DATE = date(2025, 6, 21)


@functools.cache
def city_sun_path(city: str, latitude: float, longitude: float, timezone: str) -> dict[str, Any]:
    """The site service's sun path (pvlib), once per city and process: sites lie within 0.05°
    (about 5 km) of their city's centre, which moves the sun by less than 0.05°, and pvlib costs
    tens of milliseconds a call — too much for tens of thousands of sites."""
    from spacekontext.site.sunpath import sun_path

    return sun_path(latitude, longitude, timezone, SUN_PATH_DATE)


def site(rng: random.Random) -> Site:
    from spacekontext.site.geodesy import site_area_m2

    city, lat0, lng0, tz = rng.choice(CITIES)
    lat = round(lat0 + rng.uniform(-0.05, 0.05), 6)
    lng = round(lng0 + rng.uniform(-0.05, 0.05), 6)
    # A convex lot: 4-6 vertices on a jittered ellipse, 15-60 m radii, counter-clockwise.
    count = rng.randint(4, 6)
    rx, ry = rng.uniform(15, 60), rng.uniform(15, 60)
    turn = rng.uniform(0, 2 * math.pi)
    metres_per_deg_lat = math.pi * _EARTH_RADIUS_M / 180
    metres_per_deg_lng = metres_per_deg_lat * math.cos(math.radians(lat))
    ring: list[list[float]] = []
    for k in range(count):
        angle = 2 * math.pi * k / count + rng.uniform(-0.25, 0.25)
        x, y = rx * math.cos(angle), ry * math.sin(angle)
        x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
        ring.append(
            [round(lng + x / metres_per_deg_lng, 7), round(lat + y / metres_per_deg_lat, 7)]
        )
    ring.append(ring[0])
    boundary = {"type": "Polygon", "coordinates": [ring]}
    area = site_area_m2(boundary)
    return Site(
        latitude=lat,
        longitude=lng,
        timezone=tz,
        site_area_m2=area,
        scale=rng.choice((50.0, 100.0, 200.0, 500.0)),
        rotation_deg=round(rng.uniform(0, 360), 1),
        coordinates={"lat": lat, "lng": lng},
        boundary=boundary,
        sun_path=city_sun_path(city, lat0, lng0, tz),
        weather=_weather(rng, lat),
        topography={
            "elevationM": round(rng.uniform(0, 600), 1),
            "slopePercent": round(rng.uniform(0, 12), 1),
            "aspect": rng.choice(("N", "NE", "E", "SE", "S", "SW", "W", "NW")),
        },
        context={
            "city": city,
            "buildings": [
                {"height": round(rng.uniform(6, 60), 1), "distanceM": round(rng.uniform(5, 120), 1)}
                for _ in range(rng.randint(2, 12))
            ],
            "roads": rng.randint(1, 4),
        },
        analysis_results={
            "buildableAreaM2": round(area * rng.uniform(0.45, 0.8), 1),
            "maxHeightM": rng.choice((12, 18, 25, 32, 45, 60)),
        },
    )


def _weather(rng: random.Random, lat: float) -> dict[str, Any]:
    base = 28 - abs(lat) * 0.45
    amplitude = abs(lat) * 0.25
    south = lat < 0
    months = []
    for month in range(12):
        season = math.cos(2 * math.pi * (month - (0 if south else 6)) / 12)
        months.append(
            {
                "month": month + 1,
                "meanTempC": round(base + amplitude * season + rng.uniform(-1, 1), 1),
                "precipitationMm": round(rng.uniform(10, 180), 0),
                "sunshineH": round(rng.uniform(60, 320), 0),
            }
        )
    return {
        "source": "climate normals",
        "monthly": months,
        "prevailingWind": rng.choice(("N", "W", "SW", "E")),
    }


# --------------------------------------------------------------------------------------------
# Files: small, real objects of each kind
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileObject:
    name: str
    extension: str
    mime_type: str
    category: str
    content: bytes


def file_object(rng: random.Random, index: int) -> FileObject:
    kind = rng.choices(("dxf", "pdf", "png", "svg", "gltf"), weights=(30, 20, 25, 15, 10))[0]
    stem = rng.choice(("plan", "section", "elevation", "site", "render", "detail", "survey"))
    name = f"{stem}-{index + 1:03d}.{kind}"
    if kind == "dxf":
        return FileObject(name, kind, "image/vnd.dxf", "import", _dxf(rng))
    if kind == "pdf":
        return FileObject(name, kind, "application/pdf", "export", _pdf(rng))
    if kind == "png":
        return FileObject(name, kind, "image/png", "render", _png(rng))
    if kind == "svg":
        return FileObject(name, kind, "image/svg+xml", "export", _svg(rng))
    return FileObject(name, kind, "model/gltf+json", "model", _gltf(rng))


def _dxf(rng: random.Random) -> bytes:
    lines = ["0", "SECTION", "2", "HEADER", "9", "$INSUNITS", "70", "6", "0", "ENDSEC"]
    lines += ["0", "SECTION", "2", "ENTITIES"]
    for _ in range(rng.randint(10, 120)):
        x, y = rng.uniform(0, 40), rng.uniform(0, 30)
        lines += ["0", "LINE", "8", "WALLS", "10", f"{x:.3f}", "20", f"{y:.3f}", "30", "0.0"]
        lines += [
            "11",
            f"{x + rng.uniform(-5, 5):.3f}",
            "21",
            f"{y + rng.uniform(-5, 5):.3f}",
            "31",
            "0.0",
        ]
    lines += ["0", "ENDSEC", "0", "EOF"]
    return ("\n".join(lines) + "\n").encode()


def _pdf(rng: random.Random) -> bytes:
    text = f"Sheet A-{rng.randint(100, 999)}"
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _png(rng: random.Random) -> bytes:
    width, height = rng.randint(16, 96), rng.randint(16, 96)
    r, g, b = rng.getrandbits(8), rng.getrandbits(8), rng.getrandbits(8)
    # A gradient: blue varies along x, green along y (filter byte 0 at each row start).
    blues = bytes((b + x) & 255 for x in range(width))
    rows = bytearray()
    for y in range(height):
        row = bytearray(3 * width)
        row[0::3] = bytes((r,)) * width
        row[1::3] = bytes(((g + y) & 255,)) * width
        row[2::3] = blues
        rows += b"\x00" + row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def _svg(rng: random.Random) -> bytes:
    rects = "".join(
        f'<rect x="{rng.uniform(0, 800):.1f}" y="{rng.uniform(0, 600):.1f}" '
        f'width="{rng.uniform(20, 200):.1f}" height="{rng.uniform(20, 200):.1f}" '
        'fill="none" stroke="#222" stroke-width="2"/>'
        for _ in range(rng.randint(5, 60))
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 800">' + rects + "</svg>"
    ).encode()


def _gltf(rng: random.Random) -> bytes:
    nodes = [
        {
            "name": f"volume-{k}",
            "translation": [round(rng.uniform(-20, 20), 3), 0, round(rng.uniform(-20, 20), 3)],
        }
        for k in range(rng.randint(1, 20))
    ]
    return orjson.dumps(
        {
            "asset": {"version": "2.0", "generator": "spacekontext seed"},
            "scene": 0,
            "scenes": [{"nodes": list(range(len(nodes)))}],
            "nodes": nodes,
        }
    )
