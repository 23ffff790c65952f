"""GET /api/materials — the PBR texture sets under MATERIALS_DIR (`<Category>/<folder>/` with a
diffuse, a normal (OpenGL), a roughness and an ambient-occlusion map), served statically under
/Materials/. The web client hides the whole list when the answer has an `error` key, so an
unconfigured or missing directory is an empty list, never an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter

from spacekontext.auth.deps import CurrentUser
from spacekontext.compat.state import CompatDep
from spacekontext.http.responses import JSONBytes

router = APIRouter(tags=["materials"])

STATIC_PREFIX = "/Materials"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# The map names of the texture sets (as the original library names them: `*_diff_*`,
# `*_nor_gl_*`, `*_rough_*`, `*_ao_*`).
MAPS = {"diffuse": "diff", "normal": "nor_gl", "rough": "rough", "ao": "ao"}


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


def scan_materials(root: Path) -> list[dict[str, Any]]:
    """Every complete texture set under `root`, ordered by category and name. Paths are the
    static URLs as the client uses them (spaces kept, as its loader expects)."""
    if not root.is_dir():
        return []
    found = []
    for category in sorted(p for p in root.iterdir() if p.is_dir()):
        for folder in sorted(p for p in category.iterdir() if p.is_dir()):
            images = sorted(
                f.name
                for f in folder.iterdir()
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
            maps: dict[str, str] = {}
            for key, marker in MAPS.items():
                match = next((name for name in images if marker in name.lower()), None)
                if match is None:
                    break
                maps[key] = match
            if len(maps) != len(MAPS):
                continue
            base = f"{STATIC_PREFIX}/{category.name}/{folder.name}"
            found.append(
                {
                    "id": f"{_slug(category.name)}-{_slug(folder.name)}",
                    "name": folder.name,
                    "category": category.name,
                    "basePath": base,
                    **{key: f"{base}/{name}" for key, name in maps.items()},
                }
            )
    return found


@router.get("/api/materials", summary="The PBR material library")
async def list_materials(user: CurrentUser, compat: CompatDep) -> JSONBytes:
    root = compat.settings.materials_dir
    materials = [] if root is None else await anyio.to_thread.run_sync(scan_materials, root)
    return JSONBytes({"success": True, "materials": materials})
