"""DXF bytes → floorplan document.

What becomes what (layer roles from `LayerRules`):
- wall layers: LINE, LWPOLYLINE, POLYLINE and ARC are wall centrelines (arcs and bulges are
  flattened into short straight walls); a closed, thin four-sided outline is one wall whose
  thickness is its short side (how walls are drawn as outlines, and how we export them);
- room layers: closed polylines and hatches are zones; TEXT/MTEXT inside a zone labels it;
- INSERTs on door/window layers, or of blocks named like doors/windows, are openings on the
  nearest parallel wall; INSERTs on furniture layers or of known library blocks are furniture;
  any other INSERT is looked into (plans are often wrapped in a block).
Units come from `$INSUNITS`; a unitless drawing is taken as millimetres when it is larger than
any building drawn in metres could be, else metres.

Anything that is not a readable DXF raises `Unprocessable` with the reason; ezdxf's own
exceptions never escape."""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ezdxf.bbox
import ezdxf.path
import shapely
from ezdxf import recover, units
from ezdxf.document import Drawing
from ezdxf.enums import InsertUnits
from ezdxf.filemanagement import dxf_stream_info
from ezdxf.filemanagement import read as read_text
from ezdxf.lldxf.tagger import binary_tags_loader
from ezdxf.math import Matrix44, Vec3
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.polygon import orient

from spacekontext.dxf.document import DEFAULT_HEIGHT_M, DEFAULT_THICKNESS_M
from spacekontext.dxf.doublelines import FaceLine, merge_double_lines
from spacekontext.dxf.graph import Edge, Segment, build_wall_graph
from spacekontext.dxf.layers import LayerRules
from spacekontext.dxf.writer import APP_ID
from spacekontext.errors import Unprocessable
from spacekontext.floorplans.geometry import shoelace_area
from spacekontext.floorplans.rooms import WallLine, heal

BINARY_DXF_SENTINEL = b"AutoCAD Binary DXF\r\n\x1a\x00"
_DWG_MAGIC = re.compile(rb"^AC1\d{3}")
_OTHER_FORMATS = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"ISO-10303": "an IFC/STEP file",
}
# A curve is flattened so that the chord strays at most this far from the arc (metres).
FLATTEN_DISTANCE_M = 0.02
MAX_WALL_THICKNESS_M = 1.0
MAX_INSERT_DEPTH = 4
MAX_LABELS = 20_000
# Gaps between wall ends up to this wide are filled when an opening block stands in them.
MAX_OPENING_GAP_M = 3.0
# An opening up to this much wider than its wall still fits it (float noise of rotations).
OPENING_FIT_M = 0.002
# Text that states an area ("12.5 m²", "12,50 m2", "135 sq ft") is not a room name.
_AREA_TEXT = re.compile(r"^\s*[\d.,]+\s*(m²|m2|sq\.? ?ft|sf|ft²)\s*$", re.IGNORECASE)
_MTEXT_CODES = re.compile(r"\\[A-Za-z][^;\\]*;|\\P|[{}]")

DOOR_DEFAULTS = {"height": 2.1, "sillHeight": 0.0}
WINDOW_DEFAULTS = {"height": 1.2, "sillHeight": 0.9}


@dataclass(frozen=True, slots=True)
class ImportOptions:
    rules: LayerRules = field(default_factory=LayerRules)
    # Endpoints closer than this become one node (metres).
    tolerance_m: float = 0.01
    default_thickness_m: float = DEFAULT_THICKNESS_M
    default_height_m: float = DEFAULT_HEIGHT_M
    # Override $INSUNITS (ezdxf unit codes: 1 in, 4 mm, 5 cm, 6 m…).
    units: int | None = None
    # Parallel lines this far apart are the two faces of one wall (metres).
    min_wall_thickness_m: float = 0.05
    max_wall_thickness_m: float = 0.6


@dataclass
class ImportResult:
    document: dict[str, Any]
    units: str
    scale_to_m: float
    warnings: list[str]
    layers: list[str]

    @property
    def summary(self) -> dict[str, Any]:
        doc = self.document
        return {
            "walls": len(doc["edges"]),
            "openings": sum(len(e["openings"]) for e in doc["edges"].values()),
            "zones": len(doc["zones"]),
            "furniture": len(doc["furniture"]),
            "totalAreaM2": round(sum(_zone_area(z) for z in doc["zones"]), 6),
            "units": self.units,
            "warnings": self.warnings,
        }


def _pts(raw: list[list[float]]) -> list[tuple[float, float]]:
    return [(p[0], p[1]) for p in raw]


def _zone_area(zone: dict[str, Any]) -> float:
    holes = sum(shoelace_area(_pts(h)) for h in zone.get("holes", ()))
    return shoelace_area(_pts(zone["points"])) - holes


def load_drawing(data: bytes) -> Drawing:
    """Parse DXF bytes (ASCII in any code page, or binary DXF), refusing what is not DXF."""
    if not data or not data.strip():
        raise Unprocessable("the file is empty", code="dxf_empty")
    head = data[:32]
    if _DWG_MAGIC.match(head):
        raise Unprocessable(
            f"this is a DWG file ({head[:6].decode()}), not DXF; save it as DXF and upload again",
            code="dxf_is_dwg",
        )
    for magic, what in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise Unprocessable(f"this is {what}, not a DXF drawing", code="dxf_not_dxf")
    try:
        if head.startswith(BINARY_DXF_SENTINEL):
            return Drawing.load(binary_tags_loader(data))
        if b"SECTION" not in data[:65536]:
            raise Unprocessable("no DXF section found: not a DXF drawing", code="dxf_not_dxf")
        # Every DXF ends with an EOF marker; without it the upload was cut short, and recover
        # would quietly import the part that arrived.
        if data.rstrip()[-3:].upper() != b"EOF":
            raise Unprocessable(
                "the DXF ends early (no EOF marker): the file is truncated", code="dxf_truncated"
            )
        doc = _read_strict(data)
        if doc is None:
            # recover: tolerant of the small defects real-world exporters leave, but about
            # five times slower, so only when the strict loader gives up.
            doc, _auditor = recover.read(io.BytesIO(data))
    except Unprocessable:
        raise
    except Exception as exc:  # ezdxf raises many types (structure, value, unicode, index…)
        raise Unprocessable(
            f"the DXF cannot be read: {str(exc)[:200] or type(exc).__name__}",
            code="dxf_corrupt",
        ) from exc
    return doc


def _read_strict(data: bytes) -> Drawing | None:
    """The fast path for well-formed files: the code page from the header, then ezdxf's
    regular loader. None when it fails for any reason (recover mode decides then)."""
    try:
        head = data[:262_144].replace(b"\r\n", b"\n").decode("utf-8", errors="ignore")
        info = dxf_stream_info(io.StringIO(head))
        text = data.decode(info.encoding, errors="replace")
        return read_text(io.StringIO(text))
    except Exception:  # any failure: let recover mode have a go
        return None


def unit_scale(doc: Drawing, override: int | None) -> tuple[float, str]:
    """(factor to metres, unit name) from $INSUNITS, or guessed from the drawing's size."""
    code = override if override is not None else int(doc.header.get("$INSUNITS", 0) or 0)
    if code:
        try:
            return (
                units.conversion_factor(InsertUnits(code), InsertUnits.Meters),
                units.decode(code) or str(code),
            )
        except (KeyError, ValueError, TypeError):
            pass  # an unknown code: guess like a unitless drawing
    extmin = doc.header.get("$EXTMIN")
    extmax = doc.header.get("$EXTMAX")
    size = 0.0
    try:
        if extmin is not None and extmax is not None:
            size = max(abs(extmax[0] - extmin[0]), abs(extmax[1] - extmin[1]))
    except (TypeError, IndexError):
        size = 0.0
    if not 0 < size < 1e20:
        box = ezdxf.bbox.extents(doc.modelspace(), fast=True)
        size = max(box.size.x, box.size.y) if box.has_data else 0.0
    # No building is more than 500 m across, and no room less than 500 mm.
    if size > 500:
        return 0.001, "mm (guessed)"
    return 1.0, "m (guessed)"


class _Reader:
    def __init__(self, doc: Drawing, options: ImportOptions, scale: float) -> None:
        self.doc = doc
        self.options = options
        self.rules = options.rules
        self.scale = scale
        self.segments: list[Segment] = []
        # Plain lines on wall layers: centre lines, or one face of a double-line wall.
        self.face_lines: list[tuple[FaceLine, float]] = []
        # (outer ring, hole rings)
        self.zone_rings: list[
            tuple[list[tuple[float, float]], list[list[tuple[float, float]]]]
        ] = []
        self.hole_rings: list[list[tuple[float, float]]] = []
        self.texts: list[tuple[float, float, str]] = []
        self.openings: list[dict[str, Any]] = []
        self.furniture: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self._block_boxes: dict[str, tuple[float, float, float, float] | None] = {}
        self.used_layers: set[str] = set()

    # --- walk ---------------------------------------------------------------------------------
    def walk(self, entities: Any, parent_layer: str | None = None, depth: int = 0) -> None:
        for entity in entities:
            layer = entity.dxf.get("layer", "0")
            if parent_layer is not None and layer == "0":
                layer = parent_layer  # DXF rule: layer 0 in a block takes the INSERT's layer
            kind = entity.dxftype()
            self.used_layers.add(layer)
            if kind == "INSERT":
                self._insert(entity, layer, depth)
            elif self.rules.is_wall(layer):
                self._wall_entity(entity, kind)
            elif self.rules.is_room(layer):
                self._room_entity(entity, kind)
            elif kind in ("TEXT", "MTEXT") and not self.rules.is_furniture(layer, ""):
                # Room names are often on annotation layers of their own.
                self._text(entity, kind)

    def _xy(self, v: Any) -> tuple[float, float]:
        return (float(v[0]) * self.scale, float(v[1]) * self.scale)

    def _flatten(self, entity: Any) -> list[tuple[float, float]]:
        path = ezdxf.path.make_path(entity)
        return [self._xy(v) for v in path.flattening(FLATTEN_DISTANCE_M / self.scale)]

    def _wall_entity(self, entity: Any, kind: str) -> None:
        height = self.options.default_height_m
        if kind == "LINE":
            s, e = self._xy(entity.dxf.start), self._xy(entity.dxf.end)
            self._line(s, e, height)
        elif kind in ("LWPOLYLINE", "POLYLINE", "ARC"):
            if self._exported_wall(entity):
                return
            if kind == "POLYLINE" and (entity.is_poly_face_mesh or entity.is_polygon_mesh):
                return
            thickness = self.options.default_thickness_m
            width = float(entity.dxf.get("const_width", 0) or 0) if kind == "LWPOLYLINE" else 0
            if width > 0:
                thickness = width * self.scale
            points = self._flatten(entity)
            closed = kind != "ARC" and bool(
                entity.closed if kind == "LWPOLYLINE" else entity.is_closed
            )
            if closed and self._outline_wall(points, height):
                return
            if closed and points and points[0] != points[-1]:
                points.append(points[0])
            for a, b in itertools.pairwise(points):
                if width > 0:
                    self._segment(a, b, thickness, height)
                else:
                    self._line(a, b, height)

    def _exported_wall(self, entity: Any) -> bool:
        """Our own export carries each wall's centreline in XDATA: exact, whatever its shape."""
        if not entity.has_xdata(APP_ID):
            return False
        values = [tag.value for tag in entity.get_xdata(APP_ID)]
        if len(values) != 7 or values[0] != "wall":
            return False
        x1, y1, x2, y2, thickness, height = (float(v) for v in values[1:])
        self._segment(
            self._xy((x1, y1)), self._xy((x2, y2)), thickness * self.scale, height * self.scale
        )
        return True

    def _outline_wall(self, points: list[tuple[float, float]], height: float) -> bool:
        """A closed thin quadrilateral is a wall drawn as its outline: one centreline wall."""
        ring = points[:-1] if len(points) > 1 and points[0] == points[-1] else points
        if len(ring) != 4:
            return False
        sides = [math.dist(ring[i], ring[(i + 1) % 4]) for i in range(4)]
        short = min(sides[0], sides[1])
        if short <= 0 or short > MAX_WALL_THICKNESS_M:
            return False
        # Opposite sides of equal length (a rectangle or close to one).
        if abs(sides[0] - sides[2]) > 1e-3 or abs(sides[1] - sides[3]) > 1e-3:
            return False
        if sides[0] < sides[1]:
            mid = [_mid(ring[0], ring[1]), _mid(ring[2], ring[3])]
            thickness = sides[0]
        else:
            mid = [_mid(ring[1], ring[2]), _mid(ring[3], ring[0])]
            thickness = sides[1]
        if math.dist(*mid) < thickness * 1.5:
            return False  # squarish: a pillar or a room, not a wall
        self._segment(mid[0], mid[1], thickness, height)
        return True

    def _segment(
        self, a: tuple[float, float], b: tuple[float, float], thickness: float, height: float
    ) -> None:
        self.segments.append(Segment(a[0], a[1], b[0], b[1], thickness, height))

    def _line(self, a: tuple[float, float], b: tuple[float, float], height: float) -> None:
        if a != b:
            self.face_lines.append((FaceLine(a[0], a[1], b[0], b[1]), height))

    def _wall_segments(self) -> list[Segment]:
        """The walls as centre lines: double lines merged, their ends joined where the faces
        meet (corners, T-junctions); lines without a partner stay single-line walls."""
        options = self.options
        merged = merge_double_lines(
            [line for line, _ in self.face_lines],
            min_thickness=options.min_wall_thickness_m,
            max_thickness=options.max_wall_thickness_m,
        )
        height = options.default_height_m
        singles = [
            Segment(s.x1, s.y1, s.x2, s.y2, options.default_thickness_m, height, True)
            for s in merged.singles
        ]
        if not merged.centres:
            return self._door_gaps(self.segments + singles)
        # Merged centre lines stop short of each other by up to half a wall's thickness:
        # lengthen them to where they meet (gaps as wide as a wall are walls, not doors).
        reach = max(c[4] for c in merged.centres)
        healed = heal(
            [WallLine(*c) for c in merged.centres],
            snap_m=options.tolerance_m,
            corner_m=reach,
            max_gap_m=reach,
        )
        centres = [
            Segment(w.x1, w.y1, w.x2, w.y2, w.thickness, height)
            for w in healed.lines + healed.added
        ]
        return self._door_gaps(self.segments + centres + singles)

    def _door_gaps(self, segments: list[Segment]) -> list[Segment]:
        """A door or window block standing in a gap between two wall ends on one line (how
        CAD users draw openings) fills the gap with a wall that carries it: the editor's model
        is a wall with an opening. Gaps without a block stay gaps."""
        if not self.openings or not segments:
            return segments
        closures = heal(
            [WallLine(s.x1, s.y1, s.x2, s.y2, s.thickness) for s in segments],
            snap_m=self.options.tolerance_m,
            corner_m=0.0,
            max_gap_m=MAX_OPENING_GAP_M,
            extend_ahead=False,
        ).added
        if not closures:
            return segments
        single = {(round(s.x1, 6), round(s.y1, 6)): s.single_line for s in segments} | {
            (round(s.x2, 6), round(s.y2, 6)): s.single_line for s in segments
        }
        filled = []
        for gap in closures:
            line = LineString([(gap.x1, gap.y1), (gap.x2, gap.y2)])
            reach = gap.thickness / 2 + 0.1
            for opening in self.openings:
                centre = Point(*opening["centre"])
                along = line.project(centre, normalized=True)
                if 0 < along < 1 and line.distance(centre) <= reach:
                    end = (round(gap.x1, 6), round(gap.y1, 6))
                    filled.append(
                        Segment(
                            gap.x1,
                            gap.y1,
                            gap.x2,
                            gap.y2,
                            gap.thickness,
                            self.options.default_height_m,
                            single.get(end, False),
                        )
                    )
                    break
        return segments + filled

    def _room_entity(self, entity: Any, kind: str) -> None:
        if kind in ("LWPOLYLINE", "POLYLINE"):
            closed = entity.closed if kind == "LWPOLYLINE" else entity.is_closed
            points = self._flatten(entity)
            if closed or (len(points) > 3 and math.dist(points[0], points[-1]) < 1e-6):
                # Our export marks the holes of a zone (shafts, courtyards) in XDATA.
                if entity.has_xdata(APP_ID) and any(
                    tag.value == "zone-hole" for tag in entity.get_xdata(APP_ID)
                ):
                    self.hole_rings.append(points)
                else:
                    self.zone_rings.append((points, []))
        elif kind == "HATCH":
            rings = [
                [self._xy(v) for v in path.flattening(FLATTEN_DISTANCE_M / self.scale)]
                for path in ezdxf.path.from_hatch(entity)
            ]
            rings = [r for r in rings if len(r) >= 3]
            if rings:
                # The largest boundary is the room; the islands inside it are its holes.
                rings.sort(key=shoelace_area, reverse=True)
                self.zone_rings.append((rings[0], rings[1:]))
        elif kind in ("TEXT", "MTEXT"):
            self._text(entity, kind)

    def _text(self, entity: Any, kind: str) -> None:
        raw = entity.dxf.get("text", "") if kind == "TEXT" else entity.text
        text = _MTEXT_CODES.sub("\n", raw).strip()
        point = entity.dxf.get("insert")
        if text and point is not None:
            self.texts.append((*self._xy(point), text))

    # --- inserts ------------------------------------------------------------------------------
    def _block_box(self, name: str) -> tuple[float, float, float, float] | None:
        if name not in self._block_boxes:
            block = self.doc.blocks.get(name)
            box = ezdxf.bbox.extents(block) if block is not None else None
            self._block_boxes[name] = (
                (box.extmin.x, box.extmin.y, box.extmax.x, box.extmax.y)
                if box is not None and box.has_data
                else None
            )
        return self._block_boxes[name]

    def _insert(self, insert: Any, layer: str, depth: int) -> None:
        name = insert.dxf.name
        opening = self.rules.opening_kind(layer, name)
        is_furniture = opening is None and self.rules.is_furniture(layer, name)
        if opening is None and not is_furniture:
            if depth < MAX_INSERT_DEPTH:
                try:
                    self.walk(insert.virtual_entities(), layer, depth + 1)
                except Exception:  # a block that cannot be exploded (non-uniform scaling…)
                    self.warnings.append(f"block {name!r} could not be read")
            return
        box = self._block_box(name)
        if box is None:
            return
        minx, miny, maxx, maxy = box
        matrix: Matrix44 = insert.matrix44()
        # Door and window blocks are drawn with the wall line at y = 0 (the swing goes beside
        # it); furniture is placed by its footprint's centre.
        ref_y = min(max(0.0, miny), maxy) if opening is not None else (miny + maxy) / 2
        centre = self._xy(matrix.transform(Vec3((minx + maxx) / 2, ref_y, 0)))
        x_axis = matrix.transform_direction(Vec3(1, 0, 0))
        y_axis = matrix.transform_direction(Vec3(0, 1, 0))
        width = (maxx - minx) * x_axis.magnitude * self.scale
        depth_m = (maxy - miny) * y_axis.magnitude * self.scale
        rotation = math.degrees(math.atan2(x_axis.y, x_axis.x))
        attribs = {a.dxf.tag.upper(): a.dxf.text for a in insert.attribs}
        if opening is not None:
            self.openings.append(
                {
                    "type": opening,
                    "centre": centre,
                    "angle": rotation,
                    "width": _attrib_number(attribs, "WIDTH", width),
                    "height": _attrib_number(attribs, "HEIGHT", None),
                    "sillHeight": _attrib_number(attribs, "SILL", None),
                    "block": name,
                }
            )
        else:
            self.furniture.append(
                {
                    "type": attribs.get("TYPE") or _type_from_block(name),
                    "position": [centre[0], centre[1]],
                    "rotation": round(rotation, 6),
                    "width": width,
                    "depth": depth_m,
                    "height": _attrib_number(attribs, "HEIGHT", 0.0),
                    "block": name,
                }
            )

    # --- assemble -----------------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        graph = build_wall_graph(self._wall_segments(), self.options.tolerance_m)
        nodes: dict[str, dict[str, Any]] = {}
        for index, (x, y) in enumerate(graph.points):
            nodes[f"n{index + 1}"] = {
                "id": f"n{index + 1}",
                "position": [x, y],
                "connectedEdges": [],
            }
        edges: dict[str, dict[str, Any]] = {}
        for index, (a, b, thickness, height, single) in enumerate(graph.edges):
            edge_id = f"e{index + 1}"
            edges[edge_id] = {
                "id": edge_id,
                "startNodeId": f"n{a + 1}",
                "endNodeId": f"n{b + 1}",
                "thickness": round(thickness, 6),
                "height": height,
                "openings": [],
            }
            if single:
                # Drawn as one line: the thickness is ours, the line is the room's edge.
                edges[edge_id]["singleLine"] = True
            nodes[f"n{a + 1}"]["connectedEdges"].append(edge_id)
            nodes[f"n{b + 1}"]["connectedEdges"].append(edge_id)
        # Nodes only referenced by dropped (zero-length or duplicate) segments go too.
        nodes = {k: v for k, v in nodes.items() if v["connectedEdges"]}
        self._attach_openings(graph.points, graph.edges, edges)
        document: dict[str, Any] = {
            "nodes": nodes,
            "edges": edges,
            "zones": self._zones(),
            "furniture": [{"id": f"f{i + 1}", **item} for i, item in enumerate(self.furniture)],
        }
        if self.texts:
            # Kept for naming the rooms found from the walls (floorplans.rooms).
            document["labels"] = [
                {"position": [round(x, 6), round(y, 6)], "text": text[:255]}
                for x, y, text in self.texts[:MAX_LABELS]
            ]
        return document

    def _attach_openings(
        self,
        points: list[tuple[float, float]],
        graph_edges: list[Edge],
        edges: dict[str, dict[str, Any]],
    ) -> None:
        if not self.openings:
            return
        if not graph_edges:
            self.warnings.append(f"{len(self.openings)} openings ignored: no walls to put them in")
            return
        lines = shapely.linestrings([[points[e[0]], points[e[1]]] for e in graph_edges])
        tree = shapely.STRtree(lines)
        dropped = 0
        for number, opening in enumerate(self.openings, start=1):
            cx, cy = opening["centre"]
            reach = max(opening["width"], 0.5) + MAX_WALL_THICKNESS_M
            best: tuple[float, int, float] | None = None
            for index in tree.query(Point(cx, cy), predicate="dwithin", distance=reach).tolist():
                a, b = graph_edges[index][0], graph_edges[index][1]
                (ax, ay), (bx, by) = points[a], points[b]
                length = math.hypot(bx - ax, by - ay)
                ux, uy = (bx - ax) / length, (by - ay) / length
                angle = math.radians(opening["angle"])
                if abs(ux * math.cos(angle) + uy * math.sin(angle)) < 0.8:
                    continue  # not parallel to the opening's block
                along = (cx - ax) * ux + (cy - ay) * uy
                if not 0 <= along <= length:
                    continue
                distance = abs((cx - ax) * uy - (cy - ay) * ux)
                if best is None or distance < best[0]:
                    best = (distance, index, along)
            if best is None:
                dropped += 1
                continue
            _, index, along = best
            a, b = graph_edges[index][0], graph_edges[index][1]
            length = math.dist(points[a], points[b])
            width = opening["width"]
            if width > length + OPENING_FIT_M:
                dropped += 1
                continue
            # A door drawn exactly as wide as its gap (the wall that fills it) may come out a
            # hair wider than the wall after rotations: it is the wall's width.
            width = min(width, length)
            # A block drawn a little past the wall's end (a door next to a corner) is kept
            # inside its wall: the document requires position ± width/2 within the wall.
            along = min(max(along, width / 2), length - width / 2)
            defaults = DOOR_DEFAULTS if opening["type"] == "door" else WINDOW_DEFAULTS
            edges[f"e{index + 1}"]["openings"].append(
                {
                    "id": f"o{number}",
                    "type": opening["type"],
                    "position": round(along, 9),
                    "width": round(width, 9),
                    "height": opening["height"]
                    if opening["height"] is not None
                    else defaults["height"],
                    "sillHeight": opening["sillHeight"]
                    if opening["sillHeight"] is not None
                    else defaults["sillHeight"],
                    "block": opening["block"],
                }
            )
        if dropped:
            self.warnings.append(f"{dropped} openings ignored: no parallel wall near them")

    def _polygon(
        self, ring: list[tuple[float, float]], holes: list[list[tuple[float, float]]]
    ) -> Polygon | None:
        if len(ring) > 1 and ring[0] == ring[-1]:
            ring = ring[:-1]
        if len(ring) < 3:
            return None
        shell = Polygon(ring)
        if not shell.is_valid:
            # e.g. "Self-intersection[2.5 2.5]": the reason names where.
            reason = shapely.is_valid_reason(shell)
            repaired = shapely.make_valid(shell)
            parts = [g for g in getattr(repaired, "geoms", [repaired]) if g.geom_type == "Polygon"]
            if not parts:
                self.warnings.append(f"a room outline that is not a polygon was ignored: {reason}")
                return None
            shell = max(parts, key=lambda g: g.area)
            self.warnings.append(f"a room outline was repaired: {reason}")
        for hole in holes:
            if len(hole) >= 3:
                cut = Polygon(hole)
                if cut.is_valid and shell.contains(cut):
                    shell = Polygon(shell.exterior.coords, [*shell.interiors, cut.exterior.coords])
        return orient(shell, 1.0)

    def _zones(self) -> list[dict[str, Any]]:
        polygons: list[Polygon] = []
        seen: set[tuple[float, float, float]] = set()
        for ring, holes in self.zone_rings:
            polygon = self._polygon(ring, holes)
            if polygon is None or polygon.area < 0.01:
                continue
            # The same room drawn as a hatch and as its outline is one zone.
            centroid = polygon.centroid
            key = (round(polygon.area, 2), round(centroid.x, 2), round(centroid.y, 2))
            if key in seen:
                continue
            seen.add(key)
            polygons.append(polygon)
        for hole in self.hole_rings:
            cut = Polygon(hole)
            inside = [i for i, p in enumerate(polygons) if cut.is_valid and p.contains(cut)]
            if inside:
                i = min(inside, key=lambda k: polygons[k].area)
                polygons[i] = orient(
                    Polygon(
                        polygons[i].exterior.coords, [*polygons[i].interiors, cut.exterior.coords]
                    ),
                    1.0,
                )
        labels = self._labels(polygons)
        zones = []
        for index, polygon in enumerate(polygons):
            zone: dict[str, Any] = {
                "id": f"z{index + 1}",
                "points": [[x, y] for x, y in list(polygon.exterior.coords)[:-1]],
                "label": labels.get(index, f"Room {index + 1}"),
            }
            if polygon.interiors:
                zone["holes"] = [
                    [[x, y] for x, y in list(interior.coords)[:-1]]
                    for interior in polygon.interiors
                ]
            zones.append(zone)
        return zones

    def _labels(self, polygons: list[Polygon]) -> dict[int, str]:
        if not polygons or not self.texts:
            return {}
        tree = shapely.STRtree(polygons)
        labels: dict[int, str] = {}
        for x, y, text in self.texts:
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            names = [line for line in lines if not _AREA_TEXT.match(line)]
            if not names:
                continue
            hits = tree.query(Point(x, y), predicate="within").tolist()
            if hits:
                # The smallest room containing the text (rooms can nest in an outline).
                index = min(hits, key=lambda i: polygons[i].area)
                labels.setdefault(index, names[0][:255])
        return labels


def _mid(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def _attrib_number(attribs: dict[str, str], tag: str, default: float | None) -> float | None:
    try:
        value = float(attribs[tag])
    except (KeyError, ValueError):
        return default
    return value if math.isfinite(value) else default


def _type_from_block(name: str) -> str:
    lowered = name.lower()
    for prefix in ("sk-furn-", "furn_", "furn-"):
        if lowered.startswith(prefix):
            return lowered[len(prefix) :]
    return lowered


def _layer_names(doc: Drawing) -> Iterator[str]:
    for layer in doc.layers:
        yield layer.dxf.name


def read_dxf(data: bytes, options: ImportOptions | None = None) -> ImportResult:
    """Parse a DXF drawing into a floorplan document; Unprocessable if it has nothing usable."""
    options = options or ImportOptions()
    doc = load_drawing(data)
    scale, unit_name = unit_scale(doc, options.units)
    reader = _Reader(doc, options, scale)
    try:
        reader.walk(doc.modelspace())
        document = reader.document()
    except Unprocessable:
        raise
    except Exception as exc:  # broken entities that recover let through
        raise Unprocessable(
            f"the DXF has entities that cannot be read: {str(exc)[:200] or type(exc).__name__}",
            code="dxf_corrupt",
        ) from exc
    layers = sorted(set(_layer_names(doc)) | reader.used_layers)
    if not document["edges"] and not document["zones"]:
        raise Unprocessable(
            "no walls or rooms found: no LINE/POLYLINE/ARC on a wall layer and no closed "
            "outline or hatch on a room layer",
            code="dxf_no_geometry",
            details={"layers": layers[:200], "patterns": options.rules.describe()},
        )
    return ImportResult(
        document=document,
        units=unit_name,
        scale_to_m=scale,
        warnings=reader.warnings,
        layers=layers,
    )


__all__ = ["ImportOptions", "ImportResult", "LayerRules", "load_drawing", "read_dxf"]
