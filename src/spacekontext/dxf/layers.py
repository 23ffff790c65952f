"""Which DXF layers mean what. Drawings from other tools name their layers differently (AIA
`A-WALL`, plain `WALLS`, localized `MAUERN`…), so the roles are glob patterns the caller can
replace; matching ignores case."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

DEFAULT_WALL_LAYERS = ("WALL*", "A-WALL*", "*-WALL*", "MAUER*", "MUR*")
DEFAULT_ROOM_LAYERS = ("ROOM*", "A-AREA*", "*-AREA*", "ZONE*", "SPACE*", "A-SPACE*", "RAUM*")
DEFAULT_DOOR_LAYERS = ("DOOR*", "A-DOOR*", "*-DOOR*")
DEFAULT_WINDOW_LAYERS = ("WINDOW*", "A-GLAZ*", "A-WIND*", "*-WINDOW*")
DEFAULT_OPENING_LAYERS = ("OPENING*", "A-OPEN*")
DEFAULT_FURNITURE_LAYERS = (
    "FURN*",
    "A-FURN*",
    "A-EQPM*",
    "A-FLOR-FIXT*",
    "FIXT*",
    "EQUIP*",
    "SANIT*",
    "KITCHEN*",
    "APPLIANCE*",
    "BLOCK*",
)
# Block names that say what an INSERT is even on a neutral layer such as "0".
DEFAULT_DOOR_BLOCKS = ("*DOOR*", "*TUER*", "*PORTE*")
DEFAULT_WINDOW_BLOCKS = ("*WINDOW*", "*FENSTER*", "*FENETRE*", "*GLAZ*")


@functools.lru_cache(maxsize=4096)
def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    # Cached: a drawing has a few dozen layers and hundreds of thousands of entities.
    upper = name.upper()
    return any(fnmatchcase(upper, pattern.upper()) for pattern in patterns)


@dataclass(frozen=True, slots=True)
class LayerRules:
    walls: tuple[str, ...] = DEFAULT_WALL_LAYERS
    rooms: tuple[str, ...] = DEFAULT_ROOM_LAYERS
    doors: tuple[str, ...] = DEFAULT_DOOR_LAYERS
    windows: tuple[str, ...] = DEFAULT_WINDOW_LAYERS
    openings: tuple[str, ...] = DEFAULT_OPENING_LAYERS
    furniture: tuple[str, ...] = DEFAULT_FURNITURE_LAYERS
    door_blocks: tuple[str, ...] = DEFAULT_DOOR_BLOCKS
    window_blocks: tuple[str, ...] = DEFAULT_WINDOW_BLOCKS
    # Block names (library slugs, usually) that are furniture wherever they are inserted.
    known_blocks: frozenset[str] = field(default_factory=frozenset)

    def is_wall(self, layer: str) -> bool:
        return _matches(layer, self.walls)

    def is_room(self, layer: str) -> bool:
        return _matches(layer, self.rooms)

    def opening_kind(self, layer: str, block: str) -> str | None:
        """'door', 'window' or None for an INSERT on `layer` of block `block`."""
        if _matches(layer, self.doors) or _matches(block, self.door_blocks):
            return "door"
        if _matches(layer, self.windows) or _matches(block, self.window_blocks):
            return "window"
        if _matches(layer, self.openings):
            return "window" if "WIN" in block.upper() else "door"
        return None

    def is_furniture(self, layer: str, block: str) -> bool:
        return _matches(layer, self.furniture) or block.lower() in self.known_blocks

    def describe(self) -> dict[str, list[str]]:
        return {
            "walls": list(self.walls),
            "rooms": list(self.rooms),
            "doors": list(self.doors),
            "windows": list(self.windows),
            "furniture": list(self.furniture),
        }
