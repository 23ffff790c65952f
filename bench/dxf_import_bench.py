"""DXF import time and peak memory for a ~20 MB drawing.

Generates (with ezdxf) a plan of N x N apartments in millimetres: centreline walls as LINEs on
A-WALL, rooms as closed LWPOLYLINEs on A-AREA with labels, a door block per room on A-DOOR,
furniture blocks on A-FURN; grows it until the file reaches --mb megabytes. Then runs
`read_dxf` in a fresh child process and reports wall time and the child's peak RSS (ru_maxrss),
so the figure is the import's own and not this script's.

    .venv/bin/python bench/dxf_import_bench.py [--mb 20]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import ezdxf

CHILD = """
import resource, sys, time
from pathlib import Path
from spacekontext.dxf import read_dxf, write_dxf
data = Path(sys.argv[1]).read_bytes()
t = time.perf_counter()
result = read_dxf(data)
elapsed = time.perf_counter() - t
s = result.summary
t = time.perf_counter()
exported = write_dxf(result.document)
export_s = time.perf_counter() - t
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{elapsed:.2f} {peak_mb:.0f} {s['walls']} {s['zones']} {s['openings']} {s['furniture']} "
      f"{s['totalAreaM2']:.1f} {export_s:.2f} {len(exported)}")
"""


def make_plan(cells: int) -> bytes:
    doc = ezdxf.new("R2010", units=4)  # millimetres
    msp = doc.modelspace()
    door = doc.blocks.new("DOOR-900")
    door.add_line((0, 0), (0, 900))
    door.add_arc((0, 0), 900, 0, 90)
    chair = doc.blocks.new("CHAIR")
    chair.add_lwpolyline([(0, 0), (450, 0), (450, 450), (0, 450)], close=True)
    size = 4000
    for i in range(cells + 1):
        for j in range(cells):
            # Horizontal and vertical wall lines of a grid of rooms.
            msp.add_line(
                (j * size, i * size), ((j + 1) * size, i * size), dxfattribs={"layer": "A-WALL"}
            )
            msp.add_line(
                (i * size, j * size), (i * size, (j + 1) * size), dxfattribs={"layer": "A-WALL"}
            )
    for i in range(cells):
        for j in range(cells):
            x, y = i * size, j * size
            msp.add_lwpolyline(
                [(x, y), (x + size, y), (x + size, y + size), (x, y + size)],
                close=True,
                dxfattribs={"layer": "A-AREA"},
            )
            msp.add_text(
                f"Room {i}-{j}", dxfattribs={"layer": "A-AREA", "insert": (x + 2000, y + 2000)}
            )
            msp.add_blockref("DOOR-900", (x + 500, y), dxfattribs={"layer": "A-DOOR"})
            for k in range(4):
                msp.add_blockref(
                    "CHAIR", (x + 800 + k * 600, y + 2500), dxfattribs={"layer": "A-FURN"}
                )
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    args = parser.parse_args()
    cells = 40
    while True:
        data = make_plan(cells)
        if len(data) >= args.mb * 1024 * 1024:
            break
        cells = int(cells * (args.mb * 1024 * 1024 / len(data)) ** 0.5) + 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.dxf"
        path.write_bytes(data)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
        ).stdout.split()
    seconds, peak, walls, zones, openings, furniture, area, export_s, export_bytes = out
    print(f"file: {len(data) / 1024 / 1024:.1f} MB, {cells} x {cells} rooms (mm units)")
    print(f"import: {seconds} s, peak RSS of the importing process {peak} MB")
    print(
        f"found: {walls} walls, {zones} zones, {openings} openings, {furniture} furniture, "
        f"{area} m2 (expected {cells * cells * 16} m2)"
    )
    print(f"export of the result: {export_s} s, {int(export_bytes) / 1024 / 1024:.1f} MB")


if __name__ == "__main__":
    main()
