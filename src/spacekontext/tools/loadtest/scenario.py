"""What one simulated user does: open the dashboard, then pick weighted actions with think time
in between, as an architect moves between projects, plans and files.

Every request is recorded as a `Sample` under its action's name. Actions whose route the server
does not have (read from its OpenAPI document) are left out of the mix and reported as not
available, so the same scenario runs against any build of the API."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    method: str
    route: str  # OpenAPI path template
    weight: float
    description: str


ACTIONS: tuple[Action, ...] = (
    Action("dashboard", "get", "/api/projects", 20, "open the dashboard (project list)"),
    Action("open_project", "get", "/api/projects/{project_id}", 10, "open a project"),
    Action("list_floorplans", "get", "/api/projects/{project_id}/floorplans", 10, "its floorplans"),
    Action("open_floorplan", "get", "/api/floorplans/{floorplan_id}", 20, "open a floorplan"),
    Action(
        "save_floorplan", "patch", "/api/floorplans/{floorplan_id}", 10, "save a floorplan edit"
    ),
    Action("upload_file", "post", "/api/files/upload", 5, "upload a small file"),
    Action("cad_blocks", "get", "/api/cad-blocks", 10, "search or browse CAD blocks"),
    Action("site_analysis", "get", "/api/site-analysis/{project_id}", 15, "read site analysis"),
)

SEARCH_TERMS = ("chair", "table", "door", "tree", "sofa", "bed", "car", "desk", "toilet", "plant")
CATEGORIES = ("furniture", "sanitary", "kitchen", "doors", "landscape", "people", "vehicles")


def available_actions(openapi: dict[str, Any]) -> tuple[list[Action], list[Action]]:
    """Split ACTIONS into those the server routes and those it does not."""
    paths: dict[str, dict[str, Any]] = openapi.get("paths", {})
    routed = {(path, method.lower()) for path, ops in paths.items() for method in ops}

    def normalized(route: str) -> str:
        # Parameter names differ between builds ({id} vs {project_id}): compare shapes.
        return "/".join("{}" if p.startswith("{") else p for p in route.split("/"))

    shapes = {(normalized(path), method) for path, method in routed}
    present: list[Action] = []
    missing: list[Action] = []
    for action in ACTIONS:
        (present if (normalized(action.route), action.method) in shapes else missing).append(action)
    return present, missing


@dataclass(slots=True)
class Sample:
    action: str
    started: float  # monotonic
    latency_s: float
    status: int  # 0: no response (connection error, timeout)
    ok: bool


@dataclass
class UserState:
    projects: list[str] = field(default_factory=list)
    floorplans: dict[str, list[str]] = field(default_factory=dict)
    # floorplan id -> (etag, one node id and its position)
    editable: dict[str, tuple[str, str, list[float]]] = field(default_factory=dict)


class Session:
    """One simulated user."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        token: str,
        actions: list[Action],
        record: Callable[[Sample], None],
        *,
        rng: random.Random,
        think_s: tuple[float, float],
    ) -> None:
        self._http = http
        self._base = base_url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._actions = {a.name: a for a in actions}
        self._names = [a.name for a in actions]
        self._weights = [a.weight for a in actions]
        self._record = record
        self._rng = rng
        self._think = think_s
        self._state = UserState()

    async def run(self, stop: asyncio.Event) -> None:
        if "dashboard" in self._actions:
            await self.dashboard()
        while not stop.is_set():
            pause = self._rng.uniform(*self._think)
            try:
                await asyncio.wait_for(stop.wait(), timeout=pause)
                return
            except TimeoutError:
                pass
            name = self._rng.choices(self._names, self._weights)[0]
            await getattr(self, name)()

    # --- plumbing ---------------------------------------------------------------------------

    async def _request(
        self,
        action: str,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> tuple[int, bytes, dict[str, str]]:
        started = time.monotonic()
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            async with self._http.request(
                method, self._base + path, headers=headers, **kwargs
            ) as response:
                body = await response.read()
                status = response.status
                # Lower-cased names: aiohttp title-cases them (`Etag`).
                response_headers = {k.lower(): v for k, v in response.headers.items()}
        except (aiohttp.ClientError, TimeoutError, OSError):
            self._record(Sample(action, started, time.monotonic() - started, 0, False))
            return 0, b"", {}
        self._record(Sample(action, started, time.monotonic() - started, status, status in expect))
        return status, body, response_headers

    def _project(self) -> str | None:
        return self._rng.choice(self._state.projects) if self._state.projects else None

    # --- actions ----------------------------------------------------------------------------

    async def dashboard(self) -> None:
        status, body, _ = await self._request("dashboard", "GET", "/api/projects?limit=50")
        if status == 200:
            projects = orjson.loads(body).get("projects") or []
            self._state.projects = [p["id"] for p in projects if "id" in p]

    async def open_project(self) -> None:
        project = self._project()
        if project is None:
            await self.dashboard()
            return
        await self._request("open_project", "GET", f"/api/projects/{project}")

    async def list_floorplans(self, project: str | None = None) -> None:
        project = project or self._project()
        if project is None:
            await self.dashboard()
            return
        status, body, _ = await self._request(
            "list_floorplans", "GET", f"/api/projects/{project}/floorplans"
        )
        if status == 200:
            items = orjson.loads(body).get("floorplans") or []
            self._state.floorplans[project] = [f["id"] for f in items if "id" in f]

    def _known_floorplan(self) -> str | None:
        known = [f for plans in self._state.floorplans.values() for f in plans]
        return self._rng.choice(known) if known else None

    async def open_floorplan(self) -> None:
        floorplan = self._known_floorplan()
        if floorplan is None:
            if "list_floorplans" in self._actions:
                await self.list_floorplans()
            return
        status, body, headers = await self._request(
            "open_floorplan", "GET", f"/api/floorplans/{floorplan}"
        )
        if status == 200:
            node = _first_node(orjson.loads(body))
            etag = headers.get("etag")
            if node is not None and etag:
                self._state.editable[floorplan] = (etag, node[0], node[1])

    async def save_floorplan(self) -> None:
        if not self._state.editable:
            if "open_floorplan" in self._actions:
                await self.open_floorplan()
            return
        floorplan = self._rng.choice(list(self._state.editable))
        etag, node_id, position = self._state.editable[floorplan]
        # Nudge one wall junction by a few millimetres: an RFC 7396 merge patch of the resource,
        # whose `data` is merged into the stored document.
        moved = [round(position[0] + self._rng.uniform(-0.005, 0.005), 3), position[1]]
        status, _, headers = await self._request(
            "save_floorplan",
            "PATCH",
            f"/api/floorplans/{floorplan}",
            expect=(200,),
            data=orjson.dumps({"data": {"nodes": {node_id: {"position": moved}}}}),
            headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
        )
        new_etag = headers.get("etag")
        if status == 200 and new_etag:
            self._state.editable[floorplan] = (new_etag, node_id, moved)
        else:
            self._state.editable.pop(floorplan, None)

    async def upload_file(self) -> None:
        project = self._project()
        if project is None:
            await self.dashboard()
            return
        form = aiohttp.FormData()
        form.add_field("projectId", project)
        form.add_field("category", "import")
        form.add_field(
            "file",
            _small_dxf(self._rng),
            filename=f"sketch-{self._rng.randint(1, 9999)}.dxf",
            content_type="image/vnd.dxf",
        )
        await self._request(
            "upload_file", "POST", "/api/files/upload", expect=(200, 201), data=form
        )

    async def cad_blocks(self) -> None:
        if self._rng.random() < 0.5:
            query = f"search={self._rng.choice(SEARCH_TERMS)}"
        else:
            query = f"category={self._rng.choice(CATEGORIES)}"
        await self._request("cad_blocks", "GET", f"/api/cad-blocks?{query}")

    async def site_analysis(self) -> None:
        project = self._project()
        if project is None:
            await self.dashboard()
            return
        await self._request("site_analysis", "GET", f"/api/site-analysis/{project}")


def _first_node(body: dict[str, Any]) -> tuple[str, list[float]] | None:
    """The first node of the floorplan document in a GET response, wherever the document sits
    (`floorplan.data`, `data`, or the body itself)."""
    candidates: list[Any] = [body.get("floorplan"), body.get("data"), body]
    floorplan = body.get("floorplan")
    if isinstance(floorplan, dict):
        candidates.insert(0, floorplan.get("data"))
    for candidate in candidates:
        if isinstance(candidate, dict) and isinstance(candidate.get("nodes"), dict):
            for node_id, node in candidate["nodes"].items():
                position = node.get("position") if isinstance(node, dict) else None
                if isinstance(position, list) and len(position) == 2:
                    return node_id, [float(position[0]), float(position[1])]
    return None


def _small_dxf(rng: random.Random) -> bytes:
    lines = ["0", "SECTION", "2", "ENTITIES"]
    for _ in range(rng.randint(20, 200)):
        x, y = rng.uniform(0, 30), rng.uniform(0, 20)
        lines += ["0", "LINE", "8", "0", "10", f"{x:.3f}", "20", f"{y:.3f}", "30", "0.0"]
        lines += ["11", f"{x + 1:.3f}", "21", f"{y:.3f}", "31", "0.0"]
    lines += ["0", "ENDSEC", "0", "EOF"]
    return ("\n".join(lines) + "\n").encode()
