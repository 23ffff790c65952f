"""What a save stores of a floorplan document besides its name and level: its figures and its
canonical encoding, derived once, the same way for the service's saves and for `spacekontext
seed` (which writes rows without the service)."""

from __future__ import annotations

from typing import Any

from spacekontext.documents import Encoded, encode
from spacekontext.floorplans.geometry import KIND, FloorplanFacts, derive
from spacekontext.floorplans.rooms import RoomOptions, apply_rooms


def check_floorplan(
    data: Any, rooms: RoomOptions, max_bytes: int, *, finite: bool
) -> tuple[FloorplanFacts, Encoded]:
    """The figures and the encoding (canonical text, size, hash) of `data`. `finite`: the
    document is known to hold no NaN or infinity."""
    # Rooms from walls, the one place on the save path: a document with walls and no zones of
    # the editor's own gets its rooms (floorplans/rooms.py), in place, before it is measured
    # and encoded, so the stored document, its hash and its figures agree.
    derived_rooms = apply_rooms(data, rooms)
    # Computed rooms are walked for NaN/Infinity like any document built in Python; a body the
    # edge layer checked (and a stored document) cannot hold them.
    encoded = encode(data, kind=KIND, max_bytes=max_bytes, finite=finite and not derived_rooms)
    return derive(data), encoded


def fact_values(facts: FloorplanFacts, encoded: Encoded) -> dict[str, Any]:
    """The row's columns for `check_floorplan`'s answer."""
    return {
        # The canonical text, encoded once by `encode`, stored as it is.
        "data": encoded.text,
        "wall_count": facts.wall_count,
        "opening_count": facts.opening_count,
        "room_count": facts.room_count,
        "furniture_count": facts.furniture_count,
        "total_area_m2": facts.total_area_m2,
        "bbox": facts.bbox,
        "data_bytes": encoded.data_bytes,
        "content_hash": encoded.content_hash,
    }
