"""The floors of the package, read off its imports: an import only ever points down or along its
own floor, never up. The order is written here and in docs/architecture.md ("Layers"), nowhere
else; a new package must be placed on a floor before its first import is accepted.

Every import counts: at the top of a module, inside a function (deferred imports) and under
`TYPE_CHECKING` — each is something a reader of the module must know about."""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Iterator
from pathlib import Path

import spacekontext

PACKAGE = Path(spacekontext.__file__).parent

# Top to bottom. A pattern names modules relative to `spacekontext`; `pkg.*` includes `pkg`
# itself. A module named exactly on a floor is placed there; any other module goes to the
# first floor, from the top, with a pattern that matches it.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("wiring", ("app", "cli", "migrations.*")),
    ("clients", ("tools.*", "web.*", "compat.*")),
    ("routes", ("*.router", "auth.deps", "http.*")),
    ("container", ("services",)),
    (
        "domain",
        (
            "projects.*",
            "floorplans.*",
            "models3d.*",
            "massings.*",
            "site.*",
            "files.*",
            "cadblocks.*",
            "search.*",
            "dxf.*",
            "users.*",
            "webhooks.*",
            "documents.*",
            "pagination",
            # The camelCase base models of every domain's schemas.py: pydantic only.
            "http.schemas",
        ),
    ),
    ("infrastructure", ("db.*", "cache.*", "storage.*", "auth.*", "jobs.*", "ratelimit.*")),
    ("ground", ("observability.*", "errors", "settings", "ids", "tasks")),
)


def _matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".*") and module == pattern[:-2]:
        return True
    return fnmatch.fnmatchcase(module, pattern)


def floor_of(module: str, floors: tuple[tuple[str, tuple[str, ...]], ...] = FLOORS) -> int | None:
    """The index of `module`'s floor (0 is the top), or None when no floor names it."""
    for index, (_name, patterns) in enumerate(floors):
        if module in patterns:
            return index
    for index, (_name, patterns) in enumerate(floors):
        if any(_matches(module, pattern) for pattern in patterns):
            return index
    return None


def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Module name (relative to the package, `pkg` for `pkg/__init__.py`) → file."""
    found: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and "versions" not in parts:  # Alembic revisions import only alembic/sqlalchemy
            found[".".join(parts)] = path
    return found


def imported_modules(
    source: str, module: str, known: Iterable[str], *, is_package: bool = False
) -> Iterator[str]:
    """The package's modules that `source` imports, resolved to the longest known name
    (`from spacekontext.cache import readahead` is `cache.readahead`)."""
    names = set(known)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = ["spacekontext", *module.split(".")]
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            if not target.startswith("spacekontext."):
                continue
            name = target.removeprefix("spacekontext.")
            while name and name not in names:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name


def upward_imports(
    modules: dict[str, str],
    floors: tuple[tuple[str, tuple[str, ...]], ...] = FLOORS,
    packages: frozenset[str] = frozenset(),
) -> list[str]:
    """`importer (floor) -> imported (floor)` for every import that points up. `modules` maps
    names to sources; `packages` names those that are a package's `__init__.py`."""
    arrows: list[str] = []
    for module, source in sorted(modules.items()):
        here = floor_of(module, floors)
        found = imported_modules(source, module, modules, is_package=module in packages)
        for target in sorted(set(found)):
            there = floor_of(target, floors)
            if here is not None and there is not None and there < here:
                arrows.append(f"{module} ({floors[here][0]}) -> {target} ({floors[there][0]})")
    return arrows


def test_no_import_points_up() -> None:
    files = package_modules()
    packages = frozenset(name for name, path in files.items() if path.name == "__init__.py")
    sources = {name: path.read_text() for name, path in files.items()}
    assert upward_imports(sources, packages=packages) == []


def test_every_module_stands_on_a_floor() -> None:
    unplaced = sorted(name for name in package_modules() if floor_of(name) is None)
    assert unplaced == [], "place these modules on a floor (FLOORS and docs/architecture.md)"


def test_the_check_sees_an_upward_import() -> None:
    """The walk must find what it is there to find: a deferred import of a route from the
    database layer, a relative import from the ground floor, and a `from package import module`
    of a tool."""
    modules = {
        "db.engine": "def f():\n    from spacekontext.projects.router import router\n",
        "projects.router": "",
        "projects.service": "from spacekontext.db.engine import Database\n",
        "observability.metrics": "from ..settings import Settings\n",
        "observability": "from .metrics import REQUESTS\nfrom ..tools import seed\n",
        "settings": "",
        "errors": "from spacekontext.observability import metrics\n",
        "tools.seed": "",
        "cache.redis": "from spacekontext.tools import seed\n",
    }
    assert upward_imports(modules, packages=frozenset({"observability"})) == [
        "cache.redis (infrastructure) -> tools.seed (clients)",
        "db.engine (infrastructure) -> projects.router (routes)",
        "observability (ground) -> tools.seed (clients)",
    ]
    # Down and along a floor are fine; the ground floor imports only the ground floor.
    assert floor_of("errors") == floor_of("settings") == floor_of("observability.metrics")
    assert floor_of("storage.router") == floor_of("auth.deps") == floor_of("http.edge")
    assert floor_of("http.schemas") == floor_of("projects.service")
    assert floor_of("newpackage.module") is None


def test_the_database_layer_imports_only_itself_and_the_ground_floor() -> None:
    """Not even its floor-mates: what db/ needs from the cache (the shared read-your-writes
    positions) is handed to it through `db.routing.WritePositions`."""
    files = package_modules()
    ground = len(FLOORS) - 1
    reached = {
        f"{module} -> {target}"
        for module, path in files.items()
        if module == "db" or module.startswith("db.")
        for target in imported_modules(path.read_text(), module, files)
        if not (target == "db" or target.startswith("db.")) and floor_of(target) != ground
    }
    assert reached == set()
