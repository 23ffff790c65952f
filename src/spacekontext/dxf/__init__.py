"""DXF in and out: drawings from other tools become floorplan documents, documents become DXF
and SVG previews. Pure functions over bytes and dicts; nothing here touches the database."""

from spacekontext.dxf.layers import LayerRules
from spacekontext.dxf.preview import render_svg
from spacekontext.dxf.reader import ImportOptions, ImportResult, load_drawing, read_dxf
from spacekontext.dxf.writer import write_dxf

__all__ = [
    "ImportOptions",
    "ImportResult",
    "LayerRules",
    "load_drawing",
    "read_dxf",
    "render_svg",
    "write_dxf",
]
