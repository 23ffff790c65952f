"""DXF drawings in the styles of other tools, made with ezdxf: different layer names, units,
entity kinds. Shared by the unit and API tests."""

from __future__ import annotations

import io
from typing import Any

import ezdxf
from ezdxf import units
from ezdxf.document import Drawing


def to_bytes(doc: Drawing) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode(doc.output_encoding)


def aia_mm() -> bytes:
    """AutoCAD, AIA layer names, millimetres: centreline LINEs on A-WALL (two rooms of
    4 x 5 m and 3 x 5 m sharing a wall), room outlines on A-AREA, names on A-AREA-IDEN, a
    900 mm door block (hinge at the insertion point, swing beside the wall) on A-DOOR, a window
    block on A-GLAZ, a bed and a table on A-FURN. Expect 7 walls (the shared wall splits none),
    2 zones totalling 35 m², 2 openings, 2 pieces of furniture."""
    doc = ezdxf.new("R2013", units=units.MM)
    msp = doc.modelspace()
    for name in ("A-WALL", "A-AREA", "A-AREA-IDEN", "A-DOOR", "A-GLAZ", "A-FURN"):
        doc.layers.add(name)
    door = doc.blocks.new("DOOR-900")
    door.add_line((0, 0), (0, 900))
    door.add_arc((0, 0), 900, 0, 90)
    window = doc.blocks.new("WIN-1200")
    window.add_lwpolyline([(-600, -100), (600, -100), (600, 100), (-600, 100)], close=True)
    bed = doc.blocks.new("BED-DOUBLE")
    bed.add_lwpolyline([(0, 0), (1600, 0), (1600, 2000), (0, 2000)], close=True)
    table = doc.blocks.new("TABLE")
    table.add_circle((0, 0), 500)

    wall = {"layer": "A-WALL"}
    pts = [(0, 0), (4000, 0), (7000, 0), (7000, 5000), (4000, 5000), (0, 5000)]
    msp.add_line(pts[0], pts[1], dxfattribs=wall)
    msp.add_line(pts[1], pts[2], dxfattribs=wall)
    msp.add_line(pts[2], pts[3], dxfattribs=wall)
    msp.add_line(pts[3], pts[4], dxfattribs=wall)
    msp.add_line(pts[4], pts[5], dxfattribs=wall)
    msp.add_line(pts[5], pts[0], dxfattribs=wall)
    msp.add_line((4000, 5000), (4000, 0), dxfattribs=wall)
    msp.add_lwpolyline(
        [(0, 0), (4000, 0), (4000, 5000), (0, 5000)], close=True, dxfattribs={"layer": "A-AREA"}
    )
    msp.add_lwpolyline(
        [(4000, 0), (7000, 0), (7000, 5000), (4000, 5000)],
        close=True,
        dxfattribs={"layer": "A-AREA"},
    )
    msp.add_text("Bedroom", dxfattribs={"layer": "A-AREA-IDEN", "insert": (2000, 2500)})
    msp.add_text("20.00 m²", dxfattribs={"layer": "A-AREA-IDEN", "insert": (2000, 2200)})
    msp.add_mtext("Study\\P15 m2", dxfattribs={"layer": "A-AREA-IDEN", "insert": (5500, 2500)})
    msp.add_blockref("DOOR-900", (1000, 0), dxfattribs={"layer": "A-DOOR"})
    msp.add_blockref("WIN-1200", (5500, 5000), dxfattribs={"layer": "A-GLAZ"})
    msp.add_blockref("BED-DOUBLE", (500, 2500), dxfattribs={"layer": "A-FURN"})
    msp.add_blockref("TABLE", (5500, 2000), dxfattribs={"layer": "A-FURN"})
    # Noise that must be ignored: dimensions, a title on a plain layer.
    msp.add_text("GROUND FLOOR", dxfattribs={"layer": "TITLE", "insert": (0, -1000)})
    return to_bytes(doc)


def cm_polylines_hatch() -> bytes:
    """Centimetres, 2D POLYLINE walls on WALLS (one open polyline round an L-shaped flat, one
    inner wall ending in the middle of the outer wall: a T-junction), rooms as HATCHes on
    ROOMS. L shape: 10 x 6 m minus 4 x 3 m = 48 m² split by the inner wall at x = 6 m."""
    doc = ezdxf.new("R2000", units=units.CM)
    msp = doc.modelspace()
    outline = [(0, 0), (1000, 0), (1000, 300), (600, 300), (600, 600), (0, 600), (0, 0)]
    msp.add_polyline2d(outline, dxfattribs={"layer": "WALLS"})
    # Ends 3 mm short of the outer wall: within the 1 cm tolerance, it is a T-junction.
    msp.add_polyline2d([(600, 300), (600, 0.3)], dxfattribs={"layer": "WALLS"})
    hatch = msp.add_hatch(dxfattribs={"layer": "ROOMS"})
    hatch.paths.add_polyline_path([(0, 0), (600, 0), (600, 600), (0, 600)], is_closed=True)
    hatch2 = msp.add_hatch(dxfattribs={"layer": "ROOMS"})
    hatch2.paths.add_polyline_path([(600, 0), (1000, 0), (1000, 300), (600, 300)], is_closed=True)
    # The same room again as an outline: one zone, not two.
    msp.add_lwpolyline(
        [(600, 0), (1000, 0), (1000, 300), (600, 300)], close=True, dxfattribs={"layer": "ROOMS"}
    )
    return to_bytes(doc)


def inches_arcs() -> bytes:
    """Inches, a round-ended room: two straight LWPOLYLINE walls and a semicircular ARC wall
    on layer Wall, the room as a closed LWPOLYLINE with a bulge on layer Room-Outline."""
    doc = ezdxf.new("R2010", units=units.IN)
    msp = doc.modelspace()
    # 200 in long straight walls, 100 in apart, semicircle of radius 50 in closing the right end.
    msp.add_lwpolyline([(0, 100), (0, 0), (200, 0)], dxfattribs={"layer": "Wall"})
    msp.add_lwpolyline([(0, 100), (200, 100)], dxfattribs={"layer": "Wall"})
    msp.add_arc((200, 50), 50, -90, 90, dxfattribs={"layer": "Wall"})
    msp.add_lwpolyline(
        [(0, 0, 0, 0, 0), (200, 0, 0, 0, 1), (200, 100, 0, 0, 0), (0, 100, 0, 0, 0)],
        format="xyseb",
        close=True,
        dxfattribs={"layer": "Room-Outline"},
    )
    return to_bytes(doc)


def outlines_unitless() -> bytes:
    """No $INSUNITS, millimetre magnitudes, walls drawn as closed thin outlines (200 mm thick)
    on layer BAU-W (no default rule matches it), the plan wrapped in a block inserted on layer 0."""
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 0
    plan = doc.blocks.new("PLAN")

    def wall(x1: float, y1: float, x2: float, y2: float) -> None:
        if y1 == y2:
            pts = [(x1, y1 - 100), (x2, y1 - 100), (x2, y1 + 100), (x1, y1 + 100)]
        else:
            pts = [(x1 - 100, y1), (x1 + 100, y1), (x1 + 100, y2), (x1 - 100, y2)]
        plan.add_lwpolyline(pts, close=True, dxfattribs={"layer": "BAU-W"})

    wall(0, 0, 6000, 0)
    wall(6000, 0, 6000, 4000)
    wall(0, 4000, 6000, 4000)
    wall(0, 0, 0, 4000)
    plan.add_lwpolyline(
        [(0, 0), (6000, 0), (6000, 4000), (0, 4000)], close=True, dxfattribs={"layer": "BAU-R"}
    )
    doc.modelspace().add_blockref("PLAN", (0, 0), dxfattribs={"layer": "0"})
    return to_bytes(doc)


def sample_document() -> dict[str, Any]:
    """A document as the editor keeps it: two rooms, a T-junction node, a door and a window,
    a sofa; plus a key the editor added that the DXF does not know."""
    node = {
        "a": [0, 0],
        "m": [2.5, 0],
        "b": [5, 0],
        "c": [5, 4],
        "m2": [2.5, 4],
        "d": [0, 4],
    }
    edges = {
        "e1": ("a", "m", [{"type": "door", "position": 1.25, "width": 0.9, "height": 2.1}]),
        "e2": ("m", "b", [{"type": "window", "position": 1.0, "width": 1.2, "sillHeight": 0.9}]),
        "e3": ("b", "c", []),
        "e4": ("c", "m2", []),
        "e5": ("m2", "d", []),
        "e6": ("d", "a", []),
        "e7": ("m", "m2", [{"type": "door", "position": 1.2, "width": 0.8}]),
    }
    return {
        "nodes": {
            k: {"id": k, "position": v, "connectedEdges": [e for e, s in edges.items() if k in s]}
            for k, v in node.items()
        },
        "edges": {
            e: {
                "id": e,
                "startNodeId": s,
                "endNodeId": t,
                "thickness": 0.1 if e == "e7" else 0.2,
                "height": 2.7,
                "openings": o,
            }
            for e, (s, t, o) in edges.items()
        },
        "zones": [
            {"id": "z1", "points": [[0, 0], [2.5, 0], [2.5, 4], [0, 4]], "label": "Kitchen"},
            {
                "id": "z2",
                "points": [[2.5, 0], [5, 0], [5, 4], [2.5, 4]],
                "label": "Living & <Dining>",
            },
        ],
        "furniture": [
            {
                "position": [1, 1],
                "rotation": 30,
                "width": 2,
                "depth": 0.9,
                "height": 0.8,
                "type": "sofa 3",
            }
        ],
        "editorState": {"zoom": 1.5},
    }
