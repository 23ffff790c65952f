"""The starter block library: doors, windows, kitchen, bath, furniture, stairs and appliances,
drawn with ezdxf at real dimensions (metres), each with an SVG thumbnail.

Conventions, the same the DXF reader relies on when such a block is inserted into a plan:
- doors and windows: the opening runs along x, centred on the base point, with the wall line at
  y = 0 (a door swings into +y); width is the clear opening;
- everything else: the footprint is centred on the base point, its front (where one stands or
  sits) towards -y.
Families are parametrised (one function draws every width of a single door); the blocks
themselves, but for the stairs, are rows of catalogue.tsv, so adding a size is one row."""

from __future__ import annotations

import inspect
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources

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


def _appliance(width: float, depth: float, mark: str = "") -> Draw:
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


# --- the catalogue -------------------------------------------------------------------------

CATALOGUE = "catalogue.tsv"
COLUMNS = (
    "slug",
    "name",
    "category",
    "subcategory",
    "tags",
    "width_m",
    "depth_m",
    "height_m",
    "drawing",
)
# The drawing families a catalogue row may name, with the arguments their functions declare.
FAMILIES: dict[str, Callable[..., Draw]] = {
    "single_door": _single_door,
    "double_door": _double_door,
    "sliding_door": _sliding_door,
    "pocket_door": _pocket_door,
    "bifold_door": _bifold_door,
    "window": _window,
    "bay_window": _bay_window,
    "sink": _sink,
    "cooktop": _cooktop,
    "cabinet": _cabinet,
    "table": _table,
    "round_table": _round_table,
    "bed": _bed,
    "sofa": _sofa,
    "toilet": _toilet,
    "basin": _basin,
    "bathtub": _bathtub,
    "corner_tub": _corner_tub,
    "shower": _shower,
    "appliance": _appliance,
    "round": _round,
}


def catalogue_text() -> str:
    return resources.files("spacekontext.cadblocks").joinpath(CATALOGUE).read_text(encoding="utf-8")


def read_catalogue(text: str) -> Iterator[tuple[str, BlockSpec]]:
    """Each block of a catalogue (the format is described at the top of catalogue.tsv) with the
    name of its drawing family. A row that does not read (a column too many or too few, an
    unknown family, arguments the family does not take or of the wrong type) raises ValueError
    naming its line: a bad catalogue fails the first library() call, not a later drawing."""
    rows = (
        (number, line)
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.startswith("#")
    )
    header = next(rows, (0, ""))[1]
    if tuple(header.split("\t")) != COLUMNS:
        raise ValueError(f"{CATALOGUE}: the first row must name the columns {COLUMNS}")
    for number, line in rows:
        try:
            entry = _read_row(line)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{CATALOGUE} line {number}: {exc}") from exc
        yield entry


def _read_row(line: str) -> tuple[str, BlockSpec]:
    cells = line.split("\t")
    if len(cells) != len(COLUMNS):
        raise ValueError(f"{len(cells)} columns, not {len(COLUMNS)}")
    slug, name, category, subcategory, tags, width, depth, height, drawing = cells
    family, *args = drawing.split() or [""]
    make = FAMILIES.get(family)
    if make is None:
        raise ValueError(f"unknown drawing family {family!r}")
    signature = inspect.signature(make, eval_str=True)
    # bind() refuses a wrong number of arguments; each is then read as its parameter's type.
    bound = signature.bind(*args).arguments
    typed = [signature.parameters[key].annotation(value) for key, value in bound.items()]
    spec = BlockSpec(
        slug,
        name,
        category,
        subcategory,
        tuple(tags.split(",")) if tags else (),
        float(width),
        float(depth),
        float(height),
        make(*typed),
    )
    return family, spec


def library() -> list[BlockSpec]:
    """Every block, in a stable order (category, subcategory, name)."""
    specs = [*(spec for _, spec in read_catalogue(catalogue_text())), *_stairs()]
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
