"""Rooms from walls on a 500-room office floor: the time of each step, in process.

The floor (tests/floorplans/drawings.py, `office_floor`): cellular offices 3.6 x 4.8 m in 20
rows of 25, back to back in pairs along 1.8 m corridors, one 0.9 m door gap per office,
exterior walls 0.3 m, inner walls 0.1 m, drawn with both faces of every wall (double lines) as
LINEs in millimetres. Measured, median of --repeat runs:
  1. reading the DXF into a floorplan document (double lines merged into centre lines, wall
     graph) — `read_dxf`;
  2. finding the rooms in that document (healing, polygonize, net areas, labels) — `with_rooms`;
  3. the same as a save does it again with nothing changed (the fingerprint short cut).

    .venv/bin/python bench/rooms_bench.py [--rows 20 --per-row 25 --repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.floorplans.drawings import double_lines, office_floor  # noqa: E402

from spacekontext.dxf import read_dxf  # noqa: E402
from spacekontext.floorplans.rooms import RoomOptions, with_rooms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--per-row", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    walls, doors = office_floor(args.per_row, args.rows)
    data = double_lines(walls, doors)
    options = RoomOptions()
    # (wall seconds, CPU seconds of this process): on a shared machine the CPU time is the
    # steadier figure, the wall time what a caller waits.
    reads: list[tuple[float, float]] = []
    finds: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    rooms = 0
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        document = read_dxf(data).document
        reads.append((time.perf_counter() - t, time.process_time() - c))
        t, c = time.perf_counter(), time.process_time()
        derived = with_rooms(document, options)
        finds.append((time.perf_counter() - t, time.process_time() - c))
        t, c = time.perf_counter(), time.process_time()
        assert with_rooms(derived, options) is derived
        again.append((time.perf_counter() - t, time.process_time() - c))
        rooms = len(derived["zones"])
    offices = args.rows * args.per_row
    print(f"office floor: {offices} offices + corridors = {rooms} rooms found")
    print(f"DXF {len(data) / 1e6:.1f} MB, {len(document['edges'])} walls after merging")
    for label, values in (
        ("read_dxf (double lines -> wall graph)", reads),
        ("with_rooms (rooms from the walls)", finds),
        ("with_rooms again, nothing changed", again),
    ):
        wall = statistics.median(v[0] for v in values) * 1000
        cpu = statistics.median(v[1] for v in values) * 1000
        print(f"{label:<40} wall {wall:8.1f} ms   CPU {cpu:8.1f} ms")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
