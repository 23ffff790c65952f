"""Fixtures and sample documents for the design-document tests (floorplans, 3D models,
massings, site analysis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import ANN, BOB, make_project

__all__ = ["ANN", "BOB", "make_project", "square_room"]

Auth = Callable[[str], dict[str, str]]


def square_room(size: float = 4.0, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A closed square room: 4 walls, a door, a window, one zone, one piece of furniture."""
    s = size
    corners = {"n1": [0.0, 0.0], "n2": [s, 0.0], "n3": [s, s], "n4": [0.0, s]}
    ids = list(corners)
    edges: dict[str, Any] = {}
    for i, start in enumerate(ids):
        end = ids[(i + 1) % 4]
        edges[f"e{i + 1}"] = {
            "startNodeId": start,
            "endNodeId": end,
            "thickness": 0.2,
            "height": 2.7,
            "openings": [],
        }
    edges["e1"]["openings"] = [{"type": "door", "position": 1.0, "width": 0.9, "swing": "in"}]
    edges["e2"]["openings"] = [
        {"type": "window", "position": s / 2, "width": 1.2, "sillHeight": 0.9}
    ]
    nodes = {
        node_id: {
            "position": pos,
            "connectedEdges": [
                e
                for e, edge in edges.items()
                if node_id in (edge["startNodeId"], edge["endNodeId"])
            ],
        }
        for node_id, pos in corners.items()
    }
    doc: dict[str, Any] = {
        "nodes": nodes,
        "edges": edges,
        "zones": [{"id": "z1", "points": list(corners.values()), "label": "Living"}],
        "furniture": [
            {
                "position": [1, 1],
                "rotation": 0,
                "width": 2,
                "depth": 1,
                "height": 0.8,
                "type": "sofa",
            }
        ],
        "editorState": {"zoom": 1.5, "grid": {"snap": True, "size": 0.05}, "ünïcode": "✓"},
    }
    if extra:
        doc |= extra
    return doc
