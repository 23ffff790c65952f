"""Floorplan document → DXF (R2010, metres).

Layers: WALLS (each wall a closed outline of its thickness, carrying its centreline in XDATA so
that a re-import is exact even for stubs shorter than they are thick), OPENINGS (door and window
block references scaled to their width, with HEIGHT/SILL attributes), ZONES (closed outlines
with a name and area label), FURNITURE (one block per furniture type, scaled to width x depth,
with TYPE/HEIGHT attributes). Every CAD tool opens it; `read_dxf` reads it back to the same
counts and areas."""

from __future__ import annotations

import io
import math
import re
from typing import Any

from ezdxf import units
from ezdxf.document import Drawing
from ezdxf.filemanagement import new as new_drawing
from ezdxf.layouts.blocklayout import BlockLayout
from ezdxf.layouts.layout import Modelspace
from shapely.geometry import Polygon

from spacekontext.dxf.document import (
    Furniture,
    Wall,
    Zone,
    furniture_of,
    opening_geometry,
    walls_of,
    zones_of,
)

APP_ID = "SPACEKONTEXT"
DOOR_BLOCK = "SK-DOOR"
WINDOW_BLOCK = "SK-WINDOW"
LAYERS = {"WALLS": 7, "OPENINGS": 4, "ZONES": 3, "FURNITURE": 6}
_BLOCK_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_INVISIBLE = 1


def _door_block(block: BlockLayout) -> None:
    # Unit width, base point on the wall centreline at the opening's centre: scaled by the
    # opening width, the leaf and swing show the real door.
    attribs = {"layer": "0"}
    block.add_line((-0.5, 0), (0.5, 0), dxfattribs=attribs)
    block.add_line((-0.5, 0), (-0.5, 1), dxfattribs=attribs)
    block.add_arc((-0.5, 0), radius=1, start_angle=0, end_angle=90, dxfattribs=attribs)


def _window_block(block: BlockLayout) -> None:
    # Unit width x unit depth (scaled to the wall thickness), glass line in the middle.
    attribs = {"layer": "0"}
    block.add_lwpolyline(
        [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)], close=True, dxfattribs=attribs
    )
    block.add_line((-0.5, 0), (0.5, 0), dxfattribs=attribs)


def _furniture_block(block: BlockLayout) -> None:
    attribs = {"layer": "0"}
    block.add_lwpolyline(
        [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)], close=True, dxfattribs=attribs
    )
    # The front edge marker shows which way the piece faces.
    block.add_line((-0.4, -0.4), (0.4, -0.4), dxfattribs=attribs)


def furniture_block_name(kind: str) -> str:
    safe = _BLOCK_NAME_UNSAFE.sub("_", kind.upper()).strip("_")[:120] or "ITEM"
    return f"FURN_{safe}"


def _add_attribs(insert: Any, values: dict[str, str]) -> None:
    for tag, text in values.items():
        insert.add_attrib(tag, text, insert=(0, 0), dxfattribs={"flags": _INVISIBLE, "height": 0.1})


def _write_wall(msp: Modelspace, wall: Wall) -> None:
    outline = msp.add_lwpolyline(wall.outline(), close=True, dxfattribs={"layer": "WALLS"})
    outline.set_xdata(
        APP_ID,
        [
            (1000, "wall"),
            (1040, wall.x1),
            (1040, wall.y1),
            (1040, wall.x2),
            (1040, wall.y2),
            (1040, wall.thickness),
            (1040, wall.height),
        ],
    )
    for opening in wall.openings:
        geometry = opening_geometry(wall, opening)
        if geometry is None:
            continue
        kind, fraction, width = geometry
        x, y = wall.point_at(fraction)
        name = DOOR_BLOCK if kind == "door" else WINDOW_BLOCK
        yscale = width if kind == "door" else wall.thickness
        insert = msp.add_blockref(
            name,
            (x, y),
            dxfattribs={
                "layer": "OPENINGS",
                "xscale": width,
                "yscale": yscale,
                "rotation": wall.angle_deg,
            },
        )
        values = {"WIDTH": repr(width)}
        for tag, key in (("HEIGHT", "height"), ("SILL", "sillHeight")):
            value = opening.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                values[tag] = repr(float(value))
        _add_attribs(insert, values)


def _write_zone(msp: Modelspace, zone: Zone) -> None:
    msp.add_lwpolyline(list(zone.points), close=True, dxfattribs={"layer": "ZONES"})
    for hole in zone.holes:
        ring = msp.add_lwpolyline(list(hole), close=True, dxfattribs={"layer": "ZONES"})
        ring.set_xdata(APP_ID, [(1000, "zone-hole")])
    polygon = Polygon(zone.points, list(zone.holes))
    anchor = polygon.representative_point() if polygon.is_valid else polygon.centroid
    label = zone.label.replace("\n", " ").strip()
    text = f"{label}\\P{zone.area:.2f} m²" if label else f"{zone.area:.2f} m²"
    size = max(0.1, min(0.4, math.sqrt(max(zone.area, 0.01)) / 12))
    msp.add_mtext(
        text,
        dxfattribs={
            "layer": "ZONES",
            "insert": (anchor.x, anchor.y),
            "char_height": size,
            "attachment_point": 5,  # middle centre
        },
    )


def _write_furniture(doc: Drawing, msp: Modelspace, item: Furniture) -> None:
    name = furniture_block_name(item.type)
    if name not in doc.blocks:
        _furniture_block(doc.blocks.new(name))
    insert = msp.add_blockref(
        name,
        (item.x, item.y),
        dxfattribs={
            "layer": "FURNITURE",
            "xscale": item.width,
            "yscale": item.depth,
            "rotation": item.rotation,
        },
    )
    _add_attribs(insert, {"TYPE": item.type, "HEIGHT": repr(item.height)})


def build_drawing(document: dict[str, Any]) -> Drawing:
    doc = new_drawing("R2010", setup=True, units=units.M)
    doc.header["$MEASUREMENT"] = 1
    doc.appids.add(APP_ID)
    for name, colour in LAYERS.items():
        doc.layers.add(name, color=colour)
    _door_block(doc.blocks.new(DOOR_BLOCK))
    _window_block(doc.blocks.new(WINDOW_BLOCK))
    msp = doc.modelspace()
    for wall in walls_of(document):
        _write_wall(msp, wall)
    for zone in zones_of(document):
        _write_zone(msp, zone)
    for item in furniture_of(document):
        _write_furniture(doc, msp, item)
    return doc


def write_dxf(document: dict[str, Any]) -> bytes:
    stream = io.StringIO()
    build_drawing(document).write(stream)
    return stream.getvalue().encode("utf-8")
