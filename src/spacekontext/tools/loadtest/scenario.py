"""What one simulated user does: open the dashboard, then pick weighted actions with think time
in between, as an architect moves between projects, plans and files.

Every request is recorded as a `Sample` under its action's name. Actions whose route the server
does not have (read from its OpenAPI document) are left out of the mix and reported as not
available, so the same scenario runs against any build of the API."""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from spacekontext.tools.loadtest.client import Answer, ConnectionClosed, UserConnection


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
    """One simulated user, on its own keep-alive connection (`client.UserConnection`)."""

    def __init__(
        self,
        connection: UserConnection,
        host_header: str,
        token: str,
        actions: list[Action],
        record: Callable[[Sample], None],
        *,
        rng: random.Random,
        think_s: tuple[float, float],
    ) -> None:
        self._connection = connection
        # Every request's fixed headers, encoded once.
        self._headers = f"Host: {host_header}\r\nAuthorization: Bearer {token}\r\n".encode()
        self._actions = {a.name: a for a in actions}
        self._names = [a.name for a in actions]
        self._cum_weights = list(itertools.accumulate(a.weight for a in actions))
        self._record = record
        self._rng = rng
        self._think = think_s
        self._state = UserState()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            if "dashboard" in self._actions:
                await self.dashboard()
            while not stop.is_set():
                # A plain sleep (no waiter task per pause): a stop is seen at the next action,
                # at most one think time later, and the runner waits for that.
                await asyncio.sleep(self._rng.uniform(*self._think))
                if stop.is_set():
                    return
                name = self._rng.choices(self._names, cum_weights=self._cum_weights)[0]
                await getattr(self, name)()
        finally:
            self._connection.close()

    # --- plumbing ---------------------------------------------------------------------------

    async def _request(
        self,
        action: str,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        body: bytes | None = None,
        headers: bytes = b"",
    ) -> Answer | None:
        request = f"{method} {path} HTTP/1.1\r\n".encode() + self._headers + headers
        if body is not None:
            request += b"Content-Length: %d\r\n\r\n" % len(body) + body
        else:
            request += b"\r\n"
        started = time.monotonic()
        try:
            answer = await self._connection.exchange(request)
        except (ConnectionClosed, TimeoutError, OSError):
            self._record(Sample(action, started, time.monotonic() - started, 0, False))
            return None
        status = answer.status
        self._record(Sample(action, started, time.monotonic() - started, status, status in expect))
        return answer

    async def _project(self) -> str | None:
        """One of the user's projects; None, and the dashboard visited instead, while none is
        known (a user's first actions)."""
        if not self._state.projects:
            await self.dashboard()
            return None
        return self._rng.choice(self._state.projects)

    # --- actions ----------------------------------------------------------------------------

    async def dashboard(self) -> None:
        answer = await self._request("dashboard", "GET", "/api/projects?limit=50")
        if answer is not None and answer.status == 200:
            projects = orjson.loads(answer.body).get("projects") or []
            self._state.projects = [p["id"] for p in projects if "id" in p]

    async def open_project(self) -> None:
        project = await self._project()
        if project is None:
            return
        await self._request("open_project", "GET", f"/api/projects/{project}")

    async def list_floorplans(self, project: str | None = None) -> None:
        project = project or await self._project()
        if project is None:
            return
        answer = await self._request(
            "list_floorplans", "GET", f"/api/projects/{project}/floorplans"
        )
        if answer is not None and answer.status == 200:
            items = orjson.loads(answer.body).get("floorplans") or []
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
        answer = await self._request("open_floorplan", "GET", f"/api/floorplans/{floorplan}")
        if answer is None or answer.status != 200 or not answer.etag:
            return
        known = self._state.editable.get(floorplan)
        if known is not None:
            # This user's own plan, which only this session edits: the node it moves is known,
            # so the (up to 460 KB) document need not be parsed again; only the version moved.
            self._state.editable[floorplan] = (answer.etag, known[1], known[2])
            return
        node = _first_node_found(answer.body) or _first_node(orjson.loads(answer.body))
        if node is not None:
            self._state.editable[floorplan] = (answer.etag, node[0], node[1])

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
        answer = await self._request(
            "save_floorplan",
            "PATCH",
            f"/api/floorplans/{floorplan}",
            expect=(200,),
            body=orjson.dumps({"data": {"nodes": {node_id: {"position": moved}}}}),
            headers=f"If-Match: {etag}\r\nContent-Type: application/merge-patch+json\r\n".encode(),
        )
        if answer is not None and answer.status == 200 and answer.etag:
            self._state.editable[floorplan] = (answer.etag, node_id, moved)
        else:
            self._state.editable.pop(floorplan, None)

    async def upload_file(self) -> None:
        project = await self._project()
        if project is None:
            return
        boundary = f"sk{self._rng.getrandbits(64):016x}"
        body = _multipart(
            boundary,
            {"projectId": project, "category": "import"},
            filename=f"sketch-{self._rng.randint(1, 9999)}.dxf",
            content_type="image/vnd.dxf",
            content=self._rng.choice(_small_dxfs()),
        )
        await self._request(
            "upload_file",
            "POST",
            "/api/files/upload",
            expect=(200, 201),
            body=body,
            headers=f"Content-Type: multipart/form-data; boundary={boundary}\r\n".encode(),
        )

    async def cad_blocks(self) -> None:
        if self._rng.random() < 0.5:
            query = f"search={self._rng.choice(SEARCH_TERMS)}"
        else:
            query = f"category={self._rng.choice(CATEGORIES)}"
        await self._request("cad_blocks", "GET", f"/api/cad-blocks?{query}")

    async def site_analysis(self) -> None:
        project = await self._project()
        if project is None:
            return
        await self._request("site_analysis", "GET", f"/api/site-analysis/{project}")


def _multipart(
    boundary: str, fields: dict[str, str], *, filename: str, content_type: str, content: bytes
) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        f"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    return "".join(parts).encode() + content + f"\r\n--{boundary}--\r\n".encode()


@functools.cache
def _small_dxfs() -> tuple[bytes, ...]:
    """A fixed set of small drawings to upload, made once (not per upload)."""
    rng = random.Random("small-dxfs")  # noqa: S311 - not secrets
    return tuple(_small_dxf(rng) for _ in range(32))


# The first node of a floorplan as the server stores it, found without parsing the whole
# document: in the canonical form (keys sorted, so a node's `connectedEdges` comes before its
# `position`, no spaces) or as PostgreSQL writes jsonb out (keys by length, `position` first,
# ", " and ": " between).
_NUMBER = rb"(-?[0-9][0-9.eE+-]*)"
_FIRST_NODE = re.compile(
    rb'"nodes": ?\{"([^"\\]{1,200})": ?\{(?:"connectedEdges": ?\[[^\]]*\], ?)?"position": ?\['
    + _NUMBER
    + rb", ?"
    + _NUMBER
    + rb"\]"
)


def _first_node_found(body: bytes) -> tuple[str, list[float]] | None:
    match = _FIRST_NODE.search(body)
    if match is None:
        return None
    try:
        return match.group(1).decode(), [float(match.group(2)), float(match.group(3))]
    except (UnicodeDecodeError, ValueError):
        return None


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
