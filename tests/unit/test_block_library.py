from __future__ import annotations

import io
from collections import Counter

import ezdxf
import ezdxf.bbox
import pytest

from spacekontext.cadblocks.library import block_drawing, block_dxf, block_svg, library
from spacekontext.dxf import read_dxf
from tests.unit.dxf_samples import to_bytes

SPECS = library()
BY_SLUG = {spec.slug: spec for spec in SPECS}


def test_at_least_sixty_blocks_in_every_category() -> None:
    assert len(SPECS) >= 60
    assert len(BY_SLUG) == len(SPECS)  # slugs are unique
    counts = Counter(spec.category for spec in SPECS)
    assert set(counts) == {
        "doors",
        "windows",
        "kitchen",
        "bath",
        "furniture",
        "stairs",
        "appliances",
    }
    assert min(counts.values()) >= 5
    assert sorted(SPECS, key=lambda s: (s.category, s.subcategory, s.name)) == SPECS


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
