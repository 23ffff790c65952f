"""Stream the seed data set into PostgreSQL with COPY.

Users and projects are made in this process; the heavy part (documents, sites, files) is made
in chunks of projects by worker processes and handed back as ready-to-send COPY text, so the two
cores generate while PostgreSQL parses. Each chunk is one transaction: an interrupted seed leaves
whole projects, never half of one.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from spacekontext.documents import Encoded, encode
from spacekontext.floorplans.checks import check_floorplan
from spacekontext.floorplans.rooms import RoomOptions
from spacekontext.massings.geometry import KIND as MASSING
from spacekontext.massings.geometry import derive as derive_massing
from spacekontext.models3d.objects import KIND as MODEL_3D
from spacekontext.models3d.objects import count_objects
from spacekontext.settings import Settings
from spacekontext.tools.seed import documents as docs

# Seeded time line: a year of activity ending at a fixed instant, so that ids (which embed
# their creation time) and every timestamp are reproducible too.
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
_SPAN_MS = 365 * 24 * 3600 * 1000
_CHUNK_PROJECTS = 40

# Seeded documents get their metadata columns and stored text from the services' own
# derivations (`check_floorplan`, the massing geometry, `count_objects`, `encode`), as a save
# through the API would: one path, no copy to drift. The defaults a server starts with: the room
# options (a seeded plan carries its zones, so no rooms are derived) and the size limit.
_ROOMS = RoomOptions()
_MAX_DOCUMENT_BYTES: int = Settings.model_fields["max_document_bytes"].default


def _encoded(document: dict[str, Any], kind: str) -> Encoded:
    # The generator draws finite numbers only: the walk for NaN and infinities is skipped.
    return encode(document, kind=kind, max_bytes=_MAX_DOCUMENT_BYTES, finite=True)


TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "id", "clerk_id", "email", "first_name", "last_name", "image_url", "created_at",
        "updated_at",
    ),
    "projects": ("id", "user_id", "name", "description", "settings", "created_at", "updated_at"),
    "floorplans": (
        "id", "project_id", "name", "level", "data", "wall_count", "opening_count",
        "room_count", "furniture_count", "total_area_m2", "bbox", "data_bytes", "content_hash",
        "version", "created_at", "updated_at",
    ),
    "models_3d": (
        "id", "project_id", "floorplan_id", "name", "model_data", "settings", "object_count",
        "data_bytes", "content_hash", "version", "created_at", "updated_at",
    ),
    "massings": (
        "id", "project_id", "name", "massing_data", "analysis", "volume_m3", "footprint_m2",
        "gross_floor_area_m2", "height_m", "floor_area_ratio", "data_bytes", "content_hash",
        "version", "created_at", "updated_at",
    ),
    "site_analyses": (
        "id", "project_id", "latitude", "longitude", "site_area_m2", "scale", "rotation_deg",
        "timezone", "coordinates", "boundary", "sun_path", "weather", "topography", "context",
        "analysis_results", "created_at", "updated_at",
    ),
    "files": (
        "id", "user_id", "project_id", "original_name", "safe_name", "mime_type", "size_bytes",
        "sha256", "storage_key", "status", "file_type", "category", "metadata", "created_at",
        "updated_at",
    ),
    "cad_blocks": (
        "id", "slug", "name", "category", "subcategory", "description", "tags", "width_m",
        "depth_m", "height_m", "is_public", "created_by_user_id", "created_at", "updated_at",
    ),
}  # fmt: skip
# Parents before children (foreign keys).
CHUNK_TABLES = ("floorplans", "models_3d", "massings", "site_analyses", "files")


@dataclass(frozen=True, slots=True)
class SeedPlan:
    users: int = 1000
    projects_per_user: float = 5.0
    floorplans_per_project: int = 2
    models_per_project: int = 1
    massings_per_project: int = 1
    files_per_project: int = 5
    cad_blocks: int = 200
    seed: int = 1
    # Version 1 of every floorplan in floorplan_versions, as a create through the API keeps it.
    history: bool = True

    @property
    def projects(self) -> int:
        return round(self.users * self.projects_per_user)


@dataclass(frozen=True, slots=True)
class ProjectRef:
    index: int
    id: str
    user_id: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class StoredObjectRef:
    key: str
    content: bytes
    content_type: str


@dataclass
class Chunk:
    """COPY payloads of a run of projects, plus the file objects to store."""

    copy: dict[str, list[bytes]] = field(default_factory=dict)
    objects: list[StoredObjectRef] = field(default_factory=list)
    # (version row id, floorplan id, author) of each floorplan's first version
    history: list[tuple[str, str, str]] = field(default_factory=list)
    document_bytes: int = 0
    floorplan_sizes: list[int] = field(default_factory=list)
    projects: int = 0


@dataclass
class SeedReport:
    rows: dict[str, int] = field(default_factory=dict)
    document_bytes: int = 0
    object_bytes: int = 0
    objects_stored: int = 0
    floorplan_sizes: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0


# --------------------------------------------------------------------------------------------
# COPY text format
# --------------------------------------------------------------------------------------------


def _text(value: str | None) -> bytes:
    if value is None:
        return b"\\N"
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .encode()
    )


def _json(raw: bytes | None) -> bytes:
    # orjson never emits raw control characters; only backslashes need doubling.
    if raw is None:
        return b"\\N"
    return raw.replace(b"\\", b"\\\\")


def _num(value: float | int | None) -> bytes:
    return b"\\N" if value is None else repr(value).encode()


def _stamp(ms: int) -> bytes:
    return (ANCHOR - timedelta(milliseconds=_SPAN_MS - ms)).isoformat().encode()


def _array(values: Iterable[float | str] | None) -> bytes:
    if values is None:
        return b"\\N"
    return ("{" + ",".join(str(v) for v in values) + "}").encode()


def _document_tail(encoded: Encoded, created: int, updated: int) -> tuple[bytes, ...]:
    """The columns every versioned document's row ends with: its size and content hash, the
    first version, when it was created and last updated."""
    return (
        _num(encoded.data_bytes),
        encoded.content_hash.encode(),
        b"1",
        _stamp(created),
        _stamp(updated),
    )


def _row(*fields: bytes) -> bytes:
    return b"\t".join(fields) + b"\n"


# --------------------------------------------------------------------------------------------
# Users and projects (cheap: made in the main process)
# --------------------------------------------------------------------------------------------


def seed_email(seed: int, index: int) -> str:
    return f"seed{seed}-user{index:06d}@example.com"


def user_rows(plan: SeedPlan) -> tuple[list[bytes], list[tuple[str, int]]]:
    rows: list[bytes] = []
    users: list[tuple[str, int]] = []
    for index in range(plan.users):
        rng = docs.rng_for(plan.seed, "user", index)
        created_ms = int(rng.random() * _SPAN_MS * 0.6)
        user_id = docs.row_id(_epoch_ms(created_ms), rng)
        first, last = docs.person(rng)
        email = seed_email(plan.seed, index)
        # Dev tokens carry `dev|<email>` as subject: seeded users can sign in with
        # `spacekontext token create --email …`, which is what the load test does.
        rows.append(
            _row(
                user_id.encode(),
                _text(f"dev|{email}"),
                _text(email),
                _text(first),
                _text(last),
                b"\\N",
                _stamp(created_ms),
                _stamp(created_ms),
            )
        )
        users.append((user_id, created_ms))
    return rows, users


def demo_owner(plan: SeedPlan) -> tuple[str, bytes]:
    """The owner of the synthetic blocks: a user of their own, so that the blocks stay private
    to it and never show in a real user's library (which lists public blocks and one's own)."""
    rng = docs.rng_for(plan.seed, "demo-owner", 0)
    user_id = docs.row_id(_epoch_ms(0), rng)
    email = f"seed{plan.seed}-demo-blocks@example.com"
    row = _row(
        user_id.encode(),
        _text(f"dev|{email}"),
        _text(email),
        _text("Demo"),
        _text("Blocks"),
        b"\\N",
        _stamp(0),
        _stamp(0),
    )
    return user_id, row


def projects_per_user(plan: SeedPlan) -> list[int]:
    """A skewed split of the total: most users have a few projects, some have dozens, and
    (when there are at least as many projects as users) everyone has one."""
    total = plan.projects
    if plan.users == 0 or total == 0:
        return [0] * plan.users
    rng = docs.rng_for(plan.seed, "split", 0)
    weights = [rng.lognormvariate(0, 0.8) for _ in range(plan.users)]
    floor = 1 if total >= plan.users else 0
    spare = total - floor * plan.users
    scale = spare / sum(weights)
    shares = [w * scale for w in weights]
    counts = [floor + int(s) for s in shares]
    # Largest remainders get the rounding leftovers, so the total is exact.
    leftovers = total - sum(counts)
    order = sorted(range(plan.users), key=lambda k: shares[k] - int(shares[k]), reverse=True)
    for k in order[:leftovers]:
        counts[k] += 1
    return counts


def project_rows(
    plan: SeedPlan, users: list[tuple[str, int]]
) -> tuple[list[bytes], list[ProjectRef]]:
    rows: list[bytes] = []
    refs: list[ProjectRef] = []
    index = 0
    for (user_id, user_ms), count in zip(users, projects_per_user(plan), strict=True):
        for _ in range(count):
            rng = docs.rng_for(plan.seed, "project", index)
            created_ms = user_ms + int(rng.random() * (_SPAN_MS - user_ms) * 0.9)
            project_id = docs.row_id(_epoch_ms(created_ms), rng)
            settings = {
                "units": "metric",
                "floorToFloorHeight": round(rng.uniform(2.9, 3.6), 2),
                "northAngleDeg": round(rng.uniform(0, 360), 1),
            }
            rows.append(
                _row(
                    project_id.encode(),
                    user_id.encode(),
                    _text(docs.project_name(rng)),
                    _text(docs.project_description(rng)),
                    _json(orjson.dumps(settings)),
                    _stamp(created_ms),
                    _stamp(created_ms),
                )
            )
            refs.append(ProjectRef(index, project_id, user_id, created_ms))
            index += 1
    return rows, refs


def cad_block_rows(plan: SeedPlan, owner_id: str) -> list[bytes]:
    """Synthetic blocks, private to the demo owner (`demo_owner`)."""
    rows = []
    categories = {
        "furniture": ("seating", "tables", "beds", "storage"),
        "sanitary": ("toilets", "basins", "showers"),
        "kitchen": ("appliances", "counters"),
        "doors": ("single", "double", "sliding"),
        "landscape": ("trees", "plants", "paving"),
        "people": ("standing", "sitting"),
        "vehicles": ("cars", "bicycles"),
    }
    names = tuple(categories.items())
    for index in range(plan.cad_blocks):
        rng = docs.rng_for(plan.seed, "cad", index)
        category, subs = names[index % len(names)]
        sub = rng.choice(subs)
        name = f"{sub.rstrip('s').title()} {rng.choice(('Classic', 'Compact', 'Modern', 'Large', 'Slim', 'Round'))} {index + 1}"  # noqa: E501
        created_ms = int(rng.random() * _SPAN_MS)
        rows.append(
            _row(
                docs.row_id(_epoch_ms(created_ms), rng).encode(),
                _text(f"seed{plan.seed}-{category}-{sub}-{index + 1}"),
                _text(name),
                _text(category),
                _text(sub),
                _text(f"{name}: a {sub} block for {category} layouts."),
                _array((category, sub, rng.choice(("2d", "plan", "elevation")))),
                _num(round(rng.uniform(0.3, 4.5), 2)),
                _num(round(rng.uniform(0.3, 4.5), 2)),
                _num(round(rng.uniform(0.3, 2.5), 2)),
                b"f",
                owner_id.encode(),
                _stamp(created_ms),
                _stamp(created_ms),
            )
        )
    return rows


def _epoch_ms(offset_ms: int) -> int:
    return int((ANCHOR.timestamp() * 1000) - _SPAN_MS + offset_ms)


# --------------------------------------------------------------------------------------------
# Per-project content (worker processes)
# --------------------------------------------------------------------------------------------


def build_chunk(plan: SeedPlan, projects: list[ProjectRef], with_objects: bool) -> Chunk:
    chunk = Chunk(copy={table: [] for table in CHUNK_TABLES}, projects=len(projects))
    for project in projects:
        _build_project(plan, project, chunk, with_objects)
    return chunk


def _later(rng: Any, created_ms: int) -> int:
    return min(_SPAN_MS, created_ms + int(rng.random() * (_SPAN_MS - created_ms)))


def _build_project(plan: SeedPlan, project: ProjectRef, chunk: Chunk, with_objects: bool) -> None:
    copy = chunk.copy
    pid = project.id.encode()
    first_plan: tuple[str, dict[str, Any]] | None = None
    for level in range(plan.floorplans_per_project):
        rng = docs.rng_for(plan.seed, "floorplan", project.index * 1000 + level)
        document = docs.floorplan(rng, target_bytes=docs.floorplan_target_bytes(rng))
        figures, encoded = check_floorplan(document, _ROOMS, _MAX_DOCUMENT_BYTES, finite=True)
        raw = encoded.text.encode()
        created = _later(rng, project.created_ms)
        updated = _later(rng, created)
        floorplan_id = docs.row_id(_epoch_ms(created), rng)
        copy["floorplans"].append(
            _row(
                floorplan_id.encode(),
                pid,
                _text("Ground floor" if level == 0 else f"Level {level}"),
                str(level).encode(),
                _json(raw),
                _num(figures.wall_count),
                _num(figures.opening_count),
                _num(figures.room_count),
                _num(figures.furniture_count),
                _num(figures.total_area_m2),
                _array(figures.bbox),
                *_document_tail(encoded, created, updated),
            )
        )
        chunk.document_bytes += len(raw)
        chunk.floorplan_sizes.append(len(raw))
        if plan.history:
            version_rng = docs.rng_for(plan.seed, "version", project.index * 1000 + level)
            version_id = docs.row_id(_epoch_ms(created), version_rng)
            chunk.history.append((version_id, floorplan_id, project.user_id))
        if first_plan is None:
            first_plan = (floorplan_id, document)

    for k in range(plan.models_per_project):
        rng = docs.rng_for(plan.seed, "model", project.index * 1000 + k)
        source_id, source = first_plan if first_plan else (None, _empty_plan())
        document = docs.model_3d(rng, source)
        encoded = _encoded(document, MODEL_3D)
        raw = encoded.text.encode()
        created = _later(rng, project.created_ms)
        copy["models_3d"].append(
            _row(
                docs.row_id(_epoch_ms(created), rng).encode(),
                pid,
                source_id.encode() if source_id else b"\\N",
                _text(f"Model {k + 1}"),
                _json(raw),
                _json(orjson.dumps(docs.model_settings(rng))),
                _num(count_objects(document)),
                *_document_tail(encoded, created, created),
            )
        )
        chunk.document_bytes += len(raw)

    rng = docs.rng_for(plan.seed, "site", project.index)
    site = docs.site(rng)
    created = _later(rng, project.created_ms)
    copy["site_analyses"].append(
        _row(
            docs.row_id(_epoch_ms(created), rng).encode(),
            pid,
            _num(site.latitude),
            _num(site.longitude),
            _num(site.site_area_m2),
            _num(site.scale),
            _num(site.rotation_deg),
            _text(site.timezone),
            _json(orjson.dumps(site.coordinates)),
            _json(orjson.dumps(site.boundary)),
            _json(orjson.dumps(site.sun_path)),
            _json(orjson.dumps(site.weather)),
            _json(orjson.dumps(site.topography)),
            _json(orjson.dumps(site.context)),
            _json(orjson.dumps(site.analysis_results)),
            _stamp(created),
            _stamp(created),
        )
    )

    for k in range(plan.massings_per_project):
        rng = docs.rng_for(plan.seed, "massing", project.index * 1000 + k)
        document = docs.massing(rng)
        encoded = _encoded(document, MASSING)
        raw = encoded.text.encode()
        facts = derive_massing(document, document["floorToFloorHeight"])
        created = _later(rng, project.created_ms)
        copy["massings"].append(
            _row(
                docs.row_id(_epoch_ms(created), rng).encode(),
                pid,
                _text(f"Massing option {chr(ord('A') + k % 26)}"),
                _json(raw),
                _json(orjson.dumps(docs.massing_analysis(rng, facts.gross_floor_area_m2))),
                _num(facts.volume_m3),
                _num(facts.footprint_m2),
                _num(facts.gross_floor_area_m2),
                _num(facts.height_m),
                _num(facts.floor_area_ratio(site.site_area_m2)),
                *_document_tail(encoded, created, created),
            )
        )
        chunk.document_bytes += len(raw)

    for k in range(plan.files_per_project):
        rng = docs.rng_for(plan.seed, "file", project.index * 1000 + k)
        obj = docs.file_object(rng, k)
        created = _later(rng, project.created_ms)
        file_id = docs.row_id(_epoch_ms(created), rng)
        safe_name = obj.name
        key = f"users/{project.user_id}/projects/{project.id}/{obj.category}/{file_id}-{safe_name}"
        copy["files"].append(
            _row(
                file_id.encode(),
                project.user_id.encode(),
                pid,
                _text(obj.name),
                _text(safe_name),
                _text(obj.mime_type),
                _num(len(obj.content)),
                hashlib.sha256(obj.content).hexdigest().encode(),
                _text(key),
                b"ready",
                _text(obj.extension),
                _text(obj.category),
                _json(orjson.dumps({"seeded": True, "objectStored": with_objects})),
                _stamp(created),
                _stamp(created),
            )
        )
        if with_objects:
            chunk.objects.append(StoredObjectRef(key, obj.content, obj.mime_type))


def _empty_plan() -> dict[str, Any]:
    return {"nodes": {}, "edges": {}, "zones": []}


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

ObjectSink = Callable[[list[StoredObjectRef]], None]
# Made in each worker process (a store client does not cross process boundaries); must pickle.
ObjectSinkFactory = Callable[[], ObjectSink]
Progress = Callable[[str, int], None]


class SeedConflict(Exception):
    """The data of this --seed is already in the database."""


def _copy(conn: psycopg.Connection[Any], table: str, rows: list[bytes]) -> None:
    if not rows:
        return
    columns = ", ".join(TABLE_COLUMNS[table])
    with conn.cursor() as cursor, cursor.copy(f"COPY app.{table} ({columns}) FROM STDIN") as copy:
        batch: list[bytes] = []
        size = 0
        for row in rows:
            batch.append(row)
            size += len(row)
            if size > 4 * 1024 * 1024:
                copy.write(b"".join(batch))
                batch, size = [], 0
        if batch:
            copy.write(b"".join(batch))


def _copy_history(conn: psycopg.Connection[Any], history: list[tuple[str, str, str]]) -> None:
    """Version 1 of each floorplan, copied inside PostgreSQL as the floorplans service does on
    create: the documents are not sent or parsed a second time."""
    ids, floorplans, authors = (list(column) for column in zip(*history, strict=True))
    conn.execute(
        "INSERT INTO app.floorplan_versions (id, floorplan_id, version, name, level, data,"
        " wall_count, opening_count, room_count, total_area_m2, data_bytes, content_hash,"
        " created_by_user_id, created_at)"
        " SELECT v.id, f.id, f.version, f.name, f.level, f.data, f.wall_count, f.opening_count,"
        " f.room_count, f.total_area_m2, f.data_bytes, f.content_hash, v.author, f.created_at"
        " FROM unnest(%s::text[], %s::text[], %s::text[]) AS v(id, floorplan_id, author)"
        " JOIN app.floorplans f ON f.id = v.floorplan_id",
        (ids, floorplans, authors),
    )


def prepare_session(conn: psycopg.Connection[Any]) -> None:
    # Seeding is re-runnable: losing the last commits in a crash costs nothing, waiting for
    # each WAL flush costs a lot. lz4 compresses the large documents several times faster
    # than the default pglz, when the server was built with it.
    conn.execute("SET synchronous_commit = off")
    try:
        conn.execute("SET default_toast_compression = lz4")
    except psycopg.Error:
        conn.rollback()
        conn.execute("SET synchronous_commit = off")
    conn.commit()


def reset(conn: psycopg.Connection[Any]) -> None:
    """Remove every user (and, by cascade, everything they own) and the block library."""
    conn.execute("TRUNCATE app.users, app.cad_blocks, app.jobs CASCADE")
    conn.commit()


@dataclass(frozen=True, slots=True)
class ChunkStats:
    rows: dict[str, int]
    document_bytes: int
    floorplan_sizes: list[int]
    objects_stored: int
    object_bytes: int
    projects: int


# One connection (and object sink) per worker process, opened on its first chunk.
_worker_state: dict[str, Any] = {}


def write_chunk(
    dsn: str,
    plan: SeedPlan,
    projects: list[ProjectRef],
    sink_factory: ObjectSinkFactory | None,
) -> ChunkStats:
    """Build a run of projects' content and COPY it in one transaction (objects first: a row
    never points at an object that was not written). Runs in a worker process."""
    conn = _worker_state.get(dsn)
    if conn is None or conn.closed:
        conn = psycopg.connect(dsn)
        prepare_session(conn)
        _worker_state[dsn] = conn
    sink = None
    if sink_factory is not None:
        sink = _worker_state.get("sink")
        if sink is None:
            sink = _worker_state["sink"] = sink_factory()
    chunk = build_chunk(plan, projects, sink is not None)
    if sink is not None and chunk.objects:
        sink(chunk.objects)
    try:
        for table in CHUNK_TABLES:
            _copy(conn, table, chunk.copy[table])
        if chunk.history:
            _copy_history(conn, chunk.history)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return ChunkStats(
        rows={table: len(chunk.copy[table]) for table in CHUNK_TABLES}
        | {"floorplan_versions": len(chunk.history)},
        document_bytes=chunk.document_bytes,
        floorplan_sizes=chunk.floorplan_sizes,
        objects_stored=len(chunk.objects),
        object_bytes=sum(len(o.content) for o in chunk.objects),
        projects=chunk.projects,
    )


def _close_worker_state() -> None:
    for value in _worker_state.values():
        if isinstance(value, psycopg.Connection):
            value.close()
        elif hasattr(value, "close"):
            value.close()  # the object sink: its store client and event loop
    _worker_state.clear()


def run_seed(
    dsn: str,
    plan: SeedPlan,
    *,
    objects: ObjectSinkFactory | None,
    workers: int | None = None,
    progress: Progress | None = None,
    reset_first: bool = False,
) -> SeedReport:
    """Write the data set of `plan`. `objects` makes the sink that stores file objects (None:
    rows only). `workers=0` does everything in this process (tests, tiny seeds)."""
    started = time.perf_counter()
    report = SeedReport(rows=dict.fromkeys((*TABLE_COLUMNS, "floorplan_versions"), 0))
    notify = progress or (lambda _stage, _n: None)
    with psycopg.connect(dsn) as conn:
        prepare_session(conn)
        if reset_first:
            reset(conn)
        users_copy, users = user_rows(plan)
        if (
            users
            and conn.execute("SELECT 1 FROM app.users WHERE id = %s", (users[0][0],)).fetchone()
        ):
            raise SeedConflict(
                f"the data of --seed {plan.seed} is already there: use --reset or another --seed"
            )
        projects_copy, projects = project_rows(plan, users)
        if plan.cad_blocks:
            owner_id, owner_row = demo_owner(plan)
            users_copy.append(owner_row)
        _copy(conn, "users", users_copy)
        _copy(conn, "projects", projects_copy)
        if plan.cad_blocks:
            _copy(conn, "cad_blocks", cad_block_rows(plan, owner_id))
        conn.commit()
        report.rows["users"] = len(users_copy)
        report.rows["projects"] = len(projects_copy)
        report.rows["cad_blocks"] = plan.cad_blocks
        notify("users", len(users_copy))

        for stats in _write_chunks(dsn, plan, projects, objects, workers):
            for table, count in stats.rows.items():
                report.rows[table] += count
            report.document_bytes += stats.document_bytes
            report.floorplan_sizes.extend(stats.floorplan_sizes)
            report.objects_stored += stats.objects_stored
            report.object_bytes += stats.object_bytes
            notify("projects", stats.projects)
        conn.execute("ANALYZE app.users, app.projects, app.floorplans, app.files")
        conn.commit()
    report.elapsed_s = time.perf_counter() - started
    return report


def _write_chunks(
    dsn: str,
    plan: SeedPlan,
    projects: list[ProjectRef],
    objects: ObjectSinkFactory | None,
    workers: int | None,
) -> Iterator[ChunkStats]:
    """Each worker generates a chunk and COPYs it on its own connection: two cores generate
    while two PostgreSQL backends parse, and no document crosses a process boundary."""
    slices = [projects[k : k + _CHUNK_PROJECTS] for k in range(0, len(projects), _CHUNK_PROJECTS)]
    count = (os.cpu_count() or 2) if workers is None else workers
    if count <= 0 or len(slices) <= 1:
        try:
            for part in slices:
                yield write_chunk(dsn, plan, part, objects)
        finally:
            _close_worker_state()
        return
    with ProcessPoolExecutor(max_workers=count) as pool:
        window: deque[Future[ChunkStats]] = deque()
        pending = iter(slices)
        for part in itertools.islice(pending, 2 * count):
            window.append(pool.submit(write_chunk, dsn, plan, part, objects))
        while window:
            stats = window.popleft().result()
            for part in itertools.islice(pending, 1):
                window.append(pool.submit(write_chunk, dsn, plan, part, objects))
            yield stats


def expected_rows(plan: SeedPlan) -> dict[str, int]:
    projects = plan.projects
    return {
        # The seeded users and the owner of the demo blocks.
        "users": plan.users + (1 if plan.cad_blocks else 0),
        "projects": projects,
        "floorplans": projects * plan.floorplans_per_project,
        "models_3d": projects * plan.models_per_project,
        "massings": projects * plan.massings_per_project,
        "site_analyses": projects,
        "files": projects * plan.files_per_project,
        "cad_blocks": plan.cad_blocks,
        "floorplan_versions": projects * plan.floorplans_per_project if plan.history else 0,
    }


def megabytes(value: int) -> float:
    return math.floor(value / 1e6 * 10) / 10
