"""The starter block library: doors, windows, kitchen, bath, furniture, stairs and appliances,
drawn with ezdxf at real dimensions (metres), each with an SVG thumbnail.

Conventions, the same the DXF reader relies on when such a block is inserted into a plan:
- doors and windows: the opening runs along x, centred on the base point, with the wall line at
  y = 0 (a door swings into +y); width is the clear opening;
- everything else: the footprint is centred on the base point, its front (where one stands or
  sits) towards -y.
Families are parametrised (one function draws every width of a single door), so adding a size
is one line."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ezdxf import units
from ezdxf.document import Drawing
from ezdxf.filemanagement import new as new_drawing
from ezdxf.layouts.blocklayout import BlockLayout

from spacekontext.dxf.preview import render_entities_svg

Draw = Callable[["Pen"], None]

CATEGORY_LAYERS = {"doors": "A-DOOR", "windows": "A-GLAZ"}


class Pen:
    """A few drawing verbs over an ezdxf block, in metres."""

    def __init__(self, block: BlockLayout) -> None:
        self.block = block

    def line(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        self.block.add_line(a, b)

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.block.add_lwpolyline([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], close=True)

    def box(self, width: float, depth: float, dx: float = 0.0, dy: float = 0.0) -> None:
        """A rectangle centred on (dx, dy)."""
        self.rect(dx - width / 2, dy - depth / 2, dx + width / 2, dy + depth / 2)

    def poly(self, points: list[tuple[float, float]], *, closed: bool = True) -> None:
        self.block.add_lwpolyline(points, close=closed)

    def circle(self, centre: tuple[float, float], radius: float) -> None:
        self.block.add_circle(centre, radius)

    def arc(self, centre: tuple[float, float], radius: float, start: float, end: float) -> None:
        self.block.add_arc(centre, radius, start, end)

    def ellipse(self, centre: tuple[float, float], rx: float, ry: float) -> None:
        if rx >= ry:
            self.block.add_ellipse(centre, major_axis=(rx, 0), ratio=ry / rx)
        else:
            self.block.add_ellipse(centre, major_axis=(0, ry), ratio=rx / ry)


@dataclass(frozen=True, slots=True)
class BlockSpec:
    slug: str
    name: str
    category: str
    subcategory: str
    tags: tuple[str, ...]
    width_m: float
    depth_m: float
    height_m: float
    draw: Draw
    description: str = ""


# --- doors ---------------------------------------------------------------------------------


def _single_door(width: float) -> Draw:
    def draw(pen: Pen) -> None:
        h = -width / 2
        pen.line((h, 0), (h, width))  # the open leaf
        pen.arc((h, 0), width, 0, 90)  # its swing
        pen.line((h, 0), (-h, 0))

    return draw


def _double_door(width: float) -> Draw:
    def draw(pen: Pen) -> None:
        leaf = width / 2
        pen.line((-leaf, 0), (-leaf, leaf))
        pen.arc((-leaf, 0), leaf, 0, 90)
        pen.line((leaf, 0), (leaf, leaf))
        pen.arc((leaf, 0), leaf, 90, 180)
        pen.line((-leaf, 0), (leaf, 0))

    return draw


def _sliding_door(width: float, panels: int = 2) -> Draw:
    def draw(pen: Pen) -> None:
        panel = width / panels
        for i in range(panels):
            x0 = -width / 2 + i * panel
            offset = 0.03 if i % 2 else -0.03
            pen.rect(x0, offset - 0.02, x0 + panel + (0.05 if i < panels - 1 else 0), offset + 0.02)

    return draw


def _pocket_door(width: float) -> Draw:
    def draw(pen: Pen) -> None:
        pen.rect(-width / 2, -0.02, width / 2, 0.02)
        pen.rect(-width * 1.5, -0.04, -width / 2, 0.04)  # the pocket in the wall

    return draw


def _bifold_door(width: float) -> Draw:
    def draw(pen: Pen) -> None:
        quarter = width / 4
        zig = [(-width / 2 + i * quarter, (quarter * 0.8 if i % 2 else 0)) for i in range(5)]
        pen.poly(zig, closed=False)

    return draw


def _doors() -> Iterator[BlockSpec]:
    for mm in (700, 800, 900, 1000):
        yield BlockSpec(
            f"door-single-{mm}",
            f"Single swing door {mm}",
            "doors",
            "swing",
            ("door", "hinged", "interior"),
            mm / 1000,
            mm / 1000,
            2.1,
            _single_door(mm / 1000),
        )
    for mm in (1200, 1500, 1800):
        yield BlockSpec(
            f"door-double-{mm}",
            f"Double swing door {mm}",
            "doors",
            "swing",
            ("door", "double", "french", "entrance"),
            mm / 1000,
            mm / 2000,
            2.1,
            _double_door(mm / 1000),
        )
    for mm, panels in ((900, 2), (1800, 2), (2400, 3)):
        yield BlockSpec(
            f"door-sliding-{mm}",
            f"Sliding door {mm}",
            "doors",
            "sliding",
            ("door", "slider", "patio"),
            mm / 1000,
            0.1,
            2.1,
            _sliding_door(mm / 1000, panels),
        )
    for mm in (800, 900):
        yield BlockSpec(
            f"door-pocket-{mm}",
            f"Pocket door {mm}",
            "doors",
            "sliding",
            ("door", "pocket", "cavity"),
            mm / 1000,
            0.1,
            2.1,
            _pocket_door(mm / 1000),
        )
    for mm in (900, 1200):
        yield BlockSpec(
            f"door-bifold-{mm}",
            f"Bifold door {mm}",
            "doors",
            "folding",
            ("door", "folding", "closet", "wardrobe"),
            mm / 1000,
            mm / 4000,
            2.1,
            _bifold_door(mm / 1000),
        )


# --- windows -------------------------------------------------------------------------------

WALL_DEPTH = 0.2


def _window(width: float, mullions: int = 0, sash: str = "casement") -> Draw:
    def draw(pen: Pen) -> None:
        d = WALL_DEPTH / 2
        pen.rect(-width / 2, -d, width / 2, d)
        pen.line((-width / 2, 0), (width / 2, 0))  # the glass
        for i in range(1, mullions + 1):
            x = -width / 2 + i * width / (mullions + 1)
            pen.line((x, -d), (x, d))
        if sash == "casement":
            pen.arc((-width / 2, d), width / (mullions + 1), 0, 90)
        elif sash == "sliding":
            pen.line((-width / 2, d / 2), (0.05, d / 2))
            pen.line((-0.05, -d / 2), (width / 2, -d / 2))
        elif sash == "awning":
            pen.poly([(-width / 2, d), (0, d + width / 3), (width / 2, d)], closed=False)

    return draw


def _bay_window(width: float) -> Draw:
    def draw(pen: Pen) -> None:
        depth = width / 4
        pen.poly(
            [(-width / 2, 0), (-width / 4, -depth), (width / 4, -depth), (width / 2, 0)],
            closed=False,
        )
        pen.poly(
            [
                (-width / 2 + 0.1, 0),
                (-width / 4 + 0.05, -depth + 0.1),
                (width / 4 - 0.05, -depth + 0.1),
                (width / 2 - 0.1, 0),
            ],
            closed=False,
        )

    return draw


def _windows() -> Iterator[BlockSpec]:
    rows: list[tuple[str, str, str, int, int, str, tuple[str, ...]]] = [
        ("window-casement-600", "Casement window 600", "casement", 600, 0, "casement", ()),
        ("window-casement-900", "Casement window 900", "casement", 900, 0, "casement", ()),
        ("window-casement-1200", "Casement window 1200", "casement", 1200, 0, "casement", ()),
        ("window-double-1500", "Double casement window 1500", "casement", 1500, 1, "casement", ()),
        ("window-double-1800", "Double casement window 1800", "casement", 1800, 1, "casement", ()),
        ("window-sliding-1200", "Sliding window 1200", "sliding", 1200, 1, "sliding", ()),
        ("window-sliding-2400", "Sliding window 2400", "sliding", 2400, 1, "sliding", ()),
        ("window-fixed-900", "Fixed window 900", "fixed", 900, 0, "fixed", ("picture",)),
        ("window-fixed-1500", "Fixed window 1500", "fixed", 1500, 2, "fixed", ("picture",)),
        ("window-awning-900", "Awning window 900", "awning", 900, 0, "awning", ("top-hung",)),
    ]
    for slug, name, sub, mm, mullions, sash, extra in rows:
        yield BlockSpec(
            slug,
            name,
            "windows",
            sub,
            ("window", "glazing", sash, *extra),
            mm / 1000,
            WALL_DEPTH,
            1.2,
            _window(mm / 1000, mullions, sash),
        )
    yield BlockSpec(
        "window-bay-2400",
        "Bay window 2400",
        "windows",
        "bay",
        ("window", "glazing", "bay", "oriel"),
        2.4,
        0.6,
        1.4,
        _bay_window(2.4),
    )


# --- kitchen, bath, furniture, appliances: footprints -------------------------------------


def _sink(width: float, depth: float, bowls: int) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        bowl_w = (width - 0.1 * (bowls + 1)) / bowls
        for i in range(bowls):
            cx = -width / 2 + 0.1 + bowl_w / 2 + i * (bowl_w + 0.1)
            pen.box(bowl_w, depth * 0.6, cx, -0.02)
        pen.circle((0, depth / 2 - 0.06), 0.025)  # tap

    return draw


def _cooktop(width: float, burners: int) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, 0.52)
        spots = [(-0.14, -0.12), (0.14, -0.12), (-0.14, 0.12), (0.14, 0.12), (0.0, 0.0)]
        scale = width / 0.6 if burners < 5 else 1.0
        for x, y in spots[:burners]:
            pen.circle((x * scale, y), 0.08 if (x, y) != (0.0, 0.0) else 0.1)

    return draw


def _cabinet(width: float, depth: float, doors: int = 1) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        for i in range(1, doors):
            x = -width / 2 + i * width / doors
            pen.line((x, -depth / 2), (x, -depth / 2 + 0.05))
        pen.line((-width / 2, -depth / 2 + 0.02), (width / 2, -depth / 2 + 0.02))

    return draw


def _table(width: float, depth: float, seats: int) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        per_side = max(1, seats // 2)
        for i in range(per_side):
            x = -width / 2 + (i + 0.5) * width / per_side
            pen.box(0.42, 0.42, x, -depth / 2 - 0.25)
            pen.box(0.42, 0.42, x, depth / 2 + 0.25)
        if seats % 2:
            pen.box(0.42, 0.42, width / 2 + 0.25, 0)

    return draw


def _round_table(diameter: float, seats: int) -> Draw:
    def draw(pen: Pen) -> None:
        pen.circle((0, 0), diameter / 2)
        for i in range(seats):
            angle = 2 * math.pi * i / seats
            r = diameter / 2 + 0.25
            pen.box(0.4, 0.4, r * math.cos(angle), r * math.sin(angle))

    return draw


def _bed(width: float, length: float) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, length)
        pillows = 1 if width < 1.2 else 2
        pw = (width - 0.1 * (pillows + 1)) / pillows
        for i in range(pillows):
            cx = -width / 2 + 0.1 + pw / 2 + i * (pw + 0.1)
            pen.box(pw, 0.35, cx, length / 2 - 0.3)
        pen.line((-width / 2, length / 2 - 0.6), (width / 2, length / 2 - 0.6))

    return draw


def _sofa(width: float, depth: float, seats: int) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        arm = 0.18
        pen.rect(-width / 2, -depth / 2, -width / 2 + arm, depth / 2)
        pen.rect(width / 2 - arm, -depth / 2, width / 2, depth / 2)
        pen.rect(-width / 2 + arm, depth / 2 - 0.2, width / 2 - arm, depth / 2)
        seat = (width - 2 * arm) / seats
        for i in range(1, seats):
            x = -width / 2 + arm + i * seat
            pen.line((x, -depth / 2), (x, depth / 2 - 0.2))

    return draw


def _toilet(width: float, depth: float) -> Draw:
    def draw(pen: Pen) -> None:
        pen.rect(-width / 2, depth / 2 - 0.18, width / 2, depth / 2)  # cistern
        pen.ellipse((0, -0.05), width / 2 - 0.02, (depth - 0.2) / 2)

    return draw


def _basin(width: float, depth: float, bowls: int = 1) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        for i in range(bowls):
            cx = -width / 2 + (i + 0.5) * width / bowls
            pen.ellipse((cx, -0.03), min(0.22, width / bowls / 2 - 0.05), depth / 2 - 0.1)

    return draw


def _bathtub(width: float, depth: float) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        pen.box(width - 0.14, depth - 0.14)
        pen.circle((-width / 2 + 0.2, 0), 0.03)  # drain

    return draw


def _corner_tub(size: float) -> Draw:
    def draw(pen: Pen) -> None:
        h = size / 2
        pen.poly([(-h, -h), (-h, h), (h, h), (h, h - 0.4), (-h + 0.4, -h)])
        pen.arc((-h, h), size - 0.3, 270, 360)

    return draw


def _shower(width: float, depth: float) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        pen.line((-width / 2, -depth / 2), (width / 2, depth / 2))
        pen.line((-width / 2, depth / 2), (width / 2, -depth / 2))
        pen.circle((0, 0), 0.04)

    return draw


def _appliance(width: float, depth: float, mark: str) -> Draw:
    def draw(pen: Pen) -> None:
        pen.box(width, depth)
        if mark == "drum":
            pen.circle((0, -0.02), min(width, depth) * 0.35)
        elif mark == "double":
            pen.line((0, -depth / 2), (0, depth / 2))
        elif mark == "cross":
            pen.line((-width / 2, -depth / 2), (width / 2, depth / 2))
            pen.line((-width / 2, depth / 2), (width / 2, -depth / 2))
        elif mark == "hood":
            pen.poly(
                [(-width / 2, -depth / 2), (0, depth / 2), (width / 2, -depth / 2)], closed=False
            )
        pen.line((-width / 2 + 0.03, -depth / 2 + 0.03), (width / 2 - 0.03, -depth / 2 + 0.03))

    return draw


def _round(diameter: float) -> Draw:
    def draw(pen: Pen) -> None:
        pen.circle((0, 0), diameter / 2)
        pen.circle((0, 0), diameter / 2 - 0.05)

    return draw


def _footprints() -> Iterator[BlockSpec]:
    rows: list[tuple[str, str, str, str, tuple[str, ...], float, float, float, Draw]] = [
        # kitchen
        (
            "kitchen-sink-single",
            "Single bowl sink",
            "kitchen",
            "sinks",
            ("sink",),
            0.8,
            0.6,
            0.9,
            _sink(0.8, 0.6, 1),
        ),
        (
            "kitchen-sink-double",
            "Double bowl sink",
            "kitchen",
            "sinks",
            ("sink",),
            1.2,
            0.6,
            0.9,
            _sink(1.2, 0.6, 2),
        ),
        (
            "kitchen-cooktop-4",
            "Cooktop 4 burners",
            "kitchen",
            "cooking",
            ("hob", "stove"),
            0.6,
            0.52,
            0.9,
            _cooktop(0.6, 4),
        ),
        (
            "kitchen-cooktop-5",
            "Cooktop 5 burners",
            "kitchen",
            "cooking",
            ("hob", "stove"),
            0.9,
            0.52,
            0.9,
            _cooktop(0.9, 5),
        ),
        (
            "kitchen-base-cabinet-600",
            "Base cabinet 600",
            "kitchen",
            "cabinets",
            ("cupboard",),
            0.6,
            0.6,
            0.9,
            _cabinet(0.6, 0.6),
        ),
        (
            "kitchen-base-cabinet-900",
            "Base cabinet 900",
            "kitchen",
            "cabinets",
            ("cupboard",),
            0.9,
            0.6,
            0.9,
            _cabinet(0.9, 0.6, 2),
        ),
        (
            "kitchen-counter-3000",
            "Counter run 3000",
            "kitchen",
            "cabinets",
            ("worktop", "countertop"),
            3.0,
            0.6,
            0.9,
            _cabinet(3.0, 0.6, 5),
        ),
        (
            "kitchen-island-2400",
            "Kitchen island 2400",
            "kitchen",
            "islands",
            ("island", "worktop"),
            2.4,
            1.0,
            0.9,
            _cabinet(2.4, 1.0, 4),
        ),
        (
            "kitchen-table-4",
            "Kitchen table for 4",
            "kitchen",
            "tables",
            ("table", "dining"),
            1.2,
            0.8,
            0.75,
            _table(1.2, 0.8, 4),
        ),
        # bath
        (
            "bath-wc-floor",
            "Toilet, floor standing",
            "bath",
            "toilets",
            ("wc", "toilet", "lavatory"),
            0.38,
            0.7,
            0.8,
            _toilet(0.38, 0.7),
        ),
        (
            "bath-wc-wall-hung",
            "Toilet, wall hung",
            "bath",
            "toilets",
            ("wc", "toilet", "lavatory"),
            0.36,
            0.54,
            0.4,
            _toilet(0.36, 0.54),
        ),
        (
            "bath-bidet",
            "Bidet",
            "bath",
            "toilets",
            ("bidet",),
            0.36,
            0.56,
            0.4,
            _toilet(0.36, 0.56),
        ),
        (
            "bath-urinal",
            "Urinal",
            "bath",
            "toilets",
            ("urinal",),
            0.36,
            0.35,
            0.6,
            _basin(0.36, 0.35),
        ),
        (
            "bath-basin-600",
            "Wash basin 600",
            "bath",
            "basins",
            ("sink", "lavatory", "vanity"),
            0.6,
            0.46,
            0.85,
            _basin(0.6, 0.46),
        ),
        (
            "bath-basin-double-1200",
            "Double vanity 1200",
            "bath",
            "basins",
            ("sink", "vanity"),
            1.2,
            0.5,
            0.85,
            _basin(1.2, 0.5, 2),
        ),
        (
            "bath-bathtub-1700",
            "Bathtub 1700",
            "bath",
            "bathtubs",
            ("tub", "bath"),
            1.7,
            0.75,
            0.55,
            _bathtub(1.7, 0.75),
        ),
        (
            "bath-bathtub-1800",
            "Bathtub 1800",
            "bath",
            "bathtubs",
            ("tub", "bath"),
            1.8,
            0.8,
            0.55,
            _bathtub(1.8, 0.8),
        ),
        (
            "bath-corner-tub-1400",
            "Corner bathtub 1400",
            "bath",
            "bathtubs",
            ("tub", "corner"),
            1.4,
            1.4,
            0.55,
            _corner_tub(1.4),
        ),
        (
            "bath-shower-800",
            "Shower tray 800",
            "bath",
            "showers",
            ("shower",),
            0.8,
            0.8,
            0.05,
            _shower(0.8, 0.8),
        ),
        (
            "bath-shower-900",
            "Shower tray 900",
            "bath",
            "showers",
            ("shower",),
            0.9,
            0.9,
            0.05,
            _shower(0.9, 0.9),
        ),
        (
            "bath-shower-1200",
            "Walk-in shower 1200",
            "bath",
            "showers",
            ("shower", "walk-in"),
            1.2,
            0.9,
            0.05,
            _shower(1.2, 0.9),
        ),
        # furniture
        (
            "bed-single",
            "Single bed 900",
            "furniture",
            "beds",
            ("bed", "bedroom"),
            0.9,
            2.0,
            0.5,
            _bed(0.9, 2.0),
        ),
        (
            "bed-double",
            "Double bed 1400",
            "furniture",
            "beds",
            ("bed", "bedroom"),
            1.4,
            2.0,
            0.5,
            _bed(1.4, 2.0),
        ),
        (
            "bed-queen",
            "Queen bed 1600",
            "furniture",
            "beds",
            ("bed", "bedroom"),
            1.6,
            2.0,
            0.5,
            _bed(1.6, 2.0),
        ),
        (
            "bed-king",
            "King bed 1800",
            "furniture",
            "beds",
            ("bed", "bedroom"),
            1.8,
            2.0,
            0.5,
            _bed(1.8, 2.0),
        ),
        (
            "nightstand",
            "Nightstand",
            "furniture",
            "storage",
            ("bedside", "table"),
            0.45,
            0.4,
            0.55,
            _cabinet(0.45, 0.4),
        ),
        (
            "wardrobe-1200",
            "Wardrobe 1200",
            "furniture",
            "storage",
            ("closet", "cupboard"),
            1.2,
            0.6,
            2.2,
            _cabinet(1.2, 0.6, 2),
        ),
        (
            "bookshelf-900",
            "Bookshelf 900",
            "furniture",
            "storage",
            ("shelf", "books"),
            0.9,
            0.35,
            2.0,
            _cabinet(0.9, 0.35),
        ),
        (
            "tv-unit-1800",
            "TV unit 1800",
            "furniture",
            "storage",
            ("media", "sideboard"),
            1.8,
            0.45,
            0.5,
            _cabinet(1.8, 0.45, 3),
        ),
        (
            "sofa-2-seat",
            "Sofa two-seat",
            "furniture",
            "seating",
            ("couch", "settee", "living"),
            1.6,
            0.9,
            0.85,
            _sofa(1.6, 0.9, 2),
        ),
        (
            "sofa-3-seat",
            "Sofa three-seat",
            "furniture",
            "seating",
            ("couch", "settee", "living"),
            2.2,
            0.9,
            0.85,
            _sofa(2.2, 0.9, 3),
        ),
        (
            "armchair",
            "Armchair",
            "furniture",
            "seating",
            ("chair", "lounge"),
            0.85,
            0.85,
            0.85,
            _sofa(0.85, 0.85, 1),
        ),
        (
            "office-chair",
            "Office chair",
            "furniture",
            "seating",
            ("chair", "desk"),
            0.6,
            0.6,
            1.0,
            _round(0.6),
        ),
        (
            "coffee-table",
            "Coffee table",
            "furniture",
            "tables",
            ("table", "living"),
            1.2,
            0.6,
            0.45,
            _cabinet(1.2, 0.6),
        ),
        (
            "dining-table-6",
            "Dining table for 6",
            "furniture",
            "tables",
            ("table", "dining"),
            1.8,
            0.9,
            0.75,
            _table(1.8, 0.9, 6),
        ),
        (
            "dining-table-8",
            "Dining table for 8",
            "furniture",
            "tables",
            ("table", "dining"),
            2.4,
            1.0,
            0.75,
            _table(2.4, 1.0, 8),
        ),
        (
            "round-table-4",
            "Round table for 4",
            "furniture",
            "tables",
            ("table", "dining", "round"),
            1.2,
            1.2,
            0.75,
            _round_table(1.2, 4),
        ),
        (
            "desk-1400",
            "Desk 1400",
            "furniture",
            "office",
            ("desk", "workstation"),
            1.4,
            0.7,
            0.75,
            _cabinet(1.4, 0.7),
        ),
        # appliances
        (
            "fridge-600",
            "Refrigerator 600",
            "appliances",
            "cooling",
            ("fridge", "refrigerator"),
            0.6,
            0.65,
            1.85,
            _appliance(0.6, 0.65, ""),
        ),
        (
            "fridge-freezer-700",
            "Fridge freezer 700",
            "appliances",
            "cooling",
            ("fridge", "refrigerator", "freezer"),
            0.7,
            0.7,
            2.0,
            _appliance(0.7, 0.7, ""),
        ),
        (
            "fridge-american-900",
            "American fridge 900",
            "appliances",
            "cooling",
            ("fridge", "refrigerator", "side-by-side"),
            0.9,
            0.75,
            1.8,
            _appliance(0.9, 0.75, "double"),
        ),
        (
            "dishwasher-600",
            "Dishwasher 600",
            "appliances",
            "kitchen",
            ("dishwasher",),
            0.6,
            0.6,
            0.85,
            _appliance(0.6, 0.6, "cross"),
        ),
        (
            "oven-600",
            "Built-in oven 600",
            "appliances",
            "kitchen",
            ("oven",),
            0.6,
            0.6,
            0.6,
            _appliance(0.6, 0.6, ""),
        ),
        (
            "microwave",
            "Microwave",
            "appliances",
            "kitchen",
            ("microwave",),
            0.5,
            0.4,
            0.3,
            _appliance(0.5, 0.4, ""),
        ),
        (
            "range-hood-900",
            "Range hood 900",
            "appliances",
            "kitchen",
            ("hood", "extractor"),
            0.9,
            0.5,
            0.5,
            _appliance(0.9, 0.5, "hood"),
        ),
        (
            "washing-machine",
            "Washing machine",
            "appliances",
            "laundry",
            ("washer", "laundry"),
            0.6,
            0.6,
            0.85,
            _appliance(0.6, 0.6, "drum"),
        ),
        (
            "tumble-dryer",
            "Tumble dryer",
            "appliances",
            "laundry",
            ("dryer", "laundry"),
            0.6,
            0.6,
            0.85,
            _appliance(0.6, 0.6, "drum"),
        ),
        (
            "water-heater",
            "Water heater",
            "appliances",
            "utilities",
            ("boiler", "cylinder"),
            0.55,
            0.55,
            1.5,
            _round(0.55),
        ),
    ]
    for slug, name, category, sub, tags, width, depth, height, draw in rows:
        yield BlockSpec(slug, name, category, sub, tags, width, depth, height, draw)


# --- stairs --------------------------------------------------------------------------------

RISER_M = 0.175
GOING_M = 0.26


def _straight_stair(width: float, treads: int) -> Draw:
    def draw(pen: Pen) -> None:
        length = treads * GOING_M
        pen.rect(-width / 2, -length / 2, width / 2, length / 2)
        for i in range(1, treads):
            y = -length / 2 + i * GOING_M
            pen.line((-width / 2, y), (width / 2, y))
        pen.line((0, -length / 2 + 0.1), (0, length / 2 - 0.1))  # the walking line
        pen.poly(
            [(-0.08, length / 2 - 0.25), (0, length / 2 - 0.1), (0.08, length / 2 - 0.25)],
            closed=False,
        )

    return draw


def _l_stair(width: float, first: int, second: int) -> Draw:
    def draw(pen: Pen) -> None:
        run1, run2 = first * GOING_M, second * GOING_M
        total_x, total_y = width + run2, run1 + width
        x0, y0 = -total_x / 2, -total_y / 2
        pen.rect(x0, y0, x0 + width, y0 + run1)
        for i in range(1, first):
            pen.line((x0, y0 + i * GOING_M), (x0 + width, y0 + i * GOING_M))
        pen.rect(x0, y0 + run1, x0 + width, y0 + total_y)  # landing
        pen.rect(x0 + width, y0 + run1, x0 + total_x, y0 + total_y)
        for i in range(1, second):
            x = x0 + width + i * GOING_M
            pen.line((x, y0 + run1), (x, y0 + total_y))

    return draw


def _u_stair(width: float, per_flight: int) -> Draw:
    def draw(pen: Pen) -> None:
        run = per_flight * GOING_M
        gap = 0.1
        total_x, total_y = 2 * width + gap, run + width
        x0, y0 = -total_x / 2, -total_y / 2
        for fx in (x0, x0 + width + gap):
            pen.rect(fx, y0, fx + width, y0 + run)
            for i in range(1, per_flight):
                pen.line((fx, y0 + i * GOING_M), (fx + width, y0 + i * GOING_M))
        pen.rect(x0, y0 + run, x0 + total_x, y0 + total_y)  # landing

    return draw


def _spiral_stair(diameter: float, treads: int) -> Draw:
    def draw(pen: Pen) -> None:
        r = diameter / 2
        pen.circle((0, 0), r)
        pen.circle((0, 0), 0.1)
        for i in range(treads):
            angle = 2 * math.pi * i / treads
            pen.line(
                (0.1 * math.cos(angle), 0.1 * math.sin(angle)),
                (r * math.cos(angle), r * math.sin(angle)),
            )

    return draw


def _stairs() -> Iterator[BlockSpec]:
    storey = ("stair", "staircase", "steps")
    yield BlockSpec(
        "stair-straight-13",
        "Straight stair 13 treads",
        "stairs",
        "straight",
        storey,
        0.9,
        13 * GOING_M,
        14 * RISER_M,
        _straight_stair(0.9, 13),
    )
    yield BlockSpec(
        "stair-straight-16",
        "Straight stair 16 treads",
        "stairs",
        "straight",
        storey,
        1.0,
        16 * GOING_M,
        17 * RISER_M,
        _straight_stair(1.0, 16),
    )
    yield BlockSpec(
        "stair-l-shaped",
        "L-shaped stair",
        "stairs",
        "quarter-turn",
        (*storey, "landing"),
        0.9 + 7 * GOING_M,
        7 * GOING_M + 0.9,
        16 * RISER_M,
        _l_stair(0.9, 7, 7),
    )
    yield BlockSpec(
        "stair-u-shaped",
        "U-shaped stair",
        "stairs",
        "half-turn",
        (*storey, "landing", "dog-leg"),
        1.9,
        8 * GOING_M + 0.9,
        17 * RISER_M,
        _u_stair(0.9, 8),
    )
    for mm, treads in ((1600, 12), (2000, 14)):
        yield BlockSpec(
            f"stair-spiral-{mm}",
            f"Spiral stair {mm}",
            "stairs",
            "spiral",
            (*storey, "spiral", "helical"),
            mm / 1000,
            mm / 1000,
            (treads + 1) * 0.2,
            _spiral_stair(mm / 1000, treads),
        )


def library() -> list[BlockSpec]:
    """Every block, in a stable order (category, subcategory, name)."""
    specs = [*_doors(), *_windows(), *_footprints(), *_stairs()]
    return sorted(specs, key=lambda s: (s.category, s.subcategory, s.name))


def block_drawing(spec: BlockSpec) -> Drawing:
    """A DXF holding the block definition (named by its slug) and one reference to it at the
    origin, so that the file shows the block when opened and can be inserted as a block."""
    doc = new_drawing("R2010", setup=True, units=units.M)
    layer = CATEGORY_LAYERS.get(spec.category, "A-FURN")
    doc.layers.add(layer)
    block = doc.blocks.new(spec.slug, dxfattribs={"description": spec.name[:255]})
    spec.draw(Pen(block))
    doc.modelspace().add_blockref(spec.slug, (0, 0), dxfattribs={"layer": layer})
    return doc


def block_dxf(spec: BlockSpec) -> bytes:
    stream = io.StringIO()
    block_drawing(spec).write(stream)
    return stream.getvalue().encode("utf-8")


def block_svg(spec: BlockSpec) -> str:
    doc = block_drawing(spec)
    return render_entities_svg(doc.blocks[spec.slug], title=spec.name)
