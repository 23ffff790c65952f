from __future__ import annotations

import io
import re
from collections import Counter

import ezdxf
import ezdxf.bbox
import pytest

from spacekontext.cadblocks.library import (
    COLUMNS,
    FAMILIES,
    block_drawing,
    block_dxf,
    block_svg,
    catalogue_text,
    library,
    read_catalogue,
)
from spacekontext.dxf import read_dxf
from tests.unit.dxf_samples import to_bytes

SPECS = library()
BY_SLUG = {spec.slug: spec for spec in SPECS}
CATEGORIES = {"doors", "windows", "kitchen", "bath", "furniture", "stairs", "appliances"}


def test_at_least_sixty_blocks_in_every_category() -> None:
    assert len(SPECS) >= 60
    assert len(BY_SLUG) == len(SPECS)  # slugs are unique
    counts = Counter(spec.category for spec in SPECS)
    assert set(counts) == CATEGORIES
    assert min(counts.values()) >= 5
    assert sorted(SPECS, key=lambda s: (s.category, s.subcategory, s.name)) == SPECS


def test_every_catalogue_row_reads_and_every_family_draws_a_block() -> None:
    entries = list(read_catalogue(catalogue_text()))
    assert {family for family, _ in entries} == set(FAMILIES)
    # The catalogue holds every block but the stairs (drawn from riser and going in code).
    assert sorted(spec.slug for _, spec in entries) == sorted(
        spec.slug for spec in SPECS if spec.category != "stairs"
    )


ROW = "sink-x\tSink\tkitchen\tsinks\tsink\t0.8\t0.6\t0.9\t"


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (ROW + "sink 0.8 0.6 1\textra", "line 3: 10 columns, not 9"),
        ("sink-x\tSink\tkitchen", "line 3: 3 columns, not 9"),
        (ROW + "basin2 0.8 0.6", "line 3: unknown drawing family 'basin2'"),
        (ROW, "line 3: unknown drawing family ''"),
        (ROW + "sink 0.8 0.6", "line 3: missing a required argument: 'bowls'"),
        (ROW + "sink 0.8 0.6 1 1", "line 3: too many positional arguments"),
        (ROW + "sink 0.8 0.6 1.5", "line 3: invalid literal for int"),
        (ROW.replace("0.9", "tall") + "sink 0.8 0.6 1", "line 3: could not convert"),
    ],
)
def test_a_bad_catalogue_row_fails_naming_its_line(row: str, error: str) -> None:
    text = "\t".join(COLUMNS) + "\n# a comment\n" + row + "\n"
    with pytest.raises(ValueError, match=re.escape(f"catalogue.tsv {error}")):
        list(read_catalogue(text))


def test_a_catalogue_without_its_header_fails() -> None:
    with pytest.raises(ValueError, match="the first row must name the columns"):
        list(read_catalogue(ROW + "sink 0.8 0.6 1"))


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_each_block_is_a_dxf_block_with_a_thumbnail(slug: str) -> None:
    spec = BY_SLUG[slug]
    doc = ezdxf.read(io.StringIO(block_dxf(spec).decode()))
    assert doc.header["$INSUNITS"] == 6
    block = doc.blocks.get(slug)
    assert block is not None and len(block) > 0
    (insert,) = doc.modelspace().query("INSERT")
    assert insert.dxf.name == slug
    box = ezdxf.bbox.extents(block)
    assert box.has_data
    # Drawn at real size, in metres: nothing smaller than a tap or larger than a stair.
    assert 0.2 <= max(box.size.x, box.size.y) <= 6
    svg = block_svg(spec)
    assert svg.startswith("<svg") and "<polyline" in svg and spec.name.split()[0] in svg


@pytest.mark.parametrize(
    "slug",
    ["bed-king", "bath-bathtub-1700", "fridge-600", "washing-machine", "door-single-900"],
)
def test_footprints_match_the_nominal_size(slug: str) -> None:
    spec = BY_SLUG[slug]
    box = ezdxf.bbox.extents(block_drawing(spec).blocks[slug])
    assert box.size.x == pytest.approx(spec.width_m, abs=0.005)
    assert box.size.y == pytest.approx(spec.depth_m, abs=0.005)


def test_library_blocks_inserted_into_a_plan_import_as_openings_and_furniture() -> None:
    doc = ezdxf.new("R2010", units=6)
    for slug in ("door-single-900", "window-casement-1200", "bed-double"):
        source = block_drawing(BY_SLUG[slug])
        target = doc.blocks.new(slug)
        for entity in source.blocks[slug]:
            target.add_entity(entity.copy())
    msp = doc.modelspace()
    for a, b in [((0, 0), (5, 0)), ((5, 0), (5, 4)), ((5, 4), (0, 4)), ((0, 4), (0, 0))]:
        msp.add_line(a, b, dxfattribs={"layer": "A-WALL"})
    msp.add_blockref("door-single-900", (1.5, 0), dxfattribs={"layer": "A-DOOR"})
    msp.add_blockref("window-casement-1200", (2.5, 4), dxfattribs={"layer": "A-GLAZ"})
    msp.add_blockref("bed-double", (3, 2), dxfattribs={"layer": "A-FURN", "rotation": 90})
    result = read_dxf(to_bytes(doc)).document
    found = sorted(
        (o["type"], round(o["width"], 3), round(o["position"], 3))
        for e in result["edges"].values()
        for o in e["openings"]
    )
    assert found == [("door", 0.9, 1.5), ("window", 1.2, 2.5)]
    (bed,) = result["furniture"]
    assert bed["type"] == "bed-double"
    assert (bed["width"], bed["depth"]) == pytest.approx((1.4, 2.0))
    assert bed["rotation"] == pytest.approx(90)
    assert bed["position"] == pytest.approx([3, 2])
