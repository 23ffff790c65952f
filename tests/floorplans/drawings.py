"""Wall drawings built with ezdxf the way CAD users draw them: single centre lines, or both faces
of every wall (double lines) cut at the junctions and interrupted at doors.

A double-line drawing is made from its centre lines: the union of the walls' footprints (each
wall widened to its thickness, square ends so that corners close) minus the door openings; every
edge of that outline is one LINE, as a CAD user would have drawn it."""

from __future__ import annotations

import io
import itertools
import math
from dataclasses import dataclass

import ezdxf
import shapely
from ezdxf import units
from shapely.geometry import LineString, Polygon


@dataclass(frozen=True)
class Wall:
    x1: float
    y1: float
    x2: float
    y2: float
    thickness: float


@dataclass(frozen=True)
class Door:
    wall: int  # index into the walls
    along: float  # centre, metres from the wall's start
    width: float


def to_bytes(doc: ezdxf.document.Drawing) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode(doc.output_encoding)


def single_lines(
    lines: list[tuple[float, float, float, float]],
    labels: list[tuple[float, float, str]] = (),  # type: ignore[assignment]
    *,
    mm: bool = True,
) -> bytes:
    """Centre lines on A-WALL (coordinates in metres, written in mm unless `mm` is False)."""
    scale = 1000.0 if mm else 1.0
    doc = ezdxf.new("R2013", units=units.MM if mm else units.M)
    msp = doc.modelspace()
    for x1, y1, x2, y2 in lines:
        msp.add_line(
            (x1 * scale, y1 * scale), (x2 * scale, y2 * scale), dxfattribs={"layer": "A-WALL"}
        )
    for x, y, text in labels:
        msp.add_text(text, dxfattribs={"layer": "A-AREA-IDEN", "insert": (x * scale, y * scale)})
    return to_bytes(doc)


def wall_outline(walls: list[Wall], doors: list[Door] = ()) -> shapely.Geometry:  # type: ignore[assignment]
    solid = shapely.union_all(
        [
            LineString([(w.x1, w.y1), (w.x2, w.y2)]).buffer(
                w.thickness / 2, cap_style="square", join_style="mitre"
            )
            for w in walls
        ]
    )
    cuts = []
    for door in doors:
        w = walls[door.wall]
        length = math.hypot(w.x2 - w.x1, w.y2 - w.y1)
        ux, uy = (w.x2 - w.x1) / length, (w.y2 - w.y1) / length
        nx, ny = -uy, ux
        a, b = door.along - door.width / 2, door.along + door.width / 2
        half = w.thickness / 2 + 0.01
        cuts.append(
            Polygon(
                [
                    (w.x1 + ux * a + nx * half, w.y1 + uy * a + ny * half),
                    (w.x1 + ux * b + nx * half, w.y1 + uy * b + ny * half),
                    (w.x1 + ux * b - nx * half, w.y1 + uy * b - ny * half),
                    (w.x1 + ux * a - nx * half, w.y1 + uy * a - ny * half),
                ]
            )
        )
    return solid.difference(shapely.union_all(cuts)) if cuts else solid


def double_lines(
    walls: list[Wall],
    doors: list[Door] = (),  # type: ignore[assignment]
    labels: list[tuple[float, float, str]] = (),  # type: ignore[assignment]
    *,
    door_blocks: bool = False,
) -> bytes:
    """Both faces of every wall as LINEs on A-WALL, in millimetres; with `door_blocks`, a door
    block (leaf and swing, hinge at the insertion point, wall line at y = 0) on A-DOOR in each
    door gap."""
    outline = wall_outline(walls, doors)
    doc = ezdxf.new("R2013", units=units.MM)
    msp = doc.modelspace()
    if door_blocks:
        doc.layers.add("A-DOOR")
        for door in doors:
            w = walls[door.wall]
            name = f"DOOR-{round(door.width * 1000)}"
            if name not in doc.blocks:
                block = doc.blocks.new(name)
                block.add_line((0, 0), (0, door.width * 1000))
                block.add_arc((0, 0), door.width * 1000, 0, 90)
            length = math.hypot(w.x2 - w.x1, w.y2 - w.y1)
            ux, uy = (w.x2 - w.x1) / length, (w.y2 - w.y1) / length
            start = door.along - door.width / 2
            msp.add_blockref(
                name,
                ((w.x1 + ux * start) * 1000, (w.y1 + uy * start) * 1000),
                dxfattribs={"layer": "A-DOOR", "rotation": math.degrees(math.atan2(uy, ux))},
            )
    for part in shapely.get_parts(outline):
        for ring in [part.exterior, *part.interiors]:
            coords = shapely.simplify(ring, 1e-9).coords
            for (x1, y1), (x2, y2) in itertools.pairwise(coords):
                msp.add_line(
                    (round(x1 * 1000, 3), round(y1 * 1000, 3)),
                    (round(x2 * 1000, 3), round(y2 * 1000, 3)),
                    dxfattribs={"layer": "A-WALL"},
                )
    for x, y, text in labels:
        msp.add_mtext(text, dxfattribs={"layer": "A-ANNO-TEXT", "insert": (x * 1000, y * 1000)})
    return to_bytes(doc)


# --- the plans of the tests -------------------------------------------------------------------

EXT, INT = 0.3, 0.1

# A flat of 10 x 8 m (centre lines): two rooms below a corridor (y 3.5..4.7), two above, the
# entrance door at the corridor's west end; every room has a door onto the corridor.
FLAT_WALLS = [
    Wall(0, 0, 10, 0, EXT),
    Wall(10, 0, 10, 8, EXT),
    Wall(10, 8, 0, 8, EXT),
    Wall(0, 8, 0, 0, EXT),
    Wall(0, 3.5, 10, 3.5, INT),
    Wall(0, 4.7, 10, 4.7, INT),
    Wall(5, 0, 5, 3.5, INT),
    Wall(4, 4.7, 4, 8, INT),
]
FLAT_DOORS = [
    Door(3, 8 - 4.1, 0.9),  # entrance, west wall (runs from y 8 down to 0)
    Door(4, 2.5, 0.9),  # living room
    Door(4, 7.5, 0.8),  # bedroom
    Door(5, 2.0, 0.8),  # bathroom
    Door(5, 7.0, 0.9),  # kitchen
]
FLAT_LABELS = [
    (2.5, 1.7, "Living"),
    (7.5, 1.7, "Bedroom"),
    (2.0, 6.3, "Bath"),
    (7.0, 6.3, "Kitchen"),
    (6.0, 4.1, "Corridor"),
]
# By hand: inside the wall faces (exterior walls 0.3 m, inner walls 0.1 m).
#   Living   (0.15..4.95) x (0.15..3.45) = 4.8 x 3.3 = 15.84   gross 5 x 3.5 = 17.5
#   Bedroom  (5.05..9.85) x (0.15..3.45) = 4.8 x 3.3 = 15.84   gross 5 x 3.5 = 17.5
#   Bath     (0.15..3.95) x (4.75..7.85) = 3.8 x 3.1 = 11.78   gross 4 x 3.3 = 13.2
#   Kitchen  (4.05..9.85) x (4.75..7.85) = 5.8 x 3.1 = 17.98   gross 6 x 3.3 = 19.8
#   Corridor (0.15..9.85) x (3.55..4.65) = 9.7 x 1.1 = 10.67   gross 10 x 1.2 = 12.0
FLAT_NET = {"Living": 15.84, "Bedroom": 15.84, "Bath": 11.78, "Kitchen": 17.98, "Corridor": 10.67}
FLAT_GROSS = {"Living": 17.5, "Bedroom": 17.5, "Bath": 13.2, "Kitchen": 19.8, "Corridor": 12.0}


def courtyard_walls() -> list[Wall]:
    """A square building of 20 x 20 m round a courtyard of 8 x 8 m (6..14), exterior walls
    0.3 m on both sides of the ring; the ring is one room on the south and west (an L) and split
    in two on the north-east by an inner wall."""
    return [
        Wall(0, 0, 20, 0, EXT),
        Wall(20, 0, 20, 20, EXT),
        Wall(20, 20, 0, 20, EXT),
        Wall(0, 20, 0, 0, EXT),
        Wall(6, 6, 14, 6, EXT),
        Wall(14, 6, 14, 14, EXT),
        Wall(14, 14, 6, 14, EXT),
        Wall(6, 14, 6, 6, EXT),
        Wall(14, 14, 20, 20, INT),  # diagonal partition from the courtyard's corner
        Wall(6, 14, 0, 20, INT),
    ]


def office_floor(rooms_per_row: int = 25, rows: int = 20) -> tuple[list[Wall], list[Door]]:
    """Cellular offices 3.6 x 4.8 m, rows back to back in pairs along 1.8 m corridors: rows
    alternate room row, corridor, room row, room row, corridor…  One door per office."""
    width, depth, corridor = 3.6, 4.8, 1.8
    walls: list[Wall] = []
    doors: list[Door] = []
    total_x = rooms_per_row * width
    y = 0.0
    ys: list[float] = [0.0]
    layout: list[str] = []
    for row in range(rows):
        layout.append("room")
        if row % 2 == 0:
            layout.append("corridor")
    for kind in layout:
        y += depth if kind == "room" else corridor
        ys.append(y)
    # Horizontal walls at every band edge, full length.
    for index, band_y in enumerate(ys):
        outer = index in (0, len(ys) - 1)
        walls.append(Wall(0, band_y, total_x, band_y, EXT if outer else INT))
    walls.append(Wall(0, 0, 0, ys[-1], EXT))
    walls.append(Wall(total_x, 0, total_x, ys[-1], EXT))
    for band, kind in enumerate(layout):
        y0, y1 = ys[band], ys[band + 1]
        if kind != "room":
            continue
        for k in range(1, rooms_per_row):
            walls.append(Wall(k * width, y0, k * width, y1, INT))
        # The door is in the band edge that faces the corridor.
        door_edge = band + 1 if band + 1 < len(layout) and layout[band + 1] == "corridor" else band
        for k in range(rooms_per_row):
            doors.append(Door(door_edge, k * width + width / 2, 0.9))
    return walls, doors
