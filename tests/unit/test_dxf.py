from __future__ import annotations

import io
import math
import re
from collections import Counter

import ezdxf
import pytest

from spacekontext.dxf import ImportOptions, LayerRules, read_dxf, render_svg, write_dxf
from spacekontext.errors import Unprocessable
from spacekontext.floorplans.geometry import shoelace_area
from tests.unit import dxf_samples


def degrees(document: dict) -> Counter[int]:
    return Counter(len(node["connectedEdges"]) for node in document["nodes"].values())


def openings(document: dict) -> list[dict]:
    return [o for edge in document["edges"].values() for o in edge["openings"]]


def total_area(document: dict) -> float:
    def ring(raw: list) -> list[tuple[float, float]]:
        return [(p[0], p[1]) for p in raw]

    return sum(
        shoelace_area(ring(z["points"])) - sum(shoelace_area(ring(h)) for h in z.get("holes", []))
        for z in document["zones"]
    )


def test_aia_layers_in_millimetres() -> None:
    result = read_dxf(dxf_samples.aia_mm())
    doc = result.document
    assert result.units == "mm"
    assert len(doc["edges"]) == 7
    assert len(doc["nodes"]) == 6
    assert total_area(doc) == pytest.approx(35.0)
    assert sorted(z["label"] for z in doc["zones"]) == ["Bedroom", "Study"]

    door, window = sorted(openings(doc), key=lambda o: o["type"])
    assert door["type"] == "door"
    assert door["width"] == pytest.approx(0.9)
    # The door's centre is 1.45 m along the 4 m wall from (0, 0).
    wall = next(e for e in doc["edges"].values() if door in e["openings"])
    start = doc["nodes"][wall["startNodeId"]]["position"]
    end = doc["nodes"][wall["endNodeId"]]["position"]
    direction = 1 if end[0] > start[0] else -1
    assert start[0] + direction * door["position"] == pytest.approx(1.45)
    assert window["type"] == "window"
    assert window["width"] == pytest.approx(1.2)
    assert window["sillHeight"] == pytest.approx(0.9)

    furniture = {f["type"]: f for f in doc["furniture"]}
    assert set(furniture) == {"bed-double", "table"}
    assert furniture["bed-double"]["position"] == pytest.approx([1.3, 3.5])
    assert (furniture["bed-double"]["width"], furniture["bed-double"]["depth"]) == pytest.approx(
        (1.6, 2.0)
    )
    assert furniture["table"]["width"] == pytest.approx(1.0)


def test_centimetre_polylines_hatches_and_a_t_junction() -> None:
    result = read_dxf(dxf_samples.cm_polylines_hatch())
    doc = result.document
    # 6 outline walls + the inner wall, and the bottom wall split where the inner one meets it.
    assert len(doc["edges"]) == 8
    assert degrees(doc) == Counter({2: 5, 3: 2})
    # The hatch and the outline of the same room are one zone.
    assert len(doc["zones"]) == 2
    assert total_area(doc) == pytest.approx(48.0)
    assert result.units == "cm"


def test_inches_with_arcs_and_bulges() -> None:
    doc = read_dxf(dxf_samples.inches_arcs()).document
    # A closed loop: every node joins exactly two walls (the arc meets both straight walls).
    assert set(degrees(doc)) == {2}
    assert len(doc["edges"]) > 5  # the arc became several straight walls
    expected = (200 * 100 + math.pi * 50**2 / 2) * 0.0254**2
    assert total_area(doc) == pytest.approx(expected, rel=0.01)
    xs = [n["position"][0] for n in doc["nodes"].values()]
    assert max(xs) == pytest.approx(250 * 0.0254, abs=0.02)


def test_unitless_outlines_in_a_block_need_the_right_layer_rules() -> None:
    data = dxf_samples.outlines_unitless()
    with pytest.raises(Unprocessable) as refused:
        read_dxf(data)
    assert refused.value.error_code == "dxf_no_geometry"
    assert "BAU-W" in refused.value.details["layers"]

    rules = LayerRules(walls=("BAU-W",), rooms=("BAU-R",))
    result = read_dxf(data, ImportOptions(rules=rules))
    doc = result.document
    assert result.units == "mm (guessed)"
    assert len(doc["edges"]) == 4
    assert all(e["thickness"] == pytest.approx(0.2) for e in doc["edges"].values())
    corners = sorted(
        (round(x, 6), round(y, 6)) for x, y in (n["position"] for n in doc["nodes"].values())
    )
    assert corners == [(0, 0), (0, 4), (6, 0), (6, 4)]
    assert total_area(doc) == pytest.approx(24.0)


def test_unit_override() -> None:
    doc = read_dxf(dxf_samples.aia_mm(), ImportOptions(units=5)).document  # say: centimetres
    assert total_area(doc) == pytest.approx(3500.0)


def test_export_round_trips_counts_and_area() -> None:
    original = dxf_samples.sample_document()
    exported = write_dxf(original)
    again = read_dxf(exported).document
    assert len(again["edges"]) == len(original["edges"])
    assert len(openings(again)) == 3
    assert len(again["zones"]) == 2
    assert total_area(again) == pytest.approx(20.0, rel=0.005)
    assert sorted(z["label"] for z in again["zones"]) == ["Kitchen", "Living & <Dining>"]
    assert sorted((o["type"], round(o["width"], 6)) for o in openings(again)) == [
        ("door", 0.8),
        ("door", 0.9),
        ("window", 1.2),
    ]
    # Positions are metres from the wall's start node, and walls keep their direction.
    assert sorted((o["type"], round(o["position"], 6)) for o in openings(again)) == [
        ("door", 1.2),
        ("door", 1.25),
        ("window", 1.0),
    ]
    (sofa,) = again["furniture"]
    assert sofa["type"] == "sofa 3"
    assert sofa["position"] == pytest.approx([1, 1])
    assert sofa["rotation"] == pytest.approx(30)
    assert (sofa["width"], sofa["depth"], sofa["height"]) == pytest.approx((2, 0.9, 0.8))
    # Exporting the import again is stable.
    third = read_dxf(write_dxf(again)).document
    assert len(third["edges"]) == len(again["edges"])
    assert total_area(third) == pytest.approx(total_area(again), rel=1e-9)


def test_export_opens_in_ezdxf_with_the_agreed_layers() -> None:
    data = write_dxf(dxf_samples.sample_document())
    doc = ezdxf.read(io.StringIO(data.decode("utf-8")))
    msp = doc.modelspace()
    by_layer = Counter((e.dxf.layer, e.dxftype()) for e in msp)
    assert by_layer[("WALLS", "LWPOLYLINE")] == 7
    assert by_layer[("OPENINGS", "INSERT")] == 3
    assert by_layer[("ZONES", "LWPOLYLINE")] == 2
    assert by_layer[("ZONES", "MTEXT")] == 2
    assert by_layer[("FURNITURE", "INSERT")] == 1
    assert all(p.closed for p in msp.query("LWPOLYLINE[layer=='WALLS']"))
    # Wall outlines have the wall's thickness.
    widths = sorted(
        round(min(math.dist(p[i], p[i + 1]) for i in range(3)), 6)
        for p in (list(e.get_points("xy")) for e in msp.query("LWPOLYLINE[layer=='WALLS']"))
    )
    assert widths == [0.1] + [0.2] * 6
    labels = [t.text for t in msp.query("MTEXT")]
    assert any("Kitchen" in t and "10.00 m²" in t for t in labels)
    assert doc.header["$INSUNITS"] == 6
    auditor = doc.audit()
    assert not auditor.has_errors


def test_zone_holes_from_hatch_islands_and_through_export() -> None:
    doc = ezdxf.new("R2010", units=6)
    hatch = doc.modelspace().add_hatch(dxfattribs={"layer": "ROOM"})
    hatch.paths.add_polyline_path([(0, 0), (10, 0), (10, 10), (0, 10)], is_closed=True)
    hatch.paths.add_polyline_path([(4, 4), (6, 4), (6, 6), (4, 6)], is_closed=True)
    imported = read_dxf(dxf_samples.to_bytes(doc)).document
    (zone,) = imported["zones"]
    assert len(zone["holes"]) == 1
    assert total_area(imported) == pytest.approx(96.0)
    again = read_dxf(write_dxf(imported)).document
    assert len(again["zones"]) == 1
    assert total_area(again) == pytest.approx(96.0)
    assert 'fill-rule="evenodd"' in render_svg(imported)


def test_binary_dxf_is_read() -> None:
    source = ezdxf.read(io.StringIO(dxf_samples.aia_mm().decode()))
    stream = io.BytesIO()
    source.write(stream, fmt="bin")
    assert len(read_dxf(stream.getvalue()).document["edges"]) == 7


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "dxf_empty"),
        (b"   \n\r\n ", "dxf_empty"),
        (b"AC1032\x00\x00\x00" + bytes(range(256)) * 8, "dxf_is_dwg"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "dxf_not_dxf"),
        (b"PK\x03\x04garbage", "dxf_not_dxf"),
        (bytes(range(256)) * 64, "dxf_not_dxf"),
        (b"hello, this is a text file\n" * 100, "dxf_not_dxf"),
        (b"0\nSECTION\n2\nENTITIES\n0\nLINE\n8\nWALL\n10\nnot-a-number\n", "dxf_truncated"),
        (
            b"0\nSECTION\n2\nENTITIES\n0\nLINE\n8\nWALL\n10\n1\n20\n0\n11\n"
            + bytes(range(256))
            + b"\n0\nEOF\n",
            "dxf_corrupt",
        ),
        (b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n", "dxf_no_geometry"),
    ],
)
def test_unreadable_files_are_unprocessable_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        read_dxf(data)
    assert refused.value.error_code == code
    assert refused.value.message


def test_small_defects_are_recovered_like_cad_tools_do() -> None:
    # A coordinate that is not a number: ezdxf's recover mode reads it as 0, as AutoCAD's
    # RECOVER would, rather than refusing a drawing over one value.
    data = b"0\nSECTION\n2\nENTITIES\n0\nLINE\n8\nWALL\n10\n1\n20\n0\n11\nx\n0\nENDSEC\n0\nEOF\n"
    assert len(read_dxf(data).document["edges"]) == 1


def test_truncated_drawing_is_refused() -> None:
    data = dxf_samples.aia_mm()
    with pytest.raises(Unprocessable):
        read_dxf(data[: len(data) // 3])


def test_preview_svg() -> None:
    document = dxf_samples.sample_document()
    svg = render_svg(document, title="Plan <1>")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg == render_svg(document, title="Plan <1>")  # deterministic: stable ETags
    assert svg.count('class="wall"') == 7
    assert svg.count('class="door"') == 2
    assert svg.count('class="window"') == 1
    assert svg.count('class="zone"') == 2
    assert svg.count('class="furniture"') == 1
    assert "Living &amp; &lt;Dining&gt;" in svg
    assert "<Dining>" not in svg and "Plan &lt;1&gt;" in svg
    assert "10.0 m²" in svg
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    assert width > 5 and height > 4


def test_preview_of_an_empty_or_odd_document() -> None:
    assert "empty plan" in render_svg({})
    odd = {
        "nodes": {"a": {"position": [0, 0]}, "b": {"position": "x"}},
        "edges": {"e": {"startNodeId": "a", "endNodeId": "b"}, "f": "junk"},
        "zones": [
            {"points": [[0, 0], [1, 0]]},
            "junk",
            {"points": [[0, 0], [1, 0], [float("nan"), 1]]},
        ],
        "furniture": [{"position": [0, 0]}],
    }
    assert "empty plan" in render_svg(odd)


@pytest.mark.parametrize(
    "make",
    [
        dxf_samples.aia_mm,
        dxf_samples.cm_polylines_hatch,
        dxf_samples.inches_arcs,
        lambda: write_dxf(dxf_samples.sample_document()),
    ],
)
def test_imported_documents_pass_the_floorplan_rules(make) -> None:
    from spacekontext.floorplans.geometry import derive

    document = read_dxf(make()).document
    facts = derive(document)
    assert facts.wall_count == len(document["edges"])
    # Areas are kept to 2 decimals (documents/rounding.py).
    assert facts.total_area_m2 == round(total_area(document), 2)
