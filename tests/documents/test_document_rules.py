"""Unit tests of the document rules that need no database."""

from __future__ import annotations

import math

import pytest

from spacekontext.documents import Precondition, encode, merge_patch
from spacekontext.errors import PreconditionFailed, TooLarge, ValidationFailed
from spacekontext.floorplans.geometry import derive, shoelace_area
from spacekontext.http.conditional import not_modified, precondition_from
from spacekontext.massings.geometry import derive as derive_massing
from spacekontext.massings.geometry import floor_to_floor_height
from spacekontext.models3d.objects import count_objects
from tests.documents.conftest import square_room

# The examples of RFC 7396, appendix A.
RFC_7396 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_7396)
def test_merge_patch_follows_rfc_7396(target: object, patch: object, expected: object) -> None:
    assert merge_patch(target, patch) == expected


def test_merge_patch_does_not_modify_its_input() -> None:
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def test_derived_floorplan_metadata() -> None:
    facts = derive(square_room(5.0))
    assert (facts.wall_count, facts.opening_count, facts.room_count) == (4, 2, 1)
    assert facts.furniture_count == 1
    assert facts.total_area_m2 == pytest.approx(25.0)
    assert facts.bbox == [0.0, 0.0, 5.0, 5.0]


def test_zone_holes_are_subtracted_and_closing_points_ignored() -> None:
    doc = {
        "zones": [
            {
                "points": [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
                "holes": [[[2, 2], [4, 2], [4, 4], [2, 4]]],
            },
            {"points": [[20, 0], [23, 0], [23, 2]]},
        ]
    }
    facts = derive(doc)
    assert facts.total_area_m2 == pytest.approx(100 - 4 + 3)
    assert facts.bbox == [0.0, 0.0, 23.0, 10.0]


def test_shoelace_is_orientation_free() -> None:
    ring = [(0.0, 0.0), (4.0, 0.0), (4.0, 3.0)]
    assert shoelace_area(ring) == shoelace_area(list(reversed(ring))) == 6.0


def _paths(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [p["path"] for p in exc.value.details["problems"]]


def test_all_problems_are_reported_with_their_paths() -> None:
    doc = square_room()
    doc["edges"]["e3"]["endNodeId"] = "ghost"
    doc["nodes"]["n1"]["connectedEdges"].append("e99")
    doc["zones"].append({"points": [[0, 0], [1, 1]]})
    doc["zones"].append({"points": [[0, 0], [2, 2], [2, 0], [0, 2]]})  # a bow tie
    doc["edges"]["e1"]["openings"][0]["position"] = 3.9  # 3.45..4.35 on a 4 m wall
    with pytest.raises(ValidationFailed) as exc:
        derive(doc)
    assert exc.value.error_code == "invalid_document"
    assert _paths(exc) == [
        "/nodes/n1/connectedEdges/2",
        "/edges/e1/openings/0",
        "/edges/e3/endNodeId",
        "/zones/1/points",
        "/zones/2/points",
    ]
    messages = {p["path"]: p["message"] for p in exc.value.details["problems"]}
    assert "Self-intersection" in messages["/zones/2/points"]
    assert "at least 3" in messages["/zones/1/points"]
    assert "4 m long" in messages["/edges/e1/openings/0"]


def test_non_finite_numbers_anywhere_are_refused() -> None:
    doc = square_room(extra={"meta": {"scale": math.inf, "list": [1, math.nan]}})
    with pytest.raises(ValidationFailed) as exc:
        encode(doc, kind="floorplan", max_bytes=10**6)
    assert _paths(exc) == ["/meta/list/1", "/meta/scale"]


def test_size_limit_and_key_order_free_hash() -> None:
    with pytest.raises(TooLarge) as exc:
        encode({"x": "y" * 5000}, kind="floorplan", max_bytes=4096)
    assert exc.value.error_code == "document_too_large"
    one = encode({"a": 1, "b": {"c": 2, "d": 3}}, kind="floorplan", max_bytes=4096)
    two = encode({"b": {"d": 3, "c": 2}, "a": 1}, kind="floorplan", max_bytes=4096)
    assert one == two


def test_if_match_parsing() -> None:
    assert precondition_from(None).versions is None
    assert precondition_from("*").versions is None
    assert precondition_from('"3"').versions == {3}
    assert precondition_from('W/"3", "4"').versions == {3, 4}
    assert precondition_from("garbage").versions == frozenset()
    Precondition(frozenset({3})).check(3, "floorplan")
    with pytest.raises(PreconditionFailed) as exc:
        Precondition(frozenset({2})).check(3, "floorplan")
    assert exc.value.details == {"currentVersion": 3}
    assert exc.value.headers == {"ETag": '"3"'}
    assert not_modified('"3"', 3) and not_modified("*", 3)
    assert not not_modified('"2"', 3) and not not_modified(None, 3)


def test_massing_figures() -> None:
    doc = {
        "blocks": [
            {"footprint": [[0, 0], [20, 0], [20, 10], [0, 10]], "height": 9.5},
            # Stacked on the first: adds volume and floors, not footprint.
            {"footprint": [[0, 0], [10, 0], [10, 10], [0, 10]], "height": 6, "base": 9.5},
            {"footprint": [[30, 0], [35, 0], [35, 5], [30, 5]], "height": 4, "floors": 2},
        ]
    }
    facts = derive_massing(doc, floor_to_floor_m=3.0)
    assert facts.volume_m3 == pytest.approx(200 * 9.5 + 100 * 6 + 25 * 4)
    assert facts.footprint_m2 == pytest.approx(200 + 25)
    assert facts.height_m == pytest.approx(15.5)
    # 9.5 m holds 3 storeys of 3 m, 6 m holds 2, the last block says 2.
    assert facts.gross_floor_area_m2 == pytest.approx(200 * 3 + 100 * 2 + 25 * 2)
    assert facts.floor_area_ratio(1000.0) == pytest.approx(0.85)
    assert facts.floor_area_ratio(None) is None
    assert derive_massing(doc, 3.2).gross_floor_area_m2 == pytest.approx(200 * 2 + 100 * 1 + 50)
    assert floor_to_floor_height({"floorToFloorHeight": 3.2}) == 3.2
    assert floor_to_floor_height({"floorToFloorHeight": "tall"}) == 3.0
    assert floor_to_floor_height({}) == 3.0


def test_massing_problems() -> None:
    with pytest.raises(ValidationFailed) as exc:
        derive_massing({"blocks": [{"footprint": [[0, 0], [1, 0]], "height": -1}]}, 3.0)
    assert _paths(exc) == ["/blocks/0/footprint", "/blocks/0/height"]


def test_object_counts() -> None:
    assert count_objects({"objects": [{"children": [{}, {"children": [{}]}]}, {}]}) == 5
    assert count_objects({"object": {"type": "Scene", "children": [{}, {}]}}) == 3
    assert count_objects({"meshes": [{}, {}, {}]}) == 3
    assert count_objects({"anything": "else"}) == 0
    with pytest.raises(ValidationFailed):
        count_objects({"objects": [1]})
