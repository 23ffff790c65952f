"""The bulk derivation of floorplan facts against the value-by-value one, on generated plans.

`geometry.derive` answers from `derive_arrays` when that accepts a plan and from
`derive_checked` (the rules value by value, with a JSON Pointer for every problem) otherwise.
The property: whatever the plan, valid or broken in any of the ways the rules know, the two
give the same outcome — the same facts to the last bit (compared through `repr`, so 0.0 and
-0.0 differ), or the same error with the same problems; and the bulk pass never accepts a plan
the checked pass rejects."""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spacekontext.errors import ValidationFailed
from spacekontext.floorplans.geometry import derive, derive_arrays, derive_checked
from spacekontext.tools.seed.documents import floorplan as seed_floorplan

# Coordinates from a small set, so that points repeat (closed rings, duplicates, degenerate
# rings, shared corners), with the signed zero, ints, and now and then anything at all.
COORD = st.one_of(
    st.sampled_from([0.0, -0.0, 0, 1, 1.0, 2.5, 3, 4.0, -2.0, 10.0, 1e-7, 0.30000000000000004]),
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63),
)
BAD_VALUE = st.sampled_from([None, True, False, "1", [], {}, [1.0], float("nan"), float("inf")])
MAYBE_BAD = st.one_of(COORD, BAD_VALUE)


def point(rare_bad: bool) -> st.SearchStrategy[Any]:
    good = st.lists(COORD, min_size=2, max_size=3)
    if not rare_bad:
        return good
    return st.one_of(good, good, good, good, BAD_VALUE)


@st.composite
def rectangle(draw: st.DrawFn) -> list[list[float]]:
    x = draw(st.sampled_from([0.0, -0.0, 1.0, 2.5, -3.0]))
    y = draw(st.sampled_from([0.0, -0.0, 1.0, 2.5, -3.0]))
    w = draw(st.sampled_from([0.5, 1.0, 4.0, 3.3333333333333335, 1e-9]))
    ring = [[x, y], [x + w, y], [x + w, y + w], [x, y + w]]
    if draw(st.booleans()):
        ring.append(list(ring[0]))  # closed the other way
    if draw(st.booleans()):
        ring.reverse()
    return ring


@st.composite
def ring(draw: st.DrawFn, rare_bad: bool) -> Any:
    kind = draw(st.integers(0, 9))
    if kind < 5:
        return draw(rectangle())
    if kind < 9:
        return draw(st.lists(point(rare_bad), min_size=0, max_size=7))
    return draw(BAD_VALUE)


@st.composite
def plans(draw: st.DrawFn) -> Any:
    broken = draw(st.booleans())
    node_ids = [f"n{i}" for i in range(draw(st.integers(0, 6)))]
    edge_ids = [f"e{i}" for i in range(draw(st.integers(0, 6)))]
    nodes: dict[str, Any] = {}
    for node_id in node_ids:
        position = draw(point(broken)) if broken else draw(st.lists(COORD, min_size=2, max_size=2))
        node: dict[str, Any] = {"position": position}
        if draw(st.booleans()):
            pool = [*edge_ids, "e-unknown", 7] if broken else edge_ids
            node["connectedEdges"] = draw(st.lists(st.sampled_from(pool or ["x"]), max_size=3))
        nodes[node_id] = node if not (broken and draw(st.integers(0, 15)) == 0) else [node]
    edges: dict[str, Any] = {}
    for edge_id in edge_ids:
        pool = [*node_ids, "n-unknown"] if broken else node_ids
        if not pool:
            break
        edge: dict[str, Any] = {
            "startNodeId": draw(st.sampled_from(pool)),
            "endNodeId": draw(st.sampled_from(pool)),
        }
        for key in ("thickness", "height"):
            if draw(st.booleans()):
                edge[key] = draw(
                    st.one_of(st.sampled_from([0.2, 2.7, 1, 0, -1.0]), MAYBE_BAD)
                    if broken
                    else st.sampled_from([0.12, 0.3, 2.7, 3])
                )
        openings = []
        for _ in range(draw(st.integers(0, 3))):
            opening: dict[str, Any] = {
                "type": draw(st.sampled_from(["door", "window", "hatch", None, ["door"]]))
                if broken
                else draw(st.sampled_from(["door", "window"])),
                # Around the wall's ends, where the epsilon decides.
                "position": draw(
                    st.one_of(st.sampled_from([0.45, 0.5, 1.0, 3.55, 3.5500001]), COORD)
                ),
                "width": draw(st.one_of(st.sampled_from([0.9, 1.0, 0.1]), MAYBE_BAD))
                if broken
                else draw(st.sampled_from([0.9, 1.0, 0.1])),
            }
            openings.append(opening if not (broken and draw(st.integers(0, 20)) == 0) else "x")
        edge["openings"] = openings if not (broken and draw(st.integers(0, 20)) == 0) else {}
        edges[edge_id] = edge
    zones: list[Any] = []
    for i in range(draw(st.integers(0, 6))):
        zone: dict[str, Any] = {"id": f"z{i}", "points": draw(ring(broken)), "label": "room"}
        if draw(st.integers(0, 3)) == 0:
            zone["holes"] = draw(st.lists(ring(broken), max_size=2))
        zones.append(zone if not (broken and draw(st.integers(0, 20)) == 0) else None)
    furniture = draw(
        st.lists(st.sampled_from([{"type": "bed"}, {"position": [1, 2]}, 3]), max_size=3)
    )
    document: dict[str, Any] = {
        "nodes": nodes,
        "edges": edges,
        "zones": zones,
        "furniture": furniture,
    }
    if broken and draw(st.integers(0, 10)) == 0:
        document[draw(st.sampled_from(["nodes", "edges", "zones", "furniture"]))] = "oops"
    return document


def outcome(function: Any, document: Any) -> tuple[str, Any]:
    try:
        with warnings.catch_warnings():
            # GEOS's overflow warnings on coordinates near 1e300 are not the point here.
            warnings.simplefilter("ignore", RuntimeWarning)
            return ("facts", repr(function(document)))
    except ValidationFailed as exc:
        return ("invalid", (str(exc), exc.code, repr(exc.details)))
    except (TypeError, OverflowError, ValueError) as exc:  # as the checked pass raised before
        return ("raised", type(exc).__name__)


def assert_same(document: Any) -> None:
    reference = outcome(derive_checked, document)
    assert outcome(derive, document) == reference
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fast = derive_arrays(document)
    if fast is not None:
        assert reference == ("facts", repr(fast))


SQUARE_WITH_HOLE = {
    "zones": [
        {
            "points": [[0, 0], [4, 0], [4, 4], [0, 4]],
            "holes": [[[1, 1], [2, 1], [2, 2], [1, 2]]],
        }
    ]
}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
@example(SQUARE_WITH_HOLE)
@example({"zones": [{"points": [[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]}]})  # 2 distinct
@example({"zones": [{"points": [[0, 0], [1, 0], [0, 0], [1, 0]]}]})  # 2 distinct, no repeats
@example({"zones": [{"points": [[0, 0], [2, 2], [2, 0], [0, 2]]}]})  # bow tie
@example({"zones": [{"points": [[0, 0], [1, 0], [2, 0]]}]})  # collinear, 3 distinct
@example({"zones": [{"points": [[0, 0], [1, 0], [1, 1]], "holes": [[[0, 0], [5, 0], [5, 5]]]}]})
@example({"nodes": {"a": {"position": [-0.0, 0.0]}, "b": {"position": [0.0, -0.0]}}})
@example({"nodes": {"a": {"position": [2**63, 1]}}})
@example({"nodes": {"a": {"position": [True, 1]}}})
@example({"zones": [{"points": [[0, 0], [1, 0], [1, 1], [0, 1]], "holes": {}}]})
def test_bulk_and_checked_derivations_agree(document: Any) -> None:
    assert_same(document)


@pytest.mark.parametrize("target", [22_000, 55_000, 193_000, 460_000])
def test_they_agree_on_the_seeds_plans(target: int) -> None:
    document = seed_floorplan(random.Random(target), target_bytes=target)
    assert derive_arrays(document) is not None  # the bulk pass serves the common case
    assert_same(document)


def test_they_agree_on_plans_broken_in_one_place() -> None:
    """A large valid plan with one value broken at a time: the same precise error."""
    base = seed_floorplan(random.Random(5), target_bytes=40_000)
    wall = next(iter(base["edges"]))
    node = next(iter(base["nodes"]))
    breakages = [
        ("zones", 3, "points", [[0, 0], [2, 2], [2, 0], [0, 2]]),
        ("zones", 3, "points", [[0, 0], [1, float("nan")], [1, 1]]),
        ("zones", 0, "holes", [[[0, 0], [1, 0]]]),
        ("edges", wall, "thickness", -0.1),
        ("edges", wall, "openings", [{"type": "door", "position": 0.0, "width": 0.9}]),
        ("nodes", node, "position", [1.0, math.inf]),
        ("nodes", node, "connectedEdges", ["nope"]),
    ]
    for section, key, field, value in breakages:
        document = {**base, section: _copy(base[section])}
        document[section][key][field] = value
        assert derive_arrays(document) is None
        assert outcome(derive, document)[0] == "invalid"
        assert_same(document)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
