"""Rooms found from walls, on drawings built with ezdxf (tests/floorplans/drawings.py)."""

from __future__ import annotations

import copy
import math

import ezdxf
import pytest
from ezdxf import units
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spacekontext.dxf import read_dxf
from spacekontext.floorplans.geometry import derive
from spacekontext.floorplans.rooms import (
    DERIVED_KEY,
    RoomOptions,
    WallLine,
    find_rooms,
    with_rooms,
)
from tests.floorplans import drawings
from tests.floorplans.drawings import EXT, INT, Wall


def rooms_of(data: bytes, options: RoomOptions | None = None) -> dict:
    return with_rooms(read_dxf(data).document, options or RoomOptions())


def by_label(document: dict) -> dict[str, dict]:
    return {z["label"]: z for z in document["zones"]}


def test_single_line_room_in_millimetres_is_24_square_metres() -> None:
    data = drawings.single_lines([(0, 0, 6, 0), (6, 0, 6, 4), (6, 4, 0, 4), (0, 4, 0, 0)])
    imported = read_dxf(data).document
    assert imported["zones"] == []
    assert all(e["singleLine"] for e in imported["edges"].values())
    document = with_rooms(imported, RoomOptions())
    (zone,) = document["zones"]
    assert zone["derived"] is True
    # Single lines carry no thickness: the line is the room's edge, net = gross.
    assert zone["areaM2"] == pytest.approx(24.0)
    assert zone["grossAreaM2"] == pytest.approx(24.0)
    facts = derive(document)
    assert facts.room_count == 1
    assert facts.total_area_m2 == pytest.approx(24.0)


def test_double_line_flat_four_rooms_and_a_corridor_hand_checked() -> None:
    data = drawings.double_lines(drawings.FLAT_WALLS, drawings.FLAT_DOORS, drawings.FLAT_LABELS)
    imported = read_dxf(data).document
    # The faces became centre lines with the walls' thicknesses.
    thicknesses = sorted({round(e["thickness"], 3) for e in imported["edges"].values()})
    assert thicknesses == [INT, EXT]
    assert not any(e.get("singleLine") for e in imported["edges"].values())
    document = with_rooms(imported, RoomOptions())
    zones = by_label(document)
    assert set(zones) == set(drawings.FLAT_NET)
    for name, net in drawings.FLAT_NET.items():
        assert zones[name]["areaM2"] == pytest.approx(net, rel=0.01), name
        assert zones[name]["grossAreaM2"] == pytest.approx(drawings.FLAT_GROSS[name], rel=0.01)
    # totalAreaM2 is the sum of the net areas.
    assert derive(document).total_area_m2 == pytest.approx(sum(drawings.FLAT_NET.values()), 0.01)
    assert document[DERIVED_KEY]["warnings"] == []


def test_door_gaps_are_closed_up_to_the_configured_width() -> None:
    # Two single-line rooms side by side; the wall between them has a 0.9 m door gap (y 1..1.9),
    # the outer wall an entrance gap of 1.0 m (x 1..2), and a door beside a corner: the east
    # wall stops 0.8 m short of the south wall (a gap closed by running the wall on).
    lines = [
        (0, 0, 1, 0),
        (2, 0, 8, 0),
        (8, 0.8, 8, 4),
        (8, 4, 0, 4),
        (0, 4, 0, 0),
        (4, 0, 4, 1),
        (4, 1.9, 4, 4),
    ]
    document = rooms_of(drawings.single_lines(lines))
    areas = sorted(z["areaM2"] for z in document["zones"])
    assert areas == pytest.approx([16.0, 16.0])
    # Narrower than the 1 m entrance: that gap stays open, so the west room leaks outside.
    narrow = rooms_of(drawings.single_lines(lines), RoomOptions(max_gap_m=0.95))
    assert [z["areaM2"] for z in narrow["zones"]] == pytest.approx([16.0])


def test_walls_that_enclose_nothing_give_no_room_and_say_where_the_gap_is() -> None:
    # The north wall has a 1.2 m gap (x 2.4..3.6) and gaps are closed up to 1 m only.
    lines = [(0, 0, 6, 0), (6, 0, 6, 4), (6, 4, 3.6, 4), (2.4, 4, 0, 4), (0, 4, 0, 0)]
    document = rooms_of(drawings.single_lines(lines), RoomOptions(max_gap_m=1.0))
    assert document["zones"] == []
    (warning,) = document[DERIVED_KEY]["warnings"]
    assert warning.startswith("no closed room: the largest gap is 1.2 m at (3.00, 4.00)")
    assert derive(document).room_count == 0


def test_a_wall_alone_gives_no_room_and_no_error() -> None:
    found = find_rooms([WallLine(0, 0, 5, 0, 0.2)])
    assert found.rooms == []
    assert found.warnings and found.warnings[0].startswith("no closed room")
    assert find_rooms([]).warnings == ["no closed room: there are no walls"]


def test_courtyard_is_a_hole_in_the_room_around_it() -> None:
    # The ring of rooms without its partitions: one room round the courtyard.
    walls = drawings.courtyard_walls()[:8]
    document = rooms_of(drawings.double_lines(walls))
    (zone,) = document["zones"]
    assert len(zone["holes"]) == 1
    # Inside the faces: (20 - 0.3)^2 - (8 + 0.3)^2; to the centre lines 20^2 - 8^2.
    assert zone["areaM2"] == pytest.approx(19.7**2 - 8.3**2, rel=0.001)
    assert zone["grossAreaM2"] == pytest.approx(400 - 64, rel=0.001)
    assert derive(document).total_area_m2 == pytest.approx(19.7**2 - 8.3**2, rel=0.001)


def test_courtyard_between_rooms_is_left_out_as_outdoors() -> None:
    document = rooms_of(drawings.double_lines(drawings.courtyard_walls()))
    assert len(document["zones"]) == 2
    gross = sum(z["grossAreaM2"] for z in document["zones"])
    assert gross == pytest.approx(400 - 64, rel=0.001)
    assert "courtyard" in " ".join(document[DERIVED_KEY]["warnings"])


def test_single_line_courtyard_is_known_by_its_name_and_an_inner_room_stays_a_room() -> None:
    outer = [(0, 0, 12, 0), (12, 0, 12, 12), (12, 12, 0, 12), (0, 12, 0, 0)]
    inner = [(4, 4, 8, 4), (8, 4, 8, 8), (8, 8, 4, 8), (4, 8, 4, 4)]
    named = rooms_of(drawings.single_lines(outer + inner, [(6, 6, "Courtyard")]))
    (zone,) = named["zones"]
    assert zone["areaM2"] == pytest.approx(144 - 16)
    # Without a name and with walls all alike, the inner square is a room (a meeting room).
    unnamed = rooms_of(drawings.single_lines(outer + inner, [(6, 6, "Meeting")]))
    assert sorted(z["areaM2"] for z in unnamed["zones"]) == pytest.approx([16, 128])
    assert by_label(unnamed)["Meeting"]["areaM2"] == pytest.approx(16)


def test_t_junctions_and_near_misses_within_the_tolerance_are_snapped() -> None:
    walls = [
        WallLine(0, 0, 6, 0, 0.2),
        WallLine(6, 0, 6, 4, 0.2),
        WallLine(6, 4, 0, 4, 0.2),
        WallLine(0, 4, 0, 0.03, 0.2),  # 3 cm short of the corner
        WallLine(3, 0.02, 3, 4, 0.2),  # a T-junction drawn 2 cm short
    ]
    found = find_rooms(walls, options=RoomOptions(max_gap_m=0))
    assert sorted(round(r.gross_area_m2, 6) for r in found.rooms) == [12.0, 12.0]
    # Net: 3 x 4 less half of each 0.2 m wall round the room.
    assert sorted(round(r.net_area_m2, 6) for r in found.rooms) == pytest.approx([2.8 * 3.8] * 2)


def test_the_exterior_and_small_faces_are_not_rooms() -> None:
    walls = [
        WallLine(0, 0, 4, 0, 0.1),
        WallLine(4, 0, 4, 4, 0.1),
        WallLine(4, 4, 0, 4, 0.1),
        WallLine(0, 4, 0, 0, 0.1),
        # A 0.5 x 0.5 m shaft in a corner: under the minimum area.
        WallLine(3.5, 4, 3.5, 3.5, 0.1),
        WallLine(3.5, 3.5, 4, 3.5, 0.1),
    ]
    found = find_rooms(walls, options=RoomOptions(min_area_m2=0.5))
    (room,) = found.rooms
    assert room.gross_area_m2 == pytest.approx(16 - 0.25)


def test_editor_zones_are_never_overwritten() -> None:
    data = drawings.double_lines(drawings.FLAT_WALLS, drawings.FLAT_DOORS, drawings.FLAT_LABELS)
    document = read_dxf(data).document
    mine = {"id": "mine", "points": [[0, 0], [5, 0], [5, 3.5], [0, 3.5]], "label": "My living"}
    document["zones"] = [mine]
    # The editor drew a zone: a save derives nothing.
    assert with_rooms(document, RoomOptions()) is document
    # On request: the editor's zone stays as drawn, the other rooms are added beside it.
    forced = with_rooms(document, RoomOptions(), force=True)
    assert forced["zones"][0] == mine
    derived = [z for z in forced["zones"] if z.get("derived")]
    assert sorted(z["label"] for z in derived) == ["Bath", "Bedroom", "Corridor", "Kitchen"]


def test_derivation_is_stable_and_keeps_names_given_by_the_editor() -> None:
    data = drawings.double_lines(drawings.FLAT_WALLS, drawings.FLAT_DOORS)
    once = with_rooms(read_dxf(data).document, RoomOptions())
    # Nothing changed: the same object back (no work, no new version).
    assert with_rooms(once, RoomOptions()) is once
    renamed = copy.deepcopy(once)
    renamed["zones"][0]["label"] = "Studio"
    # A wall moves: rooms are derived again, the editor's name for the room survives.
    edge = next(iter(renamed["edges"].values()))
    edge["thickness"] = edge["thickness"] + 0.05
    again = with_rooms(renamed, RoomOptions())
    assert again is not renamed
    assert "Studio" in {z["label"] for z in again["zones"]}


def test_walls_removed_take_their_derived_rooms_with_them() -> None:
    data = drawings.single_lines([(0, 0, 6, 0), (6, 0, 6, 4), (6, 4, 0, 4), (0, 4, 0, 0)])
    document = rooms_of(data)
    document["edges"] = {}
    for node in document["nodes"].values():
        node["connectedEdges"] = []
    cleared = with_rooms(document, RoomOptions())
    assert cleared["zones"] == []
    assert DERIVED_KEY not in cleared


def test_self_intersecting_room_outline_is_repaired_and_located() -> None:
    doc = ezdxf.new("R2013", units=units.M)
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (4, 4), (4, 0), (0, 4)], close=True, dxfattribs={"layer": "ROOM"})
    result = read_dxf(drawings.to_bytes(doc))
    assert any("Self-intersection[2 2]" in w for w in result.warnings)
    assert len(result.document["zones"]) == 1


def test_inner_walls_thinner_than_the_envelope_mark_an_enclosed_unnamed_court() -> None:
    walls = [
        Wall(0, 0, 20, 0, EXT),
        Wall(20, 0, 20, 20, EXT),
        Wall(20, 20, 0, 20, EXT),
        Wall(0, 20, 0, 0, EXT),
        Wall(6, 6, 14, 6, EXT),
        Wall(14, 6, 14, 14, EXT),
        Wall(14, 14, 6, 14, EXT),
        Wall(6, 14, 6, 6, EXT),
        Wall(10, 0, 10, 6, INT),
    ]
    document = rooms_of(drawings.double_lines(walls))
    assert len(document["zones"]) == 1  # the ring (south split wall ends at the court)
    # An inner room walled like the inner walls is a room.
    inner = [*walls[:4], Wall(8, 8, 12, 8, INT), Wall(12, 8, 12, 12, INT)]
    inner += [Wall(12, 12, 8, 12, INT), Wall(8, 12, 8, 8, INT)]
    inner += [Wall(10, 0, 10, 8, INT), Wall(10, 12, 10, 20, INT)]
    rooms = rooms_of(drawings.double_lines(inner))
    assert len(rooms["zones"]) == 3
    meeting = min(rooms["zones"], key=lambda z: z["areaM2"])
    assert meeting["areaM2"] == pytest.approx(3.9 * 3.9)
    # Its corners are square: four points, no notches left by the walls' ends.
    assert len(meeting["points"]) == 4


coordinate = st.floats(min_value=-20, max_value=20, allow_nan=False, allow_infinity=False)
wall = st.builds(
    WallLine,
    coordinate,
    coordinate,
    coordinate,
    coordinate,
    st.sampled_from([0.0, 0.1, 0.2, 0.3]),
)


@given(st.lists(wall, max_size=25))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_walls_give_rooms_or_a_reason_never_an_error(walls: list[WallLine]) -> None:
    # Crossing, overlapping, collinear, zero-length walls: rooms, or none with a warning.
    found = find_rooms(walls)
    for room in found.rooms:
        assert room.net.is_valid and room.gross.is_valid
        assert 0 < room.net_area_m2 <= room.gross_area_m2 + 1e-6
    if not found.rooms:
        assert found.warnings


def test_a_subnormal_coordinate_gives_a_reason_not_a_warning() -> None:
    # Found by the property test above: GEOS divided by zero offsetting a wall that ends at
    # y = 1e-165, which numpy raised as a RuntimeWarning (an error under this suite).
    walls = [
        WallLine(0.0, 0.0, 0.0, 0.0, 0.0),
        WallLine(0.0, 0.0, 0.0, -1.0, 0.0),
        WallLine(1.0, 0.0, 0.0, -1.0, 0.0),
        WallLine(-1.0, 0.03125, 0.0, 0.0, 0.0),
        WallLine(-1.0, 1.114747902459793e-165, 1.0, 0.0, 0.0),
    ]
    found = find_rooms(walls)
    assert found.rooms == []
    assert found.warnings == ["no closed room: 1 enclosed faces are all smaller than 0.5 m²"]


def test_a_plan_with_too_many_walls_is_not_searched_on_save() -> None:
    from spacekontext.floorplans import rooms

    nodes = {f"n{i}": {"position": [float(i), 0.0]} for i in range(rooms.MAX_WALLS + 2)}
    edges = {
        f"e{i}": {"startNodeId": f"n{i}", "endNodeId": f"n{i + 1}"}
        for i in range(rooms.MAX_WALLS + 1)
    }
    document = with_rooms({"nodes": nodes, "edges": edges, "zones": []}, RoomOptions())
    assert document["zones"] == []
    assert document[DERIVED_KEY]["warnings"][0].startswith("rooms not looked for")


def test_door_blocks_in_the_gaps_become_walls_with_their_doors() -> None:
    data = drawings.double_lines(
        drawings.FLAT_WALLS, drawings.FLAT_DOORS, drawings.FLAT_LABELS, door_blocks=True
    )
    result = read_dxf(data)
    doors = [o for e in result.document["edges"].values() for o in e["openings"]]
    assert sorted(round(o["width"], 3) for o in doors) == [0.8, 0.8, 0.9, 0.9, 0.9]
    assert not any("openings ignored" in w for w in result.warnings)
    # The walls that carry them close the rooms just as the gaps did.
    zones = by_label(with_rooms(result.document, RoomOptions()))
    for name, net in drawings.FLAT_NET.items():
        assert zones[name]["areaM2"] == pytest.approx(net, rel=0.01), name


@pytest.mark.parametrize("degrees", [0, 33, 45, 137])
def test_a_rotated_flat_gives_the_same_walls_doors_and_rooms(degrees: int) -> None:
    turn = math.radians(degrees)

    def rotated(x: float, y: float) -> tuple[float, float]:
        return (
            x * math.cos(turn) - y * math.sin(turn) + 100,
            x * math.sin(turn) + y * math.cos(turn) + 50,
        )

    walls = [
        Wall(*rotated(w.x1, w.y1), *rotated(w.x2, w.y2), w.thickness) for w in drawings.FLAT_WALLS
    ]
    labels = [(*rotated(x, y), text) for x, y, text in drawings.FLAT_LABELS]
    result = read_dxf(drawings.double_lines(walls, drawings.FLAT_DOORS, labels, door_blocks=True))
    # The 8 walls, each split only where another wall meets it (6 T-junctions: 16 edges), the
    # doors inside them.
    assert len(result.document["edges"]) == 16
    assert sum(len(e["openings"]) for e in result.document["edges"].values()) == 5
    assert result.warnings == []
    zones = by_label(with_rooms(result.document, RoomOptions()))
    for name, net in drawings.FLAT_NET.items():
        assert zones[name]["areaM2"] == pytest.approx(net, rel=0.01), name
